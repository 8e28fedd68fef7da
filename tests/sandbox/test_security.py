"""Adversarial properties of the sandbox (issue 3, point 6): one property per test, per isolation.

`remote` runs each test through the sandbox service and its HTTP client (see conftest.py).
"""

from __future__ import annotations

import os
import socket
import textwrap
import time
import uuid
from pathlib import Path

import psutil
import pytest

from sandbox import Limits

from .conftest import TEST_LIMITS

GRACE_S = 2.0


def test_cannot_connect_to_host_loopback(sb):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        code = f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
            print("CONNECTED")
        except OSError as exc:
            print("BLOCKED", type(exc).__name__)
        """
        result = sb.run(textwrap.dedent(code))
    assert "BLOCKED" in result.stdout, result


def test_cannot_reach_outside_network(sb):
    code = """
    import socket
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        print("CONNECTED")
    except OSError as exc:
        print("BLOCKED", type(exc).__name__)
    """
    assert "BLOCKED" in sb.run(textwrap.dedent(code)).stdout


@pytest.mark.parametrize("folder", ["/root", "/tmp", str(Path(__file__).resolve().parent)])
def test_cannot_read_host_files(sb, folder):
    secret = f"secret-{uuid.uuid4().hex}"
    path = Path(folder) / f"mathagent-test-{uuid.uuid4().hex}.txt"
    path.write_text(secret)
    try:
        code = f"""
        try:
            print(open({str(path)!r}).read())
        except OSError as exc:
            print("DENIED", type(exc).__name__)
        """
        result = sb.run(textwrap.dedent(code))
    finally:
        path.unlink()
    assert secret not in result.stdout
    assert "DENIED" in result.stdout, result


def test_cannot_write_outside_scratch(sb):
    code = """
    import os, sys
    targets = ["/x", "/etc/x", "/usr/x", "/root/x", "/home/x", "/proc/x", "/run/x", os.path.join(sys.prefix, "x"),
               os.path.join(os.path.dirname(os.__file__), "x")]
    for t in targets:
        try:
            open(t, "w").write("x")
            print("WROTE", t)
        except OSError:
            pass
    for t in ["scratch.txt", os.path.expanduser("~/home.txt"), "/tmp/tmp.txt"]:
        open(t, "w").write("ok")
    print("SCRATCH OK")
    """
    result = sb.run(textwrap.dedent(code))
    assert "WROTE" not in result.stdout, result.stdout
    assert "SCRATCH OK" in result.stdout, result


def test_parent_environment_is_not_visible(make_sandbox, monkeypatch):
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    monkeypatch.setenv("MATHAGENT_PLANTED_SECRET", secret)
    with make_sandbox(TEST_LIMITS) as sb:
        code = textwrap.dedent("""
        import os, glob
        print(dict(os.environ))
        for path in glob.glob("/proc/*/environ"):
            try:
                print(open(path, "rb").read())
            except OSError:
                pass
        """)
        result = sb.run(code)
    assert result.ok, result
    assert secret not in result.stdout
    assert "MATHAGENT_PLANTED_SECRET" not in result.stdout


def test_memory_bomb_is_stopped_and_reported(sb):
    before = psutil.virtual_memory().available
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 2**20))"
    result = sb.run(code)
    assert result.memory_exceeded, result
    assert not result.ok
    assert psutil.virtual_memory().available > before - (TEST_LIMITS.memory_mb << 20) - (256 << 20)
    assert sb.run("6 * 7").value == "42"


def test_single_huge_allocation_is_stopped(sb):
    result = sb.run("x = b'x' * 2**30")
    assert result.memory_exceeded, result
    assert sb.run("6 * 7").value == "42"


def test_fork_bomb_is_contained(sb):
    host_procs = len(psutil.pids())
    code = """
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
    """
    start = time.monotonic()
    result = sb.run(textwrap.dedent(code))
    elapsed = time.monotonic() - start
    assert not result.ok
    assert elapsed < TEST_LIMITS.cell_timeout_s + GRACE_S, elapsed
    assert len(psutil.pids()) < host_procs + 20
    assert sb.run("6 * 7").value == "42"


@pytest.mark.parametrize("code", ["while True: pass", "sum(range(10**12))", "10**10**8"])
def test_runaway_cell_stops_within_timeout(sb, code):
    start = time.monotonic()
    result = sb.run(code)
    elapsed = time.monotonic() - start
    assert result.timed_out, result
    assert elapsed < TEST_LIMITS.cell_timeout_s + GRACE_S, elapsed
    assert sb.run("6 * 7").value == "42"


def test_huge_print_is_capped_quickly(sb):
    start = time.monotonic()
    result = sb.run("print('x' * 10**8)")
    elapsed = time.monotonic() - start
    assert result.truncated, result.stdout[-200:]
    assert len(result.stdout) <= TEST_LIMITS.max_output_bytes + 512
    assert elapsed < 5, elapsed


def test_many_small_prints_are_capped(sb):
    result = sb.run("for i in range(200_000): print(i)")
    assert result.truncated
    assert len(result.stdout) <= TEST_LIMITS.max_output_bytes + 512


def test_subprocess_output_is_capped(sb):
    result = sb.run("import subprocess; subprocess.run(['head', '-c', '10000000', '/dev/zero'])")
    assert len(result.stdout) <= TEST_LIMITS.max_output_bytes + 512


@pytest.mark.parametrize("crash", ["import os; os._exit(1)", "import ctypes; ctypes.string_at(0)"])
def test_kernel_crash_is_reported_and_next_cell_runs_fresh(sb, crash):
    sb.run("state = 1")
    result = sb.run(crash)
    assert result.restarted, result
    assert result.error_name == "KernelDied"
    after = sb.run("'state' in dir()")
    assert after.ok and after.value == "False", after


def test_runs_as_unprivileged_user_without_capabilities(sb):
    code = "import os; print(os.getuid(), os.getgid(), os.getgroups()); print(open('/proc/self/status').read())"
    result = sb.run(code)
    first = result.stdout.splitlines()[0]
    assert not first.startswith("0 "), first
    assert "CapEff:\t0000000000000000" in result.stdout
    assert "NoNewPrivs:\t1" in result.stdout


def test_cannot_see_host_processes(sb):
    result = sb.run("import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    assert str(os.getpid()) not in result.stdout.strip("[]\n").split(", ")
    assert len(result.stdout.split(",")) < 20


def test_file_size_limit(make_sandbox):
    limits = TEST_LIMITS.model_copy(update={"max_file_mb": 1})
    with make_sandbox(limits) as sb:
        result = sb.run("open('big.bin', 'wb').write(b'x' * (4 * 2**20))")
    assert not result.ok, result


def test_session_limits_are_applied():
    assert Limits(memory_mb=512).memory_mb == 512
