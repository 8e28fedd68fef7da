"""The agent's errors; all derive from the one root, :class:`common.errors.MathAgentError`.

Every error says what failed and what to do next, in one line, so the CLI can print it as is.
"""

from common.errors import MathAgentError  # the root, shared by every package

__all__ = [
    "MathAgentError",
    "ModelNotFoundError",
    "ModelNotInstalledError",
    "ModelIntegrityError",
    "MissingExtraError",
    "BackendError",
    "BackendClosedError",
    "GenerationCancelled",
]


class ModelNotFoundError(MathAgentError, LookupError):
    """A model name is neither a known alias, a local file or folder, nor a hub id."""


class ModelNotInstalledError(MathAgentError):
    """A packaged model's PyPI packages are not installed; the message names the pip command."""


class ModelIntegrityError(MathAgentError):
    """An assembled model file does not have the expected sha256; it was refused and not used."""


class MissingExtraError(MathAgentError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class BackendError(MathAgentError):
    """A backend failed to load a model or to generate."""


class BackendClosedError(BackendError):
    """The model was closed (the job is stopping) while a call was running or before it started; not retried."""


class GenerationCancelled(MathAgentError):
    """The user stopped a generation (Ctrl-C in chat)."""
