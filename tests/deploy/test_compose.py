"""compose.yaml: valid for docker-compose, and wired as the README says (the full stack runs in
scripts/compose_cpu.sh, which needs a Docker engine)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO

COMPOSE = REPO / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_services_and_profiles(compose):
    services = compose["services"]
    assert set(services) >= {"vllm", "sandbox", "collector", "chat", "llamacpp", "collector-cpu", "chat-cpu"}
    assert "profiles" not in services["sandbox"]  # in both stacks
    assert services["vllm"]["profiles"] == ["gpu"] and services["llamacpp"]["profiles"] == ["cpu"]
    gpu = services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]
    assert "${MODEL" in " ".join(services["vllm"]["command"])
    assert "--interrupt_requests" in services["llamacpp"]["command"]
    for name in ("vllm", "sandbox", "llamacpp"):
        assert services[name]["healthcheck"]["test"], name


def test_jobs_use_the_servers_and_the_sandbox_service(compose):
    services = compose["services"]
    for job, llm in (("collector", "vllm"), ("collector-cpu", "llamacpp"), ("chat", "vllm"), ("chat-cpu", "llamacpp")):
        command = services[job]["command"]
        assert command[:2] == ["mathagent", "collect" if job.startswith("collector") else "chat"]
        assert command[command.index("--sandbox") + 1] == "http://sandbox:8080"
        assert command[command.index("--base-url") + 1] == f"http://{llm}:8000/v1"
        assert services[job]["depends_on"] == {
            llm: {"condition": "service_healthy"},
            "sandbox": {"condition": "service_healthy"},
        }
        assert "MATHAGENT_SANDBOX_TOKEN" in services[job]["environment"]


def test_images_are_built_from_the_repo_with_a_base_image_argument(compose):
    for name in ("sandbox", "llamacpp", "collector-cpu"):
        build = compose["services"][name]["build"]
        assert build["dockerfile"] == "docker/Dockerfile"
        assert "BASE_IMAGE" in build["args"]
    assert "ARG BASE_IMAGE" in (REPO / "docker" / "Dockerfile").read_text()


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_docker_compose_validates(profile):
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is not installed (apt-get install docker-compose)")
        pytest.skip("docker-compose is not installed")
    env = {**os.environ, "MATHAGENT_SANDBOX_TOKEN": "validation-only-token"}
    args = ["docker-compose", "-f", str(COMPOSE), "--profile", profile, "config"]
    out = subprocess.run(args + ["-q"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    missing = subprocess.run(args + ["-q"], capture_output=True, text=True, timeout=120,
                             env={k: v for k, v in env.items() if k != "MATHAGENT_SANDBOX_TOKEN"})  # fmt: skip
    assert missing.returncode != 0 and "MATHAGENT_SANDBOX_TOKEN" in missing.stderr
