"""Running ``tagcast`` as a child process, the way cron or systemd would, with a clean environment.

A test waits for what the child does, not for time to pass: a thread reads the child's stderr line by line
into its log file and notifies :data:`fakes.server.ACTIVITY` for each line and at the child's exit, as every
fake does for each request. :meth:`Serve.wait_for` re-checks its condition at each such notification and at
nothing else (no timer); its timeout is only a guard against a hang.

So a condition must be announced by one of those events. The service logs each thing a test waits for right
after it is recorded: every outcome of a delivery once its row is committed (``sent``, ``outcome unknown``,
a failure, a pause), every ingest (``ingested posts/``), every alert (``alerts: ... sent through channel``),
its start (``ready: worker``) and each round that claimed. A ``/healthz`` answer is computed when it is asked
for, so a probe of it holds at once or at the next of those events.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from fakes.server import notify_activity, wait_for_activity

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


def announce_exit(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Notify :data:`fakes.server.ACTIVITY` when ``process`` ends, so that a wait on a fake's state also
    ends when the child that was to cause it dies."""

    def watch() -> None:
        process.wait()
        notify_activity()

    threading.Thread(target=watch, name=f"exit-{process.pid}", daemon=True).start()


class Serve:
    """A ``tagcast serve`` child process whose stderr goes, line by line, to a file that tests can read as it
    grows (several runs may share one file)."""

    def __init__(self, cwd: Path, *args: str, env: Mapping[str, str] | None = None, log: Path) -> None:
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            [*TAGCAST, "serve", *args],
            cwd=cwd,
            env=clean_env(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self.process.stderr is not None
        self.lines = 0
        """How many lines this child has written to the log so far (each one an event a test can count)."""
        self._ended = threading.Event()
        """Set once the child's stderr is closed (it exited, or was killed) and every line is in the log."""
        self._reader = threading.Thread(
            target=self._copy, args=(self.process.stderr,), name="serve-stderr", daemon=True
        )
        self._reader.start()

    def _copy(self, stream: IO[bytes]) -> None:
        """Copy the child's stderr to the log file, a line at a time, announcing each line and the end."""
        try:
            for line in stream:
                self._log_file.write(line)
                self._log_file.flush()
                self.lines += 1
                notify_activity()
        finally:
            stream.close()
            self._ended.set()
            notify_activity()

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
        """Block until ``condition`` holds, re-checked at each line the child writes, each request a fake
        receives or answers, and the child's exit; fail with the process log when the child is gone first or
        after ``timeout`` seconds (a guard against a hang, never a measurement)."""
        if wait_for_activity(condition, what, timeout=timeout, gone=self._ended.is_set):
            return
        raise AssertionError(
            f"timed out waiting for {what}; exit code {self.process.poll()}; log:\n{self.output}"
        )

    def wait_for_log(self, text: str, *, count: int = 1, timeout: float = 30) -> None:
        """Block until ``text`` is in the log ``count`` times: re-checked at each line the child writes."""
        condition = lambda: self.output.count(text) >= count  # noqa: E731
        if wait_for_activity(condition, f"{text!r} x{count}", timeout=timeout, gone=self._ended.is_set):
            return
        raise AssertionError(
            f"timed out waiting for {text!r} x{count} in the log; exit code {self.process.poll()}; "
            f"log:\n{self.output}"
        )

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
        """Once the child is gone: wait until its last line is in the log, then close the log."""
        if self.process.poll() is not None:
            self._reader.join(timeout=30)
        if not self._reader.is_alive():
            self._log_file.close()
