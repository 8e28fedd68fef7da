"""Option types shared by several commands, ``--config FILE`` / ``--set key=value``, and the one mapping of
the agent's options onto :class:`~agent.config.AgentConfig`.

Every option an agent command takes (``solve``, ``chat``, ``eval``, ``collect``) that is an
:class:`~agent.config.AgentConfig` field has the field's name (``--max-tool-calls`` is
``max_tool_calls``), defaults to "not given", and reaches the config only through :func:`agent_config`:
the config's own defaults, then the command's (``eval`` and ``collect`` seed 0), then the options given.

:func:`configurable` gives a command ``--config FILE`` (YAML or JSON: option names as keys) and
``--set key=value`` (repeatable; the value read as YAML). Precedence: defaults < ``--config`` file <
options on the command line < ``--set``.

Example:
    >>> agent_config({"samples": 4, "max_tokens": None}, base={"seed": 0}).temperature
    0.7
    >>> parse_sets(["samples=4", "mode=cot", "critic_max_tokens=64"])
    {'samples': 4, 'mode': 'cot', 'critic_max_tokens': 64}
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .console import fail

__all__ = [
    "ModelOpt",
    "BackendOpt",
    "ModeOpt",
    "PromptOpt",
    "SandboxOpt",
    "RerankOpt",
    "CriticOpt",
    "CriticTokensOpt",
    "TopClustersOpt",
    "TemperatureOpt",
    "MaxToolCallsOpt",
    "MaxTokensOpt",
    "CellTimeoutOpt",
    "ThreadsOpt",
    "BaseUrlOpt",
    "JsonOpt",
    "agent_config",
    "backend_options",
    "configurable",
    "parse_sets",
    "apply_dotted",
    "SetOpt",
    "ConfigFileOpt",
    "load_settings",
]

F = TypeVar("F", bound=Callable[..., Any])

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Alias, .gguf file, checkpoint folder, or hub id.")]
BackendOpt = Annotated[str, typer.Option("--backend", "-b", help="llamacpp | transformers | openai | vllm | auto.")]
ModeOpt = Annotated[
    str | None,
    typer.Option("--mode", help="tir: text + interpreter | cot: text only | pal: one program.", show_default="tir"),
]
PromptOpt = Annotated[
    str | None, typer.Option("--prompt", help="A prompt YAML file (or prompt name) in place of the mode's own.")
]
SandboxOpt = Annotated[str, typer.Option("--sandbox", help="Kernel isolation: jail | docker | none | a service URL.")]
RerankOpt = Annotated[
    str | None,
    typer.Option(
        "--rerank",
        help="Choose among samples: majority | weighted (critic-weighted vote) | cluster (Liu et al. 2023) | best. "
        "Default: cluster with --critic-model, else majority.",
    ),
]
CriticOpt = Annotated[
    str | None,
    typer.Option("--critic-model", help="Math-Critique judge that scores each sample (the --model itself shares it)."),
]
CriticTokensOpt = Annotated[
    int | None, typer.Option("--critic-max-tokens", min=8, help="Most tokens of one critique.", show_default="384")
]
TopClustersOpt = Annotated[
    int | None, typer.Option("--top-clusters", min=1, help="Clusters kept by --rerank cluster.", show_default="2")
]
TemperatureOpt = Annotated[float | None, typer.Option(help="Default 0, or 0.7 with --samples > 1.")]
MaxToolCallsOpt = Annotated[int | None, typer.Option(help="Most code blocks run per trajectory.", show_default="6")]
MaxTokensOpt = Annotated[int | None, typer.Option(help="Most generated tokens per trajectory.", show_default="2048")]
CellTimeoutOpt = Annotated[float | None, typer.Option(help="Seconds per code block.", show_default="15.0")]
ThreadsOpt = Annotated[int | None, typer.Option(help="CPU threads for the model.")]
BaseUrlOpt = Annotated[str | None, typer.Option(help="Server URL for --backend openai.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]

ConfigFileOpt = Annotated[
    Path | None,
    typer.Option("--config", help="YAML/JSON file of this command's options (option names as keys); flags win."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Set an option: key=value (repeatable; wins over flags and --config)."),
]


def agent_config(options: dict[str, Any], *, base: dict[str, Any] | None = None):
    """The :class:`~agent.config.AgentConfig` of a command's options (``None``: not given).

    Args:
        options: The command's option values by name; names that are not AgentConfig fields are ignored.
        base: The command's own defaults (``{"seed": 0}``), under the options given.
    """
    from agent.config import AgentConfig

    given = {k: v for k, v in options.items() if k in AgentConfig.model_fields and v is not None}
    return AgentConfig.model_validate({**(base or {}), **given})


def backend_options(backend: str, threads: int | None, base_url: str | None) -> dict[str, Any]:
    """Backend loader options of ``--threads`` / ``--base-url``: the URL for ``openai``, threads for the others."""
    if backend == "openai":
        return {"base_url": base_url}
    return {"n_threads": threads} if threads else {}


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``key=value`` items as a dict; each value is read as YAML (``4`` is a number, ``true`` a bool)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r}: expected key=value", param_hint="--set")
        try:
            out[key.strip().replace("-", "_")] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            out[key.strip().replace("-", "_")] = value
    return out


def apply_dotted(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Set ``a.b=value`` keys (from :func:`parse_sets`) in a nested dict; returns a new dict."""
    out = json.loads(json.dumps(data, default=str))
    for key, value in values.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {key}: {part} is not a section")
        node[last] = value
    return out


def load_settings(path: Path) -> dict[str, Any]:
    """A ``--config`` file: a YAML or JSON mapping of option names to values."""
    import yaml

    try:
        text = Path(path).read_text()
        data = json.loads(text) if Path(path).suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"--config {path}: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"--config {path}: expected a mapping of option names to values, got {type(data).__name__}")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def configurable(func: F) -> F:
    """Give a command ``--config FILE`` and ``--set key=value`` over its own options (see the module doc)."""
    sig = inspect.signature(func, eval_str=True)
    names = [n for n in sig.parameters]
    extra = [
        inspect.Parameter("_ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context),
        inspect.Parameter("config_file", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigFileOpt),
        inspect.Parameter("sets", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=SetOpt),
    ]

    @functools.wraps(func)
    def command(
        *args: Any, _ctx: typer.Context, config_file: Path | None = None, sets: list[str] | None = None, **kwargs: Any
    ) -> Any:
        ctx = _ctx
        params = {p.name: p for p in ctx.command.params}
        try:
            from_file = load_settings(config_file) if config_file is not None else {}
        except ValueError as exc:
            fail(exc)
        for source, values in (("--config", from_file), ("--set", parse_sets(sets or []))):
            for key, value in values.items():
                if key not in names or key not in params:
                    fail(f"{source}: {key!r} is not an option of this command (options: {', '.join(names)})")
                if source == "--config" and getattr(ctx.get_parameter_source(key), "name", "") == "COMMANDLINE":
                    continue  # a flag on the command line wins over the file
                param = params[key]
                try:  # converted and checked like the flag itself (types, ranges)
                    kwargs[key] = value if value is None else param.process_value(ctx, value)
                except (typer.BadParameter, ValueError, TypeError) as exc:
                    fail(f"{source}: {key}: {getattr(exc, 'message', exc)}")
        return func(*args, **kwargs)

    command.__signature__ = sig.replace(parameters=[*sig.parameters.values(), *extra])  # type: ignore[attr-defined]
    command.__annotations__ = {
        **func.__annotations__,
        "_ctx": typer.Context,
        "config_file": ConfigFileOpt,
        "sets": SetOpt,
    }
    return command  # type: ignore[return-value]
