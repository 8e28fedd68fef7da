"""Stateful, isolated, pooled Python execution on Jupyter kernels.

Example:
    >>> from sandbox import Sandbox
    >>> with Sandbox() as sb:  # doctest: +SKIP
    ...     sb.run("import sympy as sp; sp.factor(x**2 - 1) if (x := sp.Symbol('x')) else 0").value
    '(x - 1)*(x + 1)'
"""

from .errors import (
    IsolationUnavailableError,
    KernelStartError,
    PoolTimeoutError,
    SandboxAuthError,
    SandboxClosedError,
    SandboxError,
    SandboxServiceError,
)
from .limits import Limits
from .pool import SandboxPool
from .remote import RemoteSandbox, RemoteSandboxPool, is_service_url
from .results import ExecResult
from .session import Isolation, Sandbox, default_isolation

__all__ = [
    "Sandbox",
    "SandboxPool",
    "RemoteSandbox",
    "RemoteSandboxPool",
    "is_service_url",
    "ExecResult",
    "Limits",
    "Isolation",
    "default_isolation",
    "SandboxError",
    "IsolationUnavailableError",
    "KernelStartError",
    "SandboxClosedError",
    "PoolTimeoutError",
    "SandboxServiceError",
    "SandboxAuthError",
]
