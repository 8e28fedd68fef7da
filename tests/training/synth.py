"""Tiny agent-format trajectories for the training tests (short, so that CPU steps take seconds)."""

from __future__ import annotations

from eval.trajectory import Critique, Step, Trajectory

SYSTEM = "Solve with Python. Put the answer in \\boxed{}."


def make_trajectory(
    a: int,
    b: int,
    *,
    wrong: bool = False,
    score: int | None = None,
    sample: int = 0,
    nudged: bool = False,
) -> Trajectory:
    """``a + b`` solved the way the agent records it: prefill, code, output block, text, answer."""
    total = a + b + (1 if wrong else 0)
    code = f"print({a} + {b}{' + 1' if wrong else ''})"
    out = str(total)
    final = f"The sum is \\boxed{{{total}}}."
    steps = [Step(kind="code", content=code), Step(kind="output", content=out, exit_status="ok")]
    text = f"```python\n{code}\n```\n```output\n{out}\n```\n"
    if nudged:
        tail = f"So the sum is {total}.\n\nTherefore, the final answer is \\boxed{{{total}}}"
        steps += [
            Step(kind="text", content=f"So the sum is {total}.\n"),
            Step(kind="text", content=f"\nTherefore, the final answer is \\boxed{{{total}}}"),
        ]
        text += tail
    else:
        steps.append(Step(kind="text", content=final))
        text += final
    q = f"What is {a} + {b}?"
    return Trajectory(
        problem_id=f"add/{a}-{b}",
        sample_index=sample,
        question=q,
        reference=str(a + b),
        model="test",
        mode="tir",
        prompt_id="tir@test",
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}],
        steps=steps,
        text=text,
        answer=str(total),
        answer_method="boxed",
        status="answered",
        correct=not wrong,
        critique=None if score is None else Critique(score=score, text=f"Checked.\nScore: {score}", model="test"),
        tool_calls=1,
    )


def problem_set(n: int = 4) -> list[Trajectory]:
    """Per problem: two correct samples (scores 9 and 8), one wrong (score 2)."""
    out = []
    for i in range(n):
        a, b = 3 + i, 4 + 2 * i
        out += [
            make_trajectory(a, b, score=9, sample=0),
            make_trajectory(a, b, score=8, sample=1),
            make_trajectory(a, b, wrong=True, score=2, sample=2),
        ]
    return out
