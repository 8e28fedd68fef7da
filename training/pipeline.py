"""The Self-Critique pipeline: collect -> critique -> RFT -> DPO -> eval, each stage idempotent and resumable.

Every stage writes into ``WORKDIR/<stage>/`` and ends by writing ``WORKDIR/<stage>/DONE.json`` (last,
atomically) with a hash of its configuration chained to the stages before it. Run again, a done stage
with the same hash is skipped; an unfinished one resumes where it stopped (the collection and eval runs
skip finished problems, the critique stage skips critiqued trajectories, trainers resume from their
last checkpoint when ``train.save_steps`` is set); a stage's ``seconds`` sum all its runs
(``training.stage_clock``). A done stage whose configuration changed is an
error naming it; ``restart_from`` removes that stage's folder and every later one and runs them again.

The stages:

1. ``collect``: the policy samples K trajectories per training problem (``mathagent collect``);
2. ``critique``: the Math-Critique judge scores each one (self-critique by default, with the reference);
3. ``rft``: rejective fine-tuning on the correct, critic-accepted, de-duplicated samples;
4. ``dpo``: DPO of the RFT model on (chosen, rejected) pairs by correctness and critic score;
5. ``eval``: accuracy of the final model and of the starting model on held-out problems, same backend.

The final checkpoint is ``WORKDIR/model`` (a link to the last trained stage's ``model/``); load it with
``mathagent solve --model WORKDIR/model --backend transformers``.

Example:
    >>> from training.pipeline_config import PipelineConfig
    >>> Pipeline(PipelineConfig(workdir="/tmp/p", model="m")).stage_dir("rft").name
    'rft'
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.files import atomic_write_text

from .config import ModelSpec
from .errors import StageConfigError, TrainingError
from .jobs import config_hash
from .pipeline_config import STAGES, PipelineConfig
from .stage_clock import StageClock

__all__ = ["Pipeline", "run_pipeline", "DONE_FILE", "StageEvent"]

logger = logging.getLogger(__name__)

DONE_FILE = "DONE.json"
SUMMARY_FILE = "summary.json"

#: ``callback(stage, event, info)``; event is ``start``, ``skip``, ``done`` or ``progress``.
StageEvent = Callable[[str, str, dict], None]


class Pipeline:
    """Runs the stages of a :class:`~training.pipeline_config.PipelineConfig` (see the module docstring).

    Args:
        cfg: The pipeline configuration.
        on_event: ``callback(stage, event, info)`` for progress displays.
    """

    def __init__(self, cfg: PipelineConfig, on_event: StageEvent | None = None) -> None:
        self.cfg = cfg
        self.workdir = Path(cfg.workdir)
        self.on_event = on_event or (lambda stage, event, info: None)

    # -- markers ----------------------------------------------------------------------------------
    def stage_dir(self, stage: str) -> Path:
        return self.workdir / stage

    def _section(self, stage: str) -> dict:
        cfg = self.cfg
        if stage == "collect":
            return {
                "model": cfg.model,
                "few_shot": cfg.few_shot,
                "problems": cfg.problems.model_dump(mode="json"),
                "collect": cfg.collect.model_dump(mode="json"),
            }
        return getattr(cfg, stage).model_dump(mode="json")

    def stage_hashes(self) -> dict[str, str]:
        """Each stage's configuration hash, chained to the stages before it."""
        out: dict[str, str] = {}
        prev = ""
        for stage in STAGES:
            prev = config_hash({"stage": stage, "config": self._section(stage), "upstream": prev})
            out[stage] = prev
        return out

    def marker(self, stage: str) -> dict | None:
        path = self.stage_dir(stage) / DONE_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def _write_marker(self, stage: str, chash: str, result: dict, seconds: float) -> None:
        d = self.stage_dir(stage)
        d.mkdir(parents=True, exist_ok=True)
        body = {
            "stage": stage,
            "hash": chash,
            "config": self._section(stage),
            "seconds": round(seconds, 1),
            "result": result,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        atomic_write_text(d / DONE_FILE, json.dumps(body, indent=2, default=str) + "\n")

    # -- running ----------------------------------------------------------------------------------
    def run(self, *, restart_from: str | None = None, until: str | None = None) -> dict:
        """Run (or resume) the pipeline; returns the summary (also in ``WORKDIR/summary.json``).

        Args:
            restart_from: Remove this stage's folder and every later one first, and run them again.
            until: Stop after this stage.

        Raises:
            StageConfigError: A done stage was run with another configuration.
        """
        for name in (restart_from, until):
            if name is not None and name not in STAGES:
                raise TrainingError(f"unknown stage {name!r}: one of {', '.join(STAGES)}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "pipeline.json").write_text(self.cfg.model_dump_json(indent=2) + "\n")
        if restart_from is not None:
            for stage in STAGES[STAGES.index(restart_from) :]:
                shutil.rmtree(self.stage_dir(stage), ignore_errors=True)
        hashes = self.stage_hashes()
        results: dict[str, Any] = {}
        for stage in STAGES:
            chash = hashes[stage]
            done = self.marker(stage)
            if done is not None:
                if done["hash"] != chash:
                    from common.configs import config_diff

                    diff = config_diff(done.get("config", {}), json.loads(json.dumps(self._section(stage))))
                    what = "; ".join(diff) if diff else "an earlier stage changed"
                    raise StageConfigError(
                        f"stage {stage} in {self.workdir} was done with another configuration ({what}): run with "
                        f"--restart-from {stage} to redo it and the stages after it, or use another workdir"
                    )
                logger.info("stage %s: done already, skipped", stage)
                self.on_event(stage, "skip", done["result"])
                results[stage] = {**done["result"], "seconds": done["seconds"]}
            else:
                with StageClock(self.stage_dir(stage)) as clock:
                    self.on_event(stage, "start", {"earlier_seconds": round(clock.earlier, 1), "run": clock.runs})
                    result = getattr(self, f"_{stage}")(results)
                # seconds: every run of the stage (it may have been interrupted and resumed)
                result = {**result, "runs": clock.runs, "seconds_last_run": round(clock.this_run, 1)}
                seconds = clock.total
                self._write_marker(stage, chash, result, seconds)
                self.on_event(stage, "done", {**result, "seconds": seconds})
                results[stage] = {**result, "seconds": round(seconds, 1)}
            if stage == until:
                break
        return self._summary(results)

    def _summary(self, results: dict) -> dict:
        final = self._final_model(results)
        summary = {
            "workdir": str(self.workdir),
            "final_model": final,
            "seconds": {k: v.get("seconds") for k, v in results.items()},
            "stages": results,
        }
        ev = results.get("eval", {})
        if "final" in ev:
            summary["accuracy_after"] = ev["final"].get("accuracy")
        if "baseline" in ev:
            summary["accuracy_before"] = ev["baseline"].get("accuracy")
        if final:
            link = self.workdir / "model"
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(Path(final).resolve(), target_is_directory=True)
        (self.workdir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")
        return summary

    def _final_model(self, results: dict) -> str | None:
        """The last trained checkpoint (paths from this workdir, so a moved workdir still works)."""
        for stage in ("dpo", "rft"):
            res = results.get(stage) or {}
            if res.get("model"):
                return str(self.stage_dir(stage) / "model")
        return None

    def _progress(self, stage: str):
        def report(done: int, total: int, info: dict | None = None) -> None:
            self.on_event(stage, "progress", {"done": done, "total": total, **(info or {})})

        return report

    def _training_data(self) -> Path:
        return self.stage_dir("critique" if self.cfg.critique.enabled else "collect")

    # -- stages -----------------------------------------------------------------------------------
    def _collect(self, results: dict) -> dict:
        from .stages import collect_trajectories

        return collect_trajectories(self.cfg, self.stage_dir("collect"), self._progress("collect"))

    def _critique(self, results: dict) -> dict:
        if not self.cfg.critique.enabled:
            return {"skipped": True}
        from .stages import critique_trajectories

        return critique_trajectories(
            self.cfg, self.stage_dir("collect"), self.stage_dir("critique"), self._progress("critique")
        )

    def _rft(self, results: dict) -> dict:
        from .rft import run_rft
        from .sft_config import RFTJobConfig

        st = self.cfg.rft
        job = RFTJobConfig(
            model=ModelSpec(name=self.cfg.model),
            data=[str(self._training_data())],
            select=st.select,
            render=st.render,
            lora=st.lora,
            train=st.train.model_copy(update={"threads": st.train.threads or self.cfg.threads}),
            output_dir=str(self.stage_dir("rft")),
        )
        res = run_rft(job, on_progress=self._step_progress("rft"))
        return _train_summary(res)

    def _dpo(self, results: dict) -> dict:
        if not self.cfg.dpo.enabled:
            return {"skipped": True}
        from .dpo import run_dpo
        from .dpo_config import DPOJobConfig

        st = self.cfg.dpo
        job = DPOJobConfig(
            model=ModelSpec(name=str(self.stage_dir("rft") / "model")),
            data=[str(self._training_data())],
            pairs=st.pairs,
            render=st.render,
            beta=st.beta,
            loss_type=st.loss_type,
            loss_weights=st.loss_weights,
            lora=st.lora,
            train=st.train.model_copy(update={"threads": st.train.threads or self.cfg.threads}),
            output_dir=str(self.stage_dir("dpo")),
        )
        try:
            res = run_dpo(job, on_progress=self._step_progress("dpo"))
        except TrainingError as exc:
            if "no pairs" not in str(exc):
                raise
            logger.warning("dpo: %s; the RFT model stays the final model", exc)
            return {"skipped": True, "reason": str(exc)}
        return _train_summary(res)

    def _eval(self, results: dict) -> dict:
        if not self.cfg.eval.enabled:
            return {"skipped": True}
        from .stages import evaluate_model

        final = self._final_model(results)
        out = {"final": evaluate_model(self.cfg, final, self.stage_dir("eval") / "final", self._progress("eval"))}
        if self.cfg.eval.baseline:
            out["baseline"] = evaluate_model(
                self.cfg, None, self.stage_dir("eval") / "baseline", self._progress("eval-baseline")
            )
        return out

    def _step_progress(self, stage: str):
        report = self._progress(stage)

        def on_progress(step: int, max_steps: int, logs: dict) -> None:
            report(step, max_steps, {k: v for k, v in logs.items() if k in ("loss", "learning_rate")})

        return on_progress


def _train_summary(res) -> dict:
    return {
        "model": res.model_path,
        "examples": res.examples,
        "kept": res.report.kept,
        "dropped": res.report.dropped,
        "steps": res.steps,
        "first_loss": res.losses[0] if res.losses else None,
        "last_loss": res.losses[-1] if res.losses else None,
        "train_seconds": round(res.seconds, 1),
    }


def run_pipeline(
    cfg: PipelineConfig,
    *,
    restart_from: str | None = None,
    until: str | None = None,
    on_event: StageEvent | None = None,
) -> dict:
    """Run (or resume) the Self-Critique pipeline; returns the summary (see :class:`Pipeline`)."""
    return Pipeline(cfg, on_event).run(restart_from=restart_from, until=until)
