"""The agent with `--sandbox URL`: a real model (qwen2.5-coder-0.5b) whose code runs on the sandbox service."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.conftest import REPO, packaged_model_path

pytestmark = [pytest.mark.model, pytest.mark.slow, pytest.mark.service]


def test_cli_solves_with_code_run_by_the_service(sandbox_service, shared_data):
    packaged_model_path("qwen2.5-coder-0.5b")
    row = json.loads((shared_data / "gsm8k" / "test.jsonl").read_text().splitlines()[0])  # qwen 0.5b solves it
    question, gold = row["question"], row["answer"].split("####")[-1].strip().replace(",", "")
    env = {**os.environ, "MATHAGENT_THREADS": "1", "MATHAGENT_SANDBOX_TOKEN": sandbox_service.tokens["victim"]}
    out = subprocess.run(
        [sys.executable, "-m", "cli", "solve", question, "--model", "qwen2.5-coder-0.5b", "--json",
         "--max-tokens", "1024", "--sandbox", sandbox_service.url],
        capture_output=True, text=True, timeout=600, cwd=REPO, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    traj = json.loads(out.stdout)["trajectories"][0]
    assert traj["tool_calls"] >= 1, traj["text"]
    assert traj["sandbox_errors"] == 0
    outputs = [s for s in traj["steps"] if s["kind"] == "output"]
    assert outputs and all(s["exit_status"] in ("ok", "error") for s in outputs)
    assert traj["answer"] is not None and traj["answer"].replace(",", "") == gold, traj["text"]
    # The session was closed on the service when the command ended.
    r = httpx.get(f"{sandbox_service.url}/v1/sessions", headers=sandbox_service.headers("victim"), timeout=10)
    assert r.json() == []


def test_wrong_token_is_a_one_line_error(sandbox_service):
    env = {**os.environ, "MATHAGENT_SANDBOX_TOKEN": "wrong-wrong-wrong-wrong"}
    out = subprocess.run(
        [sys.executable, "-m", "cli", "solve", "What is 2+3?", "--model", "smollm2-135m", "--max-tokens", "64",
         "--sandbox", sandbox_service.url],
        capture_output=True, text=True, timeout=300, cwd=REPO, env=env,
    )  # fmt: skip
    assert out.returncode != 0
    assert "refused the token" in out.stderr
