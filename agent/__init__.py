"""mathagent's agent room: models, LLM backends, the tool loop, ``solve()``, voting, the CLI.

``import agent; agent.solve("What is 17 * 23?")`` solves one problem end to end. Names are loaded
lazily so that ``mathagent --help`` and ``agent.models`` stay fast.
"""

from importlib import import_module

__all__ = ["Agent", "AgentConfig", "Solution", "solve", "load_backend", "resolve_model"]

_WHERE = {
    "Agent": ".agent",
    "Solution": ".agent",
    "solve": ".agent",
    "AgentConfig": ".config",
    "load_backend": ".backends",
    "resolve_model": ".models",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module 'agent' has no attribute {name!r}")
