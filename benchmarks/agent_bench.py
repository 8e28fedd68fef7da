"""Agent accuracy and time split on GSM8K: tir vs cot (vs pal), greedy, one model.

Runs ``mathagent eval`` for each mode into its own (resumable) folder, then prints one markdown table:
accuracy, share of problems in which code ran, median seconds per problem, and the share of wall time
spent in the model, in the sandbox and in everything else.

    .venv/bin/python benchmarks/agent_bench.py --model qwen2.5-coder-1.5b --limit 100 --modes tir cot \\
        --out runs/agent_bench
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(REPO.parent / "shared" / "data" / "gsm8k" / "test.jsonl"))
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--modes", nargs="+", default=["tir", "cot"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "agent_bench")
    args = ap.parse_args()
    rows = []
    for mode in args.modes:
        out = args.out / f"{Path(args.dataset).parent.name}-{args.model}-{mode}-{args.limit}"
        cmd = [
            sys.executable,
            "-m",
            "cli",
            "eval",
            args.dataset,
            "--limit",
            str(args.limit),
            "--model",
            args.model,
            "--mode",
            mode,
            "--out",
            str(out),
            "--concurrency",
            "1",
            "--threads",
            str(args.threads),
        ]
        subprocess.run(cmd, check=True, cwd=REPO)
        m = json.loads((out / "metrics.json").read_text())
        x = m["extra"]
        rows.append(
            f"| {mode} | {m['n_problems']} | {100 * m['overall']['accuracy']['value']:.1f} "
            f"| {100 * x['code_use']:.0f} % | {x['median_seconds']:.1f} | {x['tokens_per_sample']:.0f} "
            f"| {100 * x['model_time_share']:.1f} % | {100 * x['sandbox_time_share']:.1f} % "
            f"| {100 * x['other_time_share']:.2f} % |"
        )
    print(f"model {args.model}, greedy, {args.threads} threads, first {args.limit} problems of {args.dataset}\n")
    print("| mode | problems | accuracy % | code ran | median s/problem | tokens/problem | model | sandbox | other |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
