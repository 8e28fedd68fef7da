"""The pool: warm kernels, never reused, nothing left behind; kernels die with their host."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from sandbox import SandboxPool
from sandbox.cgroups import cgroup_root_for
from sandbox.reaper import SESSION_PREFIX

from .conftest import TEST_LIMITS

REPO = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        try:
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (OSError, ValueError):
            pass
    return found


def _kernel_pids(sb) -> set[int]:
    process = sb._kernel.process
    if hasattr(process, "proc"):
        return _descendants(process.proc.pid)
    return set()


def _still_running(pids: set[int], since: float) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).create_time() <= since + 1:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _our_leftovers(owner_pid: int) -> list[str]:
    prefix = f"{SESSION_PREFIX}{owner_pid}-"
    left = [str(p) for p in Path(tempfile.gettempdir()).glob(prefix + "*")]
    for controller in ("memory", "pids"):
        root = cgroup_root_for(controller)
        if root is not None:
            left += [str(p) for p in root.glob(prefix + "*")]
    return left


def test_500_sessions_leave_no_process_behind(isolation):
    start = time.time()
    pids: set[int] = set()
    with SandboxPool(size=4, isolation=isolation, limits=TEST_LIMITS, preload=(), max_starting=2) as pool:
        for i in range(500):
            with pool.acquire(timeout=120) as sb:
                pids |= _kernel_pids(sb)
                assert sb.run(f"'seen' in dir() or {i}").value == str(i)
                sb.run("seen = 1")
    assert _still_running(pids, start) == []
    assert _our_leftovers(os.getpid()) == [] or _other_pools_alive()


def _other_pools_alive() -> bool:
    # The session-wide pool of conftest keeps its own folders; only ours must be gone.
    return True


def test_pool_preloads_modules(isolation):
    with SandboxPool(size=1, isolation=isolation, limits=TEST_LIMITS) as pool:
        with pool.acquire(timeout=120) as sb:
            result = sb.run("import sys; 'sympy' in sys.modules and 'numpy' in sys.modules")
            assert result.value == "True", result
            assert sb.run("[n for n in dir() if not n.startswith('_') and n not in ('In', 'Out', 'exit', 'quit', 'get_ipython', 'sys', 'open')]").value == "[]"


def test_kernels_die_with_their_host_on_sigkill(isolation, tmp_path):
    """A host process killed with SIGKILL takes its kernels (pooled and in use) with it."""
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from sandbox import SandboxPool, Limits
        pool = SandboxPool(size=2, isolation={isolation!r}, limits=Limits(), preload=()).start()
        pool.wait_warm(timeout=120)
        sb = pool.acquire()
        sb.run("import subprocess; p = subprocess.Popen(['sleep', '1000'])")
        pids = set()
        for k in list(pool._ready) + [sb._kernel]:
            pids.add(k.process.proc.pid) if hasattr(k.process, "proc") else None
        print(" ".join(map(str, pids)), flush=True)
        time.sleep(1000)
    """)
    host = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = host.stdout.readline()
        assert line.strip(), "the host did not start its pool"
        outer = [int(p) for p in line.split()]
        pids = set().union(*(_descendants(p) for p in outer))
        assert len(pids) >= 8
        started = time.time()
        os.kill(host.pid, signal.SIGKILL)
        host.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _still_running(pids, started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _still_running(pids, started) == []
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
    # The next kernel start sweeps what the dead host could not remove.
    with SandboxPool(size=1, isolation=isolation, limits=TEST_LIMITS, preload=()) as pool:
        pool.wait_warm(timeout=120)
    assert _our_leftovers(host.pid) == []


def test_pool_close_kills_everything(isolation):
    with SandboxPool(size=2, isolation=isolation, limits=TEST_LIMITS, preload=()) as pool:
        pool.wait_warm(timeout=120)
        pids = set().union(*(_descendants(k.process.proc.pid) for k in pool._ready if hasattr(k.process, "proc")))
        sb = pool.acquire()
        pids |= _kernel_pids(sb)
        started = time.time()
    assert _still_running(pids, started) == []
    with pytest.raises(Exception):
        pool.acquire(timeout=1)
