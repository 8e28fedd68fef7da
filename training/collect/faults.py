"""Fault hooks of collection jobs, for tests that kill a job at exact points and check that it resumes.

``MATHAGENT_COLLECT_CRASH="<stage>:<n>"`` SIGKILLs the process at the n-th call (counted from 1 in this
process) of :func:`crash_point` with that stage (``before_write``, ``mid_write``, ``after_write``,
``manifest``). Never set it otherwise.

Example:
    >>> crash_due("before_write")  # the variable is not set
    False
"""

from __future__ import annotations

import logging
import os
import signal

__all__ = ["crash_due", "crash_now", "crash_point"]

logger = logging.getLogger(__name__)

_CRASH_ENV = "MATHAGENT_COLLECT_CRASH"
_counts: dict[str, int] = {}


def crash_due(stage: str) -> bool:
    """Whether ``$MATHAGENT_COLLECT_CRASH`` asks for a kill at this stage now (counts calls per stage)."""
    spec = os.environ.get(_CRASH_ENV)
    if not spec:
        return False
    want, _, n = spec.partition(":")
    if want != stage:
        return False
    _counts[stage] = _counts.get(stage, 0) + 1
    return _counts[stage] == int(n or 1)


def crash_now() -> None:
    """SIGKILL this process (the test hook's action)."""
    logger.warning("test hook %s=%s: killing this process", _CRASH_ENV, os.environ.get(_CRASH_ENV))
    os.kill(os.getpid(), signal.SIGKILL)


def crash_point(stage: str) -> None:
    """SIGKILL this process if ``$MATHAGENT_COLLECT_CRASH`` names this stage and its count is reached."""
    if crash_due(stage):
        crash_now()
