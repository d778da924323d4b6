"""Running ``tagcast`` as a child process, the way cron or systemd would, with a clean environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

TAGCAST = [sys.executable, "-m", "scheduler"]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``TAGCAST_*`` variable, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TAGCAST_")}
    env.update(extra or {})
    return env


def tagcast(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run one tagcast command to its end."""
    return subprocess.run(
        [*TAGCAST, *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Serve:
    """A ``tagcast serve`` child process whose stderr goes to a file that tests can read as it grows."""

    def __init__(self, cwd: Path, *args: str, env: Mapping[str, str] | None = None, log: Path) -> None:
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            [*TAGCAST, "serve", *args],
            cwd=cwd,
            env=clean_env(env),
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
        )

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
        """Poll ``condition`` until true; fail with the process log when it never is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        if condition():
            return
        raise AssertionError(
            f"timed out waiting for {what}; exit code {self.process.poll()}; log:\n{self.output}"
        )

    def wait_for_log(self, text: str, *, count: int = 1, timeout: float = 30) -> None:
        self.wait_for(lambda: self.output.count(text) >= count, f"{text!r} x{count} in the log", timeout)

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.close()

    def close(self) -> None:
        self._log_file.close()
