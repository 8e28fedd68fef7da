"""Collection throughput: trajectories per minute at concurrency 1 and 4, per model and backend, and the ratio.

Each (model, backend) pair runs in its own process (one engine in memory at a time): the model loads
once, then for every repeat the collection job (``training.collect.run_collection``, real jailed
kernels, tool-integrated reasoning on the first GSM8K test problems) runs at each concurrency into a
fresh folder. The kernel pool is warmed before the clock starts, so the numbers are steady-state
throughput, without model loading. Every engine runs on one thread (``MATHAGENT_THREADS=1``; vLLM with
``VLLM_CPU_OMP_THREADS_BIND=nobind`` and ``OMP_NUM_THREADS=1``, float32 weights: on a CPU without bf16
matrix units, bf16 is emulated and a batch of 4 costs 4 single steps). Prints a markdown table of
medians, with the machine's load average during the runs (the machine is shared).

    .venv/bin/python benchmarks/collect_bench.py --models smollm2-135m qwen2.5-coder-0.5b \\
        --backends llamacpp vllm --problems 3 --samples 2 --repeats 3 --max-tokens 160

A backend named ``vllm-batch`` is vLLM without continuous batching (each scheduler batch is one
``generate`` call that waits for its slowest request), for comparison; ``llamacpp-nostate`` is
llama.cpp without its saved context states (``state_cache_mb=0``: interleaved trajectories re-process
their prompt at every turn).

    .venv/bin/python benchmarks/collect_bench.py --models qwen2.5-coder-0.5b --backends llamacpp-nostate llamacpp \\
        --problems 3 --samples 2 --repeats 3 --max-tokens 768 --max-tool-calls 6
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _worker(model: str, backend: str, args: argparse.Namespace) -> list[dict]:
    from agent.agent import Agent
    from agent.backends import load_backend
    from agent.backends.retry import RetryingBackend
    from training.collect import CollectOptions, CollectSpec, read_collection, run_collection
    from training.collect.worker import ProblemSolver

    engine = backend.split("-")[0]  # llamacpp-nostate and vllm-batch are ablations of their engine
    options = (
        {"n_threads": 1, **({"state_cache_mb": 0} if backend.endswith("-nostate") else {})}
        if engine == "llamacpp"
        else {"enforce_eager": True, "max_model_len": 4096, "dtype": args.vllm_dtype}
    )
    t0 = time.perf_counter()
    inner = load_backend(model, engine, **options)
    load_s = time.perf_counter() - t0
    if backend.endswith("-batch"):  # ablation: whole batches per call, no continuous batching
        inner.continuous = False
    llm = RetryingBackend(inner)
    spec = CollectSpec(
        dataset=args.dataset,
        model=model,
        backend=engine,
        samples=args.samples,
        agent={
            "mode": "tir",
            "max_tokens": args.max_tokens,
            "max_tool_calls": args.max_tool_calls,
            "temperature": 0.7,
            "seed": 0,
        },
    )
    rows = []
    try:
        for r in range(args.repeats):
            order = args.concurrency if r % 2 == 0 else list(reversed(args.concurrency))  # spread load drift
            for c in order:
                opts = CollectOptions(limit=args.problems, concurrency=c, manifest_every=600)
                agent = Agent(llm=llm, config=spec.agent_config(), pool_size=c)
                agent._sandbox_pool().wait_warm(timeout=300)
                if engine == "llamacpp":
                    inner.states.clear()  # no saved state from an earlier run: each run starts cold
                solver = ProblemSolver(spec, opts, agent)
                with tempfile.TemporaryDirectory() as out:
                    load0 = os.getloadavg()[0]
                    t0 = time.perf_counter()
                    run_collection(spec, out, opts, solver_factory=lambda s=solver: s)
                    dt = time.perf_counter() - t0
                    trajs = list(read_collection(out))
                rows.append(
                    {
                        "model": model,
                        "backend": backend,
                        "concurrency": c,
                        "repeat": r,
                        "seconds": dt,
                        "trajectories": len(trajs),
                        "tokens": sum(t.completion_tokens for t in trajs),
                        "cells": sum(t.tool_calls for t in trajs),
                        "load": (load0 + os.getloadavg()[0]) / 2,
                        "load_s": load_s,
                    }
                )
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        inner.close()
    return rows


def run_one(model: str, backend: str, args: argparse.Namespace) -> list[dict]:
    cmd = [sys.executable, __file__, "--worker", model, backend, *sys.argv[1:]]
    env = {
        **os.environ,
        "MATHAGENT_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "VLLM_CPU_OMP_THREADS_BIND": "nobind",
        "PYTHONPATH": str(REPO),
    }
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    if res.returncode != 0:
        raise SystemExit(f"{model} on {backend} failed")
    return json.loads(res.stdout.strip().splitlines()[-1])


def table(rows: list[dict], args: argparse.Namespace) -> str:
    lines = [
        f"{args.problems} GSM8K problems x {args.samples} samples = {args.problems * args.samples} trajectories per "
        f"run, tir, <= {args.max_tokens} tokens, <= {args.max_tool_calls} code calls, temperature 0.7, seed 0; "
        f"{args.repeats} repeats (median); "
        f"1 thread per engine, vLLM dtype {args.vllm_dtype}",
        "",
        "| model | backend | concurrency | trajectories/min | tokens/min | code cells/run | s/run | ratio vs 1 "
        "| load avg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    pairs = sorted({(r["model"], r["backend"]) for r in rows}, key=lambda x: (x[0], x[1]))
    for model, backend in pairs:
        base = None
        for c in args.concurrency:
            rs = [r for r in rows if r["model"] == model and r["backend"] == backend and r["concurrency"] == c]
            tpm = statistics.median(r["trajectories"] / r["seconds"] * 60 for r in rs)
            tok = statistics.median(r["tokens"] / r["seconds"] * 60 for r in rs)
            base = base or tpm
            cells = statistics.median(r["cells"] for r in rs)
            secs = statistics.median(r["seconds"] for r in rs)
            load = statistics.median(r["load"] for r in rs)
            lines.append(
                f"| {model} | {backend} | {c} | {tpm:.2f} | {tok:.0f} | {cells:.0f} | {secs:.0f} | {tpm / base:.2f}x "
                f"| {load:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["smollm2-135m", "qwen2.5-coder-0.5b"])
    ap.add_argument("--backends", nargs="+", default=["llamacpp", "vllm"])
    ap.add_argument("--dataset", default=str(REPO.parent / "shared" / "data" / "gsm8k" / "test.jsonl"))
    ap.add_argument("--problems", type=int, default=4)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=192)
    ap.add_argument("--max-tool-calls", type=int, default=2)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--vllm-dtype", default="float32", help="float32: this CPU has no bf16 matmul (AVX2 only)")
    ap.add_argument("--worker", nargs=2, metavar=("MODEL", "BACKEND"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(_worker(*args.worker, args)))
        return
    rows = []
    for model in args.models:
        for backend in args.backends:
            rows.extend(run_one(model, backend, args))
            print(f"done: {model} {backend}", file=sys.stderr, flush=True)
    print(table(rows, args))
    print("\n```json\n" + json.dumps(rows) + "\n```")


if __name__ == "__main__":
    main()
