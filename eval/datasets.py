"""Dataset loading into :class:`~eval.records.Problem` records: GSM8K, MATH/MATH500, any JSONL/JSON/Parquet
file with a field mapping, and Hugging Face datasets.

``load_problems(source)`` accepts:

- a known name, ``"gsm8k"``, ``"math500"`` (read from the shared data folder:
  ``$MATHAGENT_SHARED_DATA``, else ``<repo>/../shared/data``; ``split`` picks the file, default ``test``);
- a path to a ``.jsonl``, ``.json`` (a list of records, or an object holding one under ``data``,
  ``problems``, ``examples`` or ``rows``) or ``.parquet`` file;
- ``"hf:<name>[:<config>]"`` (or an ``owner/name`` that is not a local path): the Hugging Face hub
  through ``datasets.load_dataset``, imported only then (needs ``mathagent[train]`` and a network).

The schema is GSM8K (``question`` + ``answer`` ending in ``#### <final>``), MATH (``problem`` +
``answer``, else the last ``\\boxed{}`` of ``solution``; ``subject``/``type`` and ``level`` kept in the
metadata) or, when ``fields`` is given, generic. A malformed record raises
:class:`~eval.errors.MalformedRecordError` naming the file and line; ``skip_bad=True`` skips it and
counts it in ``.skipped`` of the returned list.

Example:
    >>> import json, tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> _ = f.write_text(json.dumps({"q": "1+1?", "a": 2}) + "\\n" + "{oops\\n")
    >>> probs = load_problems(f, fields={"question": "q", "answer": "a"}, skip_bad=True)
    >>> [p.id for p in probs], probs[0].answer, probs.skipped
    (['train/0'], '2', 1)
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import DatasetError, DatasetNotFoundError, DatasetUnavailableError, MalformedRecordError
from .extract import last_boxed_only
from .records import Problem, content_hash, make_id

__all__ = ["FieldMap", "ProblemList", "load_problems", "shared_data_dir", "KNOWN_DATASETS"]

logger = logging.getLogger(__name__)

Schema = Literal["gsm8k", "math", "generic"]

#: Known dataset names: folder under the shared data directory and schema.
KNOWN_DATASETS: dict[str, tuple[str, Schema]] = {
    "gsm8k": ("gsm8k", "gsm8k"),
    "math500": ("math500", "math"),
    "math": ("math500", "math"),
}
_SPLIT_NAMES = {"train", "test", "validation", "valid", "val", "dev"}
_JSON_LIST_KEYS = ("data", "problems", "examples", "rows", "records")


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Which record fields hold the question, the answer and the id (for generic files).

    Attributes:
        question: Field with the problem statement.
        answer: Field with the final answer (None: no reference answer).
        id: Field with a per-record id (None: the record index).
        solution: Field with a worked solution whose last ``\\boxed{}`` is the answer when ``answer``
            is missing.
    """

    question: str = "question"
    answer: str | None = "answer"
    id: str | None = None
    solution: str | None = None

    @classmethod
    def of(cls, fields: FieldMap | Mapping[str, str | None] | None) -> FieldMap | None:
        """Build from a mapping such as ``{"question": "q", "answer": "a"}``."""
        if fields is None or isinstance(fields, FieldMap):
            return fields
        unknown = set(fields) - {"question", "answer", "id", "solution"}
        if unknown:
            raise DatasetError(f"unknown keys in fields: {sorted(unknown)} (use question, answer, id, solution)")
        return cls(**dict(fields))  # type: ignore[arg-type]


class ProblemList(list):
    """A ``list[Problem]`` that also says what was skipped.

    Attributes:
        skipped: Number of malformed records skipped (``skip_bad=True``).
        skipped_reasons: One line per skipped record (file, line, reason).
        source: Where the problems came from.
    """

    def __init__(self, items: list[Problem] | None = None, *, source: str = "") -> None:
        super().__init__(items or [])
        self.skipped = 0
        self.skipped_reasons: list[str] = []
        self.source = source


def shared_data_dir() -> Path:
    """The shared data folder: ``$MATHAGENT_SHARED_DATA``, else ``<repo>/../shared/data``.

    Example:
        >>> shared_data_dir().name
        'data'
    """
    env = os.environ.get("MATHAGENT_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _answer_text(x: Any) -> str | None:
    if x is None:
        return None
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, int | float):
        return str(x)
    if isinstance(x, str):
        return x.strip() or None
    raise ValueError(f"answer must be a string or a number, got {type(x).__name__}")


def _level(x: Any) -> int | None:
    if x is None or isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    m = re.search(r"\d+", str(x))
    return int(m.group(0)) if m else None


def _gsm8k(rec: dict[str, Any]) -> tuple[str, str, str | None, dict[str, Any]]:
    q, a = rec.get("question"), rec.get("answer")
    if not isinstance(q, str) or not q.strip():
        raise ValueError("missing or empty 'question'")
    if not isinstance(a, str) or "####" not in a:
        raise ValueError("'answer' has no '#### <final answer>' line")
    solution, final = a.rsplit("####", 1)
    final = final.strip().replace(",", "")
    if not final:
        raise ValueError("empty final answer after '####'")
    return q, final, None, {"solution": solution.strip()}


def _math(rec: dict[str, Any]) -> tuple[str, str, str | None, dict[str, Any]]:
    q = rec.get("problem", rec.get("question"))
    if not isinstance(q, str) or not q.strip():
        raise ValueError("missing or empty 'problem'")
    solution = rec.get("solution")
    answer = _answer_text(rec.get("answer"))
    if answer is None and isinstance(solution, str):
        answer = last_boxed_only(solution)
    if answer is None:
        raise ValueError("no 'answer' field and no \\boxed{} answer in 'solution'")
    meta: dict[str, Any] = {
        "subject": rec.get("subject", rec.get("type")),
        "level": _level(rec.get("level")),
    }
    if isinstance(solution, str):
        meta["solution"] = solution
    key = rec.get("unique_id")
    if key is not None:
        meta["unique_id"] = key
    return q, answer, None if key is None else str(key), meta


def _generic(rec: dict[str, Any], fm: FieldMap) -> tuple[str, str | None, str | None, dict[str, Any]]:
    if fm.question not in rec:
        raise ValueError(f"missing question field {fm.question!r} (record has {sorted(rec)[:8]})")
    q = rec[fm.question]
    if not isinstance(q, str) or not q.strip():
        raise ValueError(f"question field {fm.question!r} is empty or not a string")
    answer = _answer_text(rec.get(fm.answer)) if fm.answer else None
    if answer is None and fm.solution and isinstance(rec.get(fm.solution), str):
        answer = last_boxed_only(rec[fm.solution])
    key = None
    if fm.id:
        if rec.get(fm.id) is None:
            raise ValueError(f"missing id field {fm.id!r}")
        key = str(rec[fm.id])
    used = {fm.question, fm.answer, fm.id}
    meta = {k: v for k, v in rec.items() if k not in used}
    return q, answer, key, meta


def _detect_schema(name_hint: str, rec: dict[str, Any]) -> Schema:
    hint = name_hint.lower()
    if "gsm8k" in hint:
        return "gsm8k"
    if "math" in hint and "problem" in rec:
        return "math"
    if "problem" in rec and ("answer" in rec or "solution" in rec):
        return "math"
    if isinstance(rec.get("answer"), str) and "####" in rec["answer"] and "question" in rec:
        return "gsm8k"
    return "generic"


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | Exception]]:
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                yield lineno, ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            yield lineno, rec if isinstance(rec, dict) else ValueError(f"expected an object, got {type(rec).__name__}")


def _iter_json(path: Path) -> Iterator[tuple[int, dict[str, Any] | Exception]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MalformedRecordError(
            path, exc.lineno, f"invalid JSON ({exc.msg}); the whole file is unreadable"
        ) from exc
    if isinstance(data, dict):
        lists = [data[k] for k in _JSON_LIST_KEYS if isinstance(data.get(k), list)]
        if not lists:
            raise DatasetError(f"{path}: a JSON object without a list of records under {list(_JSON_LIST_KEYS)}")
        data = lists[0]
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    for i, rec in enumerate(data, 1):
        yield i, rec if isinstance(rec, dict) else ValueError(f"expected an object, got {type(rec).__name__}")


def _iter_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any] | Exception]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow comes with the train extra
        raise DatasetUnavailableError("reading Parquet needs pyarrow: pip install 'mathagent[train]'") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
        raise DatasetError(f"{path}: not a readable Parquet file ({exc})") from exc
    yield from enumerate(table.to_pylist(), 1)


def _iter_hf(name: str, split: str | None) -> Iterator[tuple[int, dict[str, Any] | Exception]]:
    repo, _, config = name.partition(":")
    try:
        import datasets as hf_datasets
    except ImportError as exc:
        raise DatasetUnavailableError(
            f"loading {repo!r} from the Hugging Face hub needs the 'datasets' library: pip install 'mathagent[train]'"
        ) from exc
    try:
        ds = hf_datasets.load_dataset(repo, config or None, split=split or "test")
    except Exception as exc:  # noqa: BLE001 - network, auth and missing-dataset errors all end here
        raise DatasetUnavailableError(
            f"cannot load {repo!r} (config {config or None!r}, split {split or 'test'!r}) from the Hugging Face hub: "
            f"{type(exc).__name__}: {str(exc)[:300]}. Check the name and the network "
            f"(HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '0')}), or download it and pass the file path."
        ) from exc
    for i, rec in enumerate(ds, 1):
        yield i, dict(rec)


def _resolve(source: str | Path, split: str | None) -> tuple[str, Path | None, str, str | None, Schema | None]:
    """(kind, path, dataset name, split, schema) for a source."""
    text = str(source)
    if isinstance(source, str) and text.lower() in KNOWN_DATASETS:
        folder, schema = KNOWN_DATASETS[text.lower()]
        split = split or "test"
        path = shared_data_dir() / folder / f"{split}.jsonl"
        if not path.is_file():
            raise DatasetNotFoundError(
                f"{text!r} split {split!r}: {path} does not exist "
                "(set MATHAGENT_SHARED_DATA to the shared data folder)"
            )
        return "file", path, folder, split, schema
    if isinstance(source, str) and text.startswith("hf:"):
        return "hf", None, text[3:], split or "test", None
    path = Path(source)
    if path.is_file():
        parent = path.parent.name.lower()
        name = parent if parent in {v[0] for v in KNOWN_DATASETS.values()} else path.stem
        file_split = path.stem if path.stem.lower() in _SPLIT_NAMES else None
        if name == path.stem:
            file_split = None
        split = split or file_split
        return "file", path, name, split, KNOWN_DATASETS.get(name, (None, None))[1]
    if isinstance(source, str) and re.fullmatch(r"[\w.-]+/[\w.-]+(:[\w.-]+)?", text) and not path.suffix:
        return "hf", None, text, split or "test", None
    raise DatasetNotFoundError(
        f"{text!r} is neither a file, a known dataset ({', '.join(KNOWN_DATASETS)}) nor 'hf:<name>'"
    )


def load_problems(
    source: str | Path,
    *,
    split: str | None = None,
    fields: FieldMap | Mapping[str, str | None] | None = None,
    limit: int | None = None,
    skip_bad: bool = False,
) -> ProblemList:
    """Load problems from a known dataset, a file or the Hugging Face hub.

    Args:
        source: ``"gsm8k"``, ``"math500"``, a ``.jsonl``/``.json``/``.parquet`` path, or ``"hf:<name>[:<config>]"``.
        split: Split name (known datasets and the hub; default ``test``); part of the ids.
        fields: Field mapping for generic files (keys ``question``, ``answer``, ``id``, ``solution``);
            when given, the generic schema is used.
        limit: Keep only the first ``limit`` problems.
        skip_bad: Skip malformed records (counted in ``.skipped``) instead of raising.

    Returns:
        A :class:`ProblemList` (a ``list[Problem]`` with ``skipped`` and ``skipped_reasons``).

    Raises:
        MalformedRecordError: A record is malformed (message: ``<file>:<line>: <reason>``).
        DatasetNotFoundError: The source does not exist.
        DatasetUnavailableError: The hub or the ``datasets`` library is not available.
        DatasetError: Duplicate ids and other whole-file problems.

    Example:
        >>> probs = load_problems("gsm8k", limit=2)  # doctest: +SKIP
        >>> probs[0].id, probs[0].answer  # doctest: +SKIP
        ('gsm8k/test/0', '18')
    """
    fm = FieldMap.of(fields)
    kind, path, name, split, schema = _resolve(source, split)
    if kind == "hf":
        records = _iter_hf(name, split)
        where, unit = f"hf:{name}", "row"
        name = name.split(":")[0].split("/")[-1].lower()
    else:
        assert path is not None
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            records, unit = _iter_jsonl(path), "line"
        elif suffix == ".json":
            records, unit = _iter_json(path), "record"
        elif suffix == ".parquet":
            records, unit = _iter_parquet(path), "row"
        else:
            raise DatasetError(f"{path}: unknown file type {suffix!r} (use .jsonl, .json or .parquet)")
        where = str(path)
    out = ProblemList(source=where)
    seen: dict[str, int] = {}
    index = 0
    for lineno, rec in records:
        if limit is not None and len(out) >= limit:
            break
        try:
            if isinstance(rec, Exception):
                raise rec
            if fm is not None:
                q, answer, key, meta = _generic(rec, fm)
            else:
                schema = schema or _detect_schema(name, rec)
                if schema == "gsm8k":
                    q, answer, key, meta = _gsm8k(rec)
                elif schema == "math":
                    q, answer, key, meta = _math(rec)
                else:
                    q, answer, key, meta = _generic(rec, FieldMap())
            pid = make_id(name, split, key if key is not None else index)
            if pid in seen:
                raise ValueError(f"duplicate id {pid!r} (first at {unit} {seen[pid]})")
            meta["content_hash"] = content_hash(q)
            problem = Problem(id=pid, question=q, answer=answer, source=name, metadata=meta)
        except (ValueError, TypeError) as exc:
            err = MalformedRecordError(where, lineno, str(exc), unit=unit)
            if not skip_bad:
                raise err from None
            out.skipped += 1
            out.skipped_reasons.append(f"{where}:{lineno}: {exc}")
            logger.warning("skipping %s:%d: %s", where, lineno, exc)
            index += 1
            continue
        seen[pid] = lineno
        out.append(problem)
        index += 1
    return out
