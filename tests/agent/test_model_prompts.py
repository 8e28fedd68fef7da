"""A packaged model's own prompt for a mode: used when none is chosen, never over the user's choice."""

from __future__ import annotations

import pytest

import agent.agent as solve_mod
from agent.agent import Agent
from agent.models import PACKAGED_MODELS
from agent.prompting import load_prompt
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


def test_model_prompt_lookup():
    from agent.models import model_prompt

    assert model_prompt("qwen2.5-coder-1.5b", "tir") == "tir_reason"
    assert model_prompt("qwen2.5-coder-1.5b", "cot") is None
    assert model_prompt("runs/rft/model", "tir") is None  # a checkpoint path: the mode's prompt


@pytest.mark.parametrize(("model", "expected"), [("qwen2.5-coder-1.5b", "tir_reason"), ("smollm2-135m", None)])
def test_pipeline_eval_uses_the_collection_prompt_for_every_checkpoint(monkeypatch, tmp_path, model, expected):
    # The trained model is a checkpoint path (no packaged prompt): its eval must use the prompt the
    # collection used with the packaged starting model, or before/after would compare two prompts.
    import agent.eval_run
    from training.pipeline_config import PipelineConfig
    from training.stages import evaluate_model

    specs = []

    def fake_run_eval(spec, out, **kw):
        specs.append(spec)
        return {"overall": {"accuracy": {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0}}, "extra": {}}

    monkeypatch.setattr(agent.eval_run, "run_eval", fake_run_eval)
    cfg = PipelineConfig.model_validate({"workdir": str(tmp_path), "model": model, "eval": {"backend": "llamacpp"}})
    evaluate_model(cfg, str(tmp_path / "rft" / "model"), tmp_path / "final", lambda *a, **k: None)
    assert specs[0].agent.prompt == expected


def test_swapping_the_model_swaps_its_prompts(scripted_load):
    agent = Agent("qwen2.5-coder-0.5b", sandbox="none", concurrency=1)
    agent.swap_model("qwen2.5-coder-1.5b")  # `mathagent chat`'s model command
    assert _prompt_id(agent).split("@")[0] == "tir_reason"
