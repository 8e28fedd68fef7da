"""Run browser benchmark: page size, build time, and load / filter / search / open times in headless Chromium.

The runs are real trajectories repeated to size: ToRA-70B's GSM8K outputs
(``/work/shared/data/trajectories_sample``, 300 problems with code and outputs, imported with
``training.data.tora``) copied under new problem ids up to N problems, k samples each (the last sample of
every problem answers ``0``, so vote classes and verdicts differ). For each size the page is built
(verdicts, today's grader's reasons, Jinja2) and opened in headless Chromium over the DevTools
protocol (:mod:`tests.headless`); times in the browser come from ``performance.now()``: *load* is from
navigation start to the table's first render (HTML parse, ``JSON.parse`` of the data, the first 100
rows), *filter* one column filter over every problem, *search* a text search (the first one builds the
lower-cased index), *open* one problem's trajectories. Medians of ``--repeats`` page loads.

Run (a minute or two; heavy: use the shared lock)::

    MATHAGENT_THREADS=1 OMP_NUM_THREADS=1 flock /tmp/mathagent-heavy.lock python benchmarks/view_bench.py
    python benchmarks/view_bench.py --sizes 500 --samples 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

__all__ = ["main", "make_run", "measure"]

TORA = Path("/work/shared/data/trajectories_sample/test_tora_-1_seed0_t0.0_s0_e1319.jsonl")


def make_run(folder: Path, problems: int, samples: int) -> Path:
    """Write a trajectories file of ``problems`` problems x ``samples`` samples made of the ToRA records."""
    from common.jsonl import write_jsonl
    from training.data.tora import tora_to_trajectory

    rows = [json.loads(line) for line in TORA.read_text().splitlines() if line.strip()]
    base = [tora_to_trajectory(r, source="gsm8k", index=i) for i, r in enumerate(rows)]
    out = []
    for n in range(problems):
        t = base[n % len(base)]
        pid = f"gsm8k/test/{n}"
        for k in range(samples):
            update: dict[str, Any] = {"problem_id": pid, "sample_index": k, "id": f"{pid}#{k}"}
            if samples > 1 and k == samples - 1:
                update.update(answer="0", correct=t.reference in ("0", None) and t.correct)
            out.append(t.model_copy(update=update))
    path = folder / f"run-{problems}x{samples}.jsonl"
    write_jsonl(path, out)
    return path


def measure(page: Path, repeats: int) -> dict[str, float]:
    """Median browser times (ms) of ``repeats`` loads of ``page``."""
    from tests.headless import Chromium

    keys = ("load_ms", "filter_ms", "search_first_ms", "search_again_ms", "open_ms", "wall_load_s")
    seen: dict[str, list[float]] = {k: [] for k in keys}
    with Chromium() as browser:
        for _ in range(repeats):
            t0 = time.perf_counter()
            browser.open(page)
            browser.wait_for("document.body.dataset.readyMs")
            seen["wall_load_s"].append(time.perf_counter() - t0)
            seen["load_ms"].append(float(browser.evaluate("Number(document.body.dataset.readyMs)")))
            timed = browser.evaluate(
                """(() => {
                  const v = window.mathagentView, t = [];
                  let t0 = performance.now(); v.state.filters.ok0 = "no"; v.render(); t.push(performance.now() - t0);
                  v.state.filters = {};
                  t0 = performance.now(); v.state.search = "apples"; v.render(); t.push(performance.now() - t0);
                  t0 = performance.now(); v.state.search = "train"; v.render(); t.push(performance.now() - t0);
                  v.state.search = "";
                  t0 = performance.now(); v.toggle(0); t.push(performance.now() - t0);
                  return t; })()"""
            )
            for k, v in zip(("filter_ms", "search_first_ms", "search_again_ms", "open_ms"), timed, strict=True):
                seen[k].append(float(v))
    return {k: statistics.median(v) for k, v in seen.items()}


def run_benchmark(sizes: list[int], samples: list[int], repeats: int) -> list[dict[str, Any]]:
    from eval.runs import load_run, run_verdicts
    from eval.view import write_view

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for k in samples:
                path = make_run(Path(tmp), n, k)
                t0 = time.perf_counter()
                run = load_run(path)
                t1 = time.perf_counter()
                verdicts = [run_verdicts(run)]
                t2 = time.perf_counter()
                page = write_view([run], Path(tmp) / f"view-{n}x{k}.html", verdicts=verdicts)
                t3 = time.perf_counter()
                row = {
                    "problems": n,
                    "samples": k,
                    "trajectories_mb": path.stat().st_size / 1e6,
                    "page_mb": page.stat().st_size / 1e6,
                    "read_s": t1 - t0,
                    "verdicts_s": t2 - t1,
                    "page_s": t3 - t2,
                }
                row.update(measure(page, repeats))
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def to_markdown(rows: list[dict[str, Any]]) -> str:
    head = "| problems x samples | trajectories (MB) | page (MB) | build: read + verdicts + page (s) | load (ms) "
    head += "| filter (ms) | search: first / again (ms) | open a problem (ms) |\n|---|---|---|---|---|---|---|---|"
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['problems']} x {r['samples']} | {r['trajectories_mb']:.1f} | {r['page_mb']:.1f} | "
            f"{r['read_s']:.1f} + {r['verdicts_s']:.1f} + {r['page_s']:.1f} | {r['load_ms']:.0f} | "
            f"{r['filter_ms']:.0f} | "
            f"{r['search_first_ms']:.0f} / {r['search_again_ms']:.0f} | {r['open_ms']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(to_markdown(run_benchmark(args.sizes, args.samples, args.repeats)))


if __name__ == "__main__":
    main()
