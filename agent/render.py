"""Terminal rendering of a run as it happens: streamed reasoning, highlighted code, outputs, the answer.

Example:
    >>> from io import StringIO
    >>> from rich.console import Console
    >>> r = LiveRenderer(Console(file=StringIO(), width=60))
    >>> r.text("Let me compute.\\n```python\\nprint(6*7)\\n```\\n")
    >>> r.console.file.getvalue()
    'Let me compute.\\n'
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from eval.trajectory import Trajectory

__all__ = ["LiveRenderer", "print_solution_summary", "print_trajectory"]

FENCE = "```python"


class LiveRenderer:
    """Prints streamed model text, hiding raw code fences; code and outputs come as highlighted panels."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.buf = ""
        self.in_code = False

    def _print(self, s: str) -> None:
        if s:
            self.console.print(Text(s), end="")

    def text(self, delta: str) -> None:
        """A streamed text delta."""
        self.buf += delta
        if self.in_code:
            return
        i = self.buf.find(FENCE)
        if i >= 0:
            self._print(self.buf[:i])
            self.buf, self.in_code = self.buf[i:], True
            return
        hold = 0
        for k in range(min(len(FENCE) - 1, len(self.buf)), 0, -1):
            if self.buf.endswith(FENCE[:k]):
                hold = k
                break
        self._print(self.buf[: len(self.buf) - hold])
        self.buf = self.buf[len(self.buf) - hold :]

    def event(self, kind: str, payload: str) -> None:
        """A run event: ``code`` (about to run) or ``output`` (what it printed)."""
        if kind == "code":
            self.console.print()
            code = Syntax(payload, "python", theme="ansi_dark", word_wrap=True)
            self.console.print(Panel(code, title="python", expand=False))
            self.buf, self.in_code = "", False
        elif kind == "output":
            self.console.print(Panel(Text(payload), title="output", border_style="green", expand=False))

    def flush(self) -> None:
        if not self.in_code:
            self._print(self.buf)
        self.buf, self.in_code = "", False
        self.console.print()


def print_trajectory(console: Console, traj: Trajectory) -> None:
    """Render a finished trajectory (text, code panels, output panels) without streaming."""
    r = LiveRenderer(console)
    for step in traj.steps:
        if step.kind == "text":
            r.text(step.content)
        else:
            r.event(step.kind, step.content)
    r.flush()


def print_solution_summary(console: Console, solution) -> None:
    """The final answer, the votes when there were several samples, and the run's numbers."""
    trajs = solution.trajectories
    if len(trajs) > 1:
        table = Table(title="votes")
        table.add_column("answer")
        table.add_column("samples", justify="right")
        for ans, n in solution.votes.items():
            table.add_row(ans, str(n))
        console.print(table)
    if solution.answer is None:
        status = trajs[0].status if trajs else "no_answer"
        console.print(f"[bold red]No answer[/] ({status})")
    else:
        mark = {True: " [green]✓ correct[/]", False: " [red]✗ wrong[/]", None: ""}[solution.correct]
        console.print(f"[bold]Answer:[/] [bold green]{solution.answer}[/]{mark}")
    tokens = sum(t.completion_tokens for t in trajs)
    calls = sum(t.tool_calls for t in trajs)
    seconds = max((t.timings.total for t in trajs), default=0.0)
    console.print(
        f"[dim]{len(trajs)} sample(s), {calls} code run(s), {tokens} generated tokens, {seconds:.1f} s[/]"
    )
