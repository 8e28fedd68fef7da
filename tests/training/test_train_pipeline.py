"""The pipeline's stage bookkeeping (done markers, skip, mismatch, restart, until) with stand-in stages.

The stages themselves are exercised for real by the model tests and by benchmarks/rft_loop.py.
"""

from __future__ import annotations

import json
import time

import pytest

from training.errors import StageConfigError, TrainingError
from training.pipeline import DONE_FILE, Pipeline
from training.pipeline_config import PipelineConfig
from training.stage_clock import ELAPSED_FILE, StageClock


class Recording(Pipeline):
    """Stages that record their calls and return small results (no model, no sandbox)."""

    calls: list[str]

    def __init__(self, cfg, fail: str | None = None, busy: float = 0.0, interrupt: str | None = None):
        super().__init__(cfg)
        self.calls = []
        self.fail = fail
        self.busy = busy
        self.interrupt = interrupt

    def _stage(self, name: str, result: dict) -> dict:
        self.calls.append(name)
        time.sleep(self.busy)
        if name == self.interrupt:
            raise KeyboardInterrupt
        if name == self.fail:
            raise RuntimeError(f"{name} crashed")
        return result

    def _collect(self, results):
        return self._stage("collect", {"trajectories": 8})

    def _critique(self, results):
        return self._stage("critique", {"critiqued": 8})

    def _rft(self, results):
        model = self.stage_dir("rft") / "model"
        model.mkdir(parents=True, exist_ok=True)
        return self._stage("rft", {"model": str(model)})

    def _dpo(self, results):
        assert results["rft"]["model"]
        model = self.stage_dir("dpo") / "model"
        model.mkdir(parents=True, exist_ok=True)
        return self._stage("dpo", {"model": str(model)})

    def _eval(self, results):
        return self._stage("eval", {"final": {"accuracy": 0.5}, "baseline": {"accuracy": 0.25}})


def config(tmp_path, **over) -> PipelineConfig:
    return PipelineConfig.model_validate({"workdir": str(tmp_path / "p"), "model": "m", **over})


def test_stages_run_once_then_are_skipped(tmp_path):
    p = Recording(config(tmp_path))
    summary = p.run()
    assert p.calls == ["collect", "critique", "rft", "dpo", "eval"]
    assert (summary["accuracy_before"], summary["accuracy_after"]) == (0.25, 0.5)
    assert (tmp_path / "p" / "model").resolve() == (tmp_path / "p" / "dpo" / "model").resolve()
    marker = json.loads((tmp_path / "p" / "rft" / DONE_FILE).read_text())
    assert marker["result"]["model"].endswith("rft/model") and marker["config"]["select"]["min_score"] == 7
    again = Recording(config(tmp_path))
    assert again.run()["stages"]["eval"]["final"] == {"accuracy": 0.5}
    assert again.calls == []


def test_a_crash_resumes_at_the_failed_stage(tmp_path):
    p = Recording(config(tmp_path), fail="dpo")
    with pytest.raises(RuntimeError, match="dpo crashed"):
        p.run()
    assert not (tmp_path / "p" / "dpo" / DONE_FILE).exists()
    resumed = Recording(config(tmp_path))
    resumed.run()
    assert resumed.calls == ["dpo", "eval"]


def test_changed_config_is_refused_naming_the_field_then_restart_from(tmp_path):
    Recording(config(tmp_path)).run()
    changed = config(tmp_path, rft={"train": {"max_steps": 3}})
    with pytest.raises(StageConfigError, match=r"stage rft .*train.max_steps: -1 -> 3.*--restart-from rft"):
        Recording(changed).run()
    p = Recording(changed)
    p.run(restart_from="rft")
    assert p.calls == ["rft", "dpo", "eval"]
    # an upstream change makes every later stage differ too
    with pytest.raises(StageConfigError, match="stage collect"):
        Recording(config(tmp_path, rft={"train": {"max_steps": 3}}, collect={"samples": 8})).run()


def test_until_and_disabled_stages(tmp_path):
    p = Recording(config(tmp_path, dpo={"enabled": False}))
    summary = p.run(until="rft")
    assert p.calls == ["collect", "critique", "rft"] and summary["final_model"].endswith("rft/model")
    with pytest.raises(TrainingError, match="unknown stage"):
        p.run(until="nope")
    real = Pipeline(config(tmp_path, dpo={"enabled": False}, critique={"enabled": False}, eval={"enabled": False}))
    assert real._dpo({}) == {"skipped": True} and real._critique({}) == {"skipped": True}


def test_a_resumed_stage_reports_the_time_of_all_its_runs(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        Recording(config(tmp_path), busy=0.3, interrupt="collect").run()
    first = json.loads((tmp_path / "p" / "collect" / ELAPSED_FILE).read_text())
    assert first["runs"] == 1 and first["seconds"] >= 0.3
    summary = Recording(config(tmp_path), busy=0.2).run(until="collect")
    marker = json.loads((tmp_path / "p" / "collect" / DONE_FILE).read_text())
    assert marker["result"]["runs"] == 2 and 0.2 <= marker["result"]["seconds_last_run"] < marker["seconds"]
    assert marker["seconds"] >= 0.5 and summary["seconds"]["collect"] == round(marker["seconds"], 1)


def test_stage_clock_saves_while_running_and_survives_a_bad_record(tmp_path):
    (tmp_path / ELAPSED_FILE).write_text("not json")
    with StageClock(tmp_path, every=0.05) as clock:
        assert clock.earlier == 0.0 and clock.runs == 1
        time.sleep(0.3)
        mid = json.loads((tmp_path / ELAPSED_FILE).read_text())  # written by the clock's thread
        assert mid["seconds"] >= 0.1 and mid["runs"] == 1
    with StageClock(tmp_path) as again:
        assert again.runs == 2 and again.earlier >= 0.3
