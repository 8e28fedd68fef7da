"""The root of every error mathagent raises on purpose.

Each package's errors subclass :class:`MathAgentError` (``SandboxError``, ``EvalError``, the agent's and
the trainers' errors), so a command line catches one type and prints its one-line message as is.

Example:
    >>> issubclass(MathAgentError, Exception)
    True
"""

__all__ = ["MathAgentError"]


class MathAgentError(Exception):
    """Base class of every error mathagent raises on purpose; the message says what failed and what to do."""
