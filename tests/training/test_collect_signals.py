"""Ctrl-C and SIGTERM stop a real collection process cleanly (scripted model): the problems in flight are
cancelled, the manifest says ``interrupted``, the exit code is 130/143, and the same job resumes.

With the real CLI and model: tests/training/test_collect_e2e.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from training.collect import load_manifest, read_collection, run_collection

from .collect_helpers import options, problems, solver_factory, spec
from .signal_job import PROBLEMS


def start(out, sigint) -> subprocess.Popen:
    """The job in its own process, with SIGINT as given (SIG_IGN: how a shell starts `cmd &`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.training.signal_job", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
    )  # fmt: skip


def wait_for_progress(proc: subprocess.Popen, n: int) -> None:
    for line in proc.stdout:
        if line.strip() == f"progress {n}":
            return
    raise AssertionError(f"the job ended before progress {n}: {proc.stderr.read()[-2000:]}")


@pytest.mark.parametrize(
    ("signum", "sigint", "code"),
    [
        (signal.SIGINT, signal.SIG_DFL, 130),  # Ctrl-C in a terminal
        (signal.SIGTERM, signal.SIG_DFL, 143),  # kill PID, timeout, a scheduler
        (signal.SIGTERM, signal.SIG_IGN, 143),  # a background job (`cmd &` ignores SIGINT): SIGTERM still works
    ],
    ids=["sigint", "sigterm", "sigterm-background"],
)
def test_a_signal_stops_the_job_cleanly_and_it_resumes(tmp_path, signum, sigint, code):
    out = tmp_path / "c"
    proc = start(out, sigint)
    try:
        wait_for_progress(proc, 2)
        proc.send_signal(signum)
        t0 = time.monotonic()
        rest, err = proc.communicate(timeout=60)
        stopped_in = time.monotonic() - t0
    finally:
        proc.kill()
    assert proc.returncode == code, err[-2000:]
    assert "interrupted" in rest
    assert stopped_in < 20, stopped_in  # a few model calls (0.5 s each), not the rest of the job (10+ s)
    manifest = load_manifest(out)
    assert manifest.status == "interrupted" and manifest.runs[-1].status == "interrupted"
    assert "run the same command again" in manifest.message
    done = manifest.counts["problems_done"]
    assert 2 <= done < PROBLEMS
    assert len({t.problem_id for t in read_collection(out)}) == done

    sp, op = spec(), options(concurrency=2)
    manifest = run_collection(sp, out, op, solver_factory=solver_factory(sp, op), problems=problems(PROBLEMS))
    assert manifest.status == "complete" and [r.status for r in manifest.runs] == ["interrupted", "complete"]
    keys = sorted((t.problem_id, t.sample_index) for t in read_collection(out))
    assert keys == sorted((f"p{i}", s) for i in range(PROBLEMS) for s in range(2))
