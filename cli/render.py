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

__all__ = ["LiveRenderer", "print_eval_summary", "print_solution_summary", "print_trajectory"]

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
    scored = any(s is not None for s in solution.scores)
    if len(trajs) > 1:
        table = Table(title=f"votes ({solution.rerank})")
        table.add_column("answer")
        table.add_column("samples", justify="right")
        if scored:
            table.add_column("critic scores", justify="right")
        for ans, n in solution.votes.items():
            row = [ans, str(n)]
            if scored:
                crits = [trajs[i].critique.score for i in solution.members.get(ans, []) if trajs[i].critique]
                row.append(", ".join("?" if c is None else str(c) for c in crits))
            table.add_row(*row)
        console.print(table)
    chosen = solution.trajectory
    if chosen is not None and chosen.critique is not None:
        c = chosen.critique
        head = f"critique ({c.model}): " + (f"{c.score}/10" if c.score is not None else f"unparsed, {c.parse_error}")
        console.print(Panel(Text(c.text or "(empty)"), title=head, border_style="magenta", expand=False))
    if solution.answer is None:
        status = trajs[0].status if trajs else "no_answer"
        console.print(f"[bold red]No answer[/] ({status})")
    else:
        mark = {True: " [green]✓ correct[/]", False: " [red]✗ wrong[/]", None: ""}[solution.correct]
        console.print(f"[bold]Answer:[/] [bold green]{solution.answer}[/]{mark}")
    tokens = sum(t.completion_tokens for t in trajs)
    calls = sum(t.tool_calls for t in trajs)
    seconds = max((t.timings.total for t in trajs), default=0.0)
    console.print(f"[dim]{len(trajs)} sample(s), {calls} code run(s), {tokens} generated tokens, {seconds:.1f} s[/]")


def print_eval_summary(console: Console, metrics: dict) -> None:
    """pass@k, maj@k, weighted maj@k and rerank@k side by side, and the critic's agreement with the grader."""
    overall = metrics.get("overall", {})
    ks = metrics.get("ks", [])
    families = [("pass", "pass@k"), ("maj", "maj@k"), ("weighted_maj", "weighted maj@k"), ("rerank", "rerank@k")]
    families = [(f, label) for f, label in families if any(f"{f}@{k}" in overall for k in ks)]
    if ks and families:
        table = Table(title="accuracy vs k (%)")
        table.add_column("k", justify="right")
        for _, label in families:
            table.add_column(label, justify="right")
        for k in ks:
            cells = [overall.get(f"{f}@{k}", {}).get("value") for f, _ in families]
            table.add_row(str(k), *["" if v is None else f"{100 * v:.1f}" for v in cells])
        console.print(table)
    agree = metrics.get("critic_agreement")
    if agree:
        best = max(agree["by_threshold"].values(), key=lambda r: r["accuracy"])
        auc = "n/a" if agree.get("auc") is None else f"{agree['auc']:.3f}"
        console.print(
            f"critic agreement: {agree['n']} scored, {agree['n_unparsed']} unparsed; ROC AUC {auc}; "
            f"best threshold {best['threshold']} agrees {100 * best['accuracy']:.1f} % of the time"
        )
