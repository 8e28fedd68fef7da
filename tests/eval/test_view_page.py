"""The run browser page without a browser: self-contained, safe to embed, the data it carries."""

from __future__ import annotations

import json
import re

from eval.runs.load import run_from_trajectories
from eval.trajectory import Critique, Step, Trajectory
from eval.view import build_payload, render_view
from eval.view.page import page_json


def _run(name: str = "r", answers: tuple[str | None, ...] = ("4", "4", "5")):
    trajs = []
    for i, a in enumerate(answers):
        trajs.append(
            Trajectory(
                problem_id="gsm8k/test/1",
                sample_index=i,
                question="What is 2+2? </script><!-- <b>",
                reference="4",
                model="m",
                answer=a,
                correct=None if a is None else a == "4",
                status="answered",
                tool_calls=2,
                code_errors=1,
                steps=[
                    Step(kind="text", content="Let me compute."),
                    Step(kind="code", content="x = 1/0"),
                    Step(
                        kind="output",
                        content="ZeroDivisionError: division by zero",
                        exit_status="error",
                        error="ZeroDivisionError",
                    ),  # fmt: skip
                    Step(kind="code", content="print(2 + 2)  # sum"),
                    Step(kind="output", content="4", exit_status="ok"),
                    Step(kind="text", content=f"\\boxed{{{a}}}"),
                ],
                critique=Critique(score=8 if a == "4" else 3, text="Looks right.", model="critic"),
            )
        )
    return run_from_trajectories(trajs, name=name)


def test_page_is_self_contained_and_data_is_safe() -> None:
    html = render_view([_run()], reasons=False)
    assert html.startswith("<!doctype html>")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # nothing fetched: no external scripts, styles, images or links
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    # the data cannot close its script element or open a comment
    data = html.split('<script type="application/json" id="data">', 1)[1].split("</script>", 1)[0]
    assert "</" not in data and "<!--" not in data
    payload = json.loads(data)
    assert payload["problems"][0]["q"] == "What is 2+2? </script><!-- <b>"
    assert html.count("<script") == 2  # the data and the page's own script


def test_payload_carries_votes_steps_errors_and_critiques() -> None:
    data = build_payload([_run()], policy="gsm8k")
    p = data["problems"][0]
    r = p["r"][0]
    assert (r["ok"], r["a"], r["c"], r["n"], r["cc"], r["ce"]) == (True, "4", 2, 3, 6, 3)
    assert r["v"] == [["4", 2, True, 8.0], ["5", 1, False, 3.0]]
    t0 = r["t"][0]
    kinds = [s[0] for s in t0["st"]]
    assert kinds == ["x", "c", "o", "c", "o", "x"]
    err = t0["st"][2]
    assert err[2] == "error" and err[3] == "ZeroDivisionError"
    assert t0["st"][3][1] == "print(2 + 2)  # sum"  # raw: the page highlights it when opened
    assert t0["cs"] == 8 and t0["ct"] == "Looks right." and t0["cm"] == "critic"
    assert t0["o"] == "correct" and t0["now"] == "correct" and "policy gsm8k" in t0["why"]
    wrong = r["t"][2]
    assert wrong["o"] == "wrong" and wrong["why"]  # the grader says why 5 is not 4
    assert data["runs"][0]["accuracy"] == 1.0


def test_two_runs_side_by_side_hold_both_verdicts() -> None:
    a, b = _run("a", ("5", "5", "4")), _run("b", ("4", "4", "4"))
    extra = Trajectory(problem_id="gsm8k/test/2", question="q", reference="1", model="m", answer="1", correct=True)
    b.problems["gsm8k/test/2"] = run_from_trajectories([extra]).problems["gsm8k/test/2"]
    data = build_payload([a, b], reasons=False)
    assert [p["id"] for p in data["problems"]] == ["gsm8k/test/1", "gsm8k/test/2"]
    first, second = data["problems"]
    assert (first["r"][0]["ok"], first["r"][1]["ok"]) == (False, True)
    assert second["r"][0] is None and second["r"][1]["ok"] is True


def test_an_old_output_without_exit_status_is_marked_by_its_traceback() -> None:
    t = Trajectory(
        problem_id="p/1",
        question="q",
        model="m",
        steps=[Step(kind="output", content="Traceback (most recent call last):\n  ...\nNameError: x")],
    )
    data = build_payload([run_from_trajectories([t])], reasons=False)
    assert data["problems"][0]["r"][0]["t"][0]["st"][0][2] == "error"


def test_data_json_cannot_close_its_script() -> None:
    assert page_json({"a": "</b>", "b": "<!--"}) == '{"a":"<\\/b>","b":"<\\u0021--"}'
