"""What a dataset builder kept and why: counts by reason, logged and saved beside the data.

Example:
    >>> r = BuildReport(builder="rft")
    >>> r.keep(); r.drop("incorrect"); r.drop("incorrect")
    >>> r.kept, r.dropped, r.summary()
    (1, {'incorrect': 2}, 'rft: kept 1 examples; dropped: incorrect 2')
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BuildReport"]

logger = logging.getLogger(__name__)


class BuildReport(BaseModel):
    """Counts of a builder run: records seen, kept, and dropped by reason."""

    model_config = ConfigDict(extra="forbid")

    builder: str = Field(description="Which builder (sft, rft, dpo, critic, value).")
    unit: str = Field("examples", description="What `kept` counts (examples, pairs).")
    kept: int = Field(0, description="Examples (or pairs) produced.")
    dropped: dict[str, int] = Field(default_factory=dict, description="Records left out, by reason.")
    notes: dict[str, int | float | str] = Field(default_factory=dict, description="Other counts (problems, labels).")

    def keep(self, n: int = 1) -> None:
        self.kept += n

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def summary(self) -> str:
        """One line: what was kept, then each reason for dropping with its count (largest first)."""
        why = ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items(), key=lambda kv: (-kv[1], kv[0])))
        return f"{self.builder}: kept {self.kept} {self.unit}" + (f"; dropped: {why}" if why else "")

    def log(self) -> BuildReport:
        logger.info("%s", self.summary())
        return self

    def save(self, path: Path) -> None:
        """Write the report as JSON (on the main process of a distributed launch only)."""
        if int(os.environ.get("RANK", "0")) != 0:
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.model_dump(), indent=2) + "\n")
