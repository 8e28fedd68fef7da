"""Convert a GGUF model to a Hugging Face checkpoint (for vLLM and for training), cached."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from filelock import FileLock

from ..models import ResolvedModel, cache_dir

__all__ = ["gguf_to_hf"]

logger = logging.getLogger(__name__)


def _default_dir(model: ResolvedModel) -> Path:
    assert model.path is not None  # a GGUF file to convert
    if model.alias:
        stem = model.path.stem  # alias plus hash prefix: a new file gets a new folder
    else:
        st = model.path.stat()
        stem = f"{model.path.stem}-{st.st_size}-{int(st.st_mtime)}"
    return cache_dir() / "hf" / stem


def gguf_to_hf(model: ResolvedModel, out_dir: Path | None = None) -> Path:
    """Dequantize a GGUF model with transformers and save it as a checkpoint folder (once).

    Args:
        model: A resolved model of kind ``gguf``.
        out_dir: Where to write (default: the cache's ``hf/`` folder).

    Returns:
        The checkpoint folder (``config.json``, safetensors, tokenizer files).
    """
    if model.kind != "gguf":
        raise ValueError(f"{model.name} is not a GGUF model")
    out = Path(out_dir) if out_dir else _default_dir(model)
    done = out / ".complete"
    if done.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock", timeout=3600):
        if done.is_file():
            return out
        from .hf import load_hf_model

        logger.info("converting %s to a Hugging Face checkpoint in %s", model.name, out)
        tok, lm = load_hf_model(model)
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        lm.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / ".complete").write_text(model.model_id + "\n")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return out
