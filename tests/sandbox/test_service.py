"""The sandbox service (`mathagent sandbox serve`) on a loopback port, and its client.

The security tests run through the service too (test_security.py, isolation `remote`); these tests
cover what the service adds: tokens, ownership, limits, bounded requests, load, reclaiming sessions.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import psutil
import pytest

from sandbox import (
    Limits,
    PoolTimeoutError,
    RemoteSandbox,
    RemoteSandboxPool,
    SandboxAuthError,
    SandboxClosedError,
    SandboxServiceError,
)
from tests.fixtures.sandbox_service import REPO, SERVICE_CONFIG

from .conftest import TEST_LIMITS

pytestmark = pytest.mark.service

IDLE = SERVICE_CONFIG["idle_timeout_s"]


def _create(service, client: str) -> str:
    r = httpx.post(f"{service.url}/v1/sessions", json={}, headers=service.headers(client), timeout=120)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _ids(service, client: str) -> set[str]:
    r = httpx.get(f"{service.url}/v1/sessions", headers=service.headers(client), timeout=10)
    assert r.status_code == 200, r.text
    return {s["id"] for s in r.json()}


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _kernel_pids(service) -> list[int]:
    procs = psutil.Process(service.proc.pid).children(recursive=True)
    out = []
    for p in procs:
        try:
            if "ipykernel_launcher" in " ".join(p.cmdline()) and p.cmdline()[0].endswith(("python", "python3")):
                out.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


# ----------------------------------------------------------------------------------------- basics


def test_health_needs_no_token(sandbox_service):
    r = httpx.get(f"{sandbox_service.url}/health", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["isolation"] == "jail"
    assert body["max_sessions"] == SERVICE_CONFIG["max_sessions"]


def test_remote_sandbox_has_the_sandbox_api(sandbox_service):
    with RemoteSandbox(sandbox_service.url, sandbox_service.tokens["tests"]) as sb:
        assert sb.limits == TEST_LIMITS
        sb.run("x = 6 * 7")
        r = sb.run("print(x); x / 0")
        assert (r.stdout, r.error_name, r.restarted) == ("42\n", "ZeroDivisionError", False)
        assert sb.run("x").value == "42"
        sb.restart()
        assert sb.run("'x' in dir()").value == "False"
        session_id = sb.id
    assert sb.closed
    assert session_id not in _ids(sandbox_service, "tests")
    with pytest.raises(SandboxClosedError):
        sb.run("1")


def test_async_api_and_cell_timeout_cap(sandbox_service):
    async def go():
        pool = RemoteSandboxPool(sandbox_service.url, sandbox_service.tokens["tests"], cell_timeout=60)
        async with pool:
            sb = await pool.aacquire()
            start = time.monotonic()
            result = await sb.arun("while True: pass", timeout=100)  # capped at the session's 3 s
            elapsed = time.monotonic() - start
            after = await sb.arun("6 * 7")
            assert pool.open_sessions == 1
        return result, elapsed, after, pool

    result, elapsed, after, pool = asyncio.run(go())
    assert result.timed_out, result
    assert elapsed < TEST_LIMITS.cell_timeout_s + 2.5, elapsed
    assert after.value == "42"
    assert pool.open_sessions == 0  # the pool closed the session it handed out


# ----------------------------------------------------------------------------------------- tokens


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic x"},
    ],
    ids=["missing", "wrong", "empty", "basic"],
)
def test_requests_without_a_valid_token_are_refused(sandbox_service, headers):
    session_id = _create(sandbox_service, "tests")
    url = sandbox_service.url
    calls = [
        ("POST", "/v1/sessions", {}),
        ("GET", "/v1/sessions", None),
        ("POST", f"/v1/sessions/{session_id}/run", {"code": "open('/etc/passwd').read()"}),
        ("POST", f"/v1/sessions/{session_id}/restart", None),
        ("DELETE", f"/v1/sessions/{session_id}", None),
        ("POST", "/v1/keepalive", {"ids": [session_id]}),
    ]
    for method, path, body in calls:
        r = httpx.request(method, url + path, json=body, headers=headers, timeout=10)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert "root:" not in r.text
    assert session_id in _ids(sandbox_service, "tests")  # nothing happened to it
    httpx.delete(f"{url}/v1/sessions/{session_id}", headers=sandbox_service.headers("tests"), timeout=30)


def test_client_with_a_wrong_or_no_token_fails_clearly(sandbox_service, monkeypatch):
    with pytest.raises(SandboxAuthError, match="refused the token"):
        RemoteSandboxPool(sandbox_service.url, "not-the-token-not-the-token").start()
    monkeypatch.delenv("MATHAGENT_SANDBOX_TOKEN", raising=False)
    with pytest.raises(SandboxAuthError, match="MATHAGENT_SANDBOX_TOKEN"):
        RemoteSandboxPool(sandbox_service.url)
    monkeypatch.setenv("MATHAGENT_SANDBOX_TOKEN", sandbox_service.tokens["tests"])
    with RemoteSandboxPool(sandbox_service.url) as pool, pool.acquire() as sb:
        assert sb.run("1 + 1").value == "2"


def test_kernels_cannot_see_the_service_token(sandbox_service):
    code = textwrap.dedent("""
    import glob, os
    print(dict(os.environ))
    for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
        try:
            print(open(path, "rb").read())
        except OSError:
            pass
    """)
    with RemoteSandbox(sandbox_service.url, sandbox_service.tokens["tests"]) as sb:
        result = sb.run(code)
    assert result.ok, result
    for token in sandbox_service.tokens.values():
        assert token not in result.stdout


# ----------------------------------------------------------------------------------------- limits


def test_sessions_belong_to_their_client(sandbox_service):
    session_id = _create(sandbox_service, "tests")
    other = sandbox_service.headers("other")
    url = sandbox_service.url
    assert httpx.post(f"{url}/v1/sessions/{session_id}/run", json={"code": "1"}, headers=other).status_code == 404
    assert httpx.delete(f"{url}/v1/sessions/{session_id}", headers=other).status_code == 404
    r = httpx.post(f"{url}/v1/keepalive", json={"ids": [session_id]}, headers=other)
    assert r.json() == {"alive": [], "gone": [session_id]}
    assert session_id not in _ids(sandbox_service, "other")
    assert session_id in _ids(sandbox_service, "tests")
    assert httpx.delete(f"{url}/v1/sessions/{session_id}", headers=sandbox_service.headers("tests")).status_code == 204
    assert httpx.delete(f"{url}/v1/sessions/{session_id}", headers=sandbox_service.headers("tests")).status_code == 404


def test_per_client_session_limit(sandbox_service):
    pool = RemoteSandboxPool(sandbox_service.url, sandbox_service.tokens["small"], acquire_timeout=1.5)
    with pool:
        first, second = pool.acquire(timeout=120), pool.acquire(timeout=120)
        r = httpx.post(f"{sandbox_service.url}/v1/sessions", json={}, headers=sandbox_service.headers("small"))
        assert r.status_code == 429 and "limit" in r.json()["detail"]
        with pytest.raises(PoolTimeoutError, match="limit"):
            pool.acquire()
        with RemoteSandbox(sandbox_service.url, sandbox_service.tokens["other"]) as sb:  # others are not affected
            assert sb.run("1").value == "1"
        first.close()
        with pool.acquire(timeout=120) as third:  # a slot is free again
            assert third.run("2").value == "2"
        assert second.run("3").value == "3"


def test_limits_may_only_be_tightened(sandbox_service):
    looser = TEST_LIMITS.model_copy(update={"memory_mb": TEST_LIMITS.memory_mb * 4})
    r = httpx.post(
        f"{sandbox_service.url}/v1/sessions",
        json={"limits": looser.model_dump()},
        headers=sandbox_service.headers("tests"),
    )
    assert r.status_code == 422 and "memory_mb" in r.json()["detail"]
    with pytest.raises(SandboxServiceError, match="memory_mb"):
        RemoteSandbox(sandbox_service.url, sandbox_service.tokens["tests"], limits=looser).start()
    tighter = TEST_LIMITS.model_copy(update={"cell_timeout_s": 1.0})
    with RemoteSandbox(sandbox_service.url, sandbox_service.tokens["tests"], limits=tighter) as sb:
        assert sb.limits == tighter
        start = time.monotonic()
        assert sb.run("import time; time.sleep(5)").timed_out
        assert time.monotonic() - start < 1.0 + 2.0


def test_request_size_is_bounded(sandbox_service):
    limit = SERVICE_CONFIG["max_request_bytes"]
    url, headers = sandbox_service.url, sandbox_service.headers("tests")
    with RemoteSandbox(url, sandbox_service.tokens["tests"]) as sb:
        big = "x = '" + "a" * limit + "'"
        r = httpx.post(f"{url}/v1/sessions/{sb.id}/run", json={"code": big}, headers=headers)
        assert r.status_code == 413

        def chunks():  # no Content-Length: the service counts while reading
            for _ in range(limit // 4096 + 2):
                yield b"a" * 4096

        r = httpx.post(f"{url}/v1/sessions/{sb.id}/run", content=chunks(), headers=headers)
        assert r.status_code == 413
        with pytest.raises(SandboxServiceError, match="too large"):
            sb.run(big)
        assert sb.run("6 * 7").value == "42"  # the session is unharmed


# ----------------------------------------------------------------------------------------- load, reclaiming


@pytest.mark.slow
def test_fifty_concurrent_sessions_complete_without_loss(sandbox_service):
    n = 50
    opened_at_once: list[int] = []

    async def one(pool, barrier, i):
        sb = await pool.aacquire(timeout=240)
        try:
            first = await sb.arun(f"x = {i} * 1000")
            await barrier.wait()  # every session is open at this point
            if i == 0:
                opened_at_once.append((await asyncio.to_thread(sandbox_service.health))["sessions"])
            await barrier.wait()
            second = await sb.arun("print(x + 1); x")
            return i, sb.id, first, second
        finally:
            await asyncio.to_thread(sb.close)

    async def main():
        barrier = asyncio.Barrier(n)
        async with RemoteSandboxPool(sandbox_service.url, sandbox_service.tokens["tests"], max_concurrency=n) as pool:
            return await asyncio.wait_for(asyncio.gather(*(one(pool, barrier, i) for i in range(n))), timeout=400)

    results = asyncio.run(main())
    assert len(results) == n
    assert len({session_id for _, session_id, _, _ in results}) == n
    for i, _, first, second in results:
        assert first.ok, first
        assert second.stdout == f"{i * 1000 + 1}\n" and second.value == str(i * 1000), second
    assert opened_at_once == [n]
    assert _ids(sandbox_service, "tests") == set()
    _wait_for(lambda: sandbox_service.health()["sessions"] == 0, 30, "sessions closed")


def test_a_killed_clients_sessions_are_reclaimed(sandbox_service):
    script = textwrap.dedent(f"""
        import time
        from sandbox import RemoteSandboxPool
        pool = RemoteSandboxPool({sandbox_service.url!r}, {sandbox_service.tokens["victim"]!r})
        sessions = [pool.acquire() for _ in range(3)]
        for i, sb in enumerate(sessions):
            sb.run(f"x = {{i}}")
        print(" ".join(sb.id for sb in sessions), flush=True)
        time.sleep(600)
    """)
    client = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        ids = set(client.stdout.readline().split())
        assert len(ids) == 3
        # Alive, the client keeps its idle sessions open with keep-alives.
        time.sleep(IDLE * 1.5)
        assert _ids(sandbox_service, "victim") == ids
        client.send_signal(signal.SIGKILL)
        client.wait(10)
        killed_at = time.monotonic()
        _wait_for(lambda: not _ids(sandbox_service, "victim"), IDLE + 10, "the killed client's sessions to close")
        assert time.monotonic() - killed_at > IDLE * 0.5  # closed by idle expiry, not at once
    finally:
        client.kill()
        client.wait()
    # Their kernels are gone too: what runs is the warm pool plus other open sessions.
    if sandbox_service.proc is None:
        return  # an external service (in a container): its processes are not ours to count
    _wait_for(
        lambda: len(_kernel_pids(sandbox_service)) == (h := sandbox_service.health())["warm"] + h["sessions"],
        30,
        "kernels of the reclaimed sessions to exit",
    )


def test_a_live_client_survives_idle_time_and_recovers_from_expiry(sandbox_service):
    with RemoteSandboxPool(sandbox_service.url, sandbox_service.tokens["tests"]) as pool, pool.acquire() as sb:
        sb.run("x = 41")
        time.sleep(IDLE * 1.5)  # longer than the idle timeout: keep-alives hold it open
        assert sb.run("x + 1").value == "42"
        # A session the service closed (expiry, restart) reads like a crashed kernel; the next cell runs fresh.
        httpx.delete(f"{sandbox_service.url}/v1/sessions/{sb.id}", headers=sandbox_service.headers("tests"))
        lost = sb.run("x")
        assert lost.restarted and lost.error_name == "KernelDied", lost
        assert sb.run("'x' in dir()").value == "False"


def test_unreachable_service_is_an_error_not_a_hang():
    start = time.monotonic()
    with pytest.raises(SandboxServiceError, match="cannot reach"):
        RemoteSandboxPool("http://127.0.0.1:9", "t" * 20).start()
    assert time.monotonic() - start < 10


def test_session_limits_object_round_trips():
    assert Limits.model_validate(TEST_LIMITS.model_dump()) == TEST_LIMITS
