"""What a run says about each problem: every sample's outcome, the vote classes and the problem's verdict.

A sample's *outcome* is one of ``correct``, ``wrong``, ``no_answer``, ``truncated`` (a limit stopped it
before an answer), ``grader_timeout``, ``grader_error``, ``model_error`` and ``ungradable`` (the
reference cannot be graded). Newer runs record it (``grade_status``); for older ones it is read from
``answer``, ``correct`` and the run status.

A problem's samples are grouped into *vote classes*: answers the grader finds equivalent (under the
problem's grading policy) form one class. The problem's *answer* is the largest class's (a tie goes to
the class seen first, as the agent's majority vote does), and its *verdict* is whether that answer is
correct: with one sample, simply that sample's verdict.

Example:
    >>> from eval.trajectory import Trajectory
    >>> ts = [Trajectory(problem_id="p", sample_index=i, question="q", model="m", answer=a, correct=a != "5",
    ...                  status="answered") for i, a in enumerate(["4", "4.0", "5"])]
    >>> v = problem_verdict(ts, equivalent=lambda a, b: float(a) == float(b))
    >>> v.answer, v.correct, [(c.answer, c.samples) for c in v.votes]
    ('4', True, [('4', [0, 1]), ('5', [2])])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..metrics import cluster_answers
from ..selection import cluster_stats
from ..trajectory import Trajectory
from .load import Run, RunProblem

__all__ = [
    "LIMIT_STATUSES",
    "SAMPLE_OUTCOMES",
    "ProblemVerdict",
    "VoteClass",
    "equivalence",
    "natural_policy",
    "policy_for",
    "problem_verdict",
    "run_verdicts",
    "sample_outcome",
]

#: Every sample outcome, in the order reports list them.
SAMPLE_OUTCOMES: tuple[str, ...] = (
    "correct",
    "wrong",
    "no_answer",
    "truncated",
    "grader_timeout",
    "grader_error",
    "model_error",
    "ungradable",
)

#: Trajectory statuses that mean a limit stopped the run.
LIMIT_STATUSES = frozenset({"max_tokens", "wall_time", "max_tool_calls"})

# The grader's comparison status (eval.grade.Comparison.status) as a sample outcome.
_FROM_COMPARISON = {
    "equal": "correct",
    "unequal": "wrong",
    "timeout": "grader_timeout",
    "error": "grader_error",
    "skipped": "ungradable",
}

# The grading-policy preset of the benchmarks whose answers need one other than ``default``.
_NATURAL_POLICY = {
    "gsm8k": "gsm8k",
    "gsm-hard": "gsm8k",
    "gsm_hard": "gsm8k",
    "svamp": "gsm8k",
    "asdiv": "gsm8k",
    "mawps": "gsm8k",
    "cmath": "gsm8k",
    "aime24": "aime",
    "aime25": "aime",
    "aime": "aime",
    "aqua": "choice",
    "sat_math": "choice",
    "mmlu_stem": "choice",
}

Equivalent = Callable[[str, str], bool]


def sample_outcome(t: Trajectory) -> str:
    """How one sample ended (see the module docstring).

    Example:
        >>> from eval.trajectory import Trajectory
        >>> t = Trajectory(problem_id="p", question="q", model="m", status="max_tokens")
        >>> sample_outcome(t), sample_outcome(t.model_copy(update={"answer": "3", "correct": False}))
        ('truncated', 'wrong')
    """
    recorded = getattr(t, "grade_status", None) or (t.model_extra or {}).get("grade_status")
    if recorded in SAMPLE_OUTCOMES and recorded != "no_answer":
        return str(recorded)
    if recorded in _FROM_COMPARISON:
        return _FROM_COMPARISON[str(recorded)]
    if t.answer is None or recorded == "no_answer":
        if t.status == "model_error":
            return "model_error"
        return "truncated" if t.status in LIMIT_STATUSES else "no_answer"
    if t.correct is None:
        return "ungradable"
    return "correct" if t.correct else "wrong"


def natural_policy(benchmark: str) -> str:
    """The grading-policy preset a benchmark's answers are graded with (``default`` for most).

    Example:
        >>> natural_policy("gsm8k"), natural_policy("AIME24"), natural_policy("math500")
        ('gsm8k', 'aime', 'default')
    """
    return _NATURAL_POLICY.get(benchmark.strip().lower(), "default")


def policy_for(run: Run, problem: RunProblem, policy: str | None = None) -> str:
    """The policy to grade ``problem`` with: ``policy`` if given, else the one its samples or the run recorded,
    else its benchmark's."""
    return policy or problem.policy or run.policy or natural_policy(problem.benchmark)


def equivalence(policy: str | None = None) -> Equivalent:
    """Answer equivalence for vote classes: the grader under ``policy`` (a preset name)."""
    from ..grade import grade

    def equivalent(a: str, b: str) -> bool:
        return bool(grade(a, b, policy=policy))

    return equivalent


@dataclass
class VoteClass:
    """Samples whose answers the grader finds equivalent.

    Attributes:
        answer: The first member's answer.
        samples: The members' sample indices.
        correct: Whether the answer is correct (the members' majority verdict, a tie: the first's; None: not graded).
        critic: The members' mean critic score (1-10), None when none was scored.
    """

    answer: str
    samples: list[int] = field(default_factory=list)
    correct: bool | None = None
    critic: float | None = None

    @property
    def size(self) -> int:
        return len(self.samples)


@dataclass
class ProblemVerdict:
    """A problem's verdict in one run.

    Attributes:
        answer: The voted answer (None: no sample answered).
        correct: Whether it is correct (None: the reference cannot be graded).
        outcome: ``correct`` / ``wrong`` / ``ungradable`` for a voted answer; with no answer at all, the
            most common sample outcome (``no_answer``, ``truncated``, ``model_error``).
        n_samples: Samples.
        n_correct: Correct samples.
        votes: The vote classes, larger first (then first seen).
        code_calls: Code blocks run, over all samples.
        code_errors: Code blocks that raised, over all samples.
        critic: The mean critic score (1-10) over the scored samples; None: no critic.
    """

    answer: str | None
    correct: bool | None
    outcome: str
    n_samples: int
    n_correct: int
    votes: list[VoteClass]
    code_calls: int = 0
    code_errors: int = 0
    critic: float | None = None


def _critic(t: Trajectory) -> float | None:
    return None if t.critique is None else t.critique.mean_score


def _mean(xs: Sequence[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def problem_verdict(
    samples: Sequence[Trajectory], *, equivalent: Equivalent, cache: dict | None = None
) -> ProblemVerdict:
    """The verdict of one problem from its samples (see the module docstring).

    Args:
        samples: The problem's trajectories.
        equivalent: Answer equivalence (the grader; see :func:`equivalence`).
        cache: A comparison cache shared between problems (optional).
    """
    clusters = cluster_answers([t.answer for t in samples], equivalent, cache)
    votes = []
    for stats in cluster_stats(clusters):
        members = [samples[i] for i in stats.members]
        graded = [t.correct for t in members if t.correct is not None]
        right = sum(graded)
        votes.append(
            VoteClass(
                answer=str(members[0].answer),
                samples=[t.sample_index for t in members],
                correct=None if not graded else (right * 2 > len(graded) or (right * 2 == len(graded) and graded[0])),
                critic=_mean([_critic(t) for t in members]),
            )
        )
    outcomes = [sample_outcome(t) for t in samples]
    if votes:
        top = votes[0]
        outcome = "ungradable" if top.correct is None else ("correct" if top.correct else "wrong")
        answer, correct = top.answer, top.correct
    else:
        answer = None
        outcome = max(SAMPLE_OUTCOMES, key=outcomes.count) if outcomes else "no_answer"
        gradable = any(o != "ungradable" for o in outcomes)
        correct = False if gradable else None
    return ProblemVerdict(
        answer=answer,
        correct=correct,
        outcome=outcome,
        n_samples=len(samples),
        n_correct=sum(o == "correct" for o in outcomes),
        votes=votes,
        code_calls=sum(t.tool_calls for t in samples),
        code_errors=sum(t.code_errors for t in samples),
        critic=_mean([_critic(t) for t in samples]),
    )


def run_verdicts(run: Run, *, policy: str | None = None) -> dict[str, ProblemVerdict]:
    """``{problem_id: verdict}`` of every problem of ``run`` (vote classes under each problem's policy)."""
    out: dict[str, ProblemVerdict] = {}
    equivalents: dict[str, Equivalent] = {}
    caches: dict[str, dict] = {}
    for pid, problem in run.problems.items():
        name = policy_for(run, problem, policy)
        if name not in equivalents:
            equivalents[name], caches[name] = equivalence(name), {}
        out[pid] = problem_verdict(problem.samples, equivalent=equivalents[name], cache=caches[name])
    return out
