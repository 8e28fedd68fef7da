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

__all__ = ["sigterm_as_interrupt", "last_signal", "exit_code"]

_last: int | None = None


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
    global _last
    _last = signum
    current = signal.getsignal(signal.SIGINT)
    if _is_asyncio_runner(current) and callable(current):
        current(signum, frame)  # cancels the main task; raises KeyboardInterrupt on a second signal
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM interrupts the job like Ctrl-C (main thread only; elsewhere a no-op)."""
    global _last
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _last = None
    old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)
