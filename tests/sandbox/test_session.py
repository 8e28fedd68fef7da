"""Behaviour of a session: state, results, rich outputs, errors, async, restarts."""

from __future__ import annotations

import asyncio
import base64
import warnings

import pytest

from sandbox import ExecResult, Limits, Sandbox, SandboxClosedError

from .conftest import TEST_LIMITS


def test_state_persists_across_cells(sb):
    assert sb.run("x = 6").ok
    assert sb.run("y = x * 7").ok
    assert sb.run("y").value == "42"


def test_stdout_stderr_and_value(sb):
    result = sb.run("import sys; print('out'); print('err', file=sys.stderr); 1 + 1")
    assert result.stdout == "out\n"
    assert "err" in result.stderr
    assert result.value == "2"
    assert result.duration_s > 0


def test_error_name_and_short_traceback(sb):
    result = sb.run("def f():\n    return 1 / 0\nf()")
    assert result.error_name == "ZeroDivisionError"
    assert result.error_value == "division by zero"
    assert "ZeroDivisionError" in result.traceback and "\x1b[" not in result.traceback
    assert not result.ok
    assert "ZeroDivisionError" in result.render()


def test_png_plot_is_returned_as_base64(sb):
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"
    result = sb.run(code, timeout=60)  # the first matplotlib import builds its font cache
    assert result.ok, result
    pngs = [d["image/png"] for d in result.displays if "image/png" in d]
    assert pngs and base64.b64decode(pngs[0]).startswith(b"\x89PNG")


def test_sympy_works(sb):
    result = sb.run("import sympy as sp\nx = sp.Symbol('x')\nsp.integrate(sp.sin(x) ** 2, (x, 0, sp.pi))")
    assert result.value == "pi/2", result


def test_interruptible_timeout_keeps_state(sb):
    sb.run("kept = 5")
    result = sb.run("import time\ntime.sleep(30)", timeout=1)
    assert result.timed_out and not result.restarted, result
    assert sb.run("kept").value == "5"


def test_uninterruptible_timeout_restarts(sb):
    sb.run("kept = 5")
    result = sb.run("sum(range(10**12))", timeout=1)
    assert result.timed_out and result.restarted, result
    assert sb.run("'kept' in dir()").value == "False"


def test_big_value_is_capped(sb):
    result = sb.run("'y' * 5_000_000")
    assert result.truncated
    assert len(result.value) < TEST_LIMITS.max_display_bytes + 200


def test_async_run(pool):
    async def one(i: int) -> str | None:
        sb = await pool.aacquire(timeout=120)
        async with sb:
            await sb.arun(f"v = {i}")
            return (await sb.arun("v * 2")).value

    async def main() -> list[str | None]:
        return await asyncio.gather(*(one(i) for i in range(3)))

    assert asyncio.run(main()) == ["0", "2", "4"]


def test_closed_sandbox_refuses_to_run(pool):
    sb = pool.acquire(timeout=120)
    sb.close()
    with pytest.raises(SandboxClosedError):
        sb.run("1")


def test_unpooled_sandbox_starts_lazily_and_cleans_up(isolation, tmp_path):
    sb = Sandbox(isolation=isolation, limits=TEST_LIMITS, preload=())
    assert sb._kernel is None
    assert sb.run("2 + 2").value == "4"
    folder = sb._kernel.session_dir
    sb.close()
    assert not folder.exists()


def test_none_isolation_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Sandbox(isolation="none", limits=TEST_LIMITS, preload=()) as sb:
            assert sb.run("1 + 1").value == "2"
    assert any("development only" in str(w.message) for w in caught)


def test_exec_result_render_cuts_long_text():
    text = ExecResult(stdout="a" * 1000).render(max_chars=100)
    assert len(text) < 200 and "cut" in text


def test_limits_are_frozen_and_validated():
    limits = Limits()
    with pytest.raises(ValueError):
        limits.memory_mb = 1  # type: ignore[misc]
    with pytest.raises(ValueError):
        Limits(memory_mb=1)
    assert hash(limits) == hash(Limits())


def test_async_timeout_and_crash_restart(sb):
    async def main() -> list:
        await sb.arun("kept = 1")
        timed_out = await sb.arun("sum(range(10**12))", timeout=1)
        fresh = await sb.arun("'kept' in dir()")
        crashed = await sb.arun("import os; os._exit(3)")
        after = await sb.arun("6 * 7")
        return [timed_out, fresh, crashed, after]

    timed_out, fresh, crashed, after = asyncio.run(main())
    assert timed_out.timed_out and timed_out.restarted, timed_out
    assert fresh.value == "False"
    assert crashed.error_name == "KernelDied" and crashed.restarted
    assert after.value == "42"
