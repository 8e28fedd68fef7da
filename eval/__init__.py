"""The eval core: answer extraction, grading, datasets, metrics and reports.

Example:
    >>> from eval import extract_answer, grade
    >>> grade(extract_answer(r"so \\boxed{\\frac{1}{2}}").answer, "0.5")
    True
"""

from .errors import DatasetError, EvalError, MalformedRecordError
from .extract import Extraction, extract_answer
from .grade import Comparison, compare, grade, grader_version

__all__ = [
    "Comparison",
    "DatasetError",
    "EvalError",
    "Extraction",
    "MalformedRecordError",
    "compare",
    "extract_answer",
    "grade",
    "grader_version",
]
