"""The sandbox's errors: raised only when the sandbox itself cannot do its job.

Cell-level failures (a timeout, an exception in user code, a crashed kernel) are never raised: they come
back inside :class:`~sandbox.results.ExecResult` as text for the model. Every error here derives from
:class:`SandboxError`, itself a :class:`~common.errors.MathAgentError`, so a CLI catches one type.

Example:
    >>> issubclass(PoolTimeoutError, SandboxError) and issubclass(SandboxError, MathAgentError)
    True
"""

from common.errors import MathAgentError

__all__ = [
    "SandboxError",
    "IsolationUnavailableError",
    "KernelStartError",
    "SandboxClosedError",
    "PoolTimeoutError",
    "SandboxServiceError",
    "SandboxAuthError",
]


class SandboxError(MathAgentError):
    """Base class of every error the sandbox raises on purpose."""


class IsolationUnavailableError(SandboxError):
    """The requested isolation mode cannot work here; the message says what to install."""


class KernelStartError(SandboxError):
    """A kernel did not start or did not answer in time."""


class SandboxClosedError(SandboxError):
    """A Sandbox or SandboxPool was used after close()."""


class PoolTimeoutError(SandboxError, TimeoutError):
    """No warm kernel became available within the acquire timeout."""


class SandboxServiceError(SandboxError):
    """A sandbox service could not be reached or gave an unexpected answer; the message says which."""


class SandboxAuthError(SandboxServiceError):
    """A sandbox service refused the token (set ``$MATHAGENT_SANDBOX_TOKEN`` to one the service accepts)."""
