"""A collection job for the signal tests, run as its own process: ``python -m tests.training.signal_job OUT``.

A scripted model that takes 0.5 s per call (sleeping, so the machine stays free) answers 20 problems, two
samples each, one problem at a time; the job runs the way ``mathagent`` runs one (SIGTERM as Ctrl-C).
Prints ``progress N`` after each problem written and exits with 130/143 when interrupted.
"""

from __future__ import annotations

import sys
import time

from agent.interrupts import exit_code, sigterm_as_interrupt
from training.collect import run_collection

from .collect_helpers import Adder, options, problems, solver_factory, spec

PROBLEMS = 20


class SlowAdder(Adder):
    def _complete(self, prompt, params, stream):
        time.sleep(0.5)
        return super()._complete(prompt, params, stream)


def main(out: str) -> None:
    sp, op = spec(), options(concurrency=2)
    try:
        with sigterm_as_interrupt():
            run_collection(
                sp, out, op, solver_factory=solver_factory(sp, op, backend=SlowAdder()), problems=problems(PROBLEMS),
                on_progress=lambda p: print("progress", p.problems_done, flush=True),
            )  # fmt: skip
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(exit_code())


if __name__ == "__main__":
    main(sys.argv[1])
