"""DPO on critique-ranked pairs with TRL's ``DPOTrainer``, interpreter output masked inside completions.

TRL's DPO tokenizes ``prompt`` / ``chosen`` / ``rejected`` strings and puts loss on every completion
token. Tool-integrated completions hold interpreter output the model never wrote, so here the pairs
are tokenized by :class:`~training.data.tokenize.Encoder` (segment by segment, with a 0/1 loss mask)
and a small subclass keeps them as they are: its collator multiplies TRL's completion mask by ours,
so the output blocks count neither in the policy's nor in the reference's log-probabilities.

Run it::

    mathagent train dpo configs/train/dpo.yaml

Example:
    >>> masked_preference_collator(pad_token_id=0)([
    ...     {"prompt_ids": [1], "chosen_ids": [2, 3], "chosen_mask": [1, 0], "rejected_ids": [4], "rejected_mask": [1]}
    ... ])["completion_mask"].tolist()
    [[0, 1, 0], [0, 1, 0]]
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from agent.imports import require

from .data.pairs import build_dpo_pairs
from .data.sources import read_trajectories
from .data.tokenize import Encoder
from .dpo_config import DPOJobConfig
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

__all__ = ["run_dpo", "masked_preference_collator", "masked_dpo_trainer_class"]

logger = logging.getLogger(__name__)

_MASK_COLUMNS = ("chosen_mask", "rejected_mask")


@functools.cache
def _collator_class():
    require("trl", "DPO training")
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    class MaskedPreferenceCollator(DataCollatorForPreference):
        """TRL's preference collator, plus per-token loss masks inside the chosen and rejected completions."""

        def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
            import torch

            out = super().torch_call(examples)
            masks = [[0] * len(e["prompt_ids"]) + list(e["chosen_mask"]) for e in examples]
            masks += [[0] * len(e["prompt_ids"]) + list(e["rejected_mask"]) for e in examples]
            if self.max_length is not None:
                keep_start = self.truncation_mode == "keep_start"
                sl = slice(None, self.max_length) if keep_start else slice(-self.max_length, None)
                masks = [m[sl] for m in masks]
            width = out["completion_mask"].shape[1]
            ours = torch.zeros_like(out["completion_mask"])
            for i, m in enumerate(masks):
                ours[i, : len(m)] = torch.tensor(m[:width], dtype=ours.dtype)
            out["completion_mask"] = out["completion_mask"] * ours
            return out

    return MaskedPreferenceCollator


def masked_preference_collator(pad_token_id: int, **kwargs: Any):
    """TRL's ``DataCollatorForPreference`` that also applies ``chosen_mask`` / ``rejected_mask`` (TRL loads here)."""
    return _collator_class()(pad_token_id=pad_token_id, **kwargs)


def masked_dpo_trainer_class():
    """``DPOTrainer`` that accepts pre-tokenized pairs with loss masks (defined lazily: TRL is optional)."""
    trl = require("trl", "DPO training")

    class MaskedDPOTrainer(trl.DPOTrainer):
        """Keeps pre-tokenized ``prompt_ids``/``chosen_ids``/``rejected_ids`` and the ``*_mask`` columns."""

        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            if "prompt_ids" in dataset.column_names:
                return dataset  # tokenized and length-checked by the Encoder
            return super()._prepare_dataset(dataset, processing_class, args, dataset_name)

        def _set_signature_columns_if_needed(self):
            super()._set_signature_columns_if_needed()
            for col in _MASK_COLUMNS:
                if col not in self._signature_columns:
                    self._signature_columns.append(col)

    return MaskedDPOTrainer


def run_dpo(cfg: DPOJobConfig, *, on_progress: ProgressCallback | None = None, force: bool = False) -> TrainResult:
    """Build pairs from ``cfg.data`` and run DPO on ``cfg.model`` (the reference is the starting model).

    Raises:
        TrainingError: No pair could be formed.
    """
    out = Path(cfg.output_dir)
    chash = config_hash(cfg)
    if not force and (done := finished_result(out, chash)) is not None:
        logger.info("dpo: already done with this config: %s", done.model_path)
        return done
    datasets = require("datasets", "training")
    trl = require("trl", "DPO training")
    set_threads(cfg.train.threads)
    clock = Stopwatch()
    pairs, report = build_dpo_pairs(read_trajectories(cfg.data), cfg.pairs, cfg.render)
    write_jsonl(out / "data" / "pairs.jsonl", pairs)
    base, tok, model = load_causal_lm(cfg.model)
    encoder = Encoder(tok, cfg.train.max_length)
    rows = []
    for p in pairs:
        row = encoder.encode_pair(p)
        if row is None:
            report.drop("too_long")
            report.kept -= 1
        else:
            rows.append(row)
    report.save(out / "data" / "report.json")
    report.log()
    if not rows:
        raise TrainingError(f"dpo: no pairs to train on ({report.summary()})")
    kw = cfg.train.trainer_kwargs(out / "trainer")
    args = trl.DPOConfig(
        **kw,
        beta=cfg.beta,
        loss_type=list(cfg.loss_type),
        loss_weights=cfg.loss_weights,
        max_length=None,
        dataset_num_proc=None,
    )
    collator = masked_preference_collator(tok.pad_token_id)
    callbacks = [c for c in [make_progress_callback(on_progress)] if c is not None]
    trainer = masked_dpo_trainer_class()(
        model=model,
        args=args,
        data_collator=collator,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tok,
        peft_config=peft_config(cfg.lora),
        callbacks=callbacks,
    )
    output = quiet(trainer).train(resume_from_checkpoint=latest_checkpoint(out / "trainer"))
    history = trainer.state.log_history
    tokens = {
        "total": sum(len(r["prompt_ids"]) * 2 + len(r["chosen_ids"]) + len(r["rejected_ids"]) for r in rows),
        "with_loss": sum(sum(r["chosen_mask"]) + sum(r["rejected_mask"]) for r in rows),
    }
    metrics = {
        "reward_margins": [h["rewards/margins"] for h in history if "rewards/margins" in h],
        "reward_accuracies": [h["rewards/accuracies"] for h in history if "rewards/accuracies" in h],
    }
    result = finish_job(
        "dpo",
        cfg,
        trainer=trainer,
        output=output,
        tokenizer=tok,
        base=base,
        report=report,
        examples=len(rows),
        tokens=tokens,
        clock=clock,
        metrics=metrics,
    )
    return write_result(cfg, result)
