"""Rejective fine-tuning (RFT): SFT on the model's own samples that the grader and the critic accept.

ChatGLM-Math's first Self-Critique stage: sample k trajectories per training problem (the collect
stage), keep the correct ones the critic scores at or above a threshold, de-duplicate them by
normalised code and answer, cap each problem, then fine-tune with the interpreter output masked.

Run it::

    mathagent train rft configs/train/rft.yaml --data runs/collect

Example:
    >>> from training.sft_config import RFTJobConfig
    >>> RFTJobConfig(model={"name": "m"}, data=["d"], output_dir="o").select.max_per_problem
    4
"""

from __future__ import annotations

from .jobs import ProgressCallback, TrainResult, config_hash, finished_result
from .sft import build_sft_data, train_on_examples
from .sft_config import RFTJobConfig

__all__ = ["run_rft"]


def run_rft(cfg: RFTJobConfig, *, on_progress: ProgressCallback | None = None, force: bool = False) -> TrainResult:
    """Select critic-accepted samples from ``cfg.data`` and fine-tune ``cfg.model`` on them."""
    if not force and (done := finished_result(cfg.output_dir, config_hash(cfg))) is not None:
        return done
    examples, report = build_sft_data(cfg, builder="rft")
    return train_on_examples("rft", cfg, examples, report, on_progress=on_progress, force=force)
