"""``agent.solve()`` and the :class:`Agent` that keeps a model and a sandbox pool loaded.

Many problems run at once on one event loop: each has its own kernel (from a shared pool of warm
kernels) and its own LangGraph run; their generation requests meet in one
:class:`~agent.scheduler.GenerationScheduler`, which batches them on engines that batch, while other
problems' code runs in their kernels.

Example:
    >>> Solution(question="1+1?", answer="2").answer
    '2'
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from eval.records import Problem
from eval.trajectory import Timings, Trajectory

from .backends import Backend, load_backend
from .config import AgentConfig
from .critic import Critic, CriticSpec
from .graph import build_graph, recursion_limit
from .models import DEFAULT_MODEL, model_prompt
from .prompting import load_prompt
from .rerank import arerank, resolve_method
from .scheduler import GenerationScheduler
from .state import initial_state
from .verifier import Verifier, make_verifier

__all__ = ["Agent", "Solution", "solve", "version_info"]

logger = logging.getLogger(__name__)


class Solution(BaseModel):
    """The agent's answer to one problem, with the votes and every trajectory."""

    model_config = ConfigDict(extra="forbid")

    problem_id: str = ""
    question: str
    answer: str | None = None
    correct: bool | None = Field(None, description="Whether the chosen answer matches the reference, if given.")
    votes: dict[str, int] = Field(default_factory=dict, description="Representative answer -> samples in its class.")
    members: dict[str, list[int]] = Field(
        default_factory=dict, description="Representative answer -> indices of the trajectories in its class."
    )
    chosen: int | None = Field(None, description="Index of a trajectory whose answer was chosen.")
    rerank: str = Field("majority", description="How the answer was chosen: majority, weighted, cluster, best.")
    scores: list[float | None] = Field(default_factory=list, description="Verifier score of each trajectory.")
    trajectories: list[Trajectory] = Field(default_factory=list)

    @property
    def trajectory(self) -> Trajectory | None:
        return self.trajectories[self.chosen] if self.chosen is not None else None


def version_info() -> dict[str, str]:
    """Versions recorded on every trajectory."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        mine = version("mathagent")
    except PackageNotFoundError:
        mine = "dev"
    out = {"mathagent": mine}
    from eval.grade import grader_version

    out["grader"] = grader_version()
    return out


def _as_problem(item: Problem | str, index: int) -> Problem:
    if isinstance(item, Problem):
        return item
    return Problem(id=f"q{index}", question=item, answer=None, source="user")


class Agent:
    """A model, a sandbox pool and a configuration, ready to solve problems.

    Args:
        model: Alias, GGUF file, checkpoint folder or hub id (default: the CPU default model).
        backend: ``llamacpp`` | ``transformers`` | ``openai`` | ``vllm`` | ``auto``.
        config: Mode, limits, sampling, samples and re-ranking (:class:`AgentConfig`); keyword
            ``overrides`` win over it.
        llm: An already loaded backend to use instead of loading ``model``.
        critic: What scores the samples: a critic model name (the agent's own model name shares the
            loaded model), a :class:`~agent.critic.CriticSpec` (a name and how it judges), a
            :class:`~agent.critic.Critic`, or any :class:`~agent.verifier.Verifier`.
        sandbox: Isolation of the kernels: ``jail`` (default), ``docker``, ``none`` (development only),
            or a URL of a sandbox service (``http://host:8080``; token from ``$MATHAGENT_SANDBOX_TOKEN``).
        concurrency: Problems in flight at once in :meth:`solve_many`.
        pool_size: Warm kernels kept ready (default: ``concurrency``).
        backend_options: Passed to :func:`~agent.backends.load_backend` (e.g. ``n_threads``, ``base_url``).
        overrides: Any :class:`AgentConfig` field (``mode="cot"``, ``temperature=0.7``, ``rerank="best"``...).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        backend: str = "auto",
        *,
        config: AgentConfig | None = None,
        llm: Backend | None = None,
        critic: str | CriticSpec | Critic | Verifier | None = None,
        sandbox: str = "jail",
        concurrency: int = 4,
        pool_size: int | None = None,
        backend_options: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> None:
        base = config or AgentConfig()
        self.config = AgentConfig.model_validate({**base.model_dump(), **overrides}) if overrides else base
        self._model = model if llm is None else None  # whose own prompts apply (models.model_prompt)
        load_prompt(self._with_prompt(self.config).prompt_name())  # fail early on a bad prompt
        self._owns_llm = llm is None
        self.llm = llm or load_backend(model, backend, **(backend_options or {}))
        self.sandbox_mode = sandbox
        self.concurrency = concurrency
        self.pool_size = pool_size or concurrency
        self._pool = None
        self._scheduler: GenerationScheduler | None = None
        self._graphs: dict[AgentConfig, Any] = {}
        self.verifier: Verifier | None = None
        self._owns_verifier = False
        try:
            self.rerank = resolve_method(self.config.rerank, critic is not None)
            self.verifier, self._owns_verifier = make_verifier(
                critic,
                llm=self.llm,
                model=model if self._owns_llm else None,
                backend=backend,
                backend_options=backend_options,
            )
        except BaseException:
            self.close()
            raise
        self.top_clusters = self.config.top_clusters

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Shut the sandbox pool down and free the model (if this agent loaded it)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._owns_verifier and self.verifier is not None:
            close = getattr(self.verifier, "close", None)  # the Verifier protocol has no close; a Critic does
            if callable(close):
                close()
            self.verifier = None
        if self._owns_llm and self.llm is not None:
            self.llm.close()
            self.llm = None  # type: ignore[assignment]  # a closed agent has no model; using it again fails loudly

    # -- sandbox ----------------------------------------------------------------------------------
    def _sandbox_pool(self):
        if self._pool is None:
            from sandbox import Limits, RemoteSandboxPool, SandboxPool, is_service_url

            if is_service_url(self.sandbox_mode):
                # The service keeps the warm kernels; the token comes from $MATHAGENT_SANDBOX_TOKEN.
                pool = RemoteSandboxPool(self.sandbox_mode, cell_timeout=self.config.cell_timeout)
            else:
                limits = Limits(cell_timeout_s=self.config.cell_timeout)
                pool = SandboxPool(size=self.pool_size, isolation=self.sandbox_mode, limits=limits)
            self._pool = pool.start()
        return self._pool

    async def open_session(self):
        """A sandbox session of this agent's pool, for callers that keep one kernel across runs (chat).

        The caller closes it (``session.close()``).
        """
        return await self._sandbox_pool().aacquire()

    def swap_model(self, model: str, backend: str = "auto", **options: Any) -> None:
        """Load another model in place of the current one (frees the old one if this agent loaded it)."""
        llm = load_backend(model, backend, **options)
        if self._owns_llm and self.llm is not None:
            self.llm.close()
        self.llm, self._owns_llm, self._model = llm, True, model
        self._scheduler = None
        self._graphs.clear()

    @asynccontextmanager
    async def _session(self, needed: bool):
        if not needed:
            yield None
            return
        session = await self.open_session()
        try:
            yield session
        finally:
            await asyncio.to_thread(session.close)

    # -- solving ---------------------------------------------------------------------------------
    def prompt_id(self, config: AgentConfig | None = None) -> str:
        """The id (``name@hash``) of the prompt that runs with ``config`` (default: the agent's)."""
        return load_prompt(self._with_prompt(config or self.config).prompt_name()).id

    def _with_prompt(self, config: AgentConfig) -> AgentConfig:
        """``config`` with the model's own prompt for its mode filled in, when it names none."""
        name = model_prompt(self._model, config.mode) if config.prompt is None and self._model else None
        return config.model_copy(update={"prompt": name}) if name else config

    def _graph(self, config: AgentConfig):
        if config not in self._graphs:
            self._graphs[config] = build_graph(self._scheduler, config)
        return self._graphs[config]

    def _scheduler_for_loop(self) -> GenerationScheduler:
        if self._scheduler is None:
            self._scheduler = GenerationScheduler(self.llm)
            self._graphs.clear()
        return self._scheduler

    async def arun_trajectory(
        self,
        problem: Problem,
        sample_index: int = 0,
        *,
        config: AgentConfig | None = None,
        history: Sequence[dict] = (),
        session=None,
        stream: Callable[[str], None] | None = None,
        on_event: Callable[[str, str], None] | None = None,
    ) -> Trajectory:
        """Run the tool loop once on ``problem``.

        Args:
            problem: The problem.
            sample_index: Which sample this is (its seed is ``config.seed + sample_index``).
            config: Overrides the agent's configuration for this run.
            history: Earlier chat turns (user/assistant messages) placed before the question.
            session: A sandbox session to use (kept open afterwards); default: a fresh one from the pool.
            stream: ``callback(text_delta)`` for the model's tokens.
            on_event: ``callback(kind, payload)`` for executed code and its output.
        """
        config = self._with_prompt(config or self.config)
        self._scheduler_for_loop()
        prompt = load_prompt(config.prompt_name())
        messages = prompt.messages(problem.question, few_shot=config.few_shot)
        if history:
            messages = messages[:-1] + list(history) + messages[-1:]
        seed = None if config.seed is None else config.seed + sample_index
        t0 = time.monotonic()
        if session is not None:
            state = await self._invoke(config, messages, t0, session, seed, stream, on_event)
        else:
            async with self._session(config.mode != "cot") as fresh:
                state = await self._invoke(config, messages, t0, fresh, seed, stream, on_event)
        return self._trajectory(problem, sample_index, config, prompt.id, messages, state, time.monotonic() - t0)

    async def _invoke(self, config, messages, t0, session, seed, stream, on_event) -> dict:
        run_config = {
            "configurable": {"sandbox": session, "seed": seed, "stream": stream, "on_event": on_event},
            "recursion_limit": recursion_limit(config),
        }
        prefill = load_prompt(config.prompt_name()).prefill
        if stream and prefill:
            stream(prefill)
        return await self._graph(config).ainvoke(initial_state(messages, t0, prefill), run_config)

    def _trajectory(self, problem, sample_index, config, prompt_id, messages, state, seconds) -> Trajectory:
        traj = Trajectory(
            problem_id=problem.id,
            sample_index=sample_index,
            question=problem.question,
            reference=problem.answer,
            model=self.llm.model_id,
            backend=self.llm.name,
            mode=config.mode,
            sampling={
                "temperature": config.temperature,
                "top_p": config.top_p,
                "seed": None if config.seed is None else config.seed + sample_index,
                "max_tokens": config.max_tokens,
            },
            prompt_id=prompt_id,
            messages=messages,
            steps=state["steps"],
            text=state["text"],
            answer=state["answer"],
            answer_method=state["answer_method"],
            status=state["status"],
            error=state.get("error") or "",
            prompt_tokens=state["prompt_tokens"],
            completion_tokens=state["completion_tokens"],
            generations=state["generations"],
            tool_calls=state["tool_calls"],
            sandbox_errors=state["sandbox_errors"],
            code_errors=state["code_errors"],
            timings=Timings(total=seconds, model=state["model_seconds"], sandbox=state["sandbox_seconds"]),
            versions=version_info(),
        )
        if problem.answer is not None:
            from eval.grade import compare

            result = compare(traj.answer, problem.answer)
            traj.correct = result.correct
            traj.grader = result.grader
            traj.grade_status = result.status
        return traj

    async def asolve(
        self,
        problem: Problem | str,
        *,
        samples: int | None = None,
        rerank: str | None = None,
        stream: Callable[[str], None] | None = None,
        on_event: Callable[[str, str], None] | None = None,
    ) -> Solution:
        """Solve one problem with ``samples`` trajectories (run concurrently), then choose an answer.

        With a verifier, the answered samples are scored (critiques are stored on the trajectories) and
        ``rerank`` (default: the agent's) picks the answer; see :mod:`agent.rerank`.
        """
        problem = _as_problem(problem, 0)
        samples = samples or self.config.samples
        config = self.config.for_samples(samples)  # the temperature rule: several samples are not greedy
        trajs = await asyncio.gather(
            *(
                self.arun_trajectory(
                    problem, i, config=config, stream=stream if samples == 1 else None, on_event=on_event
                )
                for i in range(samples)
            )
        )
        return await self._choose(problem, list(trajs), rerank)

    async def _choose(self, problem: Problem, trajs: list[Trajectory], rerank: str | None) -> Solution:
        method = resolve_method(rerank, self.verifier is not None) if rerank else self.rerank
        sel, scores = await arerank(trajs, method=method, verifier=self.verifier, top_clusters=self.top_clusters)
        correct = None
        if problem.answer is not None:
            correct = False if sel.chosen is None else trajs[sel.chosen].correct
        return Solution(
            problem_id=problem.id,
            question=problem.question,
            answer=sel.answer,
            correct=correct,
            votes={c.answer: c.votes for c in sel.clusters},
            members={c.answer: c.members for c in sel.clusters},
            chosen=sel.chosen,
            rerank=method,
            scores=scores,
            trajectories=trajs,
        )

    async def asolve_many(
        self,
        problems: Iterable[Problem | str],
        *,
        samples: int | None = None,
        rerank: str | None = None,
        on_done: Callable[[Solution], None] | None = None,
    ) -> list[Solution]:
        """Solve many problems, ``concurrency`` at a time, sharing the model and the sandbox pool.

        Args:
            problems: Problems or question strings.
            samples: Trajectories per problem (default: the config's).
            rerank: How to choose among samples (default: the agent's).
            on_done: Called with each solution as it completes (in completion order).

        Returns:
            Solutions in the order of ``problems``.
        """
        items = [_as_problem(p, i) for i, p in enumerate(problems)]
        gate = asyncio.Semaphore(self.concurrency)

        async def one(p: Problem) -> Solution:
            async with gate:
                sol = await self.asolve(p, samples=samples, rerank=rerank)
            if on_done:
                on_done(sol)
            return sol

        return list(await asyncio.gather(*(one(p) for p in items)))

    # -- sync wrappers ----------------------------------------------------------------------------
    def run(self, coro):
        """Run a coroutine of this agent's async API to completion (a fresh event loop)."""
        try:
            return asyncio.run(coro)
        finally:
            self._scheduler = None  # its worker task belonged to that event loop
            self._graphs.clear()

    def solve(
        self,
        problem: Problem | str,
        *,
        samples: int | None = None,
        rerank: str | None = None,
        stream=None,
        on_event=None,
    ) -> Solution:
        """Synchronous :meth:`asolve`."""
        return self.run(self.asolve(problem, samples=samples, rerank=rerank, stream=stream, on_event=on_event))

    def solve_many(
        self, problems: Iterable[Problem | str], *, samples: int | None = None, rerank: str | None = None, on_done=None
    ) -> list[Solution]:
        """Synchronous :meth:`asolve_many`."""
        return self.run(self.asolve_many(problems, samples=samples, rerank=rerank, on_done=on_done))


def solve(
    question: str | Problem,
    *,
    model: str = DEFAULT_MODEL,
    backend: str = "auto",
    samples: int | None = None,
    critic: str | CriticSpec | Critic | Verifier | None = None,
    sandbox: str = "jail",
    backend_options: dict[str, Any] | None = None,
    config: AgentConfig | None = None,
    **overrides: Any,
) -> Solution:
    """Solve one math problem: load the model, run ``samples`` trajectories, vote, clean up.

    For many problems, keep an :class:`Agent` instead (the model loads once).

    Args:
        question: The problem text (or a :class:`~eval.records.Problem` with a reference answer).
        model: Alias, GGUF file, checkpoint folder or hub id.
        backend: ``llamacpp`` | ``transformers`` | ``openai`` | ``vllm`` | ``auto``.
        samples: Trajectories (default: the config's, 1); more than one gives a vote over equivalent
            answers, sampled at temperature 0.7 unless another is given.
        critic: What scores the samples (see :class:`Agent`).
        sandbox: Kernel isolation: ``jail`` | ``docker`` | ``none``, or a sandbox service URL.
        backend_options: Passed to the backend loader.
        config: An :class:`AgentConfig`; ``overrides`` (``mode``, ``temperature``, ``rerank``,
            ``max_tool_calls``, ...) win over it.
    """
    cfg = AgentConfig.model_validate({**(config or AgentConfig()).model_dump(), **overrides})
    n = samples or cfg.samples
    with Agent(
        model,
        backend,
        config=cfg.for_samples(n),
        critic=critic,
        sandbox=sandbox,
        concurrency=max(1, n),
        backend_options=backend_options,
    ) as agent:
        return agent.solve(question, samples=n)
