"""The training room: trajectory collection (``collect/``), dataset builders (``data/``), TRL trainers
(SFT, RFT, DPO, critic, value-model verifier) and the Self-Critique pipeline.

Names below load on first use (PEP 562), so ``import training.collect`` stays light.
"""

from __future__ import annotations

import importlib

__all__ = [
    "read_trajectories",
    "run_sft",
    "run_rft",
    "run_dpo",
    "run_critic",
    "run_verifier",
    "run_pipeline",
    "ValueVerifier",
]

_WHERE = {
    "read_trajectories": "training.data.sources",
    "run_sft": "training.sft",
    "run_rft": "training.rft",
    "run_dpo": "training.dpo",
    "run_critic": "training.critic",
    "run_verifier": "training.verifier",
    "ValueVerifier": "training.verifier",
    "run_pipeline": "training.pipeline",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'training' has no attribute {name!r}")
