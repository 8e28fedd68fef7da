"""Dataset builders: trajectories in; SFT, RFT, DPO, critic and value examples out, each with a report.

Example:
    >>> from training.data import SelectOptions
    >>> SelectOptions().max_per_problem
    4
"""

from .critic import CriticOptions, build_critic_examples
from .examples import PreferencePair, RenderOptions, Segment, SFTExample, ValueExample
from .pairs import PairOptions, build_dpo_pairs
from .report import BuildReport
from .select import SelectOptions, build_sft_examples, select_trajectories
from .sources import read_trajectories
from .tokenize import Encoder
from .value import ValueOptions, build_value_examples

__all__ = [
    "BuildReport",
    "CriticOptions",
    "Encoder",
    "PairOptions",
    "PreferencePair",
    "RenderOptions",
    "SFTExample",
    "Segment",
    "SelectOptions",
    "ValueExample",
    "ValueOptions",
    "build_critic_examples",
    "build_dpo_pairs",
    "build_sft_examples",
    "build_value_examples",
    "read_trajectories",
    "select_trajectories",
]
