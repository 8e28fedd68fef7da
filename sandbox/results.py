"""The result record of one cell.

Cell-level failures (a timeout, an exception in user code, a crashed kernel) are never raised: they
come back inside :class:`ExecResult` so that the agent can show them to the model as text. Errors are
raised only when the sandbox itself cannot do its job (missing isolation tool, kernel that never
starts, use after close).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ExecResult"]


class ExecResult(BaseModel):
    """What one cell produced.

    Example:
        >>> r = ExecResult(stdout="4\\n", value="4")
        >>> r.ok, r.render()
        (True, '4\\n4')
    """

    model_config = ConfigDict(extra="forbid")

    stdout: str = Field("", description="Text printed to stdout, capped at Limits.max_output_bytes.")
    stderr: str = Field("", description="Text printed to stderr (warnings included), capped like stdout.")
    value: str | None = Field(None, description="text/plain of the cell's last expression, if it had a value.")
    displays: list[dict[str, str]] = Field(
        default_factory=list,
        description="Rich outputs (display() calls, plots): mime type -> data; image/png stays base64.",
    )
    error_name: str | None = Field(None, description="Exception class name, or 'Timeout' / 'KernelDied'.")
    error_value: str | None = Field(None, description="The exception message (short).")
    traceback: str | None = Field(None, description="A short plain-text traceback (ANSI codes removed).")
    duration_s: float = Field(0.0, description="Wall time of the cell as seen by the host, in seconds.")
    timed_out: bool = Field(False, description="The cell hit Limits.cell_timeout_s.")
    truncated: bool = Field(False, description="Some output was cut at Limits.max_output_bytes.")
    memory_exceeded: bool = Field(False, description="The cell hit the memory limit (MemoryError or OOM kill).")
    restarted: bool = Field(False, description="The kernel was killed and replaced: all variables are lost.")

    @property
    def ok(self) -> bool:
        """True when the cell ran to the end without an error."""
        return self.error_name is None and not self.timed_out

    def render(self, max_chars: int | None = None) -> str:
        """Plain text for a model's ```output``` block: stdout, value, stderr, then the error.

        Args:
            max_chars: keep at most this many characters (head and tail, with a marker in between).

        Example:
            >>> ExecResult(error_name="ZeroDivisionError", error_value="division by zero").render()
            'ZeroDivisionError: division by zero'
        """
        parts = [p for p in (self.stdout.rstrip("\n"), self.value, self.stderr.rstrip("\n")) if p]
        if self.error_name:
            parts.append(self.traceback or f"{self.error_name}: {self.error_value or ''}".rstrip(": "))
        if self.restarted:
            parts.append("[the kernel was restarted: all variables were lost]")
        text = "\n".join(parts)
        if max_chars is not None and len(text) > max_chars:
            half = max(max_chars // 2 - 20, 0)
            text = f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"
        return text
