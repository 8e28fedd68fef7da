"""The sandbox service's overhead over a local pool, printed as a markdown table (medians of repeats).

    .venv/bin/python benchmarks/service_bench.py            # ~1 min on 2 cores

Starts `mathagent sandbox serve` (jail, pool of 4, no preload) on a loopback port and a local
SandboxPool with the same settings, then measures for each: acquire + first `1+1` cell, per-cell round
trip of `1+1`, and cells/s with 1, 4 and 16 concurrent sessions (async API). The service is stopped by
its pid at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from sandbox import RemoteSandboxPool, SandboxPool  # noqa: E402


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def acquire_first(pool, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        with pool.acquire(timeout=120) as sb:
            assert sb.run("1+1").value == "2"
            out.append(time.perf_counter() - t)
        time.sleep(0.8)  # let the pool refill
    return out


def round_trip(pool, repeats: int) -> list[float]:
    with pool.acquire(timeout=120) as sb:
        sb.run("1+1")
        out = []
        for _ in range(repeats):
            t = time.perf_counter()
            sb.run("1+1")
            out.append(time.perf_counter() - t)
    return out


def cells_per_second(pool, sessions: int, cells: int) -> float:
    async def one():
        sb = await pool.aacquire(timeout=120)
        try:
            for _ in range(cells):
                await sb.arun("1+1")
        finally:
            await asyncio.to_thread(sb.close)

    async def main():
        t = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(sessions)))
        return sessions * cells / (time.perf_counter() - t)

    return asyncio.run(main())


def measure(pool, repeats: int) -> dict[str, str]:
    rows = {
        "acquire + first `1+1` cell": ms(acquire_first(pool, repeats)),
        "per-cell round trip, `1+1`": ms(round_trip(pool, repeats * 10)),
    }
    for n in (1, 4, 16):
        rates = [cells_per_second(pool, n, 50) for _ in range(3)]
        rows[f"cells/s, {n} concurrent sessions"] = f"{statistics.median(rates):.0f}"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    with SandboxPool(size=4, isolation="jail", preload=()) as pool:
        pool.wait_warm(timeout=120)
        local = measure(pool, args.repeats)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "MATHAGENT_SANDBOX_TOKEN": token, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cli", "sandbox", "serve", "--port", str(port), "--pool-size", "4"]
    log = open(os.devnull, "w")  # noqa: SIM115
    server = subprocess.Popen(cmd + ["--config", "/dev/stdin"], stdin=subprocess.PIPE, stdout=log, stderr=log, env=env)
    server.stdin.write(b'{"preload": []}')
    server.stdin.close()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health", timeout=2).json().get("warm", 0) >= 4:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        with RemoteSandboxPool(url, token) as remote_pool:
            remote = measure(remote_pool, args.repeats)
    finally:
        server.terminate()
        server.wait(30)

    print(f"repeats={args.repeats} (medians), jail kernels, pool of 4, no preload\n")
    print("| measure | local SandboxPool | sandbox service (loopback HTTP) |")
    print("|---|---|---|")
    for key in local:
        print(f"| {key} | {local[key]} | {remote[key]} |")


if __name__ == "__main__":
    main()
