"""benchmarks/critic_bench.py reports the finished problems of an unfinished run, and only those."""

from __future__ import annotations

import importlib.util
import json

import pytest

from agent.eval_run import run_eval
from tests.conftest import REPO
from tests.eval.test_run import PROBLEMS, factory, spec


def load_bench():
    path = REPO / "benchmarks" / "critic_bench.py"
    mod_spec = importlib.util.spec_from_file_location("critic_bench", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod


def test_partial_report_counts_only_problems_with_all_samples(tmp_path):
    run_eval(spec(samples=2), tmp_path, agent_factory=factory([]), problems=PROBLEMS)
    (tmp_path / "metrics.json").unlink()  # as if the run were killed before its report
    path = tmp_path / "trajectories.jsonl"
    lines = path.read_text().splitlines()
    p3 = [line for line in lines if json.loads(line)["problem_id"] == "p3"]
    kept = [line for line in lines if json.loads(line)["problem_id"] != "p3"] + p3[:1]  # p3 cut mid-way
    path.write_text("\n".join(kept) + "\n")

    metrics = load_bench().partial_metrics(tmp_path, samples=2, top_clusters=2)

    assert metrics["n_problems"] == 3  # p3 (the wrong one) has 1 of 2 samples: left out
    assert metrics["overall"]["accuracy"]["value"] == pytest.approx(1.0)
    assert metrics["extra"]["no_answer"] == 0.0
    assert not (tmp_path / "metrics.json").exists()  # nothing written into the run folder


def test_partial_report_of_an_empty_run_says_so(tmp_path):
    (tmp_path / "trajectories.jsonl").write_text("")
    with pytest.raises(SystemExit, match="no finished problem"):
        load_bench().partial_metrics(tmp_path, samples=2, top_clusters=2)
