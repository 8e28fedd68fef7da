"""The root ``mathagent`` command: global options, and the command groups registered from :mod:`cli.commands`.

Every command module imports its heavy libraries inside the command, so ``mathagent --help`` only loads
typer, rich and the command modules.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from .commands import chat, collect, eval, generate, models, runs, sandbox, solve, train
from .console import err_console

__all__ = ["app", "main"]

app = typer.Typer(
    name="mathagent",
    help="A tool-augmented math agent: reasons, runs Python in a sandbox, answers in \\boxed{}.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(models.app, name="models")
app.command("generate")(generate.generate)
app.command("solve")(solve.solve)
app.command("chat")(chat.chat)
app.command("eval")(eval.eval_cmd)
app.command("view")(runs.view_cmd)
app.command("compare")(runs.compare_cmd)
app.command("rescore")(runs.rescore_cmd)
app.command("audit")(runs.audit_cmd)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(collect.app, name="collect")
app.add_typer(train.app, name="train")


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, show_time=False)],
    )
    if not verbose:  # one line per HTTP request (servers, the sandbox service) is noise at INFO
        logging.getLogger("httpx").setLevel(logging.WARNING)


def main() -> None:
    """Console entry point: Ctrl-C and SIGTERM stop a command cleanly, with exit code 130 / 143."""
    import signal

    from agent.interrupts import exit_code, last_signal, sigterm_as_interrupt

    def stopped() -> None:
        sigterm = last_signal() == signal.SIGTERM
        err_console.print("[yellow]terminated (SIGTERM)[/]" if sigterm else "[yellow]interrupted[/]")
        sys.exit(exit_code())

    try:
        with sigterm_as_interrupt():  # `kill PID` stops a job the clean way Ctrl-C does
            app()
    except KeyboardInterrupt:
        stopped()
    except SystemExit as exc:
        if exc.code == 130:  # Typer turns KeyboardInterrupt into exit 130, whichever signal raised it
            stopped()
        raise
