"""Fixtures of the sandbox tests: every security test runs once per isolation mode.

`jail` always runs (it needs root and bubblewrap, as scripts/setup.sh provides); `docker` runs only
with MATHAGENT_DOCKER=1 (scripts/ci_docker.sh sets it after starting a Docker engine and building
the image named by MATHAGENT_DOCKER_IMAGE).
"""

from __future__ import annotations

import os

import pytest

from sandbox import Limits, SandboxPool

DOCKER = os.environ.get("MATHAGENT_DOCKER") == "1"

ISOLATIONS = [
    "jail",
    pytest.param(
        "docker",
        marks=[
            pytest.mark.docker,
            pytest.mark.skipif(not DOCKER, reason="Docker tests need MATHAGENT_DOCKER=1 (see scripts/ci_docker.sh)"),
        ],
    ),
]

# Small limits keep the adversarial tests fast; the defaults are tested in test_limits.py.
TEST_LIMITS = Limits(cell_timeout_s=3.0, interrupt_grace_s=0.5, memory_mb=512, max_pids=48, scratch_mb=64)


@pytest.fixture(scope="session", params=ISOLATIONS)
def isolation(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def pool(isolation):
    """One warm pool per isolation mode for the whole test session."""
    with SandboxPool(size=3, isolation=isolation, limits=TEST_LIMITS, preload=(), max_starting=2) as p:
        p.wait_warm(1, timeout=120)
        yield p


@pytest.fixture
def sb(pool):
    """A fresh session from the pool, closed after the test."""
    with pool.acquire(timeout=120) as session:
        yield session
