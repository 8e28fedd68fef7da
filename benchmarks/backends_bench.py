"""Backend throughput and memory: prompt and decode tokens/s, peak RSS, per backend and model.

Each (backend, model) pair runs in a fresh subprocess (so peak memory is its own, server and engine
processes included); inside it, every measurement is repeated and the median reported.

    .venv/bin/python benchmarks/backends_bench.py --models smollm2-135m qwen2.5-coder-0.5b \\
        --backends llamacpp transformers openai vllm --threads 2 --repeats 3 --out docs/backends_bench.md

Prompt tokens/s = prompt tokens / time of a 1-token generation; decode tokens/s = (completion tokens
- 1) / (time of a 128-token generation - time of the 1-token one).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

PASSAGE = (
    "A bakery sells muffins for 3 dollars each and cookies for 2 dollars each. On Monday it sold 45 muffins "
    "and twice as many cookies. On Tuesday it sold 10 fewer muffins than on Monday and 30 cookies. "
)


def _prompt(run: int) -> list[dict]:
    # A different first line each run, so that no engine can reuse a cached prompt prefix.
    text = f"Run {run}.\n" + PASSAGE * 12 + "Write a detailed, step by step explanation of the totals."
    return [{"role": "user", "content": text}]


def _worker(backend: str, model: str, threads: int, repeats: int, max_tokens: int) -> dict:
    from agent.backends import SamplingParams, load_backend

    server = None
    t0 = time.perf_counter()
    if backend == "openai":
        from agent.backends.llama_server import LlamaServer
        from agent.models import resolve_model

        server = LlamaServer(resolve_model(model).path, model, n_threads=threads)
        llm = load_backend(model, "openai", base_url=server.url, template_from=model)
    elif backend == "vllm":
        llm = load_backend(model, "vllm", max_model_len=4096)
    else:
        llm = load_backend(model, backend, n_threads=threads)
    load_s = time.perf_counter() - t0
    llm.generate(_prompt(0), params=SamplingParams(max_tokens=4))  # warm-up
    prefill, total, n_in, n_out = [], [], 0, 0
    for r in range(repeats):
        t = time.perf_counter()
        [c] = llm.generate(_prompt(2 * r + 1), params=SamplingParams(max_tokens=1))
        prefill.append(time.perf_counter() - t)
        n_in = c.prompt_tokens
        t = time.perf_counter()
        [c] = llm.generate(_prompt(2 * r + 2), params=SamplingParams(max_tokens=max_tokens))
        total.append(time.perf_counter() - t)
        n_out = c.completion_tokens
    llm.close()
    if server:
        server.close()
    p, tt = statistics.median(prefill), statistics.median(total)
    return {
        "load_s": round(load_s, 1),
        "prompt_tokens": n_in,
        "completion_tokens": n_out,
        "prompt_tok_s": round(n_in / p, 1),
        "decode_tok_s": round((n_out - 1) / max(tt - p, 1e-9), 1),
    }


def _tree_rss(pid: int) -> int:
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_one(backend: str, model: str, threads: int, repeats: int, max_tokens: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", backend, model, str(threads), str(repeats), str(max_tokens)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MATHAGENT_THREADS": str(threads)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, _ = proc.communicate()
    done.set()
    th.join()
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}"}
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_rss_gb"] = round(peak / 2**30, 2)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"])
    ap.add_argument("--backends", nargs="+", default=["llamacpp", "transformers", "openai", "vllm"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    lines = [
        f"threads={args.threads}, repeats={args.repeats} (median), {args.max_tokens}-token decode",
        "",
        "| backend | model | prompt tokens | prompt tok/s | decoded tokens | decode tok/s | load s | peak RSS GB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model in args.models:
        for backend in args.backends:
            r = run_one(backend, model, args.threads, args.repeats, args.max_tokens)
            if "error" in r:
                row = f"| {backend} | {model} | {r['error']} | | | | | |"
            else:
                row = (
                    f"| {backend} | {model} | {r['prompt_tokens']} | {r['prompt_tok_s']} | {r['completion_tokens']} "
                    f"| {r['decode_tok_s']} "
                    f"| {r['load_s']} | {r['peak_rss_gb']} |"
                )
            print(row, flush=True)
            lines.append(row)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        b, m, th, rep, mt = sys.argv[2:7]
        print(json.dumps(_worker(b, m, int(th), int(rep), int(mt))))
    else:
        main()
