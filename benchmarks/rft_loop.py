"""The learning loop, measured: one RFT round on GSM8K train samples, accuracy on held-out test before and after.

Runs the Self-Critique pipeline (``training.pipeline``) with DPO off: the policy samples K trajectories
per training problem (llama.cpp on the GGUF by default), optionally a self-critique scores them, RFT
keeps the correct (critic-accepted) de-duplicated ones and fine-tunes a LoRA adapter (merged), then the
starting and the trained model answer the same held-out test problems greedily on the same backend.
Every stage is resumable: run the same command again after an interruption (Ctrl-C or a kill). Prints a
markdown table (also written to WORKDIR/results.md) with each stage's time, summed over the runs it took.

The demonstration (hours on a 2-core CPU; see docs/benchmarks.md):

    .venv/bin/python benchmarks/rft_loop.py --model qwen2.5-coder-0.5b --train 200 --samples 4 --test 100 \\
        --threads 2 --workdir runs/rft_loop

A tiny check of the script end to end (minutes; SmolLM2 solves no GSM8K problem, so easy sums instead):

    .venv/bin/python benchmarks/rft_loop.py --model smollm2-135m --train 5 --samples 2 --test 5 --threads 1 \\
        --train-data configs/train/tiny_problems.jsonl --test-data configs/train/tiny_problems.jsonl \\
        --max-tokens 128 --workdir runs/rft_loop_tiny
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_config(args):
    from training.pipeline_config import PipelineConfig

    select = {"min_score": 7 if args.critic else None, "max_per_problem": args.per_problem}
    return PipelineConfig.model_validate(
        {
            "workdir": str(args.workdir),
            "model": args.model,
            "threads": args.threads,
            "few_shot": args.few_shot,
            "problems": {
                "dataset": args.train_data,
                "split": "train" if args.train_data == "gsm8k" else None,
                "limit": args.train,
            },
            "collect": {
                "samples": args.samples,
                "temperature": 0.7,
                "backend": args.collect_backend,
                "backend_options": {"enforce_eager": True} if args.collect_backend == "vllm" else {},
                "max_tokens": args.max_tokens,
                "concurrency": args.collect_concurrency,
            },
            "critique": {"enabled": args.critic, "with_reference": True},
            "rft": {
                "select": select,
                "lora": {"enabled": True, "r": 16, "alpha": 32, "merge": True},
                "train": {
                    "epochs": args.epochs,
                    "batch_size": 1,
                    "grad_accum": args.grad_accum,
                    "learning_rate": args.lr,
                    "lr_scheduler": "constant",
                    "max_length": 2048,
                    "logging_steps": 1,
                    "save_steps": 20,
                },
            },
            "dpo": {"enabled": False},
            "eval": {
                "problems": {
                    "dataset": args.test_data,
                    "split": "test" if args.test_data == "gsm8k" else None,
                    "limit": args.test,
                },
                "backend": args.eval_backend,
                "backend_options": {"enforce_eager": True} if args.eval_backend == "vllm" else {},
                "baseline": True,
                "max_tokens": args.max_tokens,
                "concurrency": args.concurrency,
            },
        }
    )


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def render(summary: dict, args, wall: float) -> str:
    st = summary["stages"]
    col, rft, ev = st.get("collect", {}), st.get("rft", {}), st.get("eval", {})
    base, final = ev.get("baseline", {}), ev.get("final", {})

    def secs(d: dict) -> str:
        runs = d.get("runs") or 1
        return f"{d.get('seconds')}" + (f" ({runs} runs)" if runs > 1 else "")

    def ci(m: dict) -> str:
        lo, hi = (m.get("ci") or [None, None])[:2]
        return f"{_pct(m.get('accuracy'))} [{_pct(lo)}, {_pct(hi)}]" if lo is not None else _pct(m.get("accuracy"))

    lines = [
        f"model {args.model}, {args.train} {args.train_data} train problems x {args.samples} samples (T=0.7, "
        f"{args.collect_backend}, concurrency {args.collect_concurrency}), "
        f"RFT LoRA r=16 {args.epochs} epoch(s), {args.test} {args.test_data} test problems "
        "greedy "
        f"({args.eval_backend}), few-shot {'on' if args.few_shot else 'off'}, "
        f"critic {'on' if args.critic else 'off'}, {args.threads} thread(s)",
        "",
        "| stage | what | seconds |",
        "|---|---|---|",
        f"| collect | {col.get('trajectories')} trajectories, sample accuracy {_pct(col.get('accuracy'))} %, "
        f"code in {col.get('with_code')} | {secs(col)} |",
        f"| critique | {'scored ' + str(st.get('critique', {}).get('scored')) if args.critic else 'off'} "
        f"| {secs(st.get('critique', {}))} |",
        f"| rft | {rft.get('examples')} examples kept (dropped {json.dumps(rft.get('dropped', {}))}), "
        f"{rft.get('steps')} steps, loss {rft.get('first_loss') or 0:.3f} -> {rft.get('last_loss') or 0:.3f} "
        f"| {secs(rft)} |",
        f"| eval | before and after, {args.test} problems each | {secs(ev)} |",
        "",
        "| model | accuracy % [95% CI] | code ran | no answer |",
        "|---|---|---|---|",
        f"| before ({args.model}) | {ci(base)} | {_pct(base.get('code_use'))} % | {_pct(base.get('no_answer'))} % |",
        f"| after (RFT) | {ci(final)} | {_pct(final.get('code_use'))} % | {_pct(final.get('no_answer'))} % |",
        "",
        f"total wall time of this run: {wall:.0f} s",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--train", type=int, default=200, help="GSM8K train problems sampled")
    ap.add_argument("--samples", type=int, default=4, help="samples per training problem")
    ap.add_argument("--test", type=int, default=100, help="GSM8K test problems evaluated before and after")
    ap.add_argument("--train-data", default="gsm8k", help="gsm8k (train split) or a JSONL file of problems")
    ap.add_argument("--test-data", default="gsm8k", help="gsm8k (test split) or a JSONL file of problems")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=4, help="trajectories in flight (collect and eval)")
    ap.add_argument(
        "--collect-concurrency",
        type=int,
        default=None,
        help="override for the collect stage; 1 suits llama.cpp (one sequence, so interleaved multi-turn "
        "trajectories re-process their prompts), 4-8 suits vLLM",
    )
    ap.add_argument("--max-tokens", type=int, default=768)
    ap.add_argument("--collect-backend", default="auto", help="auto (llama.cpp for GGUF) | vllm | transformers")
    ap.add_argument("--eval-backend", default="transformers", help="transformers | vllm (same for both models)")
    ap.add_argument("--critic", action=argparse.BooleanOptionalAction, default=False, help="self-critique filter")
    ap.add_argument("--few-shot", action=argparse.BooleanOptionalAction, default=False)
    ap.add_argument("--per-problem", type=int, default=2, help="RFT examples kept per problem")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--grad-accum", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--workdir", type=Path, default=REPO / "runs" / "rft_loop")
    args = ap.parse_args()
    args.collect_concurrency = args.collect_concurrency or args.concurrency
    os.environ.setdefault("MATHAGENT_THREADS", str(args.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from training.pipeline import run_pipeline

    def on_event(stage: str, event: str, info: dict) -> None:
        if event in ("start", "skip", "done"):
            logging.getLogger("rft_loop").info("%s: %s %s", stage, event, json.dumps(info, default=str)[:400])

    t0 = time.perf_counter()
    from agent.interrupts import sigterm_as_interrupt

    with sigterm_as_interrupt():  # `kill PID` stops it like Ctrl-C: the stage records it and resumes later
        summary = run_pipeline(build_config(args), on_event=on_event)
    text = render(summary, args, time.perf_counter() - t0)
    (args.workdir / "results.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
