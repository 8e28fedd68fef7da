"""Dataset builders (no model): segments and masks, RFT selection, DPO pairs, critic and value examples, sources."""

from __future__ import annotations

import doctest
import importlib
import json

import pytest

from eval.trajectory import Critique
from tests.training.synth import make_trajectory, problem_set
from training.config import load_config
from training.data.critic import CriticOptions, build_critic_examples, critic_target
from training.data.examples import RenderOptions, prompt_messages, to_sft_example, trajectory_segments
from training.data.pairs import PairOptions, build_dpo_pairs
from training.data.select import SelectOptions, build_sft_examples, normalize_code, select_trajectories
from training.data.sources import read_trajectories
from training.data.value import ValueOptions, build_value_examples
from training.errors import DataError, TrainingError
from training.jobs import write_jsonl
from training.sft_config import RFTJobConfig

MODULES = [
    "training",
    "training.data",
    "training.errors",
    "training.config",
    "training.modeling",
    "training.sft",
    "training.rft",
    "training.dpo",
    "training.critic",
    "training.verifier",
    "training.pipeline",
    "cli.commands.train",
    "training.jobs",
    "training.data.examples",
    "training.data.report",
    "training.data.select",
    "training.data.pairs",
    "training.data.critic",
    "training.data.value",
    "training.data.sources",
    "training.data.tokenize",
    "training.data.tora",
    "training.sft_config",
    "training.dpo_config",
    "training.critic_config",
    "training.verifier_config",
    "training.pipeline_config",
    "training.stages",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests_and_all(name):
    mod = importlib.import_module(name)
    assert mod.__all__ and all(hasattr(mod, n) for n in mod.__all__)
    failed, _ = doctest.testmod(mod)
    assert failed == 0


def test_segments_cover_the_text_and_mark_who_wrote_it():
    t = make_trajectory(3, 4)
    segs = trajectory_segments(t, RenderOptions())
    assert "".join(s.text for s in segs) == t.text
    assert [s.kind for s in segs] == ["prefill", "model", "output", "model"]
    assert segs[0].text == "```python\n"  # the tir prompt's prefill: part of the prompt
    assert segs[2].text == "```output\n7\n```\n"  # the whole block the sandbox wrote, fences included
    assert segs[3].text == "The sum is \\boxed{7}."


def test_nudge_is_its_own_segment_and_can_be_masked():
    t = make_trajectory(3, 4, nudged=True)
    segs = trajectory_segments(t, RenderOptions())
    assert [s.kind for s in segs] == ["prefill", "model", "output", "model", "nudge", "model"]
    nudge = next(s for s in segs if s.kind == "nudge")
    assert nudge.text == "Therefore, the final answer is \\boxed{"
    assert segs[-1].kind == "model" and segs[-1].text == "7}"
    assert to_sft_example(t, RenderOptions()).train_kinds == ("model", "nudge")
    assert to_sft_example(t, RenderOptions(train_on_nudge=False)).train_kinds == ("model",)


def test_output_block_with_backticks_is_found_from_the_steps():
    t = make_trajectory(1, 1)
    odd = "a ``` b\n```\nc"
    t.steps[1].content = odd
    t.text = f"```python\nprint(1 + 1)\n```\n```output\n{odd}\n```\nThe sum is \\boxed{{2}}."
    segs = trajectory_segments(t, RenderOptions())
    assert [s.text for s in segs if s.kind == "output"] == [f"```output\n{odd}\n```\n"]


def test_prompt_messages_recorded_rebuilt_or_without_few_shot():
    t = make_trajectory(3, 4)
    assert prompt_messages(t, RenderOptions()) == t.messages
    rebuilt = prompt_messages(t, RenderOptions(prompt="tir", few_shot=False))
    assert rebuilt[0]["role"] == "system" and "Python interpreter" in rebuilt[0]["content"] and len(rebuilt) == 2
    t.messages = [
        t.messages[0],
        {"role": "user", "content": "ex"},
        {"role": "assistant", "content": "a"},
        t.messages[1],
    ]
    assert prompt_messages(t, RenderOptions(few_shot=False)) == [t.messages[0], t.messages[-1]]


def test_rft_selection_counts_every_reason():
    trajs = problem_set(2)  # per problem: correct 9, correct 8 (same code: duplicate), wrong 2
    low = make_trajectory(3, 4, score=5, sample=3)
    low.steps[0].content = "x = 3 + 4\nprint(x)"  # a different program, but a low critic score
    extra = [make_trajectory(3, 4, score=9, sample=4 + i) for i in range(2)]
    for i, e in enumerate(extra):
        e.steps[0].content = f"print(sum([3, 4])){' ' * i}  # v{i}"  # comments / spacing normalise away
    no_answer = make_trajectory(5, 6, sample=5)
    no_answer.status, no_answer.answer = "max_tokens", None
    ungraded = make_trajectory(5, 6, sample=6)
    ungraded.correct = None
    kept, report = select_trajectories(
        trajs + [low] + extra + [no_answer, ungraded], SelectOptions(min_score=7, max_per_problem=2), builder="rft"
    )
    assert report.dropped == {
        "incorrect": 2,
        "low_score": 1,
        "duplicate": 3,
        "no_answer": 1,
        "ungraded": 1,
    }
    assert report.kept == len(kept) == 3
    assert {t.problem_id for t in kept} == {"add/3-4", "add/4-6"}
    # the cap: 3 distinct correct programs for add/3-4 with max_per_problem=1
    _, capped = select_trajectories(trajs + extra[:1], SelectOptions(min_score=7, max_per_problem=1))
    assert capped.dropped["over_cap"] == 1


def test_normalize_code_ignores_comments_and_spacing_only():
    assert normalize_code("x=1 # c\nprint(x)") == normalize_code("x = 1\n\nprint( x )")
    assert normalize_code("print(1)") != normalize_code("print(2)")
    assert normalize_code("print(") == "print("  # unparsable code still has a key


def test_dpo_pairs_by_correctness_then_by_score():
    trajs = problem_set(2)
    alt = make_trajectory(3, 4, score=3, sample=5)
    alt.steps[0].content = "print(7)"  # correct but a weak (low score) solution
    alt2 = make_trajectory(3, 4, score=8, sample=6)
    alt2.steps[0].content = "print(4 + 3)"
    no_correct = [make_trajectory(9, 9, wrong=True, score=1)]
    pairs, report = build_dpo_pairs(
        trajs + [alt, alt2] + no_correct, PairOptions(max_pairs_per_problem=2, min_score_gap=3)
    )
    by_problem = {}
    for p in pairs:
        by_problem.setdefault(p.problem_id, []).append(p)
    first = by_problem["add/3-4"]
    assert [p.meta["kind"] for p in first] == ["correctness", "score"]
    assert first[0].meta["chosen_correct"] and not first[0].meta["rejected_correct"]
    assert (first[0].meta["chosen_score"], first[0].meta["rejected_score"]) == (9, 2)
    assert (first[1].meta["chosen_score"], first[1].meta["rejected_score"]) == (8, 3)  # each trajectory used once
    assert [p.meta["kind"] for p in by_problem["add/4-6"]] == ["correctness"]
    assert report.dropped["problem_without_correct"] == 1
    assert report.notes == {"problems": 2, "correctness_pairs": 2, "score_pairs": 1}
    assert all(p.messages == trajs[0].messages or p.problem_id != "add/3-4" for p in pairs)
    assert pairs[0].chosen[0].kind == "prefill" and any(s.kind == "output" for s in pairs[0].rejected)


def test_critic_examples_keep_critiques_that_agree_with_the_grader():
    good = make_trajectory(3, 4, score=9)
    lying = make_trajectory(4, 6, wrong=True, score=9)  # a high score on a wrong answer
    unparsed = make_trajectory(5, 8, score=None)
    unparsed.critique = Critique(score=None, text="hmm")
    bare = make_trajectory(6, 10)
    bare.critique = Critique(score=2, text="The code adds one too many.", with_reference=True)
    bare.correct = False
    examples, report = build_critic_examples([good, lying, unparsed, bare], CriticOptions())
    assert report.dropped == {"disagrees_with_grader": 1, "unparsed_score": 1}
    assert [e.meta["score"] for e in examples] == [9, 2]
    target = examples[1].segments[0].text
    assert target == "The code adds one too many.\n\nScore: 2"  # a score line is added when missing
    assert critic_target(good.critique) == "Checked.\nScore: 9"
    from agent.critic import Critic
    from tests.fixtures.fakes import ScriptedBackend

    with Critic(llm=ScriptedBackend([])) as critic:  # the prompt the critic sends at inference
        assert examples[0].messages == critic.messages(good, None)
        assert critic.messages(good, "7") != critic.messages(good, None)  # reference-free, not the reference one
    user = examples[0].messages[-1]["content"]
    assert "What is 3 + 4?" in user and "print(3 + 4)" in user
    multi = make_trajectory(3, 4, score=9)
    multi.critique = Critique(score=8, text="a\nScore: 9\n\n---\n\nb\nScore: 7", sample_scores=[9, 7])
    assert build_critic_examples([multi])[1].dropped == {"several_samples": 1}


def test_value_examples_label_outcomes_and_balance():
    trajs = problem_set(3)
    trajs[0].correct = None
    examples, report = build_value_examples(trajs)
    assert report.dropped == {"ungraded": 1}
    assert report.notes == {"positive": 5, "negative": 3}
    assert all(e.messages == trajs[1].messages[:1] + trajs[1].messages[-1:] for e in examples[:1])
    balanced, rep2 = build_value_examples(trajs, ValueOptions(balance=True))
    assert rep2.notes == {"positive": 3, "negative": 3} and rep2.dropped["balance"] == 2


def test_sources_collection_eval_run_jsonl_and_errors(tmp_path):
    from training.collect.manifest import Manifest, save_manifest
    from training.collect.spec import CollectSpec

    trajs = problem_set(2)  # 2 problems x 3 samples
    coll = tmp_path / "coll"
    (coll / "shards").mkdir(parents=True)
    save_manifest(coll, Manifest(spec=CollectSpec(dataset="d.jsonl", model="m", samples=3)))
    write_jsonl(coll / "shards" / "shard-00000.jsonl", trajs[:5])  # the second problem is cut short
    with open(coll / "shards" / "shard-00000.jsonl", "a") as f:
        f.write('{"problem_id": "torn"')  # a writer killed mid-line
    assert [t.id for t in read_trajectories(coll)] == [t.id for t in trajs[:3]]  # complete problems only
    run = tmp_path / "run"
    write_jsonl(run / "trajectories.jsonl", trajs[3:])
    got = list(read_trajectories([str(run), str(tmp_path / "r*")]))
    assert [t.id for t in got] == [t.id for t in trajs[3:]] * 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"x": 1}\n' + trajs[0].model_dump_json() + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl:1: not a trajectory"):
        list(read_trajectories(bad))
    with pytest.raises(DataError, match="no such file"):
        list(read_trajectories(tmp_path / "missing"))
    with pytest.raises(DataError, match="matches no file"):
        list(read_trajectories(str(tmp_path / "nothing-*.jsonl")))


def test_tora_sample_becomes_graded_trajectories(shared_data):
    trajs = list(read_trajectories(shared_data / "trajectories_sample"))
    assert len(trajs) == 330
    corpus = [t for t in trajs if t.problem_id.startswith("examples/")]
    assert len(corpus) == 30 and sum(t.tool_calls >= 1 for t in corpus) >= 20  # a few are text only
    gsm = [t for t in trajs if not t.problem_id.startswith("examples/")]
    assert 250 <= sum(bool(t.correct) for t in gsm) <= 265  # the README: pred == gt for 258 of 300
    t = gsm[0]
    assert t.answer == "18" and t.correct and [s.kind for s in t.steps] == ["code", "output", "text"]
    segs = trajectory_segments(t, RenderOptions(prompt="tir", few_shot=False))
    assert [s.kind for s in segs] == ["prefill", "model", "output", "model"] and segs[2].text == "```output\n18\n```\n"
    examples, report = build_sft_examples(trajs, SelectOptions(max_per_problem=1), RenderOptions(prompt="tir"))
    assert report.kept == len(examples) and report.dropped["incorrect"] >= 35


def test_config_overrides_and_one_line_errors(tmp_path):
    path = tmp_path / "rft.yaml"
    path.write_text(json.dumps({"model": {"name": "m"}, "data": ["d"], "output_dir": "o", "train": {"max_steps": 5}}))
    cfg = load_config(RFTJobConfig, path, ["train.max_steps=2", "lora.enabled=true", "select.min_score=8"])
    assert (cfg.train.max_steps, cfg.lora.enabled, cfg.select.min_score) == (2, True, 8)
    with pytest.raises(TrainingError, match=r"rft.yaml: train.batch_size: Input should be greater than or equal"):
        load_config(RFTJobConfig, path, ["train.batch_size=0"])
    with pytest.raises(TrainingError, match="expected key=value"):
        load_config(RFTJobConfig, path, ["train.max_steps"])
    with pytest.raises(TrainingError, match="no such config file"):
        load_config(RFTJobConfig, tmp_path / "none.yaml")


@pytest.mark.parametrize(
    "name, module, cls",
    [
        ("sft", "training.sft_config", "SFTJobConfig"),
        ("rft", "training.sft_config", "RFTJobConfig"),
        ("dpo", "training.dpo_config", "DPOJobConfig"),
        ("critic", "training.critic_config", "CriticJobConfig"),
        ("verifier", "training.verifier_config", "VerifierJobConfig"),
        ("pipeline", "training.pipeline_config", "PipelineConfig"),
        ("pipeline_tiny", "training.pipeline_config", "PipelineConfig"),
    ],
)
def test_shipped_configs_validate(name, module, cls):
    from tests.conftest import REPO

    cfg = load_config(getattr(importlib.import_module(module), cls), REPO / "configs" / "train" / f"{name}.yaml")
    assert cfg.model_dump()
