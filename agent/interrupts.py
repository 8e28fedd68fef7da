"""SIGTERM stops a job the way Ctrl-C does: cleanly, recording where it stopped.

Schedulers and tools end a job with SIGTERM (Slurm and Kubernetes before their SIGKILL, ``timeout``,
``kill PID``), and its default action ends the process at once: a collection's manifest would still
say ``running`` and the model engine, kernels and sandboxes would not be closed. Inside
:func:`sigterm_as_interrupt` SIGTERM takes the Ctrl-C path instead: in ``asyncio.run`` it cancels the
main task (what asyncio does on Ctrl-C), elsewhere it raises :class:`KeyboardInterrupt`. Every job of
this package already handles that: it records ``interrupted`` and resumes where it stopped when run
again. A second signal while the first is being handled raises at once.

A job started in the background by a non-interactive shell (``cmd &`` in a script, ``nohup cmd &``)
inherits SIGINT *ignored*, as POSIX asks so that Ctrl-C in the terminal does not reach background
jobs; Python keeps it ignored, so ``kill -INT`` does nothing to such a job. Stop it with ``kill PID``
(SIGTERM).

Example:
    >>> import signal
    >>> with sigterm_as_interrupt():
    ...     try:
    ...         signal.raise_signal(signal.SIGTERM)
    ...     except KeyboardInterrupt:
    ...         print("stopped by", signal.Signals(last_signal()).name)
    stopped by SIGTERM
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["sigterm_as_interrupt", "signals_deferred", "last_signal", "exit_code"]

_last: int | None = None
_deferring = 0  # depth of signals_deferred() blocks in the main thread
_pending: int | None = None  # a SIGTERM that arrived inside one of them


def last_signal() -> int | None:
    """The signal that interrupted the job (``SIGINT``/``SIGTERM``), or None if none did."""
    return _last


def exit_code() -> int:
    """The shell's convention for a job ended by a signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + (_last or signal.SIGINT)


def _is_asyncio_runner(handler) -> bool:
    # asyncio.Runner installs functools.partial(Runner._on_sigint, main_task=...) while it runs
    func = getattr(handler, "func", None)
    return getattr(func, "__qualname__", "") == "Runner._on_sigint"


def _on_sigterm(signum, frame) -> None:
    global _last, _pending
    _last = signum
    if _deferring and _pending is None:
        _pending = signum  # raised when the block ends; a second signal interrupts at once
        return
    current = signal.getsignal(signal.SIGINT)
    if _is_asyncio_runner(current) and callable(current):
        current(signum, frame)  # cancels the main task; raises KeyboardInterrupt on a second signal
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM interrupts the job like Ctrl-C (main thread only; elsewhere a no-op)."""
    global _last, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _last = None
    _pending = None
    old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """A few statements that must run together (a unit written to disk, then counted): a SIGTERM that arrives
    inside the block interrupts the job when the block ends, not between them. A second SIGTERM interrupts at
    once. Ctrl-C inside ``asyncio.run`` already waits for the next ``await``, so only SIGTERM needs this.

    Example:
        >>> import signal
        >>> done = []
        >>> with sigterm_as_interrupt():
        ...     try:
        ...         with signals_deferred():
        ...             signal.raise_signal(signal.SIGTERM)
        ...             done.append("counted")
        ...     except KeyboardInterrupt:
        ...         done.append("stopped")
        >>> done
        ['counted', 'stopped']
    """
    global _deferring, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending is not None:
            signum, _pending = _pending, None
            _on_sigterm(signum, None)
