"""Real training on CPU with SmolLM2-135M (GGUF dequantized through transformers), one thread, a few steps.

SFT: the loss is exactly on the model's tokens (prompt and interpreter output masked), goes down, and
the checkpoint runs in the agent (transformers backend, jailed kernels). DPO (LoRA, merged) on built
pairs. The value-model verifier (LoRA, merged) trains, ranks correct above wrong trajectories and re-ranks.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import packaged_model_path
from tests.training.synth import make_trajectory, problem_set
from training.config import load_config
from training.data.examples import RenderOptions, to_sft_example
from training.data.pairs import build_dpo_pairs
from training.data.tokenize import IGNORE, Encoder
from training.jobs import write_jsonl

pytestmark = [pytest.mark.model, pytest.mark.slow]

FAST = ["train.batch_size=2", "train.lr_scheduler=constant", "train.threads=1"]


@pytest.fixture(scope="module")
def smollm2_hf():
    packaged_model_path("smollm2-135m")
    from training.modeling import base_checkpoint

    return base_checkpoint("smollm2-135m")


@pytest.fixture(scope="module")
def tokenizer(smollm2_hf):
    from training.modeling import load_tokenizer

    return load_tokenizer(smollm2_hf)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("trajs")
    write_jsonl(d / "trajectories.jsonl", problem_set(3))
    return d


def test_loss_mask_is_exactly_the_model_tokens(tokenizer):
    enc = Encoder(tokenizer)
    for traj in (make_trajectory(12, 30), make_trajectory(5, 9, nudged=True)):
        ex = to_sft_example(traj, RenderOptions(train_on_nudge=False))
        row = enc.encode_sft(ex)
        ids, labels = row["input_ids"], row["labels"]
        assert all(lab in (t, IGNORE) for t, lab in zip(ids, labels, strict=True))
        trained = tokenizer.decode([t for t, lab in zip(ids, labels, strict=True) if lab != IGNORE])
        masked = tokenizer.decode([t for t, lab in zip(ids, labels, strict=True) if lab == IGNORE])
        model_text = "".join(s.text for s in ex.segments if s.kind == "model")
        env_text = "".join(s.text for s in ex.segments if s.kind != "model")
        assert trained == model_text + "<|im_end|>"  # the model's text and the end of its turn
        assert masked == enc.template.render(ex.messages) + env_text  # prompt, prefill, outputs (and nudge)
        # position by position: the masked tokens are the prompt, then each environment segment in place
        pos = len(enc.prompt_ids(ex.messages))
        assert set(labels[:pos]) == {IGNORE}
        for seg in ex.segments:
            n = len(enc.ids(seg.text))
            want_masked = seg.kind != "model"
            assert all((lab == IGNORE) == want_masked for lab in labels[pos : pos + n]), seg
            pos += n
        assert labels[pos:] == ids[pos:] and len(ids) - pos == 1  # the end-of-turn token


def test_dpo_collator_masks_outputs_inside_completions(tokenizer):
    from training.dpo import masked_preference_collator

    pairs, _ = build_dpo_pairs(problem_set(2))
    enc = Encoder(tokenizer)
    rows = [enc.encode_pair(p) for p in pairs]
    batch = masked_preference_collator(tokenizer.pad_token_id)(rows)
    ids, mask = batch["input_ids"], batch["completion_mask"]
    n = len(rows)
    for i, pair in enumerate(pairs):
        for j, segs in ((i, pair.chosen), (n + i, pair.rejected)):
            text = tokenizer.decode(ids[j][mask[j] == 1].tolist())
            assert text == "".join(s.text for s in segs if s.kind == "model") + "<|im_end|>"
            assert "```output" not in text and "```python\n" != text[:10]


def test_sft_loss_goes_down_and_the_checkpoint_runs_in_the_agent(tmp_path, data_dir):
    from agent.agent import Agent
    from training.sft import run_sft
    from training.sft_config import SFTJobConfig

    cfg = load_config(
        SFTJobConfig,
        None,
        [*FAST, "train.max_steps=6", "train.learning_rate=1e-4"],
        model={"name": "smollm2-135m"},
        data=[str(data_dir)],
        output_dir=str(tmp_path / "sft"),
    )
    res = run_sft(cfg)
    assert res.report.kept == res.examples == 3  # one per problem: the two correct samples are duplicates
    assert res.report.dropped == {"incorrect": 3, "duplicate": 3}
    assert len(res.losses) == 6 and res.losses[-1] < 0.7 * res.losses[0], res.losses
    assert res.tokens["with_loss"] < res.tokens["total"] / 2
    again = run_sft(cfg)  # done: not trained again
    assert again.model_dump() == res.model_dump()
    with Agent(res.model_path, "transformers", sandbox="jail", concurrency=1, max_tokens=48, max_tool_calls=1) as a:
        sol = a.solve("What is 3 + 4?")
    traj = sol.trajectories[0]
    assert traj.backend == "transformers" and traj.model == res.model_path
    assert traj.status != "model_error" and traj.completion_tokens > 0, traj


def test_dpo_lora_trains_on_built_pairs_and_merges(tmp_path, data_dir):
    from training.dpo import run_dpo
    from training.dpo_config import DPOJobConfig

    cfg = load_config(
        DPOJobConfig,
        None,
        [*FAST, "train.max_steps=4", "train.learning_rate=2e-4", "lora.enabled=true", "lora.r=8"],
        model={"name": "smollm2-135m"},
        data=[str(data_dir)],
        output_dir=str(tmp_path / "dpo"),
    )
    res = run_dpo(cfg)
    assert res.report.kept == res.examples == 3
    assert res.losses[0] == pytest.approx(0.6931, abs=1e-3)  # policy == reference at the start
    assert res.losses[-1] < res.losses[0], res.losses
    assert res.metrics["reward_margins"][-1] > 0
    model_dir = tmp_path / "dpo" / "model"
    assert (model_dir / "config.json").is_file() and not (model_dir / "adapter_config.json").exists()


def test_value_verifier_trains_with_lora_and_ranks_correct_above_wrong(tmp_path, data_dir):
    from agent.rerank import arerank
    from agent.verifier import Verifier
    from training.verifier import ValueVerifier, run_verifier
    from training.verifier_config import VerifierJobConfig

    cfg = load_config(
        VerifierJobConfig,
        None,
        [*FAST, "train.max_steps=6", "train.learning_rate=5e-4", "lora.enabled=true", "lora.r=8"],
        model={"name": "smollm2-135m"},
        data=[str(data_dir)],
        output_dir=str(tmp_path / "verifier"),
    )
    res = run_verifier(cfg)
    assert res.report.notes == {"positive": 6, "negative": 3}
    trajs = problem_set(3)
    with ValueVerifier(res.model_path, threads=1) as v:
        assert isinstance(v, Verifier)
        scores = v.score(trajs)
        empty = make_trajectory(1, 2)
        empty.text = ""
        assert v.score([empty]) == [None]
        # re-ranking: two wrong samples agree (8), one right (7); the value model picks the right one
        samples = [
            make_trajectory(3, 4, wrong=True, sample=0),
            make_trajectory(3, 4, wrong=True, sample=1),
            make_trajectory(3, 4, sample=2),
        ]
        majority, _ = asyncio.run(arerank(samples, method="majority"))
        best, best_scores = asyncio.run(arerank(samples, method="best", verifier=v))
    assert majority.answer == "8" and best.answer == "7", best_scores
    assert all(0.0 <= s <= 1.0 for s in scores)
    for i in range(0, len(trajs), 3):  # per problem: two correct, one wrong
        assert min(scores[i : i + 2]) > scores[i + 2], scores
