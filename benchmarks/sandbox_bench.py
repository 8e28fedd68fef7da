"""Sandbox speed and memory per isolation mode, printed as a markdown table (medians of repeats).

    .venv/bin/python benchmarks/sandbox_bench.py --modes none,jail            # ~3 min on 2 cores
    bash scripts/ci_docker.sh --run .venv/bin/python benchmarks/sandbox_bench.py --modes docker

Rows: cold start (unpooled Sandbox, sympy+numpy preloaded, to the first result), pooled acquire plus
first `1+1` cell, per-cell round trip of `1+1`, first `sympy.integrate` cell, cells/s with 1, 2, 4, 8
concurrent sessions (async API, pooled), memory per idle kernel (USS and RSS of its processes, or the
container's cgroup usage), and fresh-kernel-per-problem (start, one cell, close), which is what
sandboxes without a pool do. Targets: pooled acquire + first cell <= 20 ms, per-cell <= 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import psutil  # noqa: E402

from sandbox import Limits, Sandbox, SandboxPool  # noqa: E402

INTEGRATE = "import sympy as sp\nx = sp.Symbol('x')\nsp.integrate(x**2 * sp.exp(x) * sp.sin(x), x)"


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def _tree_memory(pid: int) -> tuple[float, float]:
    uss = rss = 0.0
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    for proc in procs:
        try:
            info = proc.memory_full_info()
            uss, rss = uss + info.uss, rss + info.rss
        except psutil.Error:
            pass
    return uss / 2**20, rss / 2**20


def memory_of(kernel) -> str:
    process = kernel.process
    if hasattr(process, "proc"):
        uss, rss = _tree_memory(process.proc.pid)
        return f"{uss:.0f} MiB USS / {rss:.0f} MiB RSS"
    stats = process.container.stats(stream=False)
    usage = stats.get("memory_stats", {}).get("usage", 0) / 2**20
    return f"{usage:.0f} MiB (cgroup)"


def bench_mode(mode: str, repeats: int) -> dict[str, str]:
    limits = Limits()
    row: dict[str, str] = {}

    cold, fresh = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        sb = Sandbox(isolation=mode, limits=limits)
        assert sb.run("1+1").value == "2"
        cold.append(time.perf_counter() - start)
        sb.close()
        fresh.append(time.perf_counter() - start)
    row["cold start (to first result)"] = ms(cold)
    row["fresh kernel per problem (start, 1 cell, close)"] = ms(fresh)

    with SandboxPool(size=4, isolation=mode, limits=limits, max_starting=1) as pool:
        pool.wait_warm(timeout=300)
        acquire = []
        for _ in range(repeats * 4):
            pool.wait_warm(timeout=300)
            start = time.perf_counter()
            with pool.acquire() as sb:
                assert sb.run("1+1").value == "2"
                acquire.append(time.perf_counter() - start)
        row["pooled acquire + first `1+1` cell"] = ms(acquire)

        pool.wait_warm(timeout=300)
        with pool.acquire() as sb:
            cells = []
            for _ in range(300):
                start = time.perf_counter()
                sb.run("1+1")
                cells.append(time.perf_counter() - start)
            row["per-cell round trip, `1+1`"] = ms(cells)
            row["memory per idle kernel"] = memory_of(sb._kernel)

        integrate = []
        for _ in range(repeats):
            pool.wait_warm(timeout=300)
            with pool.acquire() as sb:
                start = time.perf_counter()
                result = sb.run(INTEGRATE)
                integrate.append(time.perf_counter() - start)
                assert result.ok, result
        row["first `sympy.integrate` cell"] = ms(integrate)

    for n in (1, 2, 4, 8):
        with SandboxPool(size=n, isolation=mode, limits=limits, max_starting=2) as pool:
            pool.wait_warm(timeout=600)
            row[f"cells/s, {n} concurrent session(s)"] = f"{asyncio.run(_throughput(pool, n)):.0f}"
    return row


async def _throughput(pool: SandboxPool, n: int, seconds: float = 3.0) -> float:
    sessions = [await pool.aacquire() for _ in range(n)]
    for sb in sessions:
        await sb.arun("0")
    count = 0
    stop = time.perf_counter() + seconds

    async def worker(sb) -> None:
        nonlocal count
        while time.perf_counter() < stop:
            await sb.arun("1+1")
            count += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(sb) for sb in sessions))
    elapsed = time.perf_counter() - start
    for sb in sessions:
        sb.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="none,jail", help="comma-separated isolation modes")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the slow measurements")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    modes = [m for m in args.modes.split(",") if m]
    rows = {m: bench_mode(m, args.repeats) for m in modes}
    names = list(next(iter(rows.values())))
    print(f"| measure (median) | {' | '.join(modes)} |")
    print(f"|---|{'---|' * len(modes)}")
    for name in names:
        print(f"| {name} | {' | '.join(rows[m][name] for m in modes)} |")
    print(f"\n{psutil.cpu_count()} cores, Python {sys.version.split()[0]}, repeats={args.repeats}")


if __name__ == "__main__":
    main()
