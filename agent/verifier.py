"""Verifiers score trajectories (higher = more likely correct) for re-ranking samples.

The interface is deliberately small so that a trained outcome value model (MARIO's OVM, the training
issue) plugs in beside the Math-Critique judge: anything with a ``name`` and
``score(trajectories, references=None) -> list[float | None]`` is a :class:`Verifier`; an optional
``async ascore(...)`` twin lets the agent score without blocking its event loop.

:class:`CriticVerifier` is the first implementation: it asks a :class:`~agent.critic.Critic` for a
critique of each trajectory, stores the critique on the trajectory and returns the score scaled to
0-1, ``(score - 1) / 9``; an unparsed critique gives None.

Example:
    >>> normalise_score(1), normalise_score(10), normalise_score(None)
    (0.0, 1.0, None)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from eval.trajectory import Critique, Trajectory

from .critic import Critic, CriticSpec

__all__ = ["Verifier", "CriticVerifier", "normalise_score", "critique_value", "ascore", "make_verifier"]


@runtime_checkable
class Verifier(Protocol):
    """Scores trajectories: higher = more likely correct; None = could not score."""

    name: str

    def score(
        self, trajectories: Sequence[Trajectory], references: Sequence[str | None] | None = None
    ) -> list[float | None]:
        """One score per trajectory (references: optional, one per trajectory)."""
        ...


def normalise_score(score: float | None) -> float | None:
    """A 1-10 critic score on 0-1: ``(score - 1) / 9``."""
    return None if score is None else (score - 1) / 9


def critique_value(critique: Critique | None) -> float | None:
    """The 0-1 value of a critique (the mean of its samples' scores when it sampled several)."""
    return None if critique is None else normalise_score(critique.mean_score)


class CriticVerifier:
    """The Math-Critique judge as a verifier.

    Args:
        critic: The critic.
        store: Put each critique on its trajectory (``trajectory.critique``).
    """

    def __init__(self, critic: Critic, *, store: bool = True) -> None:
        self.critic = critic
        self.store = store
        self.name = f"critic:{critic.model_id}"

    async def ascore(
        self, trajectories: Sequence[Trajectory], references: Sequence[str | None] | None = None
    ) -> list[float | None]:
        """Critique every trajectory (batched) and return the 0-1 scores."""
        crits = await self.critic.acritique_many(trajectories, references)
        return self._values(trajectories, crits)

    def score(
        self, trajectories: Sequence[Trajectory], references: Sequence[str | None] | None = None
    ) -> list[float | None]:
        """Synchronous :meth:`ascore`."""
        crits = self.critic.critique_many(trajectories, references)
        return self._values(trajectories, crits)

    def _values(self, trajectories: Sequence[Trajectory], crits: list[Critique]) -> list[float | None]:
        if self.store:
            for t, c in zip(trajectories, crits, strict=True):
                t.critique = c
        return [critique_value(c) for c in crits]

    def close(self) -> None:
        """Close the critic (frees its model if the critic loaded it)."""
        self.critic.close()


async def ascore(
    verifier: Verifier, trajectories: Sequence[Trajectory], references: Sequence[str | None] | None = None
) -> list[float | None]:
    """Score with ``verifier.ascore`` when it has one, else ``verifier.score`` in a worker thread."""
    if not trajectories:
        return []
    native = getattr(verifier, "ascore", None)
    if native is not None:
        scores = await native(trajectories, references)
    else:
        scores = await asyncio.to_thread(verifier.score, trajectories, references)
    scores = list(scores)
    if len(scores) != len(trajectories):
        raise ValueError(f"verifier {verifier.name!r} gave {len(scores)} scores for {len(trajectories)} trajectories")
    return scores


def make_verifier(
    critic: Any = None,
    *,
    llm=None,
    model: str | None = None,
    backend: str = "auto",
    backend_options: dict | None = None,
) -> tuple[Verifier | None, bool]:
    """The verifier an agent uses, and whether the agent owns it (must close it).

    Args:
        critic: A critic model name (the agent's own ``model`` shares its loaded ``llm``), a
            :class:`~agent.critic.CriticSpec` (a name and how it judges), a :class:`Critic`, or any
            :class:`Verifier` (used as is).
        llm: The agent's loaded backend.
        model: The name the agent loaded its model by (None when it was given a loaded backend).
        backend, backend_options: How to load a critic model other than the agent's.
    """
    if critic is None:
        return None, False
    if isinstance(critic, Critic):
        return CriticVerifier(critic), False
    if isinstance(critic, str):
        critic = CriticSpec(model=critic)
    if not isinstance(critic, CriticSpec):
        if not callable(getattr(critic, "score", None)):
            raise TypeError(f"critic must be a model name, a CriticSpec, a Critic or a Verifier, not {critic!r}")
        return critic, False
    config = critic.critic_config()
    if llm is not None and critic.model in (model, llm.model_id):
        # self-critique: one model loaded (not closed by the critic)
        return CriticVerifier(Critic(llm=llm, config=config)), True
    return CriticVerifier(
        Critic(critic.model, critic.backend or backend, config=config, **(backend_options or {}))
    ), True
