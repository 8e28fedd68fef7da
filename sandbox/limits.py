"""Resource limits of one sandbox session, as a small frozen (hashable) config."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Limits"]


class Limits(BaseModel):
    """Per-cell and per-session limits. Every field has a default suited to a math agent's code.

    Memory and processes are enforced by cgroup v1 (`jail`, where /sys/fs/cgroup is writable) or by
    Docker (`docker`); otherwise by RLIMIT_AS and RLIMIT_NPROC. Files and open files are rlimits.
    Output is capped inside the kernel and again on the host.

    Example:
        >>> Limits().cell_timeout_s
        30.0
        >>> Limits(memory_mb=512) == Limits(memory_mb=512)
        True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cell_timeout_s: float = Field(30.0, gt=0, description="Wall time of one cell; then interrupt, then kill.")
    interrupt_grace_s: float = Field(
        1.0, ge=0, description="How long an interrupted cell may take to stop before the kernel is killed."
    )
    memory_mb: int = Field(2048, ge=64, description="Memory of the whole session (kernel and its children).")
    max_pids: int = Field(64, ge=8, description="Processes and threads of the whole session.")
    max_file_mb: int = Field(64, ge=1, description="Largest file the code may write (RLIMIT_FSIZE).")
    max_open_files: int = Field(256, ge=64, description="Open file descriptors per process (RLIMIT_NOFILE).")
    scratch_mb: int = Field(256, ge=1, description="Size of the private tmpfs scratch (cwd, HOME, /tmp).")
    max_output_bytes: int = Field(
        65_536, ge=256, description="stdout+stderr kept per cell; the rest is dropped and `truncated` is set."
    )
    max_display_bytes: int = Field(
        2_000_000, ge=1024, description="Rich outputs (values, images) kept per cell, in bytes of their text."
    )
    startup_timeout_s: float = Field(60.0, gt=0, description="How long a new kernel may take to answer.")

    @model_validator(mode="after")
    def _check(self) -> Limits:
        if self.interrupt_grace_s >= self.cell_timeout_s * 10:
            raise ValueError("interrupt_grace_s should be much shorter than cell_timeout_s")
        return self
