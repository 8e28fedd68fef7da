"""Training records built from trajectories, independent of any tokenizer.

A trajectory becomes the chat messages of its prompt plus the assistant message cut into segments,
each marked with who wrote it:

- ``prefill``: text the agent put at the start of the assistant message (the prompt's ``prefill``,
  e.g. ```` ```python\\n ````): part of the prompt, never trained on;
- ``model``: text the model generated: the only text with loss;
- ``output``: an interpreter output block (```` ```output\\n...\\n```\\n ````) the sandbox produced;
- ``nudge``: the no-answer nudge the agent inserted (trained on only with ``train_on_nudge``).

An example ends with the end-of-turn token when the trajectory ended with an answer. The model's chat
template renders the messages at training time (:mod:`training.data.tokenize`), exactly as the agent
renders them at inference, so one dataset serves any model.

Example:
    >>> from eval.trajectory import Step, Trajectory
    >>> t = Trajectory(problem_id="p", question="2+2?", model="m", messages=[{"role": "user", "content": "2+2?"}],
    ...     text="```python\\nprint(2+2)\\n```\\n```output\\n4\\n```\\nSo \\\\boxed{4}.", status="answered",
    ...     steps=[Step(kind="code", content="print(2+2)"), Step(kind="output", content="4"),
    ...            Step(kind="text", content="So \\\\boxed{4}.")])
    >>> [(s.kind, s.text) for s in trajectory_segments(t, RenderOptions())]
    [('prefill', '```python\\n'), ('model', 'print(2+2)\\n```\\n'), ('output', '```output\\n4\\n```\\n'), \
('model', 'So \\\\boxed{4}.')]
"""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eval.trajectory import Trajectory

from .tora import OUTPUT_BLOCK

__all__ = [
    "RenderOptions",
    "Segment",
    "SFTExample",
    "PreferencePair",
    "ValueExample",
    "trajectory_segments",
    "prompt_messages",
    "to_sft_example",
]

logger = logging.getLogger(__name__)

SegmentKind = Literal["prefill", "model", "output", "nudge"]


class RenderOptions(BaseModel):
    """How a trajectory becomes a prompt and a completion (shared by every builder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str | None = Field(
        None,
        description="None: the prompt messages recorded on the trajectory. A prompt name (tir, cot, pal) or YAML "
        "path: the messages are rebuilt from it (e.g. to give ToRA records the agent's system prompt).",
    )
    few_shot: bool = Field(True, description="Keep the prompt's worked examples (few-shot turns) in the prompt.")
    mask_outputs: bool = Field(True, description="No loss on interpreter output blocks (MARIO, ToRA).")
    train_on_nudge: bool = Field(
        True,
        description="Train on the no-answer nudge the agent inserted ('Therefore, the final answer is \\boxed{'), "
        "teaching the model to state its answer unprompted. False masks it like an interpreter output.",
    )


class Segment(BaseModel):
    """A piece of the assistant message and who wrote it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    kind: SegmentKind


class SFTExample(BaseModel):
    """One supervised example: prompt messages, assistant segments, and which segments carry loss."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The trajectory id (or an id of the builder's own).")
    problem_id: str = ""
    messages: list[dict] = Field(description="Prompt messages (system, few-shot, user).")
    segments: list[Segment] = Field(description="The assistant message in order.")
    end_turn: bool = Field(True, description="Append (and train on) the chat template's end-of-turn token.")
    train_kinds: tuple[SegmentKind, ...] = Field(("model",), description="Segment kinds with loss.")
    meta: dict = Field(default_factory=dict, description="Score, correctness, source: for reports only.")

    @property
    def completion(self) -> str:
        return "".join(s.text for s in self.segments)


class PreferencePair(BaseModel):
    """A DPO pair: the same prompt, a chosen and a rejected assistant message (segments as in SFT)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    problem_id: str
    messages: list[dict]
    chosen: list[Segment]
    rejected: list[Segment]
    chosen_end_turn: bool = True
    rejected_end_turn: bool = True
    train_kinds: tuple[SegmentKind, ...] = ("model",)
    meta: dict = Field(default_factory=dict)


class ValueExample(BaseModel):
    """An outcome-labelled trajectory for the value model: label 1.0 correct, 0.0 wrong."""

    model_config = ConfigDict(extra="forbid")

    id: str
    problem_id: str
    messages: list[dict]
    segments: list[Segment]
    label: float = Field(ge=0.0, le=1.0)


def _prompt_spec(traj: Trajectory, opts: RenderOptions):
    from agent.errors import MathAgentError
    from agent.prompting import load_prompt

    for name in (opts.prompt, traj.prompt_id.split("@")[0] if traj.prompt_id else None, traj.mode):
        if not name:
            continue
        try:
            return load_prompt(name)
        except MathAgentError:
            if name == opts.prompt:
                raise
    return None


def prompt_messages(traj: Trajectory, opts: RenderOptions) -> list[dict]:
    """The prompt messages of a trajectory under ``opts`` (recorded or rebuilt; few-shot turns kept or not)."""
    if opts.prompt is not None or not traj.messages:
        spec = _prompt_spec(traj, opts)
        if spec is None:
            return [{"role": "user", "content": traj.question}]
        return spec.messages(traj.question, few_shot=opts.few_shot)
    msgs = [dict(m) for m in traj.messages]
    if not opts.few_shot and len(msgs) > 2:
        head = [msgs[0]] if msgs[0].get("role") == "system" else []
        msgs = head + [msgs[-1]]
    return msgs


def _output_spans(traj: Trajectory, start: int) -> list[tuple[int, int]]:
    """Character spans of interpreter output blocks in ``traj.text`` (from the steps when recorded)."""
    text = traj.text
    spans: list[tuple[int, int]] = []
    outputs = [s for s in traj.steps if s.kind == "output"]
    pos = start
    exact = bool(outputs)
    for step in outputs:
        block = f"```output\n{step.content.rstrip()}\n```\n"
        i = text.find(block, pos)
        if i < 0:
            exact = False
            break
        spans.append((i, i + len(block)))
        pos = i + len(block)
    if exact:
        return spans
    return [(m.start(), m.end()) for m in OUTPUT_BLOCK.finditer(text, start)]


def _nudge_span(traj: Trajectory, spec, after: int) -> tuple[int, int] | None:
    nudge = (spec.nudge if spec is not None else "").lstrip("\n")
    if not nudge or not traj.steps or traj.steps[-1].kind != "text":
        return None
    last = traj.steps[-1].content
    if not last.lstrip("\n").startswith(nudge):
        return None
    i = traj.text.rfind(nudge)
    return (i, i + len(nudge)) if i >= after else None


def trajectory_segments(traj: Trajectory, opts: RenderOptions) -> list[Segment]:
    """Cut a trajectory's assistant message into prefill, model, output and nudge segments (in order).

    The segments' texts concatenate to ``traj.text`` exactly.
    """
    text = traj.text
    spec = _prompt_spec(traj, opts)
    prefill = spec.prefill if spec is not None else ""
    start = len(prefill) if prefill and text.startswith(prefill) else 0
    cuts: list[tuple[int, int, SegmentKind]] = [(0, start, "prefill")] if start else []
    marks: list[tuple[int, int, SegmentKind]] = [(a, b, "output") for a, b in _output_spans(traj, start)]
    nudge = _nudge_span(traj, spec, marks[-1][1] if marks else start)
    if nudge is not None:
        marks.append((*nudge, "nudge"))
    pos = start
    for a, b, kind in sorted(marks):
        if a > pos:
            cuts.append((pos, a, "model"))
        cuts.append((a, b, kind))
        pos = b
    if pos < len(text):
        cuts.append((pos, len(text), "model"))
    segments = [Segment(text=text[a:b], kind=kind) for a, b, kind in cuts if b > a]
    assert "".join(s.text for s in segments) == text
    return segments


def train_kinds(opts: RenderOptions) -> tuple[SegmentKind, ...]:
    """Segment kinds that carry loss under ``opts``."""
    kinds: list[SegmentKind] = ["model"]
    if not opts.mask_outputs:
        kinds.append("output")
    if opts.train_on_nudge:
        kinds.append("nudge")
    return tuple(kinds)


def to_sft_example(traj: Trajectory, opts: RenderOptions, **meta) -> SFTExample:
    """One trajectory as an SFT example (prompt masked; interpreter outputs masked unless told otherwise)."""
    return SFTExample(
        id=traj.id,
        problem_id=traj.problem_id,
        messages=prompt_messages(traj, opts),
        segments=trajectory_segments(traj, opts),
        end_turn=traj.status == "answered",
        train_kinds=train_kinds(opts),
        meta={"correct": traj.correct, "score": traj.critique.score if traj.critique else None, **meta},
    )
