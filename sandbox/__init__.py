"""Stateful, isolated, pooled Python execution on Jupyter kernels.

Example:
    >>> from sandbox import Sandbox
    >>> with Sandbox() as sb:  # doctest: +SKIP
    ...     sb.run("import sympy as sp; sp.factor(x**2 - 1) if (x := sp.Symbol('x')) else 0").value
    '(x - 1)*(x + 1)'
"""

from .base import (
    ExecResult,
    IsolationUnavailableError,
    KernelStartError,
    PoolTimeoutError,
    SandboxClosedError,
    SandboxError,
)
from .limits import Limits
from .pool import SandboxPool
from .session import Isolation, Sandbox, default_isolation

__all__ = [
    "Sandbox",
    "SandboxPool",
    "ExecResult",
    "Limits",
    "Isolation",
    "default_isolation",
    "SandboxError",
    "IsolationUnavailableError",
    "KernelStartError",
    "SandboxClosedError",
    "PoolTimeoutError",
]
