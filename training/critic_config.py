"""Config of critic fine-tuning (the Math-Critique judge trained from the model's own critiques).

Example:
    >>> CriticJobConfig(model={"name": "m"}, data=["d"], output_dir="o").critic.reference_free
    True
"""

from __future__ import annotations

from pydantic import Field

from .config import JobConfig
from .data.critic import CriticOptions

__all__ = ["CriticJobConfig"]


class CriticJobConfig(JobConfig):
    """SFT of a critic: critic prompt in, critique and score out."""

    critic: CriticOptions = Field(default_factory=CriticOptions, description="Which critiques to learn from.")
