"""Scale-out on Ray: problems spread over Ray actors, each with its own model and sandbox pool.

The driver (the ``mathagent collect --ray`` process) keeps everything about files: the lock, the
manifest, the shards and the error-rate stop are the same code as a local job, so the output format is
the same. Workers are Ray actors (:class:`CollectWorker`), each a :class:`~.worker.ProblemSolver`
running up to ``concurrency`` trajectories at once on its own event loop; they return each problem's
trajectories to the driver, which writes them. Ray places the actors (``num_cpus``/``num_gpus`` per
worker), restarts a worker whose process died (``max_restarts``) and retries its calls
(``max_task_retries``); there is no scheduling code of our own beyond a queue of problems that each
worker's lanes pull from.

``options.ray``: ``"local"`` starts a Ray instance in this process (``ray.init(num_cpus=...)``),
``"auto"`` joins the cluster of ``ray start`` on this machine, ``"host:port"`` / ``"ray://host:port"``
join a remote one. Every node needs mathagent installed (and the model available); the driver needs
nothing more than Ray. An already initialized Ray (``ray.init`` called by the caller) is used as is.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence

from eval.records import Problem
from eval.trajectory import Trajectory

from .spec import CollectError, CollectOptions, CollectSpec
from .worker import ProblemSolver, problem_window

__all__ = ["CollectWorker", "RayExecutor"]

logger = logging.getLogger(__name__)

# Passed to the workers' processes: one thread per engine unless told otherwise, offline hub.
_ENV_KEYS = (
    "MATHAGENT_THREADS",
    "OMP_NUM_THREADS",
    "MATHAGENT_CACHE",
    "MATHAGENT_SANDBOX",
    "HF_HUB_OFFLINE",
    "MATHAGENT_SHARED_DATA",
    "VLLM_CPU_KVCACHE_SPACE",
    "PYTHONPATH",
)


class CollectWorker:
    """A Ray actor's body: one :class:`ProblemSolver` (model, agent, sandbox pool, critic).

    Args:
        spec_json: The :class:`CollectSpec` as JSON.
        options_json: The :class:`CollectOptions` as JSON.
    """

    def __init__(self, spec_json: str, options_json: str) -> None:
        logging.basicConfig(level=logging.WARNING)
        self.spec = CollectSpec.model_validate_json(spec_json)
        self.options = CollectOptions.model_validate_json(options_json)
        self.solver = ProblemSolver.load(self.spec, self.options)

    async def ready(self) -> dict:
        """Where this worker runs (the driver waits for every worker's model to load)."""
        import socket

        return {"host": socket.gethostname(), "pid": os.getpid(), "model": self.solver.agent.llm.model_id}

    async def solve(self, problem_json: str) -> list[str]:
        """One problem's trajectories, as JSON lines."""
        trajs = await self.solver.solve(Problem.model_validate_json(problem_json))
        return [t.model_dump_json() for t in trajs]

    async def close(self) -> None:
        await asyncio.to_thread(self.solver.close)


class RayExecutor:
    """Runs problems on Ray workers; yields each problem's trajectories as it completes.

    Args:
        spec: What to collect.
        options: ``ray`` (address), ``ray_workers``, ``ray_cpus``, ``ray_gpus``, ``concurrency`` per worker.
    """

    def __init__(self, spec: CollectSpec, options: CollectOptions) -> None:
        from agent.imports import require

        ray = require("ray", "collect --ray")
        self.ray = ray
        self.spec = spec
        self.options = options
        self._started_ray = False
        if not ray.is_initialized():
            env = {k: os.environ[k] for k in _ENV_KEYS if k in os.environ}
            env.setdefault("MATHAGENT_THREADS", "1")
            env.setdefault("OMP_NUM_THREADS", env["MATHAGENT_THREADS"])
            kwargs = {"runtime_env": {"env_vars": env}, "include_dashboard": False, "log_to_driver": True}
            if options.ray in (None, "local"):
                cpus = os.cpu_count() or 1
                if options.ray_workers:
                    cpus = max(cpus, int(options.ray_workers * options.ray_cpus + 0.999))
                ray.init(num_cpus=cpus, **kwargs)
            else:
                ray.init(address=options.ray, **kwargs)
            self._started_ray = True
        cpus = ray.cluster_resources().get("CPU", 1)
        n = options.ray_workers or max(1, int(cpus // options.ray_cpus))
        actor_cls = ray.remote(
            num_cpus=options.ray_cpus, num_gpus=options.ray_gpus, max_restarts=2, max_task_retries=2
        )(CollectWorker)
        self.actors = [actor_cls.remote(spec.model_dump_json(), options.model_dump_json()) for _ in range(n)]
        try:
            infos = ray.get([a.ready.remote() for a in self.actors])
        except Exception as exc:
            self.close()
            raise CollectError(f"Ray workers could not start: {exc}") from exc
        self.names = [f"{i['host']}:{i['pid']}" for i in infos]
        self.worker_counts: dict[str, int] = {}
        logger.info("%d Ray workers ready: %s", n, ", ".join(self.names))

    async def results(self, problems: Sequence[Problem]) -> AsyncIterator[tuple[Problem, list[Trajectory]]]:
        """Yield ``(problem, trajectories)`` in completion order; closing it early cancels the lanes."""
        queue: asyncio.Queue[Problem] = asyncio.Queue()
        for p in problems:
            queue.put_nowait(p)
        done: asyncio.Queue = asyncio.Queue()

        async def lane(actor, name: str) -> None:
            while not queue.empty():
                problem = queue.get_nowait()
                try:
                    lines = await actor.solve.remote(problem.model_dump_json())
                    await done.put((problem, [Trajectory.model_validate_json(x) for x in lines], name))
                except Exception as exc:  # noqa: BLE001 - reported to the driver loop, which stops the job
                    await done.put(exc)
                    return

        lanes_per_actor = problem_window(self.options.concurrency, self.spec.samples)
        lanes = [  # round-robin over the workers, so that a short job still reaches all of them
            asyncio.ensure_future(lane(a, name))
            for _ in range(lanes_per_actor)
            for a, name in zip(self.actors, self.names, strict=True)
        ]
        try:
            for _ in range(len(problems)):
                item = await done.get()
                if isinstance(item, Exception):
                    raise CollectError(f"a Ray worker failed: {type(item).__name__}: {item}") from item
                problem, trajs, name = item
                self.worker_counts[name] = self.worker_counts.get(name, 0) + 1
                yield problem, trajs
        finally:
            for t in lanes:
                t.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    def close(self) -> None:
        """Close the workers' sandbox pools and models, end the actors, and stop Ray if this started it."""
        ray = self.ray
        try:
            ray.get([a.close.remote() for a in self.actors], timeout=60)
        except Exception as exc:  # noqa: BLE001 - the actors are killed next anyway
            logger.warning("closing Ray workers: %s", exc)
        for a in self.actors:
            ray.kill(a)
        self.actors = []
        if self._started_ray:
            ray.shutdown()
