"""An outcome value model (MARIO's OVM) as a trained verifier for re-ranking.

The model is the language model with a one-output token head (``AutoModelForTokenClassification``,
``num_labels=1``): at every token of the assistant message it predicts the probability that the
trajectory ends correct, trained with binary cross-entropy against the grader's outcome label on all
assistant tokens (the prompt is masked). A finished trajectory's score is the value at its last token.
Training uses the ``transformers`` Trainer (which ``accelerate`` / DeepSpeed drive on GPUs as they
drive TRL's trainers), with LoRA optional; :class:`ValueVerifier` loads the saved checkpoint and
implements the ``Verifier`` protocol of :mod:`agent.verifier`.

Run it::

    mathagent train verifier configs/train/verifier.yaml
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.imports import require
from eval.trajectory import Trajectory

from .data.examples import RenderOptions, ValueExample, prompt_messages, trajectory_segments
from .data.sources import read_trajectories
from .data.tokenize import IGNORE, Encoder
from .data.value import build_value_examples
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
from .modeling import is_main_process, load_causal_lm, load_tokenizer, peft_config, seed_everything, set_threads
from .verifier_config import VerifierJobConfig

__all__ = ["run_verifier", "ValueVerifier", "VALUE_HEAD_FILE"]

logger = logging.getLogger(__name__)

VALUE_HEAD_FILE = "value_head.json"


def _collate(pad_id: int):
    import torch

    def collate(rows: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        att = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), float(IGNORE))
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.tensor(r["input_ids"])
            att[i, :n] = 1
            labels[i, :n] = torch.tensor(r["labels"], dtype=torch.float)
        return {"input_ids": ids, "attention_mask": att, "labels": labels}

    return collate


def _value_trainer_class():
    transformers = require("transformers", "verifier training")
    import torch

    class ValueTrainer(transformers.Trainer):
        """Binary cross-entropy of the token values against the outcome label, over labelled tokens."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs.logits.squeeze(-1).float()
            mask = labels != IGNORE
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[mask], labels[mask])
            return (loss, outputs) if return_outputs else loss

    return ValueTrainer


def run_verifier(
    cfg: VerifierJobConfig, *, on_progress: ProgressCallback | None = None, force: bool = False
) -> TrainResult:
    """Label trajectories by outcome and train the value model; saves ``OUT/model`` (loadable by ValueVerifier).

    Raises:
        TrainingError: No labelled example, or only one class.
    """
    out = Path(cfg.output_dir)
    chash = config_hash(cfg)
    if not force and (done := finished_result(out, chash)) is not None:
        logger.info("verifier: already done with this config: %s", done.model_path)
        return done
    datasets = require("datasets", "verifier training")
    transformers = require("transformers", "verifier training")
    set_threads(cfg.train.threads)
    seed_everything(cfg.train.seed)
    clock = Stopwatch()
    examples, report = build_value_examples(read_trajectories(cfg.data), cfg.value)
    write_jsonl(out / "data" / "examples.jsonl", examples)
    if len({e.label for e in examples}) < 2:
        raise TrainingError(f"verifier: needs both correct and wrong trajectories ({report.summary()})")
    base, tok, model = load_causal_lm(cfg.model, auto_class="AutoModelForTokenClassification", num_labels=1)
    encoder = Encoder(tok, cfg.train.max_length)
    rows = []
    for ex in examples:
        row = encoder.encode_value(ex)
        if row is None:
            report.drop("too_long")
            report.kept -= 1
        else:
            rows.append(row)
    report.save(out / "data" / "report.json")
    report.log()
    if not rows:
        raise TrainingError(f"verifier: no examples to train on ({report.summary()})")
    lora = peft_config(cfg.lora, task_type="TOKEN_CLS", modules_to_save=["score"])
    if lora is not None:
        model = require("peft", "LoRA training").get_peft_model(model, lora)
    kw = cfg.train.trainer_kwargs(out / "trainer")
    kw["remove_unused_columns"] = False
    callbacks = [c for c in [make_progress_callback(on_progress)] if c is not None]
    trainer = _value_trainer_class()(
        model=model,
        args=transformers.TrainingArguments(**kw),
        train_dataset=datasets.Dataset.from_list(rows),
        data_collator=_collate(tok.pad_token_id),
        callbacks=callbacks,
    )
    output = quiet(trainer).train(resume_from_checkpoint=latest_checkpoint(out / "trainer"))
    tokens = {
        "total": sum(len(r["input_ids"]) for r in rows),
        "with_loss": sum(sum(x != IGNORE for x in r["labels"]) for r in rows),
    }
    result = finish_job(
        "verifier",
        cfg,
        trainer=trainer,
        output=output,
        tokenizer=tok,
        base=base,
        report=report,
        examples=len(rows),
        tokens=tokens,
        clock=clock,
        auto_class="AutoModelForTokenClassification",
        model_kwargs={"num_labels": 1},
    )
    head = {"kind": "token_value", "few_shot": cfg.value.few_shot, "max_length": cfg.train.max_length}
    if is_main_process():
        (Path(result.model_path) / VALUE_HEAD_FILE).write_text(json.dumps(head, indent=2) + "\n")
    return write_result(cfg, result)


class ValueVerifier:
    """A trained value model as a verifier: ``score(trajectories)`` gives P(correct) in [0, 1] each.

    Implements the ``Verifier`` protocol of :mod:`agent.verifier` (higher = more likely correct; None
    when a trajectory cannot be scored, e.g. an empty message). References are not used: the value
    model judges without them.

    Args:
        path: A checkpoint folder written by :func:`run_verifier` (``OUT/model``).
        batch_size: Trajectories per forward pass.
        threads: torch CPU threads (default ``$MATHAGENT_THREADS`` or all cores).
        device: ``cpu``, ``cuda``... (default: cuda if available).
    """

    def __init__(
        self, path: str | Path, *, batch_size: int = 4, threads: int | None = None, device: str | None = None
    ):
        torch = require("torch", "the value verifier")
        transformers = require("transformers", "the value verifier")
        self.path = Path(path)
        head_file = self.path / VALUE_HEAD_FILE
        if not head_file.is_file():
            raise TrainingError(
                f"{self.path}: not a value-model checkpoint (no {VALUE_HEAD_FILE}); train one with "
                "mathagent train verifier"
            )
        self.head: dict[str, Any] = json.loads(head_file.read_text())
        set_threads(threads)
        self.name = f"value:{self.path.parent.name if self.path.name == 'model' else self.path.name}"
        self.tokenizer = load_tokenizer(str(self.path))
        self.model = transformers.AutoModelForTokenClassification.from_pretrained(str(self.path), dtype=torch.float32)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.encoder = Encoder(self.tokenizer)
        self.render = RenderOptions(few_shot=bool(self.head.get("few_shot", False)))
        self.max_length = int(self.head.get("max_length") or 4096)
        self.batch_size = batch_size

    def _ids(self, traj: Trajectory) -> list[int] | None:
        if not traj.text.strip():
            return None
        ex = ValueExample(
            id=traj.id,
            problem_id=traj.problem_id,
            messages=prompt_messages(traj, self.render),
            segments=trajectory_segments(traj, self.render),
            label=0.0,
        )
        return self.encoder.value_input(ex)[-self.max_length :]

    def score(
        self, trajectories: Sequence[Trajectory], references: Sequence[str | None] | None = None
    ) -> list[float | None]:
        """P(correct) of each trajectory by the value at its last token (None when it has no text)."""
        import torch

        maybe_ids = [self._ids(t) for t in trajectories]
        todo = [i for i, x in enumerate(maybe_ids) if x is not None]
        ids = [x or [] for x in maybe_ids]
        scores: list[float | None] = [None] * len(trajectories)
        pad = self.tokenizer.pad_token_id
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            width = max(len(ids[i]) for i in chunk)
            batch = torch.full((len(chunk), width), pad, dtype=torch.long)
            att = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                batch[row, : len(ids[i])] = torch.tensor(ids[i])
                att[row, : len(ids[i])] = 1
            with torch.inference_mode():
                logits = self.model(input_ids=batch.to(self.device), attention_mask=att.to(self.device)).logits
            last = att.sum(dim=1) - 1
            values = torch.sigmoid(logits[torch.arange(len(chunk)), last.to(self.device), 0].float())
            for row, i in enumerate(chunk):
                scores[i] = float(values[row])
        return scores

    def close(self) -> None:
        self.model = None

    def __enter__(self) -> ValueVerifier:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
