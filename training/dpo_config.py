"""Config of DPO jobs on critique-ranked pairs.

Example:
    >>> DPOJobConfig(model={"name": "m"}, data=["d"], output_dir="o").beta
    0.1
"""

from __future__ import annotations

from pydantic import Field

from .config import JobConfig
from .data.examples import RenderOptions
from .data.pairs import PairOptions

__all__ = ["DPOJobConfig"]


class DPOJobConfig(JobConfig):
    """Direct preference optimisation on (chosen, rejected) pairs of the same problem."""

    pairs: PairOptions = Field(default_factory=PairOptions, description="How pairs are formed.")
    render: RenderOptions = Field(default_factory=RenderOptions, description="Prompt and masking.")
    beta: float = Field(0.1, gt=0, description="Strength of the pull towards the reference model.")
    loss_type: list[str] = Field(
        default_factory=lambda: ["sigmoid"],
        description="TRL DPO losses; ['sigmoid', 'sft'] adds the chosen NLL as ChatGLM-Math does.",
    )
    loss_weights: list[float] | None = Field(None, description="Weights of the losses (default all 1).")
