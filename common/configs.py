"""One way to compare a stored configuration with a new one, and one error when they differ.

Example:
    >>> config_diff({"samples": 1, "agent": {"mode": "tir"}}, {"samples": 2, "agent": {"mode": "cot"}})
    ['samples: 1 -> 2', "agent.mode: 'tir' -> 'cot'"]
"""

from __future__ import annotations

from typing import Any

from .errors import MathAgentError

__all__ = ["ConfigMismatchError", "config_diff"]

_MISSING = object()


class ConfigMismatchError(MathAgentError, ValueError):
    """A folder holds a run (an eval, a collection, a pipeline stage) made with another configuration."""


def config_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """What differs between two configurations, one ``key: old -> new`` per changed field (nested keys dotted)."""
    out: list[str] = []
    for key in list(new) + [k for k in old if k not in new]:
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(config_diff(a, b, f"{prefix}{key}."))
        elif a != b:
            shown = ["(unset)" if v is _MISSING else repr(v) for v in (a, b)]
            out.append(f"{prefix}{key}: {shown[0]} -> {shown[1]}")
    return out
