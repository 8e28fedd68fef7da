"""One typed run configuration from flags to disk: AgentConfig, its temperature rule, the records that store it
(RunSpec, CollectSpec, the pipeline's stages), the CLI's one mapping with --config / --set, and the shared
utilities of common/."""

from __future__ import annotations

import doctest
import importlib
import json

import pytest
from typer.testing import CliRunner

from agent.config import AgentConfig
from agent.critic import CriticSpec
from agent.eval_run import RunSpec, _check_spec
from common.configs import ConfigMismatchError, config_diff
from common.errors import MathAgentError
from common.files import atomic_write_text
from common.jsonl import JsonlError, read_jsonl, write_jsonl
from training.collect.spec import CollectSpec
from training.pipeline_config import PipelineConfig

DOCTESTED = [
    "common.configs",
    "common.errors",
    "common.files",
    "common.jsonl",
    "agent.config",
    "agent.eval_run",
    "cli.options",
    "cli.console",
    "training.pipeline_config",
    "training.collect.spec",
    "training.collect.faults",
]


@pytest.mark.parametrize("name", DOCTESTED)
def test_examples_run(name: str) -> None:
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------------------- the temperature rule


@pytest.mark.parametrize(
    ("given", "temperature"),
    [({}, 0.0), ({"samples": 4}, 0.7), ({"samples": 4, "temperature": 0}, 0.7),
     ({"samples": 4, "temperature": 1.1}, 1.1), ({"temperature": 0.3}, 0.3)],
)  # fmt: skip
def test_temperature_rule_is_one_validator(given, temperature) -> None:
    assert AgentConfig(**given).temperature == temperature
    assert AgentConfig.model_validate(given).temperature == temperature


def test_for_samples_applies_the_rule_again() -> None:
    greedy = AgentConfig()
    assert greedy.for_samples(1) is greedy
    assert greedy.for_samples(3).temperature == 0.7 and greedy.for_samples(3).samples == 3
    assert AgentConfig(temperature=0.2).for_samples(3).temperature == 0.2


# ----------------------------------------------------------------------------- records that store it


def test_run_spec_is_typed_and_reads_the_older_layout() -> None:
    old = {"dataset": "d.jsonl", "model": "m", "samples": 4, "rerank": "cluster", "top_clusters": 3,
           "agent": {"mode": "cot"}, "critic": {"model": "judge", "max_tokens": 64}}  # fmt: skip
    spec = RunSpec.model_validate(old)
    assert isinstance(spec.agent, AgentConfig) and isinstance(spec.critic, CriticSpec)
    assert (spec.samples, spec.agent.rerank, spec.agent.top_clusters, spec.agent.mode) == (4, "cluster", 3, "cot")
    assert spec.agent.temperature == 0.7 and spec.critic.critic_config().max_tokens == 64
    assert RunSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_resume_accepts_an_older_run_json_of_the_same_run_and_refuses_another(tmp_path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"dataset": "d.jsonl", "model": "m", "samples": 2, "agent": {}}))
    _check_spec(tmp_path, RunSpec(dataset="d.jsonl", model="m", agent=AgentConfig(samples=2)))
    with pytest.raises(ConfigMismatchError, match=r"agent.samples: 2 -> 3"):
        _check_spec(tmp_path, RunSpec(dataset="d.jsonl", model="m", agent=AgentConfig(samples=3)))


def test_collect_spec_is_typed_reads_older_manifests_and_seeds_at_zero() -> None:
    spec = CollectSpec.model_validate({"dataset": "d", "model": "m", "samples": 3, "agent": {"mode": "pal"}})
    assert isinstance(spec.agent, AgentConfig)
    assert (spec.samples, spec.agent.mode, spec.agent.seed, spec.agent.temperature) == (3, "pal", 0, 0.7)
    assert CollectSpec.model_validate(spec.model_dump(mode="json")) == spec
    assert CollectSpec(dataset="d", model="m", agent=AgentConfig(seed=7)).agent.seed == 7


def test_pipeline_stages_hold_an_agent_config_and_read_flat_keys() -> None:
    cfg = PipelineConfig.model_validate(
        {"workdir": "w", "model": "m", "collect": {"samples": 2, "max_tokens": 128}, "eval": {"max_tool_calls": 2}}
    )
    assert (cfg.collect.agent.samples, cfg.collect.agent.max_tokens, cfg.collect.agent.seed) == (2, 128, 0)
    assert cfg.collect.agent.temperature == 0.7
    assert (cfg.eval.agent.max_tool_calls, cfg.eval.agent.max_tokens, cfg.eval.agent.temperature) == (2, 1024, 0.0)
    assert PipelineConfig.model_validate(cfg.model_dump(mode="json")) == cfg
    with pytest.raises(ValueError, match="max_tool_calls"):
        PipelineConfig.model_validate({"workdir": "w", "model": "m", "collect": {"max_tool_calls": -1}})


def test_one_config_mismatch_error_and_one_error_root() -> None:
    from eval.errors import EvalError
    from sandbox.errors import SandboxError
    from training.collect import ConfigMismatchError as CollectMismatch
    from training.errors import StageConfigError, TrainingError

    assert CollectMismatch is ConfigMismatchError
    assert issubclass(StageConfigError, ConfigMismatchError)
    for err in (EvalError, SandboxError, TrainingError, ConfigMismatchError, JsonlError):
        assert issubclass(err, MathAgentError)
    assert config_diff({"a": {"b": 1}}, {"a": {"b": 2}, "c": 3}) == ["a.b: 1 -> 2", "c: (unset) -> 3"]


# ----------------------------------------------------------------------------- common utilities


def test_jsonl_drops_a_torn_last_line_and_names_a_bad_one(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    assert write_jsonl(path, [{"a": 1}, {"a": 2}]) == 2
    with open(path, "a") as f:
        f.write('{"a": 3')
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]
    path.write_text('{"a": 1}\nnot json\n{"a": 3}\n')
    with pytest.raises(JsonlError, match=r"r\.jsonl:2: not a record"):
        read_jsonl(path)
    assert read_jsonl(tmp_path / "missing.jsonl") == []


def test_atomic_write_leaves_no_temp_file(tmp_path) -> None:
    atomic_write_text(tmp_path / "x.json", "new")
    assert (tmp_path / "x.json").read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["x.json"]


# ----------------------------------------------------------------------------- the CLI's one mapping


class _Captured(Exception):
    pass


@pytest.fixture
def captured(monkeypatch):
    """Replace the Agent the commands build; record its arguments and stop the command there."""
    import agent.agent

    seen: dict = {}

    def fake(model, backend, *, config, critic=None, **kw):
        seen.update(model=model, backend=backend, config=config, critic=critic, **kw)
        raise _Captured

    monkeypatch.setattr(agent.agent, "Agent", fake)
    return seen


def _invoke(args):
    from cli.app import app

    return CliRunner().invoke(app, args)


def test_solve_options_config_file_and_set_in_order(tmp_path, captured) -> None:
    cfg = tmp_path / "solve.yaml"
    cfg.write_text("samples: 3\nmode: cot\nmax_tokens: 64\nsandbox: none\n")
    res = _invoke(["solve", "1+1?", "--config", str(cfg), "--max-tokens", "99", "--set", "seed=5",
                   "--critic-model", "judge", "--critic-max-tokens", "32"])  # fmt: skip
    assert isinstance(res.exception, _Captured), res.output
    c = captured["config"]
    assert (c.samples, c.mode, c.max_tokens, c.seed, c.temperature) == (3, "cot", 99, 5, 0.7)
    assert captured["sandbox"] == "none"  # a command option from the file, not only agent fields
    assert captured["critic"] == CriticSpec(model="judge", max_tokens=32)


def test_collect_seeds_at_zero_and_solve_does_not(monkeypatch, tmp_path, captured) -> None:
    import training.collect.runner

    specs = []

    def fake_run_collection(spec, out, options, **kw):
        specs.append(spec)
        raise _Captured

    monkeypatch.setattr(training.collect.runner, "run_collection", fake_run_collection)
    res = _invoke(["collect", "d.jsonl", "--out", str(tmp_path / "c"), "-k", "2", "--mode", "cot"])
    assert isinstance(res.exception, _Captured), res.output
    assert (specs[0].samples, specs[0].agent.seed, specs[0].agent.mode, specs[0].agent.temperature) == (
        2,
        0,
        "cot",
        0.7,
    )
    res = _invoke(["solve", "q"])
    assert isinstance(res.exception, _Captured) and captured["config"].seed is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "bogus=1"], "'bogus' is not an option of this command"),
        (["--set", "samples=0"], "--set: samples:"),
        (["--set", "novalue"], "expected key=value"),
        (["--rerank", "nope"], "invalid AgentConfig: rerank"),
        (["--rerank", "best"], "needs verifier scores"),
    ],
)
def test_bad_settings_are_one_line_errors(args, message, captured) -> None:
    res = _invoke(["solve", "q", *args])
    assert res.exit_code == 2 and message in res.output, res.output
    assert not captured  # refused before any model loads


def test_a_bad_config_file_is_one_line(tmp_path, captured) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    res = _invoke(["solve", "q", "--config", str(bad)])
    assert res.exit_code == 2 and "expected a mapping" in res.output
    res = _invoke(["solve", "q", "--config", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and "missing.yaml" in res.output


def test_eval_builds_a_typed_run_spec(monkeypatch, tmp_path, captured) -> None:
    import agent.eval_run

    specs = []

    def fake_run_eval(spec, out, **kw):
        specs.append(spec)
        return {"overall": {}, "extra": {}}

    monkeypatch.setattr(agent.eval_run, "run_eval", fake_run_eval)
    monkeypatch.setattr("cli.render.print_eval_summary", lambda *a, **k: None)
    res = _invoke(["eval", "d.jsonl", "--samples", "4", "--critic-model", "judge", "--out", str(tmp_path / "o"),
                   "--set", "max_tool_calls=2"])  # fmt: skip
    assert res.exit_code == 0, res.output
    [spec] = specs
    assert (spec.samples, spec.agent.seed, spec.agent.temperature, spec.agent.max_tool_calls) == (4, 0, 0.7, 2)
    assert spec.critic == CriticSpec(model="judge")


def test_every_agent_command_takes_config_and_set() -> None:
    for args in (["solve", "--help"], ["chat", "--help"], ["eval", "--help"], ["collect", "run", "--help"],
                 ["generate", "--help"], ["sandbox", "serve", "--help"]):  # fmt: skip
        out = _invoke(args).output
        assert "--config" in out and "--set" in out, args
