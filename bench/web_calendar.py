"""Benchmark: the dashboard's week calendar with 1,000,000 deliveries queued, against the bare SQL query.

    python bench/web_calendar.py [--rows 1000000] [--repeat 30]

Builds a SQLite outbox (the real schema, through ``Store.open``) and fills it with one ``INSERT ... SELECT``
from a recursive CTE: ROWS deliveries on 10 channels, one slot every 126 s over about four years (some 4,800
a week). Then it times ``GET /?week=...`` for a week in the middle, through the whole ASGI app (httpx's
ASGITransport: routing, the guard, the store, the template), and, as the baseline, the same two SQL
statements (that week's first page and its count) run bare with ``sqlite3``. It prints the median of each and
their ratio; the goal is a page under 100 ms. It also times one channel's week (``&channel=ch3``).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
# bench/ itself off the path: bench/queue.py would shadow the standard library's queue (anyio needs it)
sys.path[:] = [str(REPO)] + [entry for entry in sys.path if Path(entry or ".").resolve() != REPO / "bench"]

from scheduler.config.loader import load_workspace  # noqa: E402
from scheduler.store import Store  # noqa: E402
from scheduler.web.app import PAGE_SIZE, create_app  # noqa: E402
from scheduler.web.calendar import Week  # noqa: E402

START = "2026-01-05 00:00:00"
STEP_SECONDS = 126
CONFIG = """\
version = 1
[store]
url = "sqlite:///var/tagcast.db"
[defaults]
timezone = "UTC"
channels = ["file"]
[channels.file]
network = "file"
"""

FILL = f"""
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :rows)
INSERT INTO deliveries (
  id, source, channel, generation, network, rule, template, parts, lengths, "limit", unit, content_hash,
  article, state, scheduled_at, zone, due_at, idempotency_key, attempts, next_attempt_at, journal,
  remote_ids, remote_url, receipt, last_error, claimed_by, lease_until, created_at, updated_at)
SELECT
  printf('d_%010d', i), printf('posts/a%07d.md', i / 10), 'ch' || (i % 10), 1, 'file', 'history', 'post.j2',
  json_array('Article ' || i || ': a summary of a few words #History https://example.org/' || i),
  json_array(80), 100000, 'characters', printf('%064d', i),
  json_object('title', 'Article ' || i), CASE WHEN i % 7 = 0 THEN 'sent' ELSE 'planned' END,
  strftime('%Y-%m-%d %H:%M:%S.000000', '{START}', '+' || (i * {STEP_SECONDS}) || ' seconds'), 'UTC',
  NULL, 'tagcast-' || i, 0, NULL, '{{}}', '[]', NULL, '{{}}', NULL, NULL, NULL,
  '{START}.000000', '{START}.000000'
FROM n
"""

BARE_PAGE = """SELECT id, channel, network, state, scheduled_at, zone, parts FROM deliveries
WHERE scheduled_at >= ? AND scheduled_at < ? ORDER BY scheduled_at, id LIMIT ? OFFSET 0"""
BARE_COUNT = "SELECT count(*) FROM deliveries WHERE scheduled_at >= ? AND scheduled_at < ?"


def fill(database: Path, rows: int) -> float:
    began = time.perf_counter()
    with sqlite3.connect(database) as connection:
        connection.execute(FILL, {"rows": rows})
    return time.perf_counter() - began


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def middle_week(rows: int) -> Week:
    """The week in the middle of the filled range (full of deliveries)."""
    start = datetime.fromisoformat(START).replace(tzinfo=UTC)
    return Week.containing((start + timedelta(seconds=rows // 2 * STEP_SECONDS)).date())


def time_page(app: object, path: str, repeat: int) -> tuple[list[float], str]:
    async def run() -> tuple[list[float], str]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        samples, text = [], ""
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8464") as client:
            for _ in range(repeat + 3):
                began = time.perf_counter()
                response = await client.get(path)
                samples.append(time.perf_counter() - began)
                assert response.status_code == 200, response.text[:500]
                text = response.text
        return samples[3:], text

    return asyncio.run(run())


def time_bare(database: Path, week: Week, repeat: int) -> tuple[list[float], int]:
    first, after = week.bounds(UTC)
    start, end = (moment.strftime("%Y-%m-%d %H:%M:%S.%f") for moment in (first, after))
    samples, total = [], 0
    with sqlite3.connect(database) as connection:
        for _ in range(repeat + 3):
            began = time.perf_counter()
            rows = connection.execute(BARE_PAGE, (start, end, PAGE_SIZE)).fetchall()
            total = connection.execute(BARE_COUNT, (start, end)).fetchone()[0]
            samples.append(time.perf_counter() - began)
            assert len(rows) == min(PAGE_SIZE, total)
        plan = connection.execute("EXPLAIN QUERY PLAN " + BARE_PAGE, (start, end, PAGE_SIZE)).fetchall()
    print("query plan:", "; ".join(str(step[-1]) for step in plan))
    return samples[3:], total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "config").mkdir()
        (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
        workspace = load_workspace(str(root))
        with Store.open(workspace.settings.store.url, root=root) as store:
            database = root / "var" / "tagcast.db"
            print(f"filled {args.rows:,} rows in {fill(database, args.rows):.1f} s")
            week = middle_week(args.rows)
            bare, total = time_bare(database, week, args.repeat)
            app = create_app(workspace, store, clock=lambda: datetime.now(UTC))
            page, text = time_page(app, f"/?week={week.name}", args.repeat)
            one, _ = time_page(app, f"/?week={week.name}&channel=ch3", args.repeat)
        assert f"{total} deliveries this week" in text, "the page does not show the week's count"
    print(f"week {week.name}: {total:,} deliveries, the page shows the first {min(total, PAGE_SIZE)}")
    print(f"bare SQL (page + count), median: {median_ms(bare):7.2f} ms")
    print(f"calendar page GET /?week=, median: {median_ms(page):7.2f} ms (goal: < 100 ms)")
    print(f"ratio page / bare SQL: {median_ms(page) / median_ms(bare):.1f}")
    print(f"one channel's week (?channel=ch3, {total // 10} deliveries), median: {median_ms(one):7.2f} ms")


if __name__ == "__main__":
    main()
