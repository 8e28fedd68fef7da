"""Collection end to end with SmolLM2-135M (one thread): the CLI on real jailed kernels, stats, loading with
``datasets``, resumption after SIGKILL at exact points and at random times (real processes), and Ray.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO, packaged_model_path
from training.collect import load_manifest, read_collection
from training.collect.shards import list_shards

pytestmark = [pytest.mark.model, pytest.mark.slow]

ENV = {**os.environ, "MATHAGENT_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "COLUMNS": "200"}


@pytest.fixture(scope="module")
def gsm8k(shared_data) -> Path:
    packaged_model_path("smollm2-135m")
    return shared_data / "gsm8k" / "test.jsonl"


def collect_cmd(dataset: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "cli",
        "collect",
        str(dataset),
        "--out",
        str(out),
        "--model",
        "smollm2-135m",
        "--threads",
        "1",
        *extra,
    ]


# A cheap job for the kill tests: text-only answers, 32 tokens, one sequence at a time.
FAST = ("--limit", "4", "--samples", "2", "--mode", "cot", "--max-tokens", "24", "--concurrency", "1")


def collect_stats(out: Path) -> subprocess.CompletedProcess:
    """`mathagent collect stats OUT --json`, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "collect", "stats", str(out), "--json"],
        capture_output=True, text=True, timeout=300, cwd=REPO, env=ENV,
    )  # fmt: skip


def raw_keys(out: Path) -> Counter:
    """(problem, sample) of every line in the shards, counted (read_collection would hide duplicates)."""
    c: Counter = Counter()
    for shard in list_shards(out / "shards"):
        for line in shard.read_text().splitlines():
            rec = json.loads(line)
            c[(rec["problem_id"], rec["sample_index"])] += 1
    return c


EXPECTED = Counter({(f"gsm8k/test/{i}", s): 1 for i in range(4) for s in range(2)})


def test_collect_cli_on_real_kernels_then_stats_and_datasets(gsm8k, tmp_path):
    out = tmp_path / "run"
    res = subprocess.run(
        collect_cmd(
            gsm8k,
            out,
            "--limit",
            "2",
            "--samples",
            "2",
            "--max-tokens",
            "96",
            "--max-tool-calls",
            "2",
            "--concurrency",
            "2",
        ),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
        env=ENV,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "collection" in res.stdout and "(complete)" in res.stdout and "problems/min" in res.stderr
    manifest = load_manifest(out)
    assert manifest.status == "complete" and manifest.counts["trajectories"] == 4
    assert manifest.versions["grader"].startswith("mathagent-grader") and manifest.dataset.sha256
    assert manifest.spec.agent.temperature == 0.7 and manifest.spec.agent.max_tool_calls == 2
    trajs = list(read_collection(out))
    assert sorted((t.problem_id, t.sample_index) for t in trajs) == [
        (f"gsm8k/test/{i}", s) for i in (0, 1) for s in (0, 1)
    ]
    assert all(t.correct is not None and t.model == "smollm2-135m" and t.backend == "llamacpp" for t in trajs)
    # stats: counts, pass@k, JSON
    res = collect_stats(out)
    assert res.returncode == 0, res.stderr[-2000:]
    stats = json.loads(res.stdout)
    assert stats["counts"]["trajectories"] == 4 and stats["metrics"]["ks"] == [1, 2]
    assert "pass@2" in stats["metrics"]["overall"] and stats["manifest"]["status"] == "complete"
    # the shards load with plain datasets.load_dataset("json", ...)
    import datasets

    ds = datasets.load_dataset(
        "json", data_files=str(out / "shards" / "*.jsonl"), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert ds.num_rows == 4 and set(ds["problem_id"]) == {"gsm8k/test/0", "gsm8k/test/1"}
    assert isinstance(ds[0]["steps"], list) and "sandbox" in ds[0]["timings"]


def test_resume_after_sigkill_at_exact_points(gsm8k, tmp_path):
    """One job killed four times (each run counts units from 1), then finished: every trajectory exactly once."""
    out = tmp_path / "run"

    def run(crash: str | None) -> subprocess.CompletedProcess:
        env = {**ENV, "MATHAGENT_COLLECT_CRASH": crash} if crash else ENV
        return subprocess.run(
            collect_cmd(gsm8k, out, *FAST, "--manifest-every", "0"),
            capture_output=True,
            text=True,
            timeout=600,
            cwd=REPO,
            env=env,
        )

    def data() -> bytes:
        return b"".join(p.read_bytes() for p in list_shards(out / "shards"))

    steps = [
        ("before_write:1", lambda d: d == b""),  # killed before the first unit: nothing on disk
        ("mid_write:2", lambda d: d.count(b"\n") == 3 and not d.endswith(b"\n")),  # unit 1, then 1.5 lines
        ("after_write:1", lambda d: d.count(b"\n") == 4 and d.endswith(b"\n")),  # torn unit cut, one more unit
        ("manifest:2", lambda d: d.count(b"\n") == 6),  # killed while replacing the manifest after a unit
    ]
    for crash, check in steps:
        res = run(crash)
        assert res.returncode == -signal.SIGKILL, (crash, res.stderr[-2000:])
        assert check(data()), (crash, data()[-300:])
        assert load_manifest(out).status == "running"  # the manifest is always whole
    res = run(None)
    assert res.returncode == 0, res.stderr[-3000:]
    assert raw_keys(out) == EXPECTED  # every trajectory exactly once
    manifest = load_manifest(out)
    assert manifest.status == "complete" and manifest.counts["trajectories"] == 8
    assert [r.status for r in manifest.runs] == ["running"] * 4 + ["complete"]  # killed runs never recorded an end
    assert sum(r.dropped_tails for r in manifest.runs) == 1
    assert not list(out.glob(".manifest.json.*.tmp"))


def test_resume_after_sigkill_at_random_times(gsm8k, tmp_path):
    out = tmp_path / "run"
    rng = random.Random(7)
    kills = 0
    for _ in range(2):
        proc = subprocess.Popen(
            collect_cmd(gsm8k, out, *FAST), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, env=ENV
        )
        time.sleep(rng.uniform(3.0, 9.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    res = subprocess.run(
        collect_cmd(gsm8k, out, *FAST), capture_output=True, text=True, timeout=600, cwd=REPO, env=ENV
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert kills >= 1
    assert raw_keys(out) == EXPECTED


@pytest.mark.parametrize(
    ("signum", "sigint", "code", "said"),
    [
        (signal.SIGINT, signal.SIG_DFL, 130, "interrupted"),  # Ctrl-C in a terminal
        (signal.SIGTERM, signal.SIG_IGN, 143, "terminated (SIGTERM)"),  # `kill PID` on a job started with `&`
    ],
    ids=["sigint", "sigterm-background"],
)
def test_a_signal_stops_the_cli_cleanly_and_it_resumes(gsm8k, tmp_path, signum, sigint, code, said):
    """The job stops within a generation, closes llama.cpp under it (this crashed with SIGSEGV before), records
    `interrupted` and resumes."""
    out = tmp_path / "run"
    args = ("--limit", "12", *FAST[2:])
    proc = subprocess.Popen(
        collect_cmd(gsm8k, out, *args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env=ENV, preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not raw_keys(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the job ended before it could be stopped"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == code, err[-2000:]
    assert said in err
    manifest = load_manifest(out)
    assert manifest.status == "interrupted" and manifest.runs[-1].status == "interrupted"
    assert 1 <= manifest.counts["problems_done"] < 12
    res = subprocess.run(
        collect_cmd(gsm8k, out, *args), capture_output=True, text=True, timeout=600, cwd=REPO, env=ENV
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert raw_keys(out) == Counter({(f"gsm8k/test/{i}", s): 1 for i in range(12) for s in range(2)})
    assert [r.status for r in load_manifest(out).runs] == ["interrupted", "complete"]


def test_another_configuration_is_refused_by_the_cli(gsm8k, tmp_path):
    out = tmp_path / "run"
    args = ("--limit", "1", "--samples", "1", "--mode", "cot", "--max-tokens", "16")
    assert (
        subprocess.run(collect_cmd(gsm8k, out, *args), capture_output=True, timeout=600, cwd=REPO, env=ENV).returncode
        == 0
    )
    res = subprocess.run(
        collect_cmd(gsm8k, out, *args, "--temperature", "0.3"),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=ENV,
    )
    assert res.returncode == 2
    assert "agent.temperature: 0.0 -> 0.3" in " ".join(res.stderr.split())


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("PYTHONPATH", str(REPO))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        runtime_env={"env_vars": {"MATHAGENT_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}},
    )
    yield ray
    ray.shutdown()


def test_ray_workers_share_the_problems_and_write_the_same_format(gsm8k, tmp_path, local_ray):
    """A job started locally is finished on a local Ray cluster (2 CPUs, 2 workers with their own pools)."""
    from training.collect import CollectOptions, CollectSpec, run_collection

    spec = CollectSpec(
        dataset=str(gsm8k),
        model="smollm2-135m",
        samples=2,
        agent={"mode": "tir", "max_tokens": 48, "max_tool_calls": 1},
    )
    out = tmp_path / "run"
    run_collection(spec, out, CollectOptions(limit=1, concurrency=2, threads=1))
    manifest = run_collection(spec, out, CollectOptions(limit=5, concurrency=2, threads=1, ray="local", ray_workers=2))
    assert manifest.status == "complete"
    assert raw_keys(out) == Counter({(f"gsm8k/test/{i}", s): 1 for i in range(5) for s in range(2)})
    workers = manifest.runs[1].workers
    assert (
        len(workers) == 2 and sum(workers.values()) == 4 and os.getpid() not in {int(w.split(":")[1]) for w in workers}
    )
    assert {t.backend for t in read_collection(out)} == {"llamacpp"}


def test_collect_with_a_real_critic_sharing_the_engine(gsm8k, tmp_path):
    """The critic (agent/critic.py) on the policy's own engine: every trajectory critiqued, stats histogram."""
    pytest.importorskip("agent.critic")
    out = tmp_path / "run"
    args = (
        "--limit",
        "1",
        "--samples",
        "2",
        "--mode",
        "cot",
        "--max-tokens",
        "48",
        "--concurrency",
        "2",
        "--critic",
        "smollm2-135m",
        "--critic-max-tokens",
        "48",
    )
    res = subprocess.run(
        collect_cmd(gsm8k, out, *args), capture_output=True, text=True, timeout=900, cwd=REPO, env=ENV
    )
    assert res.returncode == 0, res.stderr[-3000:]
    trajs = list(read_collection(out))
    assert len(trajs) == 2
    assert all(
        t.critique is not None and t.critique.model == "smollm2-135m" and t.critique.with_reference for t in trajs
    )
    assert load_manifest(out).spec.critic_config["max_tokens"] == 48
    res = collect_stats(out)
    stats = json.loads(res.stdout)
    assert sum(stats["critic"]["histogram"].values()) == 2 and stats["counts"]["critiqued"] == 2
    scored = [t for t in trajs if t.critique.score is not None]
    assert (stats["histogram"] is not None) == bool(scored)
