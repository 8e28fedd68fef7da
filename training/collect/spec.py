"""What a collection job collects (:class:`CollectSpec`) and how it runs (:class:`CollectOptions`).

The spec is recorded in the manifest and must be the same to resume a job: anything that changes how
a trajectory is made (dataset, model, backend, samples, agent configuration, critic) is in it. The
options only change how fast or where the job runs (concurrency, threads, sandbox isolation, server
URL, Ray, the error-rate stop, ``limit``), so they may differ from one run of a job to the next.

Example:
    >>> spec = CollectSpec(dataset="train.jsonl", model="smollm2-135m", samples=4)
    >>> spec.samples, spec.agent.temperature, spec.agent.seed, CollectOptions().max_error_rate
    (4, 0.7, 0, 0.2)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from agent.config import AgentConfig, nest_agent_fields
from common.configs import ConfigMismatchError
from common.errors import MathAgentError

__all__ = [
    "CollectError",
    "CollectOptions",
    "CollectSpec",
    "CollectionBusyError",
    "ConfigMismatchError",
    "SandboxErrorRateExceeded",
]


class CollectError(MathAgentError):
    """A collection job cannot start or has to stop; the message says why and what to do."""


class CollectionBusyError(CollectError):
    """Another process is writing to the same output folder."""


class SandboxErrorRateExceeded(CollectError):
    """Too many code cells failed inside the sandbox (timeouts, crashes): the interpreter looks broken."""


class CollectSpec(BaseModel):
    """What a collection job collects. Recorded in ``manifest.json``; a resumed job must match it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = Field(description="Dataset file (JSONL/JSON/Parquet), known name (gsm8k, math500) or hf:<name>.")
    split: str | None = Field(None, description="Split, for known datasets and the hub (default test).")
    fields: dict[str, str] | None = Field(
        None, description="Field mapping for generic files: keys question, answer, id, solution."
    )
    model: str = Field(description="Policy model: alias, .gguf file, checkpoint folder, hub id or served name.")
    backend: str = Field("auto", description="llamacpp | transformers | openai | vllm | auto.")
    backend_options: dict[str, Any] = Field(
        default_factory=dict, description="Extra backend options that change outputs (dtype, max_model_len...)."
    )
    agent: AgentConfig = Field(
        default_factory=lambda: AgentConfig(seed=0),
        description="The agent's settings, samples per problem (K) included; the seed defaults to 0.",
    )
    critic: str | None = Field(None, description="Critic model (agent.critic.Critic); None: no critique.")
    critic_backend: str = Field("auto", description="Backend of the critic model.")
    critic_reference: bool = Field(True, description="Give the critic the reference answer.")
    critic_config: dict[str, Any] = Field(
        default_factory=dict,
        validate_default=True,
        description="agent.critic.CriticConfig fields (max_tokens, samples, prompts...); defaults fill the rest.",
    )

    @model_validator(mode="before")
    @classmethod
    def _agent_fields_inside(cls, data: Any) -> Any:
        """``samples`` belongs to the agent (earlier manifests kept it beside); a collection's seed defaults to 0."""
        return nest_agent_fields(data, keys=("samples",), defaults={"seed": 0})

    @property
    def samples(self) -> int:
        """Trajectories per problem (K)."""
        return self.agent.samples

    @field_validator("critic_config")
    @classmethod
    def _complete_critic(cls, config: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if info.data.get("critic") is None:
            if config:
                raise ValueError("critic_config without a critic model")
            return {}
        try:
            from agent.critic import CriticConfig
        except ImportError:  # checked when the job starts (CollectError naming the missing module)
            return dict(config)
        return CriticConfig.model_validate(config).model_dump(mode="json")

    def agent_config(self) -> AgentConfig:
        """The agent's configuration for every trajectory of this job."""
        return self.agent


class CollectOptions(BaseModel):
    """How a collection job runs. May change between runs of the same job."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: int | None = Field(None, ge=1, description="First N problems only (may grow between runs).")
    skip_bad: bool = Field(False, description="Skip malformed dataset records (counted) instead of stopping.")
    concurrency: int = Field(4, ge=1, description="Trajectories in flight at once (per Ray worker with --ray).")
    sandbox: str = Field("jail", description="Kernel isolation: jail | docker | none | a sandbox service URL.")
    threads: int | None = Field(None, ge=1, description="CPU threads for in-process models (llamacpp, transformers).")
    base_url: str | None = Field(None, description="Server URL for --backend openai.")
    critic_base_url: str | None = Field(None, description="Server URL for an openai critic backend.")
    max_error_rate: float = Field(
        0.2, ge=0, le=1, description="Stop when this share of code cells failed inside the sandbox (this run)."
    )
    min_cells: int = Field(50, ge=1, description="Code cells run (this run) before the error-rate stop applies.")
    model_retries: int = Field(3, ge=0, description="Retries of a failing model call, with exponential backoff.")
    retry_backoff: float = Field(2.0, ge=0, description="Seconds before the first retry; doubled each time.")
    problem_retries: int = Field(
        1, ge=0, description="Retries of a problem whose run raised (sandbox could not start...), then the job stops."
    )
    shard_max_mb: float = Field(256.0, gt=0, description="A new shard starts when the current one passes this size.")
    manifest_every: float = Field(5.0, ge=0, description="Seconds between manifest updates while running.")
    ray: str | None = Field(
        None, description="Ray cluster: 'local' (start one here), 'auto', 'host:port' or 'ray://host:port'."
    )
    ray_workers: int | None = Field(None, ge=1, description="Ray workers (default: cluster CPUs / ray_cpus).")
    ray_cpus: float = Field(1.0, gt=0, description="CPUs reserved per Ray worker.")
    ray_gpus: float = Field(0.0, ge=0, description="GPUs reserved per Ray worker.")

    def backend_options(self, spec: CollectSpec) -> dict[str, Any]:
        """Options for :func:`agent.backends.load_backend` of the policy model."""
        out = dict(spec.backend_options)
        if spec.backend == "openai":
            if not self.base_url:
                raise CollectError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
            out["base_url"] = self.base_url
        elif self.threads and spec.backend in ("llamacpp", "transformers", "auto"):
            out["n_threads"] = self.threads
        return out

    def critic_options(self, spec: CollectSpec) -> dict[str, Any]:
        """Options for the critic model's backend."""
        if spec.critic_backend == "openai":
            url = self.critic_base_url or self.base_url
            if not url:
                raise CollectError("--critic-backend openai needs --critic-base-url")
            return {"base_url": url}
        if self.threads and spec.critic_backend in ("llamacpp", "transformers", "auto"):
            return {"n_threads": self.threads}
        return {}
