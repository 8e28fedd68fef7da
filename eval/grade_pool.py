"""Worker subprocesses for the grader's slow symbolic path, with a hard deadline per comparison.

Why subprocesses: sympy simplification can run for minutes on adversarial input, and Python
threads cannot be killed; ``signal.alarm`` works only in the main thread. Each worker is a plain
``python`` child (``subprocess.Popen``, not ``multiprocessing``, so that daemonic pool workers may
use the grader too) that reads one JSON request per line on stdin and writes one JSON reply per
line on stdout. A request that misses its deadline gets its worker killed (SIGKILL) and replaced
on the next request.

Guarantees: a call returns within ``startup_timeout + timeout`` seconds plus the time spent
waiting for a free worker; a worker lives at most as long as its parent (it exits when its stdin
closes); each worker limits its own address space (``RLIMIT_AS``). Not guaranteed: isolation from
malicious input beyond that (the worker runs sympy on strings, nothing else).

Example:
    >>> pool = GraderPool(max_workers=1)
    >>> pool.request({"pred": "2", "gold": "2", "opts": {}}, timeout=30).get("equal")
    True
    >>> pool.close()
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["GraderPool", "WorkerTimeout", "WorkerCrashed", "get_pool", "shutdown_pool"]

logger = logging.getLogger(__name__)

_PKG_PARENT = str(Path(__file__).resolve().parents[1])
_WORKER_CODE = "import sys; sys.path.insert(0, sys.argv[1]); from eval.grade_worker import serve; serve(sys.argv[2])"


class WorkerTimeout(Exception):
    """The worker did not answer before the deadline (it has been killed)."""


class WorkerCrashed(Exception):
    """The worker died or answered garbage (it has been discarded)."""


class _Worker:
    """One child process and its line protocol."""

    def __init__(self, memory_mb: int, startup_timeout: float) -> None:
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", "1")
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("PYTHONSTARTUP", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER_CODE, _PKG_PARENT, str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self._buf = b""
        try:
            reply = self._read_line(time.monotonic() + startup_timeout)
            if not reply.get("ready"):
                raise WorkerCrashed(f"grader worker did not start: {reply}")
        except WorkerTimeout:
            self.kill()
            raise WorkerCrashed(
                f"grader worker did not start within {startup_timeout:g}s (machine overloaded? "
                "raise GraderPool(startup_timeout=...))"
            ) from None
        except BaseException:
            self.kill()
            raise

    def _read_line(self, deadline: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimeout
            poller = select.poll()  # poll, not select: works for fds above FD_SETSIZE
            poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
            if not poller.poll(max(1, int(remaining * 1000))):
                raise WorkerTimeout
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise WorkerCrashed(f"grader worker exited (code {self.proc.poll()})")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkerCrashed(f"grader worker sent a bad reply: {line[:200]!r}") from exc

    def request(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(payload).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerCrashed(f"grader worker is gone: {exc}") from exc
        return self._read_line(time.monotonic() + timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
            logger.warning("grader worker %d did not exit after SIGKILL", self.proc.pid)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass


class GraderPool:
    """A small, thread-safe pool of grader worker processes, started on demand.

    Args:
        max_workers: Most workers alive at once (also the most comparisons running at once).
        memory_mb: Address-space limit of each worker, in MiB.
        startup_timeout: Seconds to wait for a new worker to import sympy and math-verify.

    Example:
        >>> with GraderPool(max_workers=1) as pool:
        ...     pool.request({"pred": "1/2", "gold": "0.5", "opts": {}}, timeout=30)["equal"]
        True
    """

    def __init__(self, max_workers: int = 2, memory_mb: int = 4096, startup_timeout: float = 60.0) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.memory_mb = memory_mb
        self.startup_timeout = startup_timeout
        self.pid = os.getpid()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_workers)
        self._closed = False
        self.started = 0
        self.killed = 0

    def __enter__(self) -> GraderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.alive():
                    return w
                w.kill()
        w = _Worker(self.memory_mb, self.startup_timeout)
        with self._lock:
            self.started += 1
        return w

    def request(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request to a free worker and wait at most ``timeout`` seconds for the reply.

        Raises:
            WorkerTimeout: The deadline passed; the worker was killed.
            WorkerCrashed: The worker died or could not start.
        """
        if self._closed:
            raise WorkerCrashed("the grader pool is closed")
        with self._slots:
            worker = self._take()
            try:
                reply = worker.request(payload, timeout)
            except BaseException:
                worker.kill()
                with self._lock:
                    self.killed += 1
                raise
            with self._lock:
                if self._closed:
                    worker.kill()
                else:
                    self._idle.append(worker)
            return reply

    def warmup(self) -> None:
        """Start one worker now so that the first slow comparison does not pay the start-up."""
        with self._slots:
            w = self._take()
            with self._lock:
                self._idle.append(w)

    def close(self) -> None:
        """Kill all idle workers; busy ones are killed when their request ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.kill()


_POOLS: dict[tuple[int, int], GraderPool] = {}  # cache: (pid, max_workers) -> pool
_POOLS_LOCK = threading.Lock()


def get_pool(max_workers: int | None = None) -> GraderPool:
    """The process's shared pool, created on first use (keyed by pid: a forked child builds its own).

    The size comes from ``max_workers``, else ``MATHAGENT_GRADER_WORKERS``, else ``min(2, cpu_count)``.

    Example:
        >>> get_pool() is get_pool()
        True
    """
    n = max_workers or int(os.environ.get("MATHAGENT_GRADER_WORKERS", "0")) or min(2, os.cpu_count() or 1)
    key = (os.getpid(), n)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool._closed:
            pool = _POOLS[key] = GraderPool(max_workers=n)
            atexit.register(pool.close)
        return pool


def shutdown_pool() -> None:
    """Close this process's shared pools (a new one is built on the next slow comparison).

    Example:
        >>> shutdown_pool()
    """
    with _POOLS_LOCK:
        mine = [k for k in _POOLS if k[0] == os.getpid()]
        pools = [_POOLS.pop(k) for k in mine]
    for pool in pools:
        pool.close()


def _forget_parent_pools() -> None:
    """In a forked child: drop the parent's pools without touching its workers (they are not ours)."""
    global _POOLS_LOCK
    _POOLS_LOCK = threading.Lock()  # another thread may have held it at fork time
    for pool in _POOLS.values():
        pool._closed = True
        for w in pool._idle:
            for f in (w.proc.stdin, w.proc.stdout):
                try:
                    if f is not None:
                        os.close(f.fileno())
                except (OSError, ValueError):
                    pass
        pool._idle = []
    _POOLS.clear()


os.register_at_fork(after_in_child=_forget_parent_pools)
