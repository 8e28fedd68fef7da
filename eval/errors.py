"""One error hierarchy for the eval core: every error raised on purpose derives from :class:`EvalError`.

Example:
    >>> issubclass(MalformedRecordError, DatasetError) and issubclass(EvalError, MathAgentError)
    True
"""

from __future__ import annotations

from pathlib import Path

from common.errors import MathAgentError

__all__ = ["EvalError", "DatasetError", "DatasetNotFoundError", "MalformedRecordError", "DatasetUnavailableError"]


class EvalError(MathAgentError):
    """Base class of the errors the eval core raises on purpose."""


class DatasetError(EvalError):
    """A dataset could not be loaded."""


class DatasetNotFoundError(DatasetError):
    """The dataset name or path does not resolve to a file or a known dataset."""


class DatasetUnavailableError(DatasetError):
    """A remote dataset (Hugging Face hub) cannot be reached or its library is not installed."""


class MalformedRecordError(DatasetError):
    """One record of a dataset file is malformed; the message names the file and the line (or row).

    Attributes:
        path: The file.
        line: 1-based line number (JSONL), record number (JSON list) or row number (Parquet).
        reason: What is wrong with the record.
    """

    def __init__(self, path: str | Path, line: int, reason: str, *, unit: str = "line") -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        self.unit = unit
        super().__init__(f"{self.path}:{line}: {reason} ({unit} {line}; pass skip_bad=True to skip bad records)")
