"""Math-Critique re-ranking on GSM8K: maj@k vs rerank@k (and weighted maj@k) vs pass@k, and how well the
critic's score agrees with the grader.

Runs ``mathagent eval`` with ``--samples k`` and a critic that scores every answered sample
(reference-free, as at inference), then prints markdown tables from the run's ``metrics.json``. The
run folder is named after the settings and is resumable: started again with the same arguments, it
skips the problems already done (a killed run loses at most the problems in flight), then rewrites the
report. ``--report-only`` prints the tables of an existing folder without running anything; on a run
that has not finished it reports the problems finished so far (marked partial, nothing written).

The measurement of issue 6 (50 GSM8K test problems, qwen2.5-coder-1.5b solving and judging, 4 samples):

    .venv/bin/python benchmarks/critic_bench.py --limit 50 --samples 4 --model qwen2.5-coder-1.5b \\
        --critic-model qwen2.5-coder-1.5b --threads 2 --out runs/critic_bench
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run_dir(args: argparse.Namespace) -> Path:
    data = Path(args.dataset).parent.name or Path(args.dataset).stem
    critic = args.critic_model or args.model
    name = f"{data}-{args.model}-{args.mode}-n{args.limit}-k{args.samples}-critic-{critic}-t{args.temperature}"
    return args.out / name.replace("/", "_")


def pct(m: dict | None) -> str:
    return "" if m is None else f"{100 * m['value']:.1f}"


def ci(m: dict | None) -> str:
    if m is None or m.get("ci_low") is None:
        return ""
    return f"[{100 * m['ci_low']:.1f}, {100 * m['ci_high']:.1f}]"


def tables(metrics: dict, args: argparse.Namespace, seconds: float | None) -> str:
    from eval.agreement import CriticAgreement, agreement_markdown

    o, x = metrics["overall"], metrics.get("extra", {})
    critic = args.critic_model or args.model
    lines = [
        f"{metrics['n_problems']} problems of {args.dataset}, model {args.model} ({args.mode}, temperature "
        f"{args.temperature}, {args.threads} thread(s)), {args.samples} samples each; critic {critic} "
        f"(reference-free, max {args.critic_max_tokens} tokens); rerank@k keeps the {args.top_clusters} largest "
        "answer clusters and takes the one with the best mean critic score (Liu et al. 2023).",
        "",
        "| k | pass@k (%) | maj@k (%) | weighted maj@k (%) | rerank@k (%) |",
        "|---|---|---|---|---|",
    ]
    for k in metrics["ks"]:
        lines.append(
            f"| {k} | {pct(o.get(f'pass@{k}'))} | {pct(o.get(f'maj@{k}'))} | {pct(o.get(f'weighted_maj@{k}'))} "
            f"| {pct(o.get(f'rerank@{k}'))} |"
        )
    k = max(metrics["ks"]) if metrics["ks"] else None
    if k:
        lines += [
            "",
            f"95% bootstrap intervals at k={k}: pass {ci(o.get(f'pass@{k}'))}, maj {ci(o.get(f'maj@{k}'))}, "
            f"rerank {ci(o.get(f'rerank@{k}'))}, weighted maj {ci(o.get(f'weighted_maj@{k}'))}.",
        ]
    if x:
        lines += [
            "",
            f"Samples: code ran in {100 * x['code_use']:.0f} %, no answer in {100 * x['no_answer']:.0f} %, "
            f"median {x['median_seconds']:.1f} s per sample (generation only)"
            + (f"; this invocation took {seconds / 60:.1f} min (generation + critiques)." if seconds else "."),
        ]
    if metrics.get("critic_agreement"):
        lines += ["", agreement_markdown(CriticAgreement.model_validate(metrics["critic_agreement"]))]
    return "\n".join(lines)


def partial_metrics(out: Path, samples: int, top_clusters: int) -> dict:
    """The metrics of the problems an unfinished run has finished (all ``samples`` written), in memory."""
    from agent.eval_run import TRAJECTORIES
    from eval.summary import finished_trajectories, summarize
    from eval.trajectory import read_trajectories

    done = finished_trajectories(read_trajectories(out / TRAJECTORIES), samples)
    if not done:
        sys.exit(f"no finished problem in {out} yet")
    _, metrics, extra, agreement = summarize(done, {}, top_clusters=top_clusters)
    data = metrics.model_dump(mode="json") | {"extra": extra}
    if agreement is not None:
        data["critic_agreement"] = agreement.model_dump(mode="json")
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=str(REPO.parent / "shared" / "data" / "gsm8k" / "test.jsonl"))
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--critic-model", default=None, help="Default: the --model itself (one model loaded).")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--mode", default="tir")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top-clusters", type=int, default=2)
    ap.add_argument("--critic-max-tokens", type=int, default=384)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=2, help="Problems in flight (overlaps code with generation).")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "critic_bench")
    ap.add_argument("--report-only", action="store_true", help="Print the tables of an existing run folder.")
    args = ap.parse_args()
    out = run_dir(args)
    seconds = None
    if not args.report_only:
        cmd = [
            sys.executable, "-m", "cli", "eval", args.dataset, "--limit", str(args.limit), "--samples",
            str(args.samples), "--model", args.model, "--mode", args.mode, "--temperature", str(args.temperature),
            "--seed", str(args.seed), "--rerank", "cluster", "--critic-model", args.critic_model or args.model,
            "--critic-max-tokens", str(args.critic_max_tokens), "--top-clusters", str(args.top_clusters),
            "--threads", str(args.threads), "--concurrency", str(args.concurrency), "--out", str(out),
        ]  # fmt: skip
        print("$", " ".join(cmd), file=sys.stderr)
        t0 = time.monotonic()
        subprocess.run(cmd, check=True, cwd=REPO)
        seconds = time.monotonic() - t0
    metrics_file = out / "metrics.json"
    if metrics_file.is_file():
        metrics = json.loads(metrics_file.read_text())
    elif (out / "run.json").is_file():
        metrics = partial_metrics(out, args.samples, args.top_clusters)
        print(f"PARTIAL: {metrics['n_problems']} of {args.limit} problems finished so far\n")
    else:
        sys.exit(f"no run in {out}: run without --report-only first")
    print(tables(metrics, args, seconds))
    print(f"\nrun folder: {out}")


if __name__ == "__main__":
    main()
