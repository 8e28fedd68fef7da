"""The critic's prompts, score parsing and control flow, on scripted critic outputs.

The real-model path is in test_critic_e2e.py.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agent.backends.base import Completion
from agent.critic import Critic, CriticConfig
from agent.critic_io import load_critic_prompt, parse_score, render_solution
from agent.errors import MathAgentError
from agent.verifier import CriticVerifier, Verifier, critique_value, normalise_score
from eval.trajectory import Critique, Step, Trajectory
from tests.fixtures.fakes import ScriptedBackend


def traj(answer: str | None = "18", text: str | None = None, **kw) -> Trajectory:
    code = "```python\nprint((16 - 3 - 4) * 2)\n```\n```output\n18\n```\n"
    body = text if text is not None else f"{code}\\boxed{{{answer}}}"
    return Trajectory(problem_id="p", question="Janet's ducks lay 16 eggs...", model="m", text=body, answer=answer,
                      **kw)


# ------------------------------------------------------------------------------------ score parsing

PARSED = [
    ("The code is right.\nScore: 9", 9),
    ("**Score:** 8/10", 8),
    ("Final score = [7]", 7),
    ("Score (1-10): 6", 6),
    ("Rating: 5 out of 10", 5),
    ("[[3]]", 3),
    ("4", 4),
    ("  10/10 ", 10),
    ("I would give it a score of 2.", 2),
    ("I rate it 6/10.", 6),
    ("Score: 8.0", 8),
    ("Score: 7\nScore: 7", 7),  # repeated, not conflicting
    ("Scores go 1-10.\nScore: 1-10 scale. The probability 3/10 is right.\nScore: 9", 9),  # scale echoes skipped
    ("I'd say 6/10 overall.\nScore: 4", 4),  # a labelled score outranks a loose mention
]

UNPARSED = [
    ("The solution looks fine.", "no score found"),
    ("", "no score found"),
    ("Score: N", "no score found"),
    ("Score: 0", "score 0 is out of range 1-10"),
    ("Score: 11", "score 11 is out of range 1-10"),
    ("Score: -3", "score -3 is out of range 1-10"),
    ("Score: 7.5", "score 7.5 is not a whole number from 1 to 10"),
    ("Score: 85/100", "score 85/100 is not on the 1-10 scale"),
    ("Score: 7\nOn second thought, Score: 3", "conflicting scores: 7, 3"),
    ("[[2]] ... [[9]]", "conflicting scores: 2, 9"),
    ("Half right: 4/10 for method and 6/10 for the result.", "conflicting scores: 4, 6"),
]


@pytest.mark.parametrize(("text", "score"), PARSED)
def test_parse_score(text: str, score: int) -> None:
    got = parse_score(text)
    assert (got.score, got.error) == (score, None)


@pytest.mark.parametrize(("text", "error"), UNPARSED)
def test_unparsed_scores_say_why(text: str, error: str) -> None:
    got = parse_score(text)
    assert got.score is None and got.error == error
    assert got.missing == (error == "no score found")


# ------------------------------------------------------------------------------------------ prompts


def test_builtin_prompts_and_reference_choice() -> None:
    critic = Critic(llm=ScriptedBackend([]))
    assert critic.prompt_for(None).name == "critic"
    assert critic.prompt_for("  ").name == "critic"
    assert critic.prompt_for("\\frac{1}{2}").name == "critic_reference"
    worked = "She sells 16 - 3 - 4 = 9 eggs a day.\nShe makes 9 * 2 = 18 dollars."
    assert critic.prompt_for(worked).name == "critic_worked"
    forced = Critic(llm=ScriptedBackend([]), config=CriticConfig(reference_kind="answer"))
    assert forced.prompt_for(worked).name == "critic_reference"
    for name in ("critic", "critic_reference", "critic_worked"):
        p = load_critic_prompt(name)
        assert p.id.startswith(f"{name}@") and "Score: N" in p.system


def test_messages_fill_placeholders_once() -> None:
    critic = Critic(llm=ScriptedBackend([]))
    t = traj(answer="18")
    t.question = "What is {solution}? Use {reference}."  # placeholders in user text are not re-expanded
    free = critic.messages(t)
    assert [m["role"] for m in free] == ["system", "user"]
    user = free[-1]["content"]
    assert "What is {solution}? Use {reference}." in user
    assert "```output\n18\n```" in user and "Final answer of the solution: 18" in user
    assert "Reference" not in user
    with_ref = critic.messages(t, "18")[-1]["content"]
    assert "Reference answer: 18" in with_ref
    none = critic.messages(traj(answer=None, text="I am not sure."))[-1]["content"]
    assert "Final answer of the solution: (none)" in none


def test_bad_prompt_files(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nreference: answer\nuser: 'grade {solution}'\n")
    with pytest.raises(MathAgentError, match="no \\{reference\\}"):
        load_critic_prompt(str(bad))
    with pytest.raises(MathAgentError, match="no critic prompt 'nope'"):
        Critic(llm=ScriptedBackend([]), prompt="nope")
    needs_ref = Critic(llm=ScriptedBackend([]), prompt="critic_reference")
    with pytest.raises(MathAgentError, match="needs a reference"):
        needs_ref.critique(traj())


def test_render_solution_cuts_the_middle_and_falls_back_to_steps() -> None:
    long = traj(text="A" * 5000 + "MIDDLE" + "Z" * 5000)
    out = render_solution(long, max_chars=600)
    assert out.startswith("A" * 400) and out.endswith("Z" * 200) and "MIDDLE" not in out
    assert "characters cut" in out
    from_steps = Trajectory(problem_id="p", question="q", model="m", steps=[
        Step(kind="text", content="Compute.\n"), Step(kind="code", content="print(2)"),
        Step(kind="output", content="2\n"), Step(kind="text", content="\\boxed{2}"),
    ])
    assert render_solution(from_steps) == "Compute.\n\n```python\nprint(2)\n```\n\n```output\n2\n```\n\\boxed{2}"
    assert render_solution(traj(text="")) == "(the solution is empty)"


# ------------------------------------------------------------------------------ critic control flow


def test_critique_records_score_text_model_and_prompt() -> None:
    backend = ScriptedBackend(["The code subtracts and doubles correctly.\nScore: 9"])
    crit = Critic(llm=backend).critique(traj())
    assert crit.score == 9 and crit.parse_error is None
    assert crit.text.startswith("The code subtracts") and crit.model == "scripted"
    assert crit.with_reference is False and crit.prompt_id.startswith("critic@")
    assert "Janet's ducks" in backend.prompts[0]
    ref = Critic(llm=ScriptedBackend(["Matches. Score: 10"])).critique(traj(), reference="18")
    assert ref.with_reference is True and ref.prompt_id.startswith("critic_reference@")


def test_missing_score_is_asked_for_once() -> None:
    backend = ScriptedBackend(["The code is right but I ran out of", " 7"])
    crit = Critic(llm=backend).critique(traj())
    assert crit.score == 7 and crit.parse_error is None
    assert crit.text.endswith("ran out of\n\nScore: 7")  # the cue and the answer are shown
    assert backend.prompts[1].endswith("ran out of\n\nScore:")  # the critique continued, not a new turn


def test_unparsed_critiques_are_explicit() -> None:
    out_of_range = Critic(llm=ScriptedBackend(["Great. Score: 12", "unused"])).critique(traj())
    assert out_of_range.score is None and out_of_range.parse_error == "score 12 is out of range 1-10"
    never = Critic(llm=ScriptedBackend(["Hmm.", " maybe good"])).critique(traj())
    assert never.score is None and "even when asked" in never.parse_error
    not_asked = Critic(llm=ScriptedBackend(["Hmm."]), config=CriticConfig(ask_score=False)).critique(traj())
    assert not_asked.score is None and not_asked.parse_error == "no score found"


def test_several_samples_average_and_report_unparsed() -> None:
    backend = ScriptedBackend(["Score: 7", "Score: 8", "no idea"])
    critic = Critic(llm=backend, config=CriticConfig(samples=3, ask_score=False))
    crit = critic.critique(traj())
    assert crit.sample_scores == [7, 8, None]
    assert crit.score == 8 and crit.mean_score == 7.5  # rounded half up; the mean keeps the detail
    assert crit.parse_error.startswith("1 of 3 samples unparsed")
    assert critique_value(crit) == pytest.approx(6.5 / 9)
    all_bad = Critic(llm=ScriptedBackend(["a", "b"]), config=CriticConfig(samples=2, ask_score=False))
    crit = all_bad.critique(traj())
    assert crit.score is None and crit.parse_error.startswith("no critique sample had a score")


def test_model_error_becomes_an_unparsed_critique() -> None:
    class Broken(ScriptedBackend):
        def _complete(self, prompt, params, stream):
            raise RuntimeError("engine died")

    crit = Critic(llm=Broken([])).critique(traj())
    assert crit.score is None and crit.parse_error == "critic model error: RuntimeError: engine died"


def test_critique_many_batches_in_order_and_checks_lengths() -> None:
    class ByAnswer(ScriptedBackend):
        def _complete_batch(self, prompts, params):
            self.batch_sizes = [*getattr(self, "batch_sizes", []), len(prompts)]
            return [self._complete(p, pp, None) for p, pp in zip(prompts, params, strict=True)]

        def _complete(self, prompt, params, stream):
            ans = prompt.rsplit("Final answer of the solution: ", 1)[1].split()[0]
            return [Completion(text=f"Score: {int(ans)}", finish_reason="stop")]

    backend = ByAnswer([])
    critic = Critic(llm=backend)
    seen = []
    crits = critic.critique_many([traj(str(i)) for i in (3, 1, 2)], on_done=lambda i, c: seen.append(i))
    assert [c.score for c in crits] == [3, 1, 2] and sorted(seen) == [0, 1, 2]
    assert max(backend.batch_sizes) == 3  # one batch: the scheduler gathered the concurrent requests
    with pytest.raises(ValueError, match="2 trajectories but 1 references"):
        critic.critique_many([traj(), traj()], ["1"])


def test_sync_api_refuses_a_running_loop() -> None:
    critic = Critic(llm=ScriptedBackend(["Score: 5"]))

    async def inside():
        with pytest.raises(MathAgentError, match="await acritique"):
            critic.critique(traj())
        return await critic.acritique(traj())

    assert asyncio.run(inside()).score == 5


def test_critic_needs_a_model() -> None:
    with pytest.raises(MathAgentError, match="needs a model"):
        Critic()


# ------------------------------------------------------------------------------------------ verifier


def test_critic_verifier_stores_critiques_and_normalises() -> None:
    ts = [traj("1"), traj("2"), traj("3")]
    v = CriticVerifier(Critic(llm=ScriptedBackend(["Score: 1", "Score: 10", "Score: 99"])))
    assert isinstance(v, Verifier) and v.name == "critic:scripted"
    assert v.score(ts) == [0.0, 1.0, None]
    assert [t.critique.score for t in ts] == [1, 10, None]
    assert normalise_score(4) == pytest.approx(1 / 3) and critique_value(None) is None
    assert critique_value(Critique(score=None, sample_scores=[])) is None


def test_backend_calls_from_two_threads_do_not_overlap() -> None:
    """The agent's scheduler and a critic's may share one in-process engine: calls run one at a time."""

    class Probe(ScriptedBackend):
        active = 0
        peak = 0

        def _complete(self, prompt, params, stream):
            Probe.active += 1
            Probe.peak = max(Probe.peak, Probe.active)
            time.sleep(0.05)
            Probe.active -= 1
            return [Completion(text="x", finish_reason="stop")]

    backend = Probe([])
    threads = [threading.Thread(target=lambda: backend.generate([{"role": "user", "content": "q"}]))
               for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert Probe.peak == 1
