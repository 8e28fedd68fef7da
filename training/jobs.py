"""What every training job shares: data files, the done marker, resuming, progress, the result record.

A job writes into its output folder::

    OUT/data/examples.jsonl   the built records (text, tokenizer-free)
    OUT/data/report.json      what the builder kept and why
    OUT/trainer/              trainer checkpoints (resumed from when the job is run again)
    OUT/model/                the final Hugging Face checkpoint (``--model OUT/model``)
    OUT/result.json           written last: the job is done (same config: running it again is a no-op)

Example:
    >>> config_hash({"a": 1}) == config_hash({"a": 1})
    True
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common import jsonl
from common.files import atomic_write_text

from .data.report import BuildReport

__all__ = [
    "TrainResult",
    "ProgressCallback",
    "config_hash",
    "write_jsonl",
    "latest_checkpoint",
    "finished_result",
    "make_progress_callback",
    "losses_from_history",
    "RESULT_FILE",
]

logger = logging.getLogger(__name__)

RESULT_FILE = "result.json"

#: ``callback(step, max_steps, logs)`` after each optimizer step (logs: the last logged values).
ProgressCallback = Callable[[int, int, dict], None]


class TrainResult(BaseModel):
    """The record of a finished training job (``OUT/result.json``)."""

    model_config = ConfigDict(extra="forbid")

    job: str = Field(description="sft, rft, dpo, critic or verifier.")
    config_hash: str
    model_path: str = Field(description="The final checkpoint folder.")
    base: str = Field(description="The checkpoint training started from.")
    report: BuildReport
    examples: int = Field(description="Examples (or pairs) trained on after tokenization.")
    tokens: dict[str, int] = Field(default_factory=dict, description="Token counts: total and with loss.")
    steps: int = 0
    losses: list[float] = Field(default_factory=list, description="Logged training losses, in order.")
    seconds: float = 0.0
    metrics: dict[str, Any] = Field(default_factory=dict, description="The trainer's final metrics.")


def config_hash(data: Any) -> str:
    """A short stable hash of a JSON-able config (or pydantic model)."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def write_jsonl(path: Path, records: Iterable[BaseModel | dict]) -> int:
    """Write records to a JSONL file atomically (``common.jsonl.write_jsonl``), on the main process only.

    Returns the number of records."""
    from .modeling import is_main_process

    records = list(records)
    if not is_main_process():
        return len(records)
    return jsonl.write_jsonl(path, records)


def latest_checkpoint(trainer_dir: Path) -> str | None:
    """The newest ``checkpoint-N`` folder in a trainer output folder, to resume from."""
    d = Path(trainer_dir)
    if not d.is_dir():
        return None
    ckpts = [p for p in d.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    if not ckpts:
        return None
    return str(max(ckpts, key=lambda p: int(p.name.split("-")[-1])))


def finished_result(out: str | Path, chash: str) -> TrainResult | None:
    """The result of a finished job in ``out`` with the same config, if any."""
    path = Path(out) / RESULT_FILE
    if not path.is_file():
        return None
    result = TrainResult.model_validate_json(path.read_text())
    if result.config_hash != chash:
        return None
    if not Path(result.model_path).is_dir():
        return None
    return result


def make_progress_callback(on_progress: ProgressCallback | None):
    """A ``transformers.TrainerCallback`` that reports each step to ``on_progress`` (None: no callback)."""
    if on_progress is None:
        return None
    from transformers import TrainerCallback

    class _Progress(TrainerCallback):
        def __init__(self) -> None:
            self.logs: dict = {}

        def on_log(self, args, state, control, logs=None, **kw):
            self.logs = dict(logs or {})

        def on_step_end(self, args, state, control, **kw):
            on_progress(state.global_step, state.max_steps, self.logs)

    return _Progress()


def losses_from_history(history: list[dict], key: str = "loss") -> list[float]:
    """The logged training losses from a trainer's ``state.log_history``."""
    return [float(h[key]) for h in history if key in h]


class Stopwatch:
    """Seconds since creation."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.t0


def quiet(trainer):
    """Drop the trainer's stdout printer (library code logs; the CLI renders progress)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    return trainer


def finish_job(
    job: str,
    cfg,
    *,
    trainer,
    output,
    tokenizer,
    base: str,
    report: BuildReport,
    examples: int,
    tokens: dict[str, int],
    clock: Stopwatch,
    metrics: dict | None = None,
    auto_class: str = "AutoModelForCausalLM",
    model_kwargs: dict | None = None,
) -> TrainResult:
    """Save ``OUT/model`` and write ``OUT/result.json`` last (the job's done marker); returns the result."""
    from .modeling import save_model

    out = Path(cfg.output_dir)
    result = TrainResult(
        job=job,
        config_hash=config_hash(cfg),
        model_path=str(out / "model"),
        base=base,
        report=report,
        examples=examples,
        tokens=tokens,
        steps=trainer.state.global_step,
        losses=losses_from_history(trainer.state.log_history),
        seconds=clock.seconds,
        metrics={**dict(output.metrics), **(metrics or {})},
    )
    info = {"job": job, "config": cfg.model_dump(mode="json"), **result.model_dump(exclude={"report"})}
    save_model(
        trainer, tokenizer, out / "model", cfg.lora, info=info, auto_class=auto_class, model_kwargs=model_kwargs
    )
    result.seconds = clock.seconds
    return result


def write_result(cfg, result: TrainResult) -> TrainResult:
    """Write ``OUT/result.json`` (atomically, on the main process): from now on the job counts as done."""
    from .modeling import is_main_process

    if not is_main_process():
        return result
    atomic_write_text(Path(cfg.output_dir) / RESULT_FILE, result.model_dump_json(indent=2) + "\n")
    return result
