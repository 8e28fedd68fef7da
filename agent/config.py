"""The agent's typed configuration: mode, prompt, limits, sampling and how samples are chosen.

Declared once: ``Agent(...)``, ``agent.solve()``, the ``solve``/``chat``/``eval``/``collect`` commands
(through :func:`cli.options.agent_config`), eval run records (``RunSpec.agent``), collection manifests
(``CollectSpec.agent``) and the pipeline's collect and eval stages all use this one model.

The temperature rule lives here alone: with more than one sample a temperature that is unset or 0 becomes
0.7 (greedy samples would all repeat one answer).

Example:
    >>> AgentConfig(mode="cot").stop_sequences()
    ()
    >>> [AgentConfig(**kw).temperature for kw in ({}, {"samples": 4}, {"samples": 4, "temperature": 1.0})]
    [0.0, 0.7, 1.0]
    >>> AgentConfig().for_samples(4).temperature
    0.7
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .parsing import FENCE_CLOSE, OUTPUT_OPEN

__all__ = ["AgentConfig", "Mode", "Rerank", "SAMPLING_TEMPERATURE", "nest_agent_fields"]

logger = logging.getLogger(__name__)

Mode = Literal["tir", "cot", "pal"]
Rerank = Literal["majority", "weighted", "cluster", "best"]

#: The temperature used when several samples are asked for at temperature 0 (or none given).
SAMPLING_TEMPERATURE = 0.7


class AgentConfig(BaseModel):
    """How the agent solves one problem."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode = Field("tir", description="tir: text + interpreter; cot: text only; pal: one program.")
    prompt: str | None = Field(None, description="Prompt name or YAML path (default: the mode's prompt).")
    few_shot: bool = Field(True, description="Include the prompt file's worked examples as chat turns.")
    max_tool_calls: int = Field(6, ge=0, description="Most code blocks run per problem.")
    max_tokens: int = Field(2048, ge=16, description="Most generated tokens per problem, all turns together.")
    max_turn_tokens: int = Field(1024, ge=16, description="Most tokens per generation call.")
    max_output_chars: int = Field(800, ge=40, description="Interpreter output shown to the model (head + tail).")
    cell_timeout: float = Field(15.0, gt=0, description="Seconds one code block may run.")
    wall_time: float = Field(600.0, gt=0, description="Seconds per problem before the agent stops.")
    temperature: float = Field(
        None, ge=0, validate_default=True, description="0 is greedy; unset: 0, or 0.7 with samples > 1."
    )
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = Field(None, description="Sampling seed; sample i uses seed + i.")
    answer_fallbacks: bool = Field(
        False, description="Without a \\boxed{} answer, also accept 'the answer is', '####' and the last number."
    )
    samples: int = Field(1, ge=1, description="Trajectories per problem; more than one gives a vote.")
    rerank: Rerank | None = Field(
        None,
        description="How to choose among samples (agent.rerank); default: cluster with a verifier, else majority.",
    )
    top_clusters: int = Field(2, ge=1, description="Clusters kept by cluster re-ranking (and rerank@k).")

    @model_validator(mode="before")
    @classmethod
    def _temperature_rule(cls, data: Any) -> Any:
        """Several samples at temperature 0 (or unset) would repeat one answer: sample at 0.7 instead."""
        if not isinstance(data, dict):
            return data
        samples = data.get("samples", 1)
        temperature = data.get("temperature")
        if isinstance(samples, int) and samples > 1 and not temperature:
            if temperature == 0:
                logger.info("samples=%d with temperature 0 would repeat one answer: sampling at 0.7", samples)
            return {**data, "temperature": SAMPLING_TEMPERATURE}
        if temperature is None:
            return {**data, "temperature": 0.0}
        return data

    def for_samples(self, samples: int) -> AgentConfig:
        """This configuration with ``samples`` trajectories per problem (the temperature rule applied again)."""
        if samples == self.samples:
            return self
        return AgentConfig.model_validate({**self.model_dump(), "samples": samples})

    def prompt_name(self) -> str:
        return self.prompt or self.mode

    def stop_sequences(self) -> tuple[str, ...]:
        """Stops for a generation: at an output block, or at a closed code fence (to run it at once)."""
        return {"tir": (OUTPUT_OPEN, FENCE_CLOSE), "pal": (FENCE_CLOSE,), "cot": ()}[self.mode]


def nest_agent_fields(
    data: Any, *, keys: Iterable[str] | None = None, defaults: Mapping[str, Any] | None = None
) -> Any:
    """Move agent settings written beside an ``agent`` section into it (a before-validator's body).

    Run records, collection manifests and pipeline stages hold an ``agent: AgentConfig``; older files
    and hand-written YAML put some of its fields beside it (``samples: 4``). Those move inside; a field
    set in both places with different values is an error (which one was meant is unclear); ``defaults``
    fill the fields neither sets (or sets to None).

    Args:
        data: The raw input of the outer model.
        keys: The fields that may stand outside (default: every AgentConfig field).
        defaults: Values for fields left unset.

    Raises:
        ValueError: A field set both beside and inside ``agent`` to different values.

    Example:
        >>> nest_agent_fields({"samples": 4, "agent": {"mode": "cot"}}, defaults={"seed": 0})
        {'agent': {'mode': 'cot', 'samples': 4, 'seed': 0}}
    """
    if not isinstance(data, dict):
        return data
    names = tuple(AgentConfig.model_fields if keys is None else keys)
    flat = {k: data[k] for k in names if k in data}
    if not flat and not defaults:
        return data
    rest = {k: v for k, v in data.items() if k not in flat}
    agent = rest.get("agent") or {}
    if isinstance(agent, AgentConfig):
        agent = agent.model_dump(exclude_unset=True)
    elif isinstance(agent, dict):
        agent = dict(agent)
    else:
        return data  # not a section: AgentConfig's own validation reports it
    for key, value in flat.items():
        if value is None:
            continue
        if agent.get(key, value) != value:
            raise ValueError(
                f"{key} is set twice, to {value!r} beside 'agent' and to {agent[key]!r} in it: set it once"
            )
        agent[key] = value
    for key, value in (defaults or {}).items():
        if agent.get(key) is None:
            agent[key] = value
    return {**rest, "agent": agent}
