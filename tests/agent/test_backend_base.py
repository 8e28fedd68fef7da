"""Backend-independent pieces: chat template rendering, stop scanning, parameters."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.backends.base import Backend, Completion, SamplingParams, StopScanner, truncate_at_stop
from agent.backends.chat_template import ChatTemplate

QWEN_LIKE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_render_applies_generation_prompt_then_continuation():
    t = ChatTemplate(QWEN_LIKE)
    text = t.render([{"role": "user", "content": "2+2?"}], continuation="```python\nprint(2+2)\n```\n")
    assert text == "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n```python\nprint(2+2)\n```\n"


def test_template_bos_and_raise_exception():
    t = ChatTemplate("{{ bos_token }}{% if messages|length == 0 %}{{ raise_exception('empty') }}{% endif %}x", "<s>")
    assert t.render([{"role": "user", "content": "a"}]) == "<s>x"
    with pytest.raises(ValueError, match="empty"):
        t.render([])


def test_missing_template_falls_back_to_chatml():
    t = ChatTemplate(None)
    assert t.is_fallback
    assert t.render([{"role": "user", "content": "hi"}]).endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize(
    "deltas,stop,text,hit,emitted",
    [
        (["abc", "def"], [], "abcdef", None, "abcdef"),
        (["x = 1\n``", "`output\n3"], ["```output"], "x = 1\n", "```output", "x = 1\n"),
        (["a`", "`b"], ["```output"], "a``b", None, "a``b"),
        (["ans 4", "2 end"], ["42", "end"], "ans ", "42", "ans "),
        (["hello</s", ">more"], ["</s>", "<|im_end|>"], "hello", "</s>", "hello"),
    ],
)
def test_stop_scanner(deltas, stop, text, hit, emitted):
    out: list[str] = []
    s = StopScanner(stop, out.append)
    stopped = False
    for d in deltas:
        stopped = s.feed(d)
        if stopped:
            break
    assert s.finish() == text
    assert s.hit == hit
    assert stopped == (hit is not None)
    assert "".join(out) == emitted


def test_stop_scanner_holds_back_partial_stop():
    out: list[str] = []
    s = StopScanner(["```output"], out.append)
    s.feed("code\n```")
    assert "".join(out) == "code\n"  # "```" may start the stop sequence
    s.feed("\nmore")
    assert "".join(out) == "code\n```\nmore"


def test_truncate_at_stop_earliest_wins():
    assert truncate_at_stop("a STOP b END", ["END", "STOP"]) == ("a ", "STOP")


def test_sampling_params_validation():
    assert SamplingParams(stop="x").stop == ("x",)
    assert SamplingParams(seed=5).sample_seed(2) == 7
    with pytest.raises(ValidationError):
        SamplingParams(temperature=-1)
    with pytest.raises(ValidationError):
        SamplingParams(unknown=1)
    assert hash(SamplingParams()) == hash(SamplingParams())


class _Echo(Backend):
    """A scripted backend: completes with the rendered prompt's last line reversed."""

    name = "echo"

    def _complete(self, prompt, params, stream):
        last = prompt.splitlines()[-1]
        return [Completion(text=last[::-1], finish_reason="stop") for _ in range(params.n)]


def test_generate_and_batch_use_one_rendering():
    b = _Echo("echo", ChatTemplate(QWEN_LIKE))
    [c] = b.generate([{"role": "user", "content": "q"}], continuation="abc")
    assert c.text == "cba" and c.seconds > 0
    out = b.generate_batch([([{"role": "user", "content": "q"}], "xy"), ([{"role": "user", "content": "q"}], "z")],
                           SamplingParams(n=2))
    assert [[c.text for c in s] for s in out] == [["yx", "yx"], ["z", "z"]]
