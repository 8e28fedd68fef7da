"""Collecting one problem: K trajectories through the agent's batch API, graded, then critiqued.

:class:`ProblemSolver` holds one model (behind a retrying wrapper), the agent with its sandbox pool,
and an optional critic. Many problems run at once on one event loop: each trajectory takes one slot
of ``concurrency`` (and one pooled kernel); generation requests of all trajectories in flight meet in
the agent's scheduler, which batches them on engines that batch (vLLM, transformers, servers) and
overlaps generation with code execution on engines that do not (llama.cpp runs one sequence at a time).

:class:`LocalExecutor` runs a list of problems on one solver and yields each problem's trajectories
as it completes; the Ray executor (:mod:`.ray_runner`) does the same with one solver per Ray worker.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

from eval.records import Problem
from eval.trajectory import Critique, Trajectory

from .spec import CollectError, CollectOptions, CollectSpec

__all__ = ["LocalExecutor", "ProblemSolver", "problem_window"]

logger = logging.getLogger(__name__)


def problem_window(concurrency: int, samples: int) -> int:
    """Problems to keep in flight so that ``concurrency`` trajectory slots stay busy: one more than fills them.

    Example:
        >>> problem_window(4, 4), problem_window(8, 1)
        (2, 9)
    """
    return math.ceil(concurrency / samples) + 1


class ProblemSolver:
    """A model, an agent with its sandbox pool, and an optional critic: collects problems.

    Build it with :meth:`load` (from a spec) or directly around an agent (tests use a scripted model).

    Args:
        spec: What to collect.
        options: How (concurrency, retries).
        agent: An :class:`agent.Agent` (closed by :meth:`close`).
        critic: An ``agent.critic.Critic`` or anything with ``critique_many(trajs, references=...)``.
        owned: Objects to close with the solver (backends the agent does not own).
    """

    def __init__(
        self,
        spec: CollectSpec,
        options: CollectOptions,
        agent: Any,
        critic: Any | None = None,
        owned: Sequence[Any] = (),
    ) -> None:
        self.spec = spec
        self.options = options
        self.agent = agent
        self.critic = critic
        self._owned = list(owned)
        self._gate: asyncio.Semaphore | None = None
        self._critic_lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def load(cls, spec: CollectSpec, options: CollectOptions) -> ProblemSolver:
        """Load the policy model (and the critic) and set the agent up as the spec says."""
        from agent.agent import Agent
        from agent.backends import load_backend
        from agent.backends.retry import RetryingBackend

        inner = load_backend(spec.model, spec.backend, **options.backend_options(spec))
        owned: list[Any] = [inner]
        try:
            share = (
                spec.critic is not None and spec.critic == spec.model and spec.critic_backend in ("auto", spec.backend)
            )
            llm = RetryingBackend(inner, retries=options.model_retries, backoff=options.retry_backoff, lock=share)
            agent = Agent(
                llm=llm,
                sandbox=options.sandbox,
                concurrency=options.concurrency,
                pool_size=options.concurrency,
                config=spec.agent_config(),
            )
            owned.insert(0, agent)
            critic = None
            if spec.critic is not None:
                critic_cls, config_cls = _critic_classes()
                config = config_cls.model_validate(spec.critic_config)
                if share:  # one engine for both; the lock makes them take turns
                    critic = critic_cls(llm=llm, config=config)
                else:
                    critic = critic_cls(
                        spec.critic, backend=spec.critic_backend, config=config, **options.critic_options(spec)
                    )
                    owned.append(critic)
        except BaseException:
            for obj in owned:
                _close(obj)
            raise
        return cls(spec, options, agent, critic, owned)

    def close(self) -> None:
        """Shut the sandbox pool down and free the models."""
        for obj in self._owned or [self.agent]:
            _close(obj)
        self._owned = []

    def __enter__(self) -> ProblemSolver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one problem ------------------------------------------------------------------------------
    def _primitives(self) -> tuple[asyncio.Semaphore, asyncio.Lock]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # asyncio primitives belong to one event loop
            self._loop = loop
            self._gate = asyncio.Semaphore(self.options.concurrency)
            self._critic_lock = asyncio.Lock()
        return self._gate, self._critic_lock  # type: ignore[return-value]

    async def solve(self, problem: Problem) -> list[Trajectory]:
        """K graded (and critiqued) trajectories of ``problem``, in sample order.

        A failing model call was already retried by the backend wrapper and is recorded in its
        trajectory (status ``model_error``). Any other error (the sandbox could not start...) runs the
        problem again ``problem_retries`` times, then raises :class:`CollectError`.
        """
        for attempt in range(self.options.problem_retries + 1):
            try:
                trajs = await self._sample(problem)
                break
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - retried, then the job stops with the cause
                if attempt == self.options.problem_retries:
                    raise CollectError(
                        f"problem {problem.id} failed {attempt + 1} time(s): {type(exc).__name__}: {exc}"
                    ) from exc
                logger.warning("problem %s failed (%s: %s); running it again", problem.id, type(exc).__name__, exc)
                await asyncio.sleep(self.options.retry_backoff)
        if self.critic is not None:
            await self._critique(problem, trajs)
        return trajs

    async def _sample(self, problem: Problem) -> list[Trajectory]:
        gate, _ = self._primitives()

        async def one(i: int) -> Trajectory:
            async with gate:
                return await self.agent.arun_trajectory(problem, i)

        tasks = [asyncio.ensure_future(one(i)) for i in range(self.spec.samples)]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _critique(self, problem: Problem, trajs: list[Trajectory]) -> None:
        _, lock = self._primitives()
        refs = [problem.answer if self.spec.critic_reference else None] * len(trajs)
        last: Exception | None = None
        critic = self.critic
        assert critic is not None  # _critique runs only with a critic
        for attempt in range(self.options.model_retries + 1):
            try:
                if hasattr(critic, "acritique_many"):  # batched with other problems' critiques
                    crits = await critic.acritique_many(trajs, refs)
                else:
                    async with lock:  # engines are not thread-safe: one critic call at a time
                        crits = await asyncio.to_thread(critic.critique_many, trajs, references=refs)
                for t, c in zip(trajs, crits, strict=True):
                    t.critique = c
                return
            except Exception as exc:  # noqa: BLE001 - retried, then recorded on the trajectories
                last = exc
                if attempt < self.options.model_retries:
                    delay = self.options.retry_backoff * 2**attempt
                    logger.warning("critic failed on %s (%s); retrying in %.1f s", problem.id, exc, delay)
                    await asyncio.sleep(delay)
        logger.warning("critic failed on %s after %d attempts: %s", problem.id, self.options.model_retries + 1, last)
        error = f"critic error: {type(last).__name__}: {last}"
        extra = {"parse_error": error} if "parse_error" in Critique.model_fields else {}
        for t in trajs:  # a critic ran but gave no score
            t.critique = Critique(
                score=None,
                text=error,
                model=self.spec.critic or "",
                with_reference=self.spec.critic_reference,
                **extra,
            )


def _critic_classes():
    try:
        from agent.critic import Critic, CriticConfig
    except ImportError as exc:
        raise CollectError(
            f"--critic needs agent.critic (the Math-Critique judge), which this installation lacks ({exc})"
        ) from exc
    return Critic, CriticConfig


def _close(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception as exc:  # noqa: BLE001 - closing goes on for the others
        logger.warning("closing %r failed: %s", obj, exc)


class LocalExecutor:
    """Runs problems on one :class:`ProblemSolver` in this process, a bounded window of them at a time.

    Args:
        solver: The solver (closed by :meth:`close`).
    """

    def __init__(self, solver: ProblemSolver) -> None:
        self.solver = solver
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.worker_counts: dict[str, int] = {}

    async def results(self, problems: Sequence[Problem]) -> AsyncIterator[tuple[Problem, list[Trajectory]]]:
        """Yield ``(problem, trajectories)`` as problems complete (completion order).

        Closing the iterator early (the job stops) cancels the problems in flight.
        """
        window = problem_window(self.solver.options.concurrency, self.solver.spec.samples)
        todo = iter(problems)
        running: dict[asyncio.Task, Problem] = {}

        def fill() -> None:
            while len(running) < window:
                p = next(todo, None)
                if p is None:
                    return
                running[asyncio.ensure_future(self.solver.solve(p))] = p

        fill()
        try:
            while running:
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    problem = running.pop(task)
                    trajs = task.result()
                    self.worker_counts[self.name] = self.worker_counts.get(self.name, 0) + 1
                    yield problem, trajs
                fill()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    def close(self) -> None:
        self.solver.close()
