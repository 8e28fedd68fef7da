"""Looking at runs: one reader for eval runs and collections, problem verdicts, paired comparison of two
runs, re-grading stored trajectories and the label audit. Pure: no model, no sandbox.

Example:
    >>> from eval.runs import mcnemar_exact
    >>> mcnemar_exact(0, 6)
    0.03125
"""

from .audit import AuditSettings, SuspectLabel, audit_labels, audit_markdown, view_link
from .load import Run, RunError, RunProblem, load_run
from .paired import PairedRow, RunComparison, compare_runs, comparison_markdown, mcnemar_exact, paired_bootstrap
from .rescore import RescoreResult, VerdictChange, rescore_run, write_rescore
from .verdicts import ProblemVerdict, VoteClass, run_verdicts, sample_outcome

__all__ = [
    "AuditSettings",
    "PairedRow",
    "ProblemVerdict",
    "RescoreResult",
    "Run",
    "RunComparison",
    "RunError",
    "RunProblem",
    "SuspectLabel",
    "VerdictChange",
    "VoteClass",
    "audit_labels",
    "audit_markdown",
    "compare_runs",
    "comparison_markdown",
    "load_run",
    "mcnemar_exact",
    "paired_bootstrap",
    "rescore_run",
    "run_verdicts",
    "sample_outcome",
    "view_link",
    "write_rescore",
]
