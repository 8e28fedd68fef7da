"""Fixtures of the sandbox tests: every security test runs once per isolation mode.

`jail` always runs (it needs root and bubblewrap, as scripts/setup.sh provides); `remote` runs the
same tests through the sandbox service (`mathagent sandbox serve`, jailed kernels) on a loopback port
and its HTTP client; `docker` runs only with MATHAGENT_DOCKER=1 (scripts/ci_docker.sh sets it after
starting a Docker engine and building the image named by MATHAGENT_DOCKER_IMAGE).
"""

from __future__ import annotations

import os

import pytest

from sandbox import Limits, RemoteSandbox, RemoteSandboxPool, Sandbox, SandboxPool
from tests.fixtures.sandbox_service import SERVICE_LIMITS

DOCKER = os.environ.get("MATHAGENT_DOCKER") == "1"

ISOLATIONS = [
    "jail",
    pytest.param("remote", marks=pytest.mark.service),
    pytest.param(
        "docker",
        marks=[
            pytest.mark.docker,
            pytest.mark.skipif(not DOCKER, reason="Docker tests need MATHAGENT_DOCKER=1 (see scripts/ci_docker.sh)"),
        ],
    ),
]

# Small limits keep the adversarial tests fast; the defaults are tested in test_limits.py. They are
# also the service's (tests/fixtures/sandbox_service.py), so `remote` runs use its pooled sessions.
TEST_LIMITS = Limits(**SERVICE_LIMITS)


# Modules whose tests also run through the service; elsewhere (pool and session internals) `remote` is
# deselected.
REMOTE_MODULES = {"test_security.py"}


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        remote_elsewhere = params.get("isolation") == "remote" and item.path.name not in REMOTE_MODULES
        (drop if remote_elsewhere else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session", params=ISOLATIONS)
def isolation(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def pool(isolation, request):
    """One warm pool per isolation mode for the whole test session (for `remote`: the service's)."""
    if isolation == "remote":
        service = request.getfixturevalue("sandbox_service")
        with RemoteSandboxPool(service.url, service.tokens["tests"]) as p:
            yield p
        return
    with SandboxPool(size=3, isolation=isolation, limits=TEST_LIMITS, preload=(), max_starting=2) as p:
        p.wait_warm(1, timeout=120)
        yield p


@pytest.fixture
def sb(pool):
    """A fresh session from the pool, closed after the test."""
    with pool.acquire(timeout=120) as session:
        yield session


@pytest.fixture
def make_sandbox(isolation, request):
    """`make_sandbox(limits)`: an unpooled session with its own limits, in this isolation mode."""

    def make(limits: Limits):
        if isolation == "remote":
            service = request.getfixturevalue("sandbox_service")
            return RemoteSandbox(service.url, service.tokens["tests"], limits=limits)
        return Sandbox(isolation=isolation, limits=limits, preload=())

    return make
