"""The CLI's consoles, its one way to fail, and its progress bars.

Library code logs and raises; commands print through :data:`console` (stdout: results) and
:data:`err_console` (stderr: progress, logs, errors) and turn an expected error into one red line with
:func:`fail`.

Example:
    >>> bar = progress("eval", "acc")
    >>> [c.text_format for c in bar.columns if hasattr(c, "text_format")][0]
    '[bold]eval[/]'
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from common.errors import MathAgentError

__all__ = ["console", "err_console", "fail", "one_line", "progress", "USER_ERRORS"]

console = Console()
err_console = Console(stderr=True)

#: Errors a command prints as one line (ours, and a bad value of a file or option).
USER_ERRORS: tuple[type[Exception], ...] = (MathAgentError, ValueError, OSError)


def one_line(exc: Exception | str) -> str:
    """An error as one line: a pydantic validation error becomes ``field: message; ...``."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(x) for x in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        return f"invalid {exc.title}: " + "; ".join(parts)
    return str(exc)


def fail(exc: Exception | str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` on stderr and exit with ``code`` (2: bad input; 3: a job stopped itself)."""
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(one_line(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def progress(label: str | None, *fields: str, elapsed: bool = False, eta: str = "remaining") -> Progress:
    """A rich progress bar on stderr: ``label``, bar, done/total, one ``name value`` column per field.

    Args:
        label: Fixed bold label; ``None`` shows each task's description instead (several tasks).
        fields: Task fields shown after the count, as ``name value`` (``info``: the value alone; a string
            with braces is used as its own rich template).
        elapsed: Also show the time elapsed.
        eta: ``remaining`` (rich's estimate), ``field`` (the task's own ``eta`` field) or ``none``.
    """
    columns: list = [TextColumn(f"[bold]{label}[/]" if label else "[bold]{task.description}[/]"), BarColumn()]
    columns.append(MofNCompleteColumn())
    for name in fields:
        if "{" in name:  # a template of its own, e.g. "{task.fields[rate]} problems/min"
            columns.append(TextColumn(name))
        else:
            columns.append(TextColumn("{task.fields[info]}" if name == "info" else f"{name} {{task.fields[{name}]}}"))
    if elapsed:
        columns.append(TimeElapsedColumn())
    if eta == "remaining":
        columns.append(TimeRemainingColumn())
    elif eta == "field":
        columns.append(TextColumn("ETA {task.fields[eta]}"))
    return Progress(*columns, console=err_console)
