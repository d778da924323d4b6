"""Benchmark: masking secrets in log lines with :class:`Redactor` against a verbatim replace, in the same
process.

    python bench/redact.py [--secrets 10] [--lines 20000]

The baseline is what masking cost before every echo form was covered: ``str.replace`` of each secret as
written. The Redactor also masks each secret in any case, URL-encoded, JSON-escaped, base64 in every
alignment, and a beginning of one left by a cut. Both run over the same log lines (one in ten with a secret
echoed). It prints lines per second of each and their ratio (Redactor / baseline; the cost of covering every
form), and the time to build one Redactor for a channel (done once per failure reason).
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scheduler.config.redact import MASK, Redactor  # noqa: E402


def lines(secrets: list[str], count: int) -> list[str]:
    rng = random.Random(7)
    base = (
        "2026-03-01 12:00:00,000 WARNING d_abcdefghij [masto] posts/2026/khalkhin-gol.md: will retry at "
        "2026-03-01T12:00:30+00:00: mastodon: POST https://social.example/api/v1/statuses answered 503: "
        "upstream unavailable; attempt 2 in 28.1 s"
    )
    out = []
    for index in range(count):
        if index % 10 == 0:
            secret = rng.choice(secrets)
            echo = rng.choice([secret, secret.upper(), base64.b64encode(secret.encode()).decode()])
            out.append(f"{base} (token {echo} rejected)")
        else:
            out.append(base)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=10)
    parser.add_argument("--lines", type=int, default=20_000)
    args = parser.parse_args()
    secrets = [f"tok{index}-{random.Random(index).getrandbits(128):032x}" for index in range(args.secrets)]
    text = lines(secrets, args.lines)

    def baseline(line: str) -> str:
        for secret in secrets:
            if secret in line:
                line = line.replace(secret, MASK)
        return line

    redact = Redactor(secrets)
    started = time.perf_counter()
    for line in text:
        baseline(line)
    plain = time.perf_counter() - started
    started = time.perf_counter()
    masked = [redact(line) for line in text]
    full = time.perf_counter() - started
    assert not any(secret.lower() in line.lower() for line in masked for secret in secrets)

    started = time.perf_counter()
    for _ in range(200):
        Redactor(secrets[:1])
    build = (time.perf_counter() - started) / 200

    print(f"{args.secrets} secrets, {args.lines} log lines")
    print(f"baseline (verbatim replace): {args.lines / plain:12,.0f} lines/s")
    print(f"Redactor (every form):       {args.lines / full:12,.0f} lines/s")
    print(f"ratio Redactor / baseline:   {plain / full:12.3f}")
    print(f"building a one-secret Redactor: {build * 1e6:.0f} us")


if __name__ == "__main__":
    main()
