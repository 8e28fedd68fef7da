"""Pieces shared by every training job's config: the model, LoRA, trainer arguments, YAML loading.

Each stage has one typed config (``sft_config.py``, ``dpo_config.py``, ...) built from these parts and
loaded from a YAML file under ``configs/train/``; ``key.sub=value`` overrides from the command line
are applied before validation, so a typo is a one-line error naming the field.

Example:
    >>> apply_overrides({"train": {"max_steps": 10}}, ["train.max_steps=3", "lora.enabled=true"])
    {'train': {'max_steps': 3}, 'lora': {'enabled': True}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import TrainingError

__all__ = ["ModelSpec", "LoraSpec", "TrainArgs", "JobConfig", "load_config", "apply_overrides"]

C = TypeVar("C", bound=BaseModel)


class ModelSpec(BaseModel):
    """The model to train (a GGUF file is dequantized once into a cached Hugging Face checkpoint)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Alias (smollm2-135m), .gguf file, checkpoint or LoRA adapter folder, or hub id.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype; auto is float32 on CPU and bfloat16 on GPUs that support it."
    )


class LoraSpec(BaseModel):
    """LoRA through PEFT (off: full fine-tuning)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(False, description="Train a LoRA adapter instead of all weights.")
    r: int = Field(16, ge=1, description="Adapter rank.")
    alpha: int = Field(32, ge=1, description="Scaling numerator (alpha / r).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the adapter input.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description="Module names to adapt, or all-linear (every linear layer but the LM head)."
    )
    merge: bool = Field(
        True,
        description="Merge the adapter into the weights on save (a plain checkpoint that every backend, vLLM "
        "included, loads); false saves the adapter folder alone.",
    )


class TrainArgs(BaseModel):
    """Trainer arguments (mapped onto TRL's / transformers' configs; ``extra`` passes anything else through)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: float = Field(1.0, gt=0, description="Passes over the data (ignored when max_steps > 0).")
    max_steps: int = Field(-1, description="Optimizer steps; -1 trains for `epochs`.")
    learning_rate: float = Field(1e-5, gt=0, description="Peak learning rate.")
    batch_size: int = Field(4, ge=1, description="Sequences per device per forward pass.")
    grad_accum: int = Field(1, ge=1, description="Forward passes per optimizer step.")
    max_length: int = Field(2048, ge=16, description="Longest sequence (tokens); longer examples are dropped.")
    warmup_ratio: float = Field(0.0, ge=0, lt=1, description="Share of steps spent warming the LR up.")
    lr_scheduler: str = Field("cosine", description="transformers scheduler name (cosine, linear, constant...).")
    weight_decay: float = Field(0.0, ge=0)
    logging_steps: int = Field(1, ge=1, description="Log the loss every N steps.")
    save_steps: int | None = Field(
        None, ge=1, description="Save a resumable trainer checkpoint every N steps (None: no intermediate saves)."
    )
    seed: int = Field(0, description="Seed of shuffling, dropout and adapter init.")
    threads: int | None = Field(None, ge=1, description="CPU threads for torch (default $MATHAGENT_THREADS or all).")
    bf16: bool | None = Field(None, description="bf16 mixed precision; None: on where a GPU supports it.")
    gradient_checkpointing: bool = Field(False, description="Recompute activations to save memory (GPUs).")
    report_to: list[str] = Field(default_factory=list, description="Loggers (wandb, tensorboard); none by default.")
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="More TRL/transformers arguments, as is (e.g. deepspeed: configs/deepspeed/zero2.json).",
    )

    def trainer_kwargs(self, output_dir: Path) -> dict[str, Any]:
        """Keyword arguments for a TRL config (``SFTConfig``, ``DPOConfig``) or ``TrainingArguments``."""
        import torch

        bf16 = self.bf16
        if bf16 is None:
            bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
        kw: dict[str, Any] = dict(
            output_dir=str(output_dir),
            num_train_epochs=self.epochs,
            max_steps=self.max_steps,
            learning_rate=self.learning_rate,
            per_device_train_batch_size=self.batch_size,
            gradient_accumulation_steps=self.grad_accum,
            warmup_steps=self.warmup_ratio,
            lr_scheduler_type=self.lr_scheduler,
            weight_decay=self.weight_decay,
            logging_steps=self.logging_steps,
            save_strategy="steps" if self.save_steps else "no",
            save_steps=self.save_steps or 500,
            save_total_limit=2,
            seed=self.seed,
            bf16=bf16,
            fp16=False,
            gradient_checkpointing=self.gradient_checkpointing,
            report_to=list(self.report_to) or "none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            dataloader_pin_memory=False,
        )
        kw.update(self.extra)
        return kw


class JobConfig(BaseModel):
    """Fields every training job has: the model, the data, LoRA, trainer arguments, the output folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: ModelSpec = Field(description="The model to start from.")
    data: list[str] = Field(
        description="Collection folders, eval run folders, JSONL files (Trajectory or ToRA records) or globs."
    )
    lora: LoraSpec = Field(default_factory=LoraSpec)
    train: TrainArgs = Field(default_factory=TrainArgs)
    output_dir: str = Field(description="Where the job writes data/, trainer/ and the final model/ checkpoint.")


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Set ``a.b.c=value`` overrides (values parsed as YAML) in a nested dict (returned, modified in place)."""
    for item in overrides:
        if "=" not in item:
            raise TrainingError(f"override {item!r}: expected key=value (e.g. train.max_steps=10)")
        key, value = item.split("=", 1)
        node = data
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise TrainingError(f"override {item!r}: {p} is not a section")
        node[parts[-1]] = _parse_value(value)
    return data


def load_config(cls: type[C], path: str | Path | None = None, overrides: list[str] | None = None, **fields) -> C:
    """Load a job config from YAML (optional), then keyword fields, then ``key=value`` overrides.

    Raises:
        TrainingError: Missing file, bad YAML, or a field that does not validate (one line, naming it).
    """
    data: dict = {}
    where = "config"
    if path is not None:
        p = Path(path)
        where = str(p)
        if not p.is_file():
            raise TrainingError(f"{p}: no such config file")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise TrainingError(f"{p}: not valid YAML: {str(exc).splitlines()[0]}") from exc
        if not isinstance(data, dict):
            raise TrainingError(f"{p}: expected a mapping at the top level")
    for k, v in fields.items():
        if v is not None:
            data[k] = v
    apply_overrides(data, overrides or [])
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(top)"
        raise TrainingError(f"{where}: {loc}: {err['msg']}") from exc
