"""Interactive chat: one conversation, one kernel whose state carries over to follow-up questions.

Commands: ``/new`` starts over (new kernel, empty history), ``/samples N``, ``/mode tir|cot|pal``,
``/model NAME``, ``/help``, ``/quit``. Ctrl-C stops the current generation, not the program.
"""

from __future__ import annotations

import asyncio
import signal
import threading

from rich.console import Console

from agent.agent import Agent
from agent.errors import GenerationCancelled, MathAgentError
from eval.records import Problem

from .render import LiveRenderer, print_solution_summary

__all__ = ["ChatSession", "run_chat"]

HELP = "/new start over · /samples N · /mode tir|cot|pal · /model NAME · /help · /quit (Ctrl-C stops a generation)"


class ChatSession:
    """A conversation: earlier turns as chat history, and one sandbox session kept for its whole life."""

    def __init__(self, agent: Agent, console: Console) -> None:
        self.agent = agent
        self.console = console
        self.history: list[dict] = []
        self.session = None
        self.samples = 1
        self.turn = 0
        self.cancel = threading.Event()

    def reset(self) -> None:
        """Forget the conversation and discard the kernel."""
        self.history = []
        if self.session is not None:
            self.session.close()
            self.session = None

    async def _ask(self, question: str) -> None:
        self.turn += 1
        problem = Problem(id=f"chat-{self.turn}", question=question, answer=None, source="chat")
        if self.samples > 1:
            sol = await self.agent.asolve(problem, samples=self.samples)
            print_solution_summary(self.console, sol)
            return
        if self.session is None and self.agent.config.mode != "cot":
            self.session = await self.agent.open_session()
        renderer = LiveRenderer(self.console)

        def stream(delta: str) -> None:
            if self.cancel.is_set():
                raise GenerationCancelled("stopped by the user")
            renderer.text(delta)

        traj = await self.agent.arun_trajectory(
            problem, history=self.history, session=self.session, stream=stream, on_event=renderer.event
        )
        renderer.flush()
        if self.cancel.is_set():
            self.console.print("[yellow]stopped[/]")
            return
        self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": traj.text}]
        from agent.agent import Solution

        print_solution_summary(
            self.console, Solution(question=question, answer=traj.answer, chosen=0, trajectories=[traj])
        )

    def ask(self, question: str) -> None:
        """Answer one message; Ctrl-C during it stops the generation and keeps the conversation."""
        self.cancel.clear()
        previous = signal.signal(signal.SIGINT, lambda *_: self.cancel.set())
        try:
            self.agent.run(self._ask(question))
        finally:
            signal.signal(signal.SIGINT, previous)

    def command(self, line: str) -> bool:
        """Handle a /command; returns False to quit."""
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if name in ("quit", "exit", "q"):
            return False
        if name == "new":
            self.reset()
            self.console.print("[dim]new conversation[/]")
        elif name == "samples" and arg.isdigit() and int(arg) >= 1:
            self.samples = int(arg)
            self.console.print(f"[dim]samples = {self.samples}[/]")
        elif name == "mode" and arg in ("tir", "cot", "pal"):
            self.agent.config = self.agent.config.model_copy(update={"mode": arg})
            self.reset()
            self.console.print(f"[dim]mode = {arg} (new conversation)[/]")
        elif name == "model" and arg:
            self.console.print(f"[dim]loading {arg}...[/]")
            self.agent.swap_model(arg)
            self.reset()
            self.console.print(f"[dim]model = {self.agent.llm.model_id} (new conversation)[/]")
        else:
            self.console.print(HELP)
        return True


def run_chat(agent: Agent, console: Console, input_fn=input) -> None:
    """The read-eval-print loop."""
    chat = ChatSession(agent, console)
    console.print(f"[bold]mathagent chat[/] · {agent.llm.model_id} · mode {agent.config.mode}\n[dim]{HELP}[/]")
    try:
        while True:
            try:
                line = input_fn("\n>>> ").strip()
            except EOFError:
                break
            except KeyboardInterrupt:
                console.print("[dim](Ctrl-D or /quit to leave)[/]")
                continue
            if not line:
                continue
            if line.startswith("/"):
                if not chat.command(line):
                    break
                continue
            try:
                chat.ask(line)
            except MathAgentError as exc:
                console.print(f"[red]error:[/] {exc}")
    finally:
        chat.reset()
        asyncio.set_event_loop(None)
