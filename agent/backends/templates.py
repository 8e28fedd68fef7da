"""Find a model's chat template and special tokens without loading its weights.

Example:
    >>> from pathlib import Path
    >>> template_from_hf_dir(Path("/nonexistent")).is_fallback
    True
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..models import ResolvedModel
from .chat_template import ChatTemplate

__all__ = ["load_chat_template", "template_from_gguf", "template_from_hf_dir"]

logger = logging.getLogger(__name__)


def _token_text(value) -> str:
    if isinstance(value, dict):
        return value.get("content", "")
    return value or ""


def template_from_hf_dir(folder: Path) -> ChatTemplate:
    """Read ``chat_template.jinja`` or ``tokenizer_config.json`` of a checkpoint (or LoRA adapter) folder."""
    source, bos, eos = None, "", ""
    cfg_path = folder / "tokenizer_config.json"
    if cfg_path.is_file():
        cfg = json.loads(cfg_path.read_text())
        source = cfg.get("chat_template")
        if isinstance(source, list):  # named templates: take "default"
            source = next((t["template"] for t in source if t.get("name") == "default"), source[0]["template"])
        bos, eos = _token_text(cfg.get("bos_token")), _token_text(cfg.get("eos_token"))
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        source = jinja.read_text()
    if source is None and (folder / "adapter_config.json").is_file():
        base = json.loads((folder / "adapter_config.json").read_text()).get("base_model_name_or_path")
        if base and Path(base).is_dir():
            return template_from_hf_dir(Path(base))
    return ChatTemplate(source, bos, eos)


def template_from_gguf(path: Path) -> ChatTemplate:
    """Read the template and BOS/EOS texts from a GGUF header (vocab only; no weights are loaded)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path), "r")

    def field(name: str):
        f = reader.fields.get(name)
        return None if f is None else f.contents()

    source = field("tokenizer.chat_template")
    tokens = reader.fields.get("tokenizer.ggml.tokens")

    def token(key: str) -> str:
        idx = field(key)
        if idx is None or tokens is None:
            return ""
        return bytes(tokens.parts[tokens.data[int(idx)]]).decode("utf-8", "replace")

    return ChatTemplate(source, token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id"))


def load_chat_template(model: ResolvedModel) -> ChatTemplate:
    """The chat template of a resolved model (GGUF file, checkpoint folder, or hub id)."""
    if model.kind == "gguf":
        assert model.path is not None  # local files have a path
        return template_from_gguf(model.path)
    if model.kind == "hf":
        assert model.path is not None
        return template_from_hf_dir(model.path)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model.name)
    return ChatTemplate(tok.chat_template, tok.bos_token or "", tok.eos_token or "")
