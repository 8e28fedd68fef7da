"""A packaged model's own prompt for a mode: used when none is chosen, never over the user's choice."""

from __future__ import annotations

import pytest

import agent.solve as solve_mod
from agent.models import PACKAGED_MODELS
from agent.prompting import load_prompt
from agent.solve import Agent
from tests.fixtures.fakes import ScriptedBackend

pytestmark = pytest.mark.filterwarnings("ignore:sandbox isolation .none.:UserWarning")


@pytest.fixture
def scripted_load(monkeypatch):
    """Agent(alias) with the alias's engine replaced by a scripted one (the registry lookup stays real)."""
    monkeypatch.setattr(solve_mod, "load_backend", lambda *a, **k: ScriptedBackend(["So \\boxed{4}."] * 4))


def _prompt_id(agent: Agent) -> str:
    try:
        return agent.solve("What is 2+2?").trajectories[0].prompt_id
    finally:
        agent.close()


def test_every_model_prompt_exists():
    for m in PACKAGED_MODELS.values():
        for mode, name in m.prompts:
            assert mode in ("tir", "cot", "pal")
            assert load_prompt(name).name == name


@pytest.mark.parametrize(
    ("model", "kw", "expected"),
    [
        ("qwen2.5-coder-1.5b", {}, "tir_reason"),  # tuned for this model (docs/benchmarks.md, "Agent")
        ("qwen2.5-coder-1.5b", {"mode": "cot"}, "cot"),  # another mode keeps its own prompt
        ("qwen2.5-coder-1.5b", {"prompt": "tir"}, "tir"),  # the user's choice wins
        ("qwen2.5-coder-0.5b", {}, "tir"),  # no model prompt: the mode's
    ],
)
def test_model_prompt_is_the_default_for_its_mode(scripted_load, model, kw, expected):
    agent = Agent(model, sandbox="none", concurrency=1, **kw)
    assert _prompt_id(agent).split("@")[0] == expected


def test_an_engine_passed_in_gets_the_mode_prompt():
    agent = Agent(llm=ScriptedBackend(["So \\boxed{4}."]), sandbox="none", concurrency=1)
    assert _prompt_id(agent).split("@")[0] == "tir"
