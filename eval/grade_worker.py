"""The grader's worker process: answers slow (symbolic) comparisons sent by :mod:`eval.grade_pool`.

Run by the pool as ``python -c "from eval.grade_worker import serve; serve(MEMORY_MB)"``: one JSON request
per stdin line, one JSON reply per stdout line. Its memory is capped; the pool kills it past a deadline.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from .symbolic import slow_compare, warm_up

__all__ = ["serve"]


def serve(memory_mb: str) -> None:  # pragma: no cover - runs in the child
    """Entry point of a worker process: answer requests until stdin closes."""
    import resource

    limit = int(memory_mb) * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything printed by libraries goes to stderr, not into the protocol
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    warm_up()  # import math-verify, sympy and the parser's tables before saying ready
    out.write(b'{"ready": true}\n')
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            reply = slow_compare(req["pred"], req["gold"], req.get("opts") or {})
        except MemoryError:
            reply = {"equal": False, "method": "error", "reason": "the comparison ran out of memory"}
        except Exception as exc:  # noqa: BLE001 - the grader fails closed, the reply says why
            reply = {"equal": False, "method": "error", "reason": f"{type(exc).__name__}: {exc}"[:300]}
        out.write(json.dumps(reply).encode() + b"\n")
