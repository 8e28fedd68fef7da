"""Errors of the training room: one line each, saying what failed and what to do next."""

from common.configs import ConfigMismatchError
from common.errors import MathAgentError

__all__ = ["TrainingError", "DataError", "StageConfigError"]


class TrainingError(MathAgentError):
    """A training job cannot run (bad configuration, no data left after selection, missing model)."""


class DataError(TrainingError, ValueError):
    """Training data is missing or malformed; the message names the file and line."""


class StageConfigError(TrainingError, ConfigMismatchError):
    """A pipeline stage was already done with another configuration."""
