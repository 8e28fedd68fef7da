"""The bottom layer: what every package shares and nothing else.

One error root (:class:`~common.errors.MathAgentError`), one atomic write (:mod:`common.files`), one JSONL
reader and writer (:mod:`common.jsonl`), one configuration diff (:mod:`common.configs`). It imports no other
mathagent package.
"""

from .configs import ConfigMismatchError, config_diff
from .errors import MathAgentError
from .files import atomic_write_bytes, atomic_write_text, fsync_dir
from .jsonl import JsonlError, append_jsonl, read_jsonl, write_jsonl

__all__ = [
    "MathAgentError",
    "ConfigMismatchError",
    "config_diff",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_dir",
    "JsonlError",
    "append_jsonl",
    "read_jsonl",
    "write_jsonl",
]
