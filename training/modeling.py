"""Load models for training and save the checkpoints the agent loads.

Training always starts from a Hugging Face checkpoint folder: a GGUF model is dequantized once into
the cache (:func:`agent.backends.convert.gguf_to_hf`, which drops the GGUF quantizer config that
would make TRL refuse the model), and a LoRA adapter folder is merged into its base first. The final
model is written atomically (a temp folder renamed) with its tokenizer and chat template, so
``mathagent solve --model OUT/model --backend transformers`` (or vLLM) loads it as is.

Example:
    >>> torch_dtype_name("auto", cuda=False)
    'float32'
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from agent.imports import require

from .config import LoraSpec, ModelSpec
from .errors import TrainingError

__all__ = [
    "base_checkpoint",
    "is_main_process",
    "load_tokenizer",
    "load_causal_lm",
    "peft_config",
    "save_model",
    "set_threads",
    "seed_everything",
    "torch_dtype_name",
]

logger = logging.getLogger(__name__)


def set_threads(threads: int | None) -> int:
    """Set torch's CPU threads (default ``$MATHAGENT_THREADS`` or all cores); returns the number."""
    torch = require("torch", "training")
    from agent.backends.llamacpp import default_threads

    n = threads or default_threads()
    torch.set_num_threads(n)
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    return n


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch before the model loads, so new heads and LoRA weights start the same."""
    require("transformers", "training").set_seed(seed)


def torch_dtype_name(dtype: str, *, cuda: bool | None = None) -> str:
    """Resolve ``auto``: float32 on CPU, bfloat16 on GPUs that support it (float16 on older ones)."""
    if dtype != "auto":
        return dtype
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    if not cuda:
        return "float32"
    import torch

    return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"


def _merge_adapter(folder: Path) -> Path:
    from agent.models import cache_dir

    key = hashlib.sha256(f"{folder}:{os.stat(folder / 'adapter_config.json').st_mtime_ns}".encode()).hexdigest()[:12]
    out = cache_dir() / "hf" / f"merged-{folder.name}-{key}"
    if (out / ".complete").is_file():
        return out
    peft = require("peft", "LoRA adapters")
    transformers = require("transformers", "training")
    logger.info("merging the LoRA adapter %s into its base (%s)", folder, out)
    model = peft.AutoPeftModelForCausalLM.from_pretrained(str(folder))
    merged = model.merge_and_unload()
    tok_src = folder if (folder / "tokenizer_config.json").is_file() else merged.config.name_or_path
    tok = transformers.AutoTokenizer.from_pretrained(str(tok_src))
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / ".complete").write_text(str(folder) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def base_checkpoint(name: str) -> str:
    """A Hugging Face checkpoint folder (or hub id) to train from, for any model name the agent accepts."""
    from agent.backends.convert import gguf_to_hf
    from agent.models import resolve_model

    resolved = resolve_model(name)
    if resolved.kind == "gguf":
        return str(gguf_to_hf(resolved))
    if resolved.kind == "hf" and resolved.path is not None:
        if (resolved.path / "adapter_config.json").is_file():
            return str(_merge_adapter(resolved.path))
        return str(resolved.path)
    return resolved.name


def load_tokenizer(path: str):
    """The tokenizer of a checkpoint, with a pad token (EOS when it has none)."""
    transformers = require("transformers", "training")
    tok = transformers.AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(spec: ModelSpec, *, auto_class: str = "AutoModelForCausalLM", **kwargs: Any):
    """``(checkpoint path, tokenizer, model)`` for training; ``auto_class`` picks the head."""
    torch = require("torch", "training")
    transformers = require("transformers", "training")
    path = base_checkpoint(spec.name)
    tok = load_tokenizer(path)
    dtype = getattr(torch, torch_dtype_name(spec.dtype))
    try:
        model = getattr(transformers, auto_class).from_pretrained(path, dtype=dtype, **kwargs)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot load {spec.name} ({path}) for training: {str(exc).splitlines()[0]}") from exc
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    return path, tok, model


def peft_config(spec: LoraSpec, task_type: str = "CAUSAL_LM", modules_to_save: list[str] | None = None):
    """A ``peft.LoraConfig`` for ``spec`` (None when LoRA is off)."""
    if not spec.enabled:
        return None
    peft = require("peft", "LoRA training")
    return peft.LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=spec.target_modules,
        task_type=task_type,
        modules_to_save=modules_to_save,
    )


def is_main_process() -> bool:
    """Whether this is the main process of a distributed launch (``accelerate launch``), or the only one."""
    return int(os.environ.get("RANK", "0")) == 0


def _merge_saved_adapter(folder: Path, auto_class: str, model_kwargs: dict | None = None) -> None:
    """Replace a saved LoRA adapter folder by the merged full model (loaded on CPU from disk)."""
    peft = require("peft", "LoRA adapters")
    auto = getattr(peft, auto_class.replace("AutoModel", "AutoPeftModel"))
    model = auto.from_pretrained(str(folder), **(model_kwargs or {}))
    merged = model.merge_and_unload()
    tmp = folder.with_name(folder.name + ".merged")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    shutil.rmtree(folder)
    tmp.rename(folder)


def save_model(
    trainer,
    tokenizer,
    out: Path,
    lora: LoraSpec,
    *,
    info: dict | None = None,
    auto_class: str = "AutoModelForCausalLM",
    model_kwargs: dict | None = None,
) -> Path:
    """Write the trained model (merged, or the LoRA adapter alone) and its tokenizer to ``out``, atomically.

    ``trainer.save_model`` writes the weights (it gathers ZeRO-3 shards and writes on the main process
    only); a LoRA adapter is then merged into its base from disk, so one code path serves one CPU and
    many GPUs.

    Args:
        trainer: The trainer after training.
        tokenizer: The tokenizer (saved with its chat template).
        out: The final folder; replaced if it exists.
        lora: Whether LoRA was on and whether to merge it.
        info: Written as ``training.json`` beside the weights (the job config, data counts, metrics).
        auto_class: The model's transformers auto class (for merging a saved adapter).
        model_kwargs: Passed when the base is loaded again for the merge (e.g. ``num_labels=1``).
    """
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    if is_main_process():
        shutil.rmtree(tmp, ignore_errors=True)
    trainer.save_model(str(tmp))
    if is_main_process():
        if lora.enabled and lora.merge:
            _merge_saved_adapter(tmp, auto_class, model_kwargs)
        tokenizer.save_pretrained(tmp)
        if info is not None:
            (tmp / "training.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        what = "a LoRA adapter" if lora.enabled and not lora.merge else "the model"
        logger.info("saved %s to %s", what, out)
    trainer.accelerator.wait_for_everyone()
    return out
