"""The agent's typed configuration: mode, prompt, limits and sampling. One object, every field documented.

Example:
    >>> AgentConfig(mode="cot").stop_sequences()
    ()
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .parsing import FENCE_CLOSE, OUTPUT_OPEN

__all__ = ["AgentConfig", "Mode"]

Mode = Literal["tir", "cot", "pal"]


class AgentConfig(BaseModel):
    """How the agent solves one problem."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode = Field("tir", description="tir: text + interpreter; cot: text only; pal: one program.")
    prompt: str | None = Field(None, description="Prompt name or YAML path (default: the mode's prompt).")
    few_shot: bool = Field(True, description="Include the prompt file's worked examples as chat turns.")
    max_tool_calls: int = Field(6, ge=0, description="Most code blocks run per problem.")
    max_tokens: int = Field(2048, ge=16, description="Most generated tokens per problem, all turns together.")
    max_turn_tokens: int = Field(1024, ge=16, description="Most tokens per generation call.")
    max_output_chars: int = Field(800, ge=40, description="Interpreter output shown to the model (head + tail).")
    cell_timeout: float = Field(15.0, gt=0, description="Seconds one code block may run.")
    wall_time: float = Field(600.0, gt=0, description="Seconds per problem before the agent stops.")
    temperature: float = Field(0.0, ge=0, description="0 is greedy.")
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = Field(None, description="Sampling seed; sample i uses seed + i.")
    answer_fallbacks: bool = Field(
        False, description="Without a \\boxed{} answer, also accept 'the answer is', '####' and the last number."
    )

    def prompt_name(self) -> str:
        return self.prompt or self.mode

    def stop_sequences(self) -> tuple[str, ...]:
        """Stops for a generation: at an output block, or at a closed code fence (to run it at once)."""
        return {"tir": (OUTPUT_OPEN, FENCE_CLOSE), "pal": (FENCE_CLOSE,), "cot": ()}[self.mode]
