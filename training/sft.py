"""Supervised fine-tuning on trajectories with TRL's ``SFTTrainer``; loss on the model's own tokens only.

The examples are tokenized here (:class:`~training.data.tokenize.Encoder`) into ``input_ids`` and
``labels`` with ``-100`` on the prompt and on every interpreter output block; TRL takes such a
pre-tokenized dataset as is. The same runner trains RFT (on critic-selected samples) and the critic
(critic prompt in, critique out).

Run it::

    mathagent train sft configs/train/sft.yaml --set train.max_steps=20

Example:
    >>> from training.sft_config import SFTJobConfig
    >>> SFTJobConfig(model={"name": "smollm2-135m"}, data=["runs/x"], output_dir="runs/sft").train.learning_rate
    1e-05
"""

from __future__ import annotations

import logging
from pathlib import Path

from agent.imports import require

from .data.examples import SFTExample
from .data.report import BuildReport
from .data.select import build_sft_examples
from .data.sources import read_trajectories
from .data.tokenize import IGNORE, Encoder
from .errors import TrainingError
from .jobs import (
    ProgressCallback,
    Stopwatch,
    TrainResult,
    config_hash,
    finish_job,
    finished_result,
    latest_checkpoint,
    make_progress_callback,
    quiet,
    write_jsonl,
    write_result,
)
from .modeling import load_causal_lm, peft_config, set_threads
from .sft_config import SFTJobConfig

__all__ = ["build_sft_data", "run_sft", "train_on_examples", "encode_examples"]

logger = logging.getLogger(__name__)


def build_sft_data(cfg: SFTJobConfig, *, builder: str = "sft") -> tuple[list[SFTExample], BuildReport]:
    """Read the config's trajectories and select and render SFT examples."""
    return build_sft_examples(read_trajectories(cfg.data), cfg.select, cfg.render, builder=builder)


def encode_examples(encoder: Encoder, examples: list[SFTExample], report: BuildReport) -> list[dict]:
    """Tokenize examples; too long ones are dropped and counted in ``report``."""
    rows = []
    for ex in examples:
        row = encoder.encode_sft(ex)
        if row is None:
            report.drop("too_long")
            report.kept -= 1
            continue
        rows.append(row)
    return rows


def train_on_examples(
    job: str,
    cfg,
    examples: list[SFTExample],
    report: BuildReport,
    *,
    on_progress: ProgressCallback | None = None,
    force: bool = False,
) -> TrainResult:
    """Fine-tune ``cfg.model`` on SFT examples and save ``OUT/model`` (the runner of sft, rft and critic).

    Args:
        job: The job's name (for the result record).
        cfg: A job config with ``model``, ``lora``, ``train`` and ``output_dir``.
        examples: The built examples.
        report: The builder's report (updated with tokenization drops).
        on_progress: ``callback(step, max_steps, logs)`` after each step.
        force: Train again even if ``OUT/result.json`` says this config is done.

    Raises:
        TrainingError: No example left to train on.
    """
    out = Path(cfg.output_dir)
    chash = config_hash(cfg)
    if not force and (done := finished_result(out, chash)) is not None:
        logger.info("%s: already done with this config: %s", job, done.model_path)
        return done
    datasets = require("datasets", "training")
    trl = require("trl", "training")
    set_threads(cfg.train.threads)
    clock = Stopwatch()
    write_jsonl(out / "data" / "examples.jsonl", examples)
    base, tok, model = load_causal_lm(cfg.model)
    rows = encode_examples(Encoder(tok, cfg.train.max_length), examples, report)
    report.save(out / "data" / "report.json")
    report.log()
    if not rows:
        raise TrainingError(f"{job}: no examples to train on ({report.summary()})")
    tokens = {
        "total": sum(len(r["input_ids"]) for r in rows),
        "with_loss": sum(sum(label != IGNORE for label in r["labels"]) for r in rows),
    }
    args = trl.SFTConfig(
        **cfg.train.trainer_kwargs(out / "trainer"),
        max_length=None,  # examples over train.max_length were dropped above, never cut
        packing=False,
        dataset_num_proc=None,
    )
    callbacks = [c for c in [make_progress_callback(on_progress)] if c is not None]
    trainer = trl.SFTTrainer(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tok,
        peft_config=peft_config(cfg.lora),
        callbacks=callbacks,
    )
    resume = latest_checkpoint(out / "trainer")
    if resume:
        logger.info("%s: resuming from %s", job, resume)
    output = quiet(trainer).train(resume_from_checkpoint=resume)
    result = finish_job(
        job,
        cfg,
        trainer=trainer,
        output=output,
        tokenizer=tok,
        base=base,
        report=report,
        examples=len(rows),
        tokens=tokens,
        clock=clock,
    )
    return write_result(cfg, result)


def run_sft(cfg: SFTJobConfig, *, on_progress: ProgressCallback | None = None, force: bool = False) -> TrainResult:
    """Build SFT examples from ``cfg.data`` and fine-tune ``cfg.model`` on them (see the module docstring)."""
    if not force and (done := finished_result(cfg.output_dir, config_hash(cfg))) is not None:
        return done
    examples, report = build_sft_data(cfg)
    return train_on_examples("sft", cfg, examples, report, on_progress=on_progress, force=force)
