"""A stage's working time summed over the runs it took, so a resumed stage reports its whole cost.

A pipeline stage interrupted (Ctrl-C, SIGTERM, SIGKILL, a session's end) and resumed later runs in
several processes. :class:`StageClock` keeps the seconds of the finished runs in
``<stage dir>/elapsed.json`` and rewrites it every ``every`` seconds while the stage runs (a background
thread), so even a killed run loses at most that much of its time.

Example:
    >>> import tempfile
    >>> with StageClock(tempfile.mkdtemp()) as clock:
    ...     pass
    >>> clock.runs, clock.total < 1.0
    (1, True)
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from common.files import atomic_write_text

from .jobs import Stopwatch

__all__ = ["StageClock", "ELAPSED_FILE"]

ELAPSED_FILE = "elapsed.json"


class StageClock:
    """Context manager timing one run of a stage on top of the earlier runs' time.

    Args:
        stage_dir: The stage's folder (created if missing).
        every: Seconds between saves while the stage runs.

    Attributes:
        earlier: Seconds of the earlier runs (read at entry).
        runs: Runs counted, this one included.
    """

    def __init__(self, stage_dir: str | os.PathLike, every: float = 30.0) -> None:
        self.path = Path(stage_dir) / ELAPSED_FILE
        self.every = every
        self.earlier = 0.0
        self.runs = 1
        self._watch: Stopwatch | None = None
        self._final: float | None = None  # this run's seconds, fixed at exit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def this_run(self) -> float:
        """Seconds of this run so far (fixed once the run has ended)."""
        if self._final is not None:
            return self._final
        return self._watch.seconds if self._watch is not None else 0.0

    @property
    def total(self) -> float:
        """Seconds of every run so far."""
        return self.earlier + self.this_run

    def __enter__(self) -> StageClock:
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text())
                self.earlier, self.runs = float(data["seconds"]), int(data["runs"]) + 1
            except (ValueError, KeyError, TypeError):
                pass  # an unreadable record counts as no earlier time, never as an error
        self._watch = Stopwatch()
        self.save()
        self._thread = threading.Thread(target=self._tick, name="stage-clock", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._final = self.this_run
        self.save()

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            self.save()

    def save(self) -> None:
        """Write the running total (atomically)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"seconds": round(self.total, 1), "runs": self.runs}) + "\n")
