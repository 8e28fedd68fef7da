"""The grader's hard deadline, thread safety and use from worker processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from eval.grade import compare, grade
from eval.grade_pool import GraderPool, WorkerTimeout, get_pool, shutdown_pool

# math-verify compares the two inequalities by simplifying the difference of 40th powers of a 4-term sum:
# minutes of work (plain expressions are compared numerically and take milliseconds)
SLOW_PRED = "(x+y+z+2)^{40} > 0"
SLOW_GOLD = "(x+y+z+1)^{40} > 0"


@pytest.fixture(scope="module", autouse=True)
def warm_pool():
    get_pool().warmup()
    yield


def test_pathological_expression_times_out_quickly() -> None:
    t0 = time.monotonic()
    c = compare(SLOW_PRED, SLOW_GOLD, timeout=1.0)
    elapsed = time.monotonic() - t0
    assert c.timeout and not c.equal and c.method == "timeout"
    assert "deadline" in c.reason
    assert elapsed < 1.0 + 10.0  # the deadline plus at most a worker start
    # the pool replaced the killed worker: the next slow comparison works
    assert grade("\\sqrt{8}", "2\\sqrt{2}")


def test_timeouts_are_not_cached() -> None:
    pool = get_pool()
    before = pool.killed
    assert compare(SLOW_PRED, SLOW_GOLD, timeout=0.5).timeout
    assert compare(SLOW_PRED, SLOW_GOLD, timeout=0.5).timeout
    assert pool.killed >= before + 2


def test_fast_path_does_not_touch_the_pool() -> None:
    pool = get_pool()
    started, killed = pool.started, pool.killed
    t0 = time.monotonic()
    for i in range(1, 1000):
        assert grade(f"{i},000", f"{i}000")
        assert not grade(f"{i},001", f"{i}000")
    assert time.monotonic() - t0 < 5.0
    assert (pool.started, pool.killed) == (started, killed)


def test_many_threads() -> None:
    pairs = [
        ("\\sqrt{8}", "2\\sqrt{2}", True),
        ("x^2+2x+1", "(x+1)^2", True),
        ("\\frac{\\pi}{3}", "\\frac{\\pi}{2}", False),
        ("1,000", "1000", True),
        ("0.5", "\\frac12", True),
        ("(2,1)", "(1,2)", False),
    ] * 4
    errors: list[BaseException] = []

    def one(pair):
        p, g, expected = pair
        try:
            assert grade(p, g, timeout=30) is expected, pair
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised in the main thread
            errors.append(exc)

    with ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(one, pairs))
    assert not errors, errors


def test_timeout_in_one_thread_does_not_block_others() -> None:
    results: dict[str, object] = {}

    def slow():
        results["slow"] = compare(SLOW_PRED, SLOW_GOLD, timeout=1.5)

    t = threading.Thread(target=slow)
    t.start()
    t0 = time.monotonic()
    assert grade("2\\sqrt{2}", "\\sqrt{8}", timeout=30)
    fast_elapsed = time.monotonic() - t0
    t.join(timeout=30)
    assert not t.is_alive()
    assert results["slow"].timeout  # type: ignore[union-attr]
    assert fast_elapsed < 10


def _grade_in_child(pair: tuple[str, str]) -> bool | None:
    return grade(pair[0], pair[1], timeout=30)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_from_daemonic_pool_workers(method: str) -> None:
    """multiprocessing.Pool workers are daemonic and may not start multiprocessing children: ours are
    plain subprocesses, so the symbolic path works there too."""
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        got = pool.map(_grade_in_child, [("\\sqrt{8}", "2\\sqrt{2}"), ("1/2", "0.5"), ("\\sqrt{3}", "\\sqrt{2}")])
    assert got == [True, True, False]


def test_pool_object_directly() -> None:
    with GraderPool(max_workers=1) as pool:
        assert pool.request({"pred": "1/2", "gold": "0.5", "opts": {}}, timeout=30)["equal"] is True
        with pytest.raises(WorkerTimeout):
            pool.request({"pred": SLOW_PRED, "gold": SLOW_GOLD, "opts": {}}, timeout=0.5)
        assert pool.killed == 1
        assert pool.request({"pred": "\\sqrt{4}", "gold": "2", "opts": {}}, timeout=30)["equal"] is True
        assert pool.started == 2


def test_shutdown_and_rebuild() -> None:
    shutdown_pool()
    assert grade("\\sqrt{9}", "3", timeout=30)


def test_forked_child_leaves_the_parents_workers_alone() -> None:
    import os

    pool = get_pool()
    assert grade("\\sqrt{8}", "2\\sqrt{2}", timeout=30)
    workers = [w.proc.pid for w in pool._idle]
    assert workers
    pid = os.fork()
    if pid == 0:  # child: its own pool, and exiting (atexit included) must not kill the parent's workers
        try:
            ok = grade("\\sqrt{9}", "3", timeout=30) and get_pool() is not pool
            pool.close()  # what atexit would do with the inherited pool object
            shutdown_pool()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    for w in pool._idle:
        assert w.alive()
    assert grade("x^2+2x+1", "(x+1)^2", timeout=30)


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        (", ".join(str(i) for i in range(3000)), ", ".join(str(i) for i in range(2999, -1, -1))),
        (", ".join(str(i) for i in range(300)), ", ".join(str(i + 1) for i in range(300))),
        ("(" * 2000 + "1" + ")" * 2000, "1"),
        ("\\frac{" * 500 + "1" + "}{2}" * 500, "1"),
        ("9" * 100000, "5"),
    ],
    ids=["long-set", "long-set-diff", "deep-parens", "frac-chain", "huge-number"],
)
def test_adversarial_inputs_are_bounded(pred: str, gold: str) -> None:
    t0 = time.monotonic()
    c = compare(pred, gold, timeout=1.0)
    assert time.monotonic() - t0 < 1.0 + 10.0
    assert c.equal is (pred.startswith("0, 1") and pred.count(",") == 2999)


def test_worker_that_cannot_start_is_an_error_not_a_timeout() -> None:
    from eval.grade_pool import WorkerCrashed

    with GraderPool(max_workers=1, startup_timeout=0.001) as pool:
        with pytest.raises(WorkerCrashed, match="did not start"):
            pool.request({"pred": "1", "gold": "1", "opts": {}}, timeout=5)
