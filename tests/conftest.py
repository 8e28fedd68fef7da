"""Shared fixtures: paths to ../shared/data, packaged models, thread limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# With 2 cores, a 2-thread engine beside any other busy process slows down 10-100x: tests use one
# thread unless told otherwise.
os.environ.setdefault("MATHAGENT_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MATHAGENT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set MATHAGENT_SHARED_DATA)")
    return SHARED_DATA


def packaged_model_path(alias: str) -> Path:
    """The verified GGUF of a packaged model; skips locally (fails in CI) when it is not installed."""
    from agent.errors import ModelNotInstalledError
    from agent.models import resolve_model

    try:
        return resolve_model(alias).path
    except ModelNotInstalledError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    return packaged_model_path("smollm2-135m")


@pytest.fixture(scope="session")
def sandbox_service():
    """One sandbox service (`mathagent sandbox serve`, jailed kernels) on a loopback port for the test session
    (or the one at $MATHAGENT_TEST_SANDBOX_URL, see tests/fixtures/sandbox_service.py)."""
    from tests.fixtures.sandbox_service import start_test_service

    service = start_test_service()
    yield service
    service.stop()
