"""Critic fine-tuning: teach a model to write the Math-Critique judgement (critique, then a 1-10 score).

The targets are the model's own reference-guided critiques that agree with the grader (see
:mod:`training.data.critic`); the prompt is the critic's reference-free one. Started from the
policy's fine-tuned checkpoint, this is Liu et al. (2023)'s multi-task sequential fine-tuning:
generation first, then evaluation. The trained folder works as ``Critic(model=OUT/model)``.

Run it::

    mathagent train critic configs/train/critic.yaml

Example:
    >>> from training.critic_config import CriticJobConfig
    >>> CriticJobConfig(model={"name": "m"}, data=["d"], output_dir="o").critic.require_agreement
    True
"""

from __future__ import annotations

from .critic_config import CriticJobConfig
from .data.critic import build_critic_examples
from .data.sources import read_trajectories
from .jobs import ProgressCallback, TrainResult, config_hash, finished_result
from .sft import train_on_examples

__all__ = ["run_critic"]


def run_critic(
    cfg: CriticJobConfig, *, on_progress: ProgressCallback | None = None, force: bool = False
) -> TrainResult:
    """Build critic examples from the critiques in ``cfg.data`` and fine-tune ``cfg.model`` on them."""
    if not force and (done := finished_result(cfg.output_dir, config_hash(cfg))) is not None:
        return done
    examples, report = build_critic_examples(read_trajectories(cfg.data), cfg.critic)
    return train_on_examples("critic", cfg, examples, report, on_progress=on_progress, force=force)
