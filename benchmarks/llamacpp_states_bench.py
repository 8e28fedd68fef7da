"""llama.cpp with and without saved context states, on conversations that take turns (round-robin).

N GSM8K conversations of T turns each run on one llama.cpp engine in round-robin order, as a
collection at ``--concurrency N`` interleaves them: each turn appends the model's text and a fixed
interpreter output block, then generates again (greedy). Without saved states (``state_cache_mb=0``)
every turn re-processes the conversation's whole prompt (the single KV cache holds the previous
conversation); with them, it restores its own state and evaluates only the new tokens. One-at-a-time
order is the reference. Prints seconds per configuration (median of the repeats) and the tokens the
saved states spared.

    .venv/bin/python benchmarks/llamacpp_states_bench.py --model qwen2.5-coder-0.5b --conversations 4 --turns 4 \\
        --repeats 3 --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _questions(path: Path, n: int) -> list[str]:
    with path.open() as f:
        return [json.loads(line)["question"] for _, line in zip(range(n), f, strict=False)]


def run(backend, questions: list[str], turns: int, max_tokens: int, interleave: bool) -> float:
    from agent.backends import SamplingParams

    params = SamplingParams(max_tokens=max_tokens)
    system = {"role": "system", "content": "Solve the problem step by step with Python code blocks."}
    convs = [[system, {"role": "user", "content": q}] for q in questions]
    texts = [""] * len(questions)
    order = (
        [(c, t) for t in range(turns) for c in range(len(convs))]
        if interleave
        else [(c, t) for c in range(len(convs)) for t in range(turns)]
    )
    t0 = time.perf_counter()
    for c, t in order:
        out = backend.generate(convs[c], continuation=texts[c], params=params)[0].text
        texts[c] += out + f"\n```output\n{t + 1}\n```\n"
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--dataset", default=str(REPO.parent / "shared" / "data" / "gsm8k" / "test.jsonl"))
    ap.add_argument("--conversations", type=int, default=4)
    ap.add_argument("--turns", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    from agent.backends import load_backend

    questions = _questions(Path(args.dataset), args.conversations)
    rows = []
    for mb in (0, 1024):
        backend = load_backend(args.model, "llamacpp", n_threads=args.threads, state_cache_mb=mb)
        try:
            for interleave in (False, True):
                secs, spared = [], []
                for _ in range(args.repeats):
                    backend.states.clear()
                    before = backend.states.restored_tokens
                    secs.append(run(backend, questions, args.turns, args.max_tokens, interleave))
                    spared.append(backend.states.restored_tokens - before)
                rows.append((mb, interleave, statistics.median(secs), statistics.median(spared), secs))
        finally:
            backend.close()
    print(
        f"{args.model}, {args.conversations} conversations x {args.turns} turns, <= {args.max_tokens} tokens per turn "
        f"(greedy), {args.threads} thread(s); median of {args.repeats}\n"
    )
    print("| saved states | order | seconds | prompt tokens restored | runs (s) |")
    print("|---|---|---|---|---|")
    for mb, interleave, sec, spared, secs in rows:
        order = "round-robin" if interleave else "one at a time"
        runs = ", ".join(f"{s:.1f}" for s in secs)
        print(f"| {'on' if mb else 'off'} | {order} | {sec:.1f} | {spared:.0f} | {runs} |")


if __name__ == "__main__":
    main()
