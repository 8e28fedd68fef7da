"""The eval core: answer extraction, grading, datasets, metrics and reports.

Example:
    >>> from eval import extract_answer, grade
    >>> grade(extract_answer(r"so \\boxed{\\frac{1}{2}}").answer, "0.5")
    True
"""

from .datasets import load_problems
from .errors import DatasetError, EvalError, MalformedRecordError
from .extract import Extraction, extract_answer
from .grade import Comparison, compare, grade, grader_version
from .policy import GradePolicy, UnknownPolicyError, get_policy
from .records import Problem

__all__ = [
    "Comparison",
    "DatasetError",
    "EvalError",
    "Extraction",
    "GradePolicy",
    "MalformedRecordError",
    "Problem",
    "UnknownPolicyError",
    "compare",
    "extract_answer",
    "grade",
    "get_policy",
    "grader_version",
    "load_problems",
]
