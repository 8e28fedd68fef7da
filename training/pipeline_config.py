"""Config of the Self-Critique pipeline: collect -> critique -> RFT -> DPO -> eval, one YAML file.

Example:
    >>> cfg = PipelineConfig(workdir="runs/p", model="smollm2-135m")
    >>> cfg.collect.agent.samples, cfg.collect.agent.temperature, cfg.rft.select.min_score, cfg.eval.problems.limit
    (4, 0.7, 7, 100)
    >>> CollectStage.model_validate({"samples": 2, "max_tokens": 128}).agent.max_tokens  # flat keys: the agent's
    128
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent.config import AgentConfig, nest_agent_fields

from .config import LoraSpec, TrainArgs
from .data.examples import RenderOptions
from .data.pairs import PairOptions
from .data.select import SelectOptions

__all__ = [
    "PipelineConfig",
    "ProblemSet",
    "CollectStage",
    "CritiqueStage",
    "RFTStage",
    "DPOStage",
    "EvalStage",
    "STAGES",
]

#: The pipeline's stages, in order.
STAGES = ("collect", "critique", "rft", "dpo", "eval")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProblemSet(_Frozen):
    """Problems from a dataset (``eval.datasets.load_problems``)."""

    dataset: str = Field("gsm8k", description="Known name (gsm8k, math500), JSONL/JSON/Parquet file, or hf:<name>.")
    split: str | None = Field(None, description="Split of a known dataset (train, test).")
    limit: int | None = Field(None, ge=1, description="First N problems only.")


_COLLECT_AGENT = {"samples": 4, "seed": 0, "max_tokens": 1024}
_EVAL_AGENT = {"seed": 0, "max_tokens": 1024}


class CollectStage(_Frozen):
    """Sampling the policy on the training problems (``mathagent collect``)."""

    agent: AgentConfig = Field(
        default_factory=lambda: AgentConfig(**_COLLECT_AGENT),
        description="The agent while sampling: samples per problem (K), mode, temperature (0.7 with K > 1), seed, "
        "limits. Its fields may also be written flat in the stage.",
    )
    backend: str = Field("auto", description="Backend of the policy while sampling (auto: llamacpp for GGUF).")
    backend_options: dict = Field(
        default_factory=dict, description="Backend options, e.g. {enforce_eager: true} for vllm on a CPU."
    )
    concurrency: int = Field(4, ge=1, description="Trajectories in flight at once.")
    sandbox: str = Field("jail", description="Kernel isolation: jail | docker | none | a sandbox service URL.")

    @model_validator(mode="before")
    @classmethod
    def _flat_agent_keys(cls, data: Any) -> Any:
        return nest_agent_fields(data, defaults=_COLLECT_AGENT)

    @property
    def samples(self) -> int:
        """Trajectories per problem (K)."""
        return self.agent.samples


class CritiqueStage(_Frozen):
    """The Math-Critique judge on every collected trajectory (``agent.critic.Critic``)."""

    enabled: bool = Field(True, description="Off: RFT selects on correctness alone, DPO pairs by correctness.")
    model: str | None = Field(None, description="Critic model; None: the policy judges itself (self-critique).")
    backend: str = Field("auto", description="Backend of the critic model.")
    with_reference: bool = Field(True, description="Give the critic the reference answer (data selection).")
    max_tokens: int = Field(384, ge=8, description="Most tokens of one critique.")
    chunk: int = Field(32, ge=1, description="Trajectories critiqued (and saved) per batch; a rerun resumes here.")


class RFTStage(_Frozen):
    """Rejective fine-tuning of the policy on its critic-accepted samples."""

    select: SelectOptions = Field(default_factory=lambda: SelectOptions(min_score=7))
    render: RenderOptions = Field(default_factory=RenderOptions)
    lora: LoraSpec = Field(default_factory=LoraSpec)
    train: TrainArgs = Field(default_factory=TrainArgs)


class DPOStage(_Frozen):
    """DPO of the RFT model on critique-ranked pairs from the same collection."""

    enabled: bool = Field(True, description="Off: the RFT model is the final model.")
    pairs: PairOptions = Field(default_factory=PairOptions)
    render: RenderOptions = Field(default_factory=RenderOptions)
    beta: float = Field(0.1, gt=0)
    loss_type: list[str] = Field(default_factory=lambda: ["sigmoid"])
    loss_weights: list[float] | None = None
    lora: LoraSpec = Field(default_factory=LoraSpec)
    train: TrainArgs = Field(default_factory=lambda: TrainArgs(learning_rate=5e-7))


class EvalStage(_Frozen):
    """Accuracy of the final model (and of the starting model) on held-out problems."""

    enabled: bool = True
    problems: ProblemSet = Field(default_factory=lambda: ProblemSet(dataset="gsm8k", split="test", limit=100))
    backend: str = Field(
        "transformers", description="Backend for both models (the same one, so that only the weights differ)."
    )
    backend_options: dict = Field(
        default_factory=dict, description="Backend options, e.g. {enforce_eager: true} for vllm on a CPU."
    )
    baseline: bool = Field(True, description="Also evaluate the starting model on the same problems and backend.")
    agent: AgentConfig = Field(
        default_factory=lambda: AgentConfig(**_EVAL_AGENT),
        description="The agent while evaluating (greedy, one sample); its mode and prompt are the collection's. "
        "Its fields may also be written flat in the stage.",
    )
    concurrency: int = Field(4, ge=1)
    sandbox: str = "jail"

    @model_validator(mode="before")
    @classmethod
    def _flat_agent_keys(cls, data: Any) -> Any:
        return nest_agent_fields(data, defaults=_EVAL_AGENT)


class PipelineConfig(_Frozen):
    """The whole Self-Critique loop in one file (``mathagent train pipeline CONFIG``)."""

    workdir: str = Field(description="Folder of every stage's output and done marker.")
    model: str = Field(description="The policy to improve: alias, .gguf file, checkpoint folder or hub id.")
    threads: int | None = Field(None, ge=1, description="CPU threads of every model (default $MATHAGENT_THREADS).")
    few_shot: bool = Field(
        True,
        description="The agent prompt's worked examples, in collection and eval alike (training prompts are the "
        "recorded ones); false makes every sequence shorter (faster on CPU).",
    )
    problems: ProblemSet = Field(
        default_factory=lambda: ProblemSet(dataset="gsm8k", split="train", limit=200),
        description="Training problems the policy is sampled on.",
    )
    collect: CollectStage = Field(default_factory=CollectStage)
    critique: CritiqueStage = Field(default_factory=CritiqueStage)
    rft: RFTStage = Field(default_factory=RFTStage)
    dpo: DPOStage = Field(default_factory=DPOStage)
    eval: EvalStage = Field(default_factory=EvalStage)
