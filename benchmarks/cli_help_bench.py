"""Start-up time of ``mathagent --help``: this checkout against an earlier revision, interleaved.

Each round runs ``python -m <entry> --help`` once in a clean worktree of ``--before`` (where the CLI
was ``agent/cli.py``: ``-m agent``) and once in this checkout (``-m cli``), in alternation, so that a
busy machine slows both alike; the medians and their ratio are printed as a markdown row.

    python benchmarks/cli_help_bench.py --before d2084aa --rounds 15
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _time_help(cwd: Path, entry: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", entry, "--help"], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or "Usage" not in proc.stdout:
        raise SystemExit(f"{cwd}: python -m {entry} --help failed:\n{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="d2084aa", help="Revision whose CLI is agent/cli.py (python -m agent).")
    ap.add_argument("--before-entry", default="agent", help="Module run with -m in the --before worktree.")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(old), args.before], cwd=ROOT, check=True)
        try:
            _time_help(old, args.before_entry), _time_help(ROOT, "cli")  # warm the file cache
            before, after = [], []
            for _ in range(args.rounds):
                before.append(_time_help(old, args.before_entry))
                after.append(_time_help(ROOT, "cli"))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    b, a = statistics.median(before), statistics.median(after)
    print("| revision | median s | min s |")
    print("|---|---|---|")
    print(f"| {args.before} (`python -m {args.before_entry} --help`) | {b:.3f} | {min(before):.3f} |")
    print(f"| this checkout (`python -m cli --help`) | {a:.3f} | {min(after):.3f} |")
    print(f"\nafter / before = {a / b:.2f} ({args.rounds} interleaved rounds)")


if __name__ == "__main__":
    main()
