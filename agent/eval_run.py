"""Eval runs: the agent over a dataset, resumable, then the eval core's report.

Each finished problem's trajectories are appended to ``trajectories.jsonl`` (flushed and fsynced) as
soon as it completes, so a killed run loses at most the problems in flight. Started again with the
same output folder and configuration, the run skips the problems already done (a torn last line is
dropped); a different configuration is refused, naming what differs. The report ends with the run
browser, ``view.html`` (:mod:`eval.view`), and with several samples per problem, a "Suspect references"
section (:mod:`eval.runs.audit`) whose links open the problems in it.

Example:
    >>> spec = RunSpec(dataset="gsm8k.jsonl", model="m", agent=AgentConfig(samples=4))
    >>> spec.samples, spec.agent.temperature
    (4, 0.7)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from common.configs import ConfigMismatchError, config_diff
from common.files import atomic_write_text
from common.jsonl import append_jsonl, write_jsonl
from eval.summary import finished_trajectories, summarize
from eval.trajectory import Trajectory, read_trajectories

from .config import AgentConfig, nest_agent_fields
from .critic import CriticSpec

if TYPE_CHECKING:
    from .agent import Agent

__all__ = ["RunSpec", "RUN_FILE", "TRAJECTORIES", "run_eval"]

logger = logging.getLogger(__name__)

TRAJECTORIES = "trajectories.jsonl"
RUN_FILE = "run.json"


class RunSpec(BaseModel):
    """What an eval run is: recorded in ``run.json`` and compared on resume."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = Field(description="Dataset path or hub name.")
    split: str | None = None
    limit: int | None = Field(None, description="First N problems only.")
    model: str
    backend: str = "auto"
    agent: AgentConfig = Field(
        default_factory=AgentConfig, description="The agent's settings (samples and re-ranking included)."
    )
    critic: CriticSpec | None = Field(None, description="The critic that scores samples; None: no critic.")

    @model_validator(mode="before")
    @classmethod
    def _agent_fields_inside(cls, data: Any) -> Any:
        """``samples``, ``rerank`` and ``top_clusters`` belong to the agent (older run.json files kept them beside)."""
        return nest_agent_fields(data, keys=_AGENT_KEYS)

    @property
    def samples(self) -> int:
        """Samples per problem."""
        return self.agent.samples


_AGENT_KEYS = ("samples", "rerank", "top_clusters")


def _check_spec(out: Path, spec: RunSpec) -> None:
    run_file = out / RUN_FILE
    if run_file.is_file():
        stored = json.loads(run_file.read_text())
        try:  # filled with today's defaults, so that a field added since then is no difference
            stored = RunSpec.model_validate(stored).model_dump(mode="json")
        except ValidationError:
            pass
        diff = config_diff(stored, spec.model_dump(mode="json"))
        if diff:
            raise ConfigMismatchError(
                f"{out} holds a run with another configuration ({'; '.join(diff)}); use another --out"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_file, json.dumps(spec.model_dump(mode="json"), indent=2) + "\n")


def _check_prompt(out: Path, done: list[Trajectory], prompt_id: str) -> None:
    """Refuse to resume with another prompt (by name: an edited file of the same name may go on)."""
    name = prompt_id.split("@")[0]
    others = sorted({t.prompt_id for t in done if t.prompt_id and t.prompt_id.split("@")[0] != name})
    if others:
        raise ConfigMismatchError(
            f"{out} holds trajectories made with prompt {', '.join(others)}; this run uses {prompt_id} "
            "(pass that prompt with --prompt to resume, or use another --out)"
        )


def run_eval(
    spec: RunSpec,
    out: Path,
    *,
    agent_factory: Callable[[], Agent] | None = None,
    problems: list | None = None,
    on_progress: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Run (or resume) an eval and write the report; returns the metrics.

    Args:
        spec: What to run.
        out: Output folder (``run.json``, ``trajectories.jsonl``, then the report files).
        agent_factory: Builds the :class:`agent.Agent` (default: from ``spec``).
        problems: The problems (default: loaded from ``spec.dataset``).
        on_progress: ``callback(done, total, accuracy_so_far)`` after each problem.
    """
    from eval.agreement import agreement_markdown
    from eval.datasets import load_problems
    from eval.report import write_report
    from eval.runs import load_run
    from eval.runs.audit import audit_section
    from eval.view import VIEW_FILE, write_view

    out = Path(out)
    _check_spec(out, spec)
    if problems is None:
        problems = list(load_problems(spec.dataset, split=spec.split, limit=spec.limit))
    by_id = {p.id: p for p in problems}
    path = out / TRAJECTORIES
    # A problem cut off mid-way (fewer samples than asked) is run again whole; a torn line is dropped.
    done = finished_trajectories(read_trajectories(path), spec.samples)
    write_jsonl(path, done)
    finished = {t.problem_id for t in done}
    todo = [p for p in problems if p.id not in finished]
    if finished:
        logger.info("resuming: %d of %d problems already done", len(finished), len(problems))
    correct = [any(t.correct for t in done if t.problem_id == pid) for pid in finished]
    if todo:
        if agent_factory is None:
            from .agent import Agent

            def agent_factory():
                return Agent(spec.model, spec.backend, config=spec.agent, critic=spec.critic)

        with agent_factory() as agent, open(path, "a") as sink:
            _check_prompt(out, done, agent.prompt_id())

            def on_done(sol) -> None:
                append_jsonl(sink, sol.trajectories)
                done.extend(sol.trajectories)
                correct.append(bool(sol.correct))
                if on_progress:
                    on_progress(len(correct), len(problems), sum(correct) / len(correct))

            agent.solve_many(todo, samples=spec.samples, on_done=on_done)
    records, metrics, extra, agreement = summarize(done, by_id, top_clusters=spec.agent.top_clusters)
    sections, data = [], {}
    if agreement is not None:
        sections.append(("Critic agreement with the grader", agreement_markdown(agreement)))
        data["critic_agreement"] = agreement.model_dump(mode="json")
    audit = audit_section(done, view=VIEW_FILE)  # with several samples per problem: suspect references
    if audit is not None:
        sections.append(("Suspect references", audit[0]))
        data["label_audit"] = audit[1]
    result = write_report(
        out, records, metrics=metrics, extra_metrics=extra, extra_sections=sections, extra_data=data, problems=by_id
    )
    write_view([load_run(out)], out / VIEW_FILE)
    return result
