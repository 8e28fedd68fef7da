"""The Math-Critique judge: a short critique and a 1-10 score for a solution, with or without a reference.

ChatGLM-Math's Math-Critique scores a solution against a reference; here any model on any backend can
be the critic. Reference-free mode serves inference (re-ranking samples, :mod:`agent.verifier`); with
a reference answer it serves data selection and grading; with a worked reference solution in prose
it judges benchmarks whose references are explanations (MathUserEval style). The prompt is a YAML
file (:mod:`agent.critic_io`); an unreadable score is ``score=None`` with ``parse_error`` saying why.

Many critiques run at once: each is a request to a :class:`~agent.scheduler.GenerationScheduler`,
which batches them on engines that batch (vLLM, transformers, servers).

Example:
    >>> CriticConfig().max_tokens, CriticConfig().prompt
    (384, 'critic')
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from eval.trajectory import Critique, Trajectory

from .backends import Backend, load_backend
from .backends.base import SamplingParams
from .critic_io import CriticPrompt, is_worked_solution, load_critic_prompt, parse_score, render_solution
from .errors import MathAgentError
from .scheduler import GenerationScheduler

__all__ = ["CriticSpec", "Critic", "CriticConfig", "Critique"]

logger = logging.getLogger(__name__)

SCORE_CUE = "\n\nScore:"


class CriticConfig(BaseModel):
    """How the critic judges. Frozen; every field documented."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str = Field("critic", description="Reference-free prompt: name in agent/prompts or a YAML path.")
    reference_prompt: str = Field("critic_reference", description="Prompt used with a reference final answer.")
    worked_reference_prompt: str = Field(
        "critic_worked", description="Prompt used with a worked reference solution (prose, MathUserEval style)."
    )
    reference_kind: Literal["auto", "answer", "solution"] = Field(
        "auto", description="How to read references: auto (prose of several lines/words = solution), answer, solution."
    )
    max_tokens: int = Field(384, ge=8, description="Most tokens of one critique.")
    temperature: float = Field(0.0, ge=0, description="0 is greedy; samples > 1 need > 0 (0.7 is used then).")
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = Field(0, description="Sampling seed; critique sample i uses seed + i.")
    samples: int = Field(1, ge=1, description="Critiques per solution; the score is their rounded mean.")
    max_solution_chars: int = Field(6000, ge=200, description="Longer solutions are cut in the middle.")
    ask_score: bool = Field(
        True,
        description="When a critique names no score at all (e.g. cut at max_tokens), continue it with "
        "'Score:' and read the few tokens that follow (shown in the critique's text).",
    )


class CriticSpec(CriticConfig):
    """A critic to load by name, with how it judges: what ``RunSpec.critic`` records and ``Agent(critic=...)`` takes.

    Example:
        >>> spec = CriticSpec(model="smollm2-135m", max_tokens=128)
        >>> spec.model, spec.critic_config().max_tokens
        ('smollm2-135m', 128)
    """

    model: str = Field(
        description="Critic model: alias, .gguf file, checkpoint folder or hub id (the agent's own "
        "model name shares the loaded model)."
    )
    backend: str | None = Field(None, description="Backend of the critic model; None: the agent's backend.")

    def critic_config(self) -> CriticConfig:
        """The :class:`CriticConfig` part."""
        return CriticConfig.model_validate(self.model_dump(exclude={"model", "backend"}))


class Critic:
    """A model that judges solutions with a short critique and a 1-10 score.

    Args:
        model_or_backend: Alias, GGUF file, checkpoint folder or hub id of the critic model, or a loaded
            :class:`~agent.backends.Backend` (not closed by the critic).
        backend: ``llamacpp`` | ``transformers`` | ``openai`` | ``vllm`` | ``auto``.
        llm: A loaded backend (same as passing it as ``model_or_backend``).
        config: Prompts, sampling and limits (:class:`CriticConfig`).
        prompt: Shortcut for ``config.prompt`` (the reference-free prompt).
        backend_options: Passed to :func:`~agent.backends.load_backend` (``n_threads``, ``base_url``...).
    """

    def __init__(
        self,
        model_or_backend: str | Backend | None = None,
        backend: str = "auto",
        *,
        llm: Backend | None = None,
        config: CriticConfig | None = None,
        prompt: str | None = None,
        **backend_options: Any,
    ) -> None:
        config = config or CriticConfig()
        if prompt is not None:
            config = config.model_copy(update={"prompt": prompt})
        self.config = config
        for name in (config.prompt, config.reference_prompt, config.worked_reference_prompt):
            load_critic_prompt(name)  # fail early on a bad prompt
        if isinstance(model_or_backend, Backend):
            llm = model_or_backend
        self._owns_llm = llm is None
        if llm is None:
            if not model_or_backend:
                raise MathAgentError("Critic needs a model (alias, file, folder or hub id) or a loaded backend")
            assert not isinstance(model_or_backend, Backend)
            llm = load_backend(model_or_backend, backend, **backend_options)
        self.llm: Backend | None = llm
        self._scheduler: GenerationScheduler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def model_id(self) -> str:
        """The critic model's id (recorded on every critique)."""
        return self.llm.model_id if self.llm is not None else ""

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Critic:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Free the model if this critic loaded it."""
        if self._owns_llm and self.llm is not None:
            self.llm.close()
        self.llm = None
        self._scheduler = None

    # -- prompts ---------------------------------------------------------------------------------
    def prompt_for(self, reference: str | None) -> CriticPrompt:
        """The prompt used for a reference (None: reference-free)."""
        if reference is None or not reference.strip():
            return load_critic_prompt(self.config.prompt)
        kind = self.config.reference_kind
        if kind == "auto":
            kind = "solution" if is_worked_solution(reference) else "answer"
        name = self.config.worked_reference_prompt if kind == "solution" else self.config.reference_prompt
        return load_critic_prompt(name)

    def messages(self, traj: Trajectory, reference: str | None = None) -> list[dict]:
        """The chat messages sent to the critic for ``traj``."""
        solution = render_solution(traj, self.config.max_solution_chars)
        return self.prompt_for(reference).messages(traj.question, solution, traj.answer, reference)

    # -- judging ---------------------------------------------------------------------------------
    def _scheduler_for_loop(self) -> GenerationScheduler:
        if self.llm is None:
            raise MathAgentError("the critic is closed")
        loop = asyncio.get_running_loop()
        if self._scheduler is None or self._loop is not loop:
            self._scheduler, self._loop = GenerationScheduler(self.llm), loop
        return self._scheduler

    def _params(self, i: int, max_tokens: int | None = None, stop: tuple[str, ...] = ()) -> SamplingParams:
        c = self.config
        temperature = c.temperature if c.samples == 1 or c.temperature > 0 else 0.7
        return SamplingParams(
            max_tokens=max_tokens or c.max_tokens,
            temperature=temperature if max_tokens is None else 0.0,
            top_p=c.top_p,
            seed=None if c.seed is None else c.seed + i,
            stop=stop,
        )

    async def _one_sample(self, scheduler, messages, i: int) -> tuple[str, int | None, str | None]:
        c = await scheduler.generate(messages, "", self._params(i))
        text = c.text.strip()
        parsed = parse_score(text)
        if parsed.missing and self.config.ask_score:
            cue = text + SCORE_CUE
            more = await scheduler.generate(messages, cue, self._params(i, max_tokens=6, stop=("\n",)))
            again = parse_score("Score:" + more.text)
            text = cue + more.text.rstrip()
            if again.score is not None:
                return text, again.score, None
            if not again.missing:
                return text, None, again.error
            reason = "no score found, even when asked with 'Score:'"
            if c.finish_reason == "length":
                reason += f" (the critique was cut at {self.config.max_tokens} tokens)"
            return text, None, reason
        return text, parsed.score, parsed.error

    async def acritique(self, traj: Trajectory, reference: str | None = None) -> Critique:
        """Judge one solution (async). A failing critic model gives ``score=None`` with the error, not a raise.

        Args:
            traj: The solution (its text with code and outputs, and its final answer).
            reference: A reference final answer or worked solution; None judges reference-free.

        Raises:
            MathAgentError: The configured prompt needs a reference and none was given, or the critic is closed.
        """
        prompt = self.prompt_for(reference)
        messages = self.messages(traj, reference)
        scheduler = self._scheduler_for_loop()
        base = {"model": self.model_id, "with_reference": prompt.reference != "none", "prompt_id": prompt.id}
        try:
            results = await asyncio.gather(
                *(self._one_sample(scheduler, messages, i) for i in range(self.config.samples))
            )
        except MathAgentError:
            raise
        except Exception as exc:  # noqa: BLE001 - a model failure is recorded on the critique
            logger.warning("critic model failed on %s: %s", traj.problem_id, exc)
            return Critique(score=None, parse_error=f"critic model error: {type(exc).__name__}: {exc}", **base)
        if len(results) == 1:
            text, score, error = results[0]
            return Critique(score=score, text=text, parse_error=error, **base)
        scores = [s for _, s, _ in results]
        parsed = [s for s in scores if s is not None]
        errors = [e for _, s, e in results if s is None]
        text = "\n\n---\n\n".join(t for t, _, _ in results)
        if not parsed:
            return Critique(
                score=None,
                text=text,
                sample_scores=scores,
                parse_error=f"no critique sample had a score: {errors[0]}",
                **base,
            )
        score = int(sum(parsed) / len(parsed) + 0.5)  # round half up
        note = f"{len(errors)} of {len(scores)} samples unparsed: {errors[0]}" if errors else None
        return Critique(score=score, text=text, sample_scores=scores, parse_error=note, **base)

    async def acritique_many(
        self,
        trajs: Sequence[Trajectory],
        references: Sequence[str | None] | None = None,
        *,
        on_done: Callable[[int, Critique], None] | None = None,
    ) -> list[Critique]:
        """Judge many solutions at once (batched by the scheduler on engines that batch).

        Args:
            trajs: The solutions.
            references: One reference (or None) per solution; None: all reference-free.
            on_done: ``callback(index, critique)`` as each finishes.
        """
        refs = list(references) if references is not None else [None] * len(trajs)
        if len(refs) != len(trajs):
            raise ValueError(f"{len(trajs)} trajectories but {len(refs)} references")

        async def one(i: int) -> Critique:
            crit = await self.acritique(trajs[i], refs[i])
            if on_done:
                on_done(i, crit)
            return crit

        return list(await asyncio.gather(*(one(i) for i in range(len(trajs)))))

    def critique(self, traj: Trajectory, reference: str | None = None) -> Critique:
        """Synchronous :meth:`acritique`."""
        return self._run(self.acritique(traj, reference))

    def critique_many(
        self,
        trajs: Sequence[Trajectory],
        references: Sequence[str | None] | None = None,
        *,
        on_done: Callable[[int, Critique], None] | None = None,
    ) -> list[Critique]:
        """Synchronous :meth:`acritique_many`."""
        return self._run(self.acritique_many(trajs, references, on_done=on_done))

    def _run(self, coro):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise MathAgentError("Critic.critique* was called inside an event loop: await acritique* instead")
        try:
            return asyncio.run(coro)
        finally:
            self._scheduler = None  # its worker task belonged to that event loop
