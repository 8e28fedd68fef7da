"""Config of SFT and RFT jobs (solution fine-tuning with the interpreter output masked).

Example:
    >>> RFTJobConfig(model={"name": "m"}, data=["d"], output_dir="o").select.min_score
    7
"""

from __future__ import annotations

from pydantic import Field

from .config import JobConfig
from .data.examples import RenderOptions
from .data.select import SelectOptions

__all__ = ["SFTJobConfig", "RFTJobConfig"]


class SFTJobConfig(JobConfig):
    """Supervised fine-tuning on selected trajectories: loss on the model's tokens only."""

    select: SelectOptions = Field(default_factory=SelectOptions, description="Which trajectories to train on.")
    render: RenderOptions = Field(default_factory=RenderOptions, description="Prompt and masking.")


class RFTJobConfig(SFTJobConfig):
    """Rejective fine-tuning: SFT on the correct, critic-accepted, de-duplicated samples of the model itself."""

    select: SelectOptions = Field(
        default_factory=lambda: SelectOptions(min_score=7),
        description="Which samples to keep (default: correct and critic score >= 7, 4 per problem).",
    )
