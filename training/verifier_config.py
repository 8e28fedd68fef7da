"""Config of the value-model (verifier) training job.

Example:
    >>> VerifierJobConfig(model={"name": "m"}, data=["d"], output_dir="o").value.few_shot
    False
"""

from __future__ import annotations

from pydantic import Field

from .config import JobConfig
from .data.value import ValueOptions

__all__ = ["VerifierJobConfig"]


class VerifierJobConfig(JobConfig):
    """An outcome value model (MARIO's OVM): a value head on the LM, trained on correct / wrong labels."""

    value: ValueOptions = Field(default_factory=ValueOptions, description="Which trajectories get labels.")
