"""Dataset loaders: shared GSM8K / MATH500 files, generic files with a field mapping, malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.datasets import FieldMap, load_problems, shared_data_dir
from eval.errors import (
    DatasetError,
    DatasetNotFoundError,
    DatasetUnavailableError,
    EvalError,
    MalformedRecordError,
)
from eval.records import Problem, content_hash


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


# ---------------------------------------------------------------- shared data


def test_gsm8k_by_name_and_path(shared_data: Path, monkeypatch) -> None:
    monkeypatch.setenv("MATHAGENT_SHARED_DATA", str(shared_data))
    by_name = load_problems("gsm8k", split="test")
    by_path = load_problems(shared_data / "gsm8k" / "test.jsonl")
    assert len(by_name) == len(by_path) == 1319 and by_name.skipped == 0
    assert by_name[0] == by_path[0]
    p = by_name[0]
    assert p.id == "gsm8k/test/0" and p.answer == "18" and p.source == "gsm8k"
    assert p.question.startswith("Janet")
    assert "<<16-3-4=9>>" in p.metadata["solution"] and "####" not in p.metadata["solution"]
    assert p.metadata["content_hash"] == content_hash(p.question)
    assert all("," not in q.answer and q.answer.lstrip("-").isdigit() for q in by_name)
    assert len({q.id for q in by_name}) == 1319


def test_gsm8k_train_split(shared_data: Path, monkeypatch) -> None:
    monkeypatch.setenv("MATHAGENT_SHARED_DATA", str(shared_data))
    probs = load_problems("gsm8k", split="train", limit=5)
    assert [p.id for p in probs] == [f"gsm8k/train/{i}" for i in range(5)]


def test_math500(shared_data: Path) -> None:
    probs = load_problems(shared_data / "math500" / "test.jsonl")
    assert len(probs) == 500
    p = probs[0]
    assert p.id == "math500/test/precalculus/807"
    assert p.answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert p.metadata["subject"] == "Precalculus" and p.metadata["level"] == 2
    subjects = {q.metadata["subject"] for q in probs}
    assert len(subjects) == 7
    assert sorted({q.metadata["level"] for q in probs}) == [1, 2, 3, 4, 5]
    assert sum(q.metadata["level"] == 5 for q in probs) == 134


def test_limit(shared_data: Path) -> None:
    assert len(load_problems(shared_data / "math500" / "test.jsonl", limit=7)) == 7


def test_shared_data_dir_env(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MATHAGENT_SHARED_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path
    with pytest.raises(DatasetNotFoundError, match="MATHAGENT_SHARED_DATA"):
        load_problems("gsm8k")


# ---------------------------------------------------------------- MATH schema details


def test_math_answer_from_last_box(tmp_path: Path) -> None:
    f = _jsonl(
        tmp_path / "math_train.jsonl",
        [
            {
                "problem": "p1",
                "solution": "a \\boxed{1} then \\boxed{\\frac{2}{3}}.",
                "type": "Algebra",
                "level": "Level 4",
            },
            {"problem": "p2", "solution": "x", "answer": "7", "level": "Level ?"},
        ],
    )
    probs = load_problems(f)
    assert probs[0].answer == "\\frac{2}{3}" and probs[0].metadata["subject"] == "Algebra"
    assert probs[0].metadata["level"] == 4
    assert probs[1].answer == "7" and probs[1].metadata["level"] is None


def test_math_without_any_answer_is_malformed(tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "m.jsonl", [{"problem": "p", "solution": "no box here"}])
    with pytest.raises(MalformedRecordError, match=r"m\.jsonl:1: no 'answer' field"):
        load_problems(f)


# ---------------------------------------------------------------- generic files


def test_generic_jsonl_with_field_map(tmp_path: Path) -> None:
    f = _jsonl(
        tmp_path / "mine.jsonl", [{"q": "1+1?", "a": 2, "uid": "x1", "extra": 5}, {"q": "2+2?", "a": 4.0, "uid": "x2"}]
    )
    probs = load_problems(f, fields={"question": "q", "answer": "a", "id": "uid"}, split="dev")
    assert [p.id for p in probs] == ["mine/dev/x1", "mine/dev/x2"]
    assert [p.answer for p in probs] == ["2", "4"]
    assert probs[0].metadata["extra"] == 5 and "q" not in probs[0].metadata
    assert FieldMap.of({"question": "q"}) == FieldMap(question="q")


def test_generic_without_answer(tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "noans.jsonl", [{"question": "why?"}])
    assert load_problems(f)[0].answer is None


def test_generic_solution_field(tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "s.jsonl", [{"text": "q", "worked": "so \\boxed{42}"}])
    assert load_problems(f, fields={"question": "text", "answer": None, "solution": "worked"})[0].answer == "42"


def test_unknown_field_map_key() -> None:
    with pytest.raises(DatasetError, match="unknown keys"):
        FieldMap.of({"prompt": "q"})


def test_json_list_and_object(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(
        json.dumps([{"question": "q1", "answer": "1"}, {"question": "q2", "answer": "2"}])
    )
    (tmp_path / "b.json").write_text(json.dumps({"data": [{"question": "q1", "answer": "1"}]}))
    assert [p.id for p in load_problems(tmp_path / "a.json")] == ["a/0", "a/1"]
    assert load_problems(tmp_path / "b.json")[0].answer == "1"


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {"problem": ["p1", "p2"], "answer": ["\\frac12", "3"], "subject": ["Algebra", "Geometry"], "level": [1, 5]}
    )
    pq.write_table(table, tmp_path / "test.parquet")
    probs = load_problems(tmp_path / "test.parquet")
    assert [p.answer for p in probs] == ["\\frac12", "3"]
    assert probs[1].metadata == {"subject": "Geometry", "level": 5, "content_hash": content_hash("p2")}


def test_problem_forbids_extra_fields() -> None:
    with pytest.raises(ValueError):
        Problem(id="a", question="q", answr="1")  # type: ignore[call-arg]


# ---------------------------------------------------------------- malformed files


def test_malformed_jsonl_names_file_and_line(tmp_path: Path) -> None:
    f = _jsonl(
        tmp_path / "bad.jsonl",
        [
            {"question": "q0", "answer": "a\n#### 1"},
            "{not json",
            {"question": "q2", "answer": "a\n#### 2"},
            "[1, 2]",
            {"question": "q4", "answer": "no final line"},
            {"question": "", "answer": "#### 5"},
            {"question": "q6", "answer": "#### 6"},
        ],
    )
    with pytest.raises(MalformedRecordError) as info:
        load_problems(f)
    err = info.value
    assert isinstance(err, DatasetError) and isinstance(err, EvalError)
    assert err.path == str(f) and err.line == 2
    assert str(err).startswith(f"{f}:2: invalid JSON")
    assert "\n" not in str(err)

    probs = load_problems(f, skip_bad=True)
    assert [p.answer for p in probs] == ["1", "2", "6"]
    assert probs.skipped == 4
    assert [r.split(":")[1] for r in probs.skipped_reasons] == ["2", "4", "5", "6"]
    # ids keep the record position, so skipping does not renumber the good records
    assert [p.id for p in probs] == ["bad/0", "bad/2", "bad/6"]


def test_blank_lines_are_not_errors(tmp_path: Path) -> None:
    f = tmp_path / "blank.jsonl"
    f.write_text('{"question": "q", "answer": "1"}\n\n   \n{"question": "r", "answer": "2"}\n')
    assert len(load_problems(f)) == 2


def test_duplicate_ids(tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "dup.jsonl", [{"q": "a", "id": 1}, {"q": "b", "id": 1}])
    with pytest.raises(MalformedRecordError, match=r"dup\.jsonl:2: duplicate id 'dup/1' \(first at line 1\)"):
        load_problems(f, fields={"question": "q", "id": "id"})
    assert load_problems(f, fields={"question": "q", "id": "id"}, skip_bad=True).skipped == 1


def test_malformed_json_file(tmp_path: Path) -> None:
    f = tmp_path / "broken.json"
    f.write_text('[\n {"question": "q"},\n {oops}\n]')
    with pytest.raises(MalformedRecordError, match=r"broken\.json:3: invalid JSON"):
        load_problems(f)
    g = tmp_path / "rec.json"
    g.write_text(json.dumps([{"question": "q"}, {"answer": "1"}]))
    with pytest.raises(MalformedRecordError, match=r"rec\.json:2: missing question field 'question'"):
        load_problems(g)


def test_bad_answer_type(tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "t.jsonl", [{"question": "q", "answer": {"x": 1}}])
    with pytest.raises(MalformedRecordError, match="answer must be a string or a number"):
        load_problems(f)


def test_not_found_and_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError):
        load_problems(tmp_path / "missing.jsonl")
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(DatasetError, match="unknown file type"):
        load_problems(tmp_path / "x.csv")


def test_hugging_face_error_path_offline(monkeypatch) -> None:
    """Offline (HF_HUB_OFFLINE=1 from conftest) the hub loader fails with an actionable error."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(DatasetUnavailableError, match="Hugging Face hub"):
        load_problems("hf:mathagent-nonexistent/not-a-dataset", split="test")


def test_hugging_face_missing_library(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("no datasets")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(DatasetUnavailableError, match=r"mathagent\[train\]"):
        load_problems("hf:openai/gsm8k:main")
