"""Report files: metrics.json, predictions.jsonl, report.md with tables and extra sections, valid PNGs."""

from __future__ import annotations

import json
import random
from pathlib import Path

from eval.metrics import SampleRecord
from eval.records import Problem
from eval.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _records() -> list[SampleRecord]:
    rng = random.Random(0)
    out = []
    for p in range(12):
        for s in range(4):
            ok = rng.random() < 0.6
            out.append(
                SampleRecord(
                    problem_id=f"p{p}",
                    sample=s,
                    pred="1" if ok else rng.choice(["2", "3"]),
                    correct=ok,
                    score=rng.random() + 0.3 * ok,
                    subject=["Algebra", "Geometry", "Number Theory"][p % 3],
                    level=str(p % 5 + 1),
                )
            )
    return out


def _png_ok(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    from matplotlib import image

    img = image.imread(path)
    assert img.shape[0] > 100 and img.shape[1] > 100


def test_write_report(tmp_path: Path) -> None:
    recs = _records()
    problems = {f"p{p}": Problem(id=f"p{p}", question="q", answer="1") for p in range(12)}
    data = write_report(
        tmp_path / "out",
        recs,
        problems=problems,
        extra_metrics={"code_use": 0.75},
        extra_sections=[("Critic agreement", "| critic | grader |\n|---|---|\n| 1 | 1 |")],
        title="Test run",
        equivalent=lambda a, b: a == b,
        n_bootstrap=100,
    )
    out = tmp_path / "out"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == data
    assert metrics["extra"] == {"code_use": 0.75}
    assert metrics["ks"] == [1, 2, 4]
    for name in ("accuracy", "pass@4", "maj@4", "weighted_maj@4", "rerank@4"):
        assert 0.0 <= metrics["overall"][name]["value"] <= 1.0
    assert set(metrics["by_subject"]) == {"Algebra", "Geometry", "Number Theory"}
    assert metrics["grader"].startswith("mathagent-grader/")

    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == len(recs)
    first = SampleRecord.model_validate_json(lines[0])
    assert first.problem_id == "p0" and first.gold == "1"

    md = (out / "report.md").read_text()
    assert md.startswith("# Test run")
    for head in (
        "## Overall",
        "## Accuracy vs k",
        "## By subject",
        "## By level",
        "## Other measures",
        "## Critic agreement",
    ):
        assert head in md
    assert "| k | pass@k | maj@k | weighted maj@k | rerank@k |" in md
    assert "![accuracy_vs_k.png](accuracy_vs_k.png)" in md
    for png in ("accuracy_vs_k.png", "per_subject.png", "per_level.png"):
        _png_ok(out / png)
    assert not list(out.glob(".*tmp"))


def test_report_without_subjects_or_scores(tmp_path: Path) -> None:
    recs = [SampleRecord(problem_id=f"p{i}", pred=str(i), correct=i % 2 == 0) for i in range(5)]
    write_report(tmp_path, recs, equivalent=lambda a, b: a == b, n_bootstrap=0)
    md = (tmp_path / "report.md").read_text()
    assert "## By subject" not in md and "rerank" not in md
    assert not (tmp_path / "per_subject.png").exists()
    _png_ok(tmp_path / "accuracy_vs_k.png")


def test_report_from_no_records(tmp_path: Path) -> None:
    data = write_report(tmp_path, [], n_bootstrap=0)
    assert data["n_problems"] == 0
    assert (tmp_path / "report.md").exists() and (tmp_path / "predictions.jsonl").read_text() == ""


def test_metrics_recomputed_from_saved_predictions(tmp_path: Path) -> None:
    import pytest

    from eval.errors import MalformedRecordError
    from eval.metrics import compute_metrics, read_sample_records

    data = write_report(tmp_path, _records(), equivalent=lambda a, b: a == b, n_bootstrap=50)
    again = compute_metrics(
        read_sample_records(tmp_path / "predictions.jsonl"), equivalent=lambda a, b: a == b, n_bootstrap=50
    )
    assert again.model_dump(mode="json")["overall"] == data["overall"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem_id": "p"}\n{"problem_id": 3, "nope": 1}\n')
    with pytest.raises(MalformedRecordError, match=r"bad\.jsonl:2: not a SampleRecord"):
        read_sample_records(bad)
