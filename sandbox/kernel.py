"""One Jupyter kernel (ipykernel over ipc sockets) in a sandbox, and the execution of one cell.

A :class:`Kernel` owns a session folder (connection file, ipc sockets, startup file, parent-death
lock), a kernel process started by a :class:`~sandbox.launcher.Launcher`, and its clients. Reads
never block without a deadline: every wait is ``get_iopub_msg(timeout=...)`` bounded by the cell's
remaining time, and the process is checked whenever the kernel is silent.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import queue
import re
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

from .errors import KernelStartError, SandboxClosedError
from .launcher import KernelProcess, Launcher
from .limits import Limits
from .reaper import SESSION_PREFIX, register, sweep_stale
from .results import ExecResult
from .zmq_client import Wire

if TYPE_CHECKING:
    from jupyter_client.connect import KernelConnectionInfo

__all__ = ["Kernel", "DEFAULT_PRELOAD"]

logger = logging.getLogger(__name__)

DEFAULT_PRELOAD = ("sympy", "numpy")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MARK = "[mathagent: output truncated"
_KEEP_MIMES = ("text/plain", "image/png", "text/latex")
_PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
_STARTUP = Path(__file__).with_name("kernel_startup.py")


class _Collector:
    """Gathers the iopub messages of one execute request into an ExecResult."""

    def __init__(self, msg_id: str, limits: Limits) -> None:
        self.msg_id = msg_id
        self.out_left = limits.max_output_bytes + 256
        self.disp_left = limits.max_display_bytes + 256
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.value: str | None = None
        self.displays: list[dict[str, str]] = []
        self.error: tuple[str, str, str] | None = None
        self.truncated = False

    def _keep_data(self, data: dict) -> dict[str, str]:
        kept = {}
        for mime in _KEEP_MIMES:
            value = data.get(mime)
            if isinstance(value, str):
                if len(value) > self.disp_left:
                    self.truncated = True
                    continue
                self.disp_left -= len(value)
                kept[mime] = value
        return kept

    def feed(self, msg: dict) -> bool:
        """Take one iopub message; True when the request is finished (status idle)."""
        if msg.get("parent_header", {}).get("msg_id") != self.msg_id:
            return False
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status":
            return content.get("execution_state") == "idle"
        if kind == "stream":
            text = content.get("text", "")
            if _MARK in text:
                self.truncated = True
            if len(text) > self.out_left:
                text, self.truncated = text[: max(self.out_left, 0)], True
            self.out_left -= len(text)
            (self.stderr if content.get("name") == "stderr" else self.stdout).append(text)
        elif kind == "execute_result":
            data = self._keep_data(content.get("data", {}))
            self.value = data.pop("text/plain", None)
            if self.value is not None and _MARK in self.value:
                self.truncated = True
            if data:
                self.displays.append(data)
        elif kind == "display_data":
            data = self._keep_data(content.get("data", {}))
            if data:
                self.displays.append(data)
        elif kind == "error":
            tb = _ANSI.sub("", "\n".join(content.get("traceback", [])))
            if len(tb) > 4000:
                tb = "...\n" + tb[-4000:]
            self.error = (content.get("ename", "Error"), str(content.get("evalue", ""))[:2000], tb)
        return False

    def result(self, duration: float, **flags) -> ExecResult:
        error_name, error_value, tb = self.error or (None, None, None)
        if error_name == "MemoryError":
            flags["memory_exceeded"] = True
        overrides = flags.pop("error", None)
        if overrides is not None:
            error_name, error_value, tb = overrides
        return ExecResult(
            stdout="".join(self.stdout), stderr="".join(self.stderr), value=self.value, displays=self.displays,
            error_name=error_name, error_value=error_value, traceback=tb, duration_s=duration,
            truncated=self.truncated, **flags,
        )  # fmt: skip


class Kernel:
    """A started kernel in its sandbox. Create with :meth:`Kernel.start`, then :meth:`wait_ready`.

    A Kernel is used by one caller at a time (it is not thread-safe). After the kernel dies, it
    stays dead: :class:`~sandbox.session.Sandbox` replaces it.
    """

    def __init__(self, launcher: Launcher, limits: Limits, session_dir: Path, lock_fd: int, connection: dict) -> None:
        self.launcher = launcher
        self.limits = limits
        self.session_dir = session_dir
        self._lock_fd = lock_fd
        self._connection = connection
        self.process: KernelProcess | None = None
        self._client = None
        self._aclient = None
        self._aloop = None
        self._closed = False
        self._ready = False
        self.started_at = time.monotonic()

    # ----------------------------------------------------------------------------- lifecycle

    @classmethod
    def start(
        cls,
        launcher: Launcher,
        limits: Limits,
        preload: tuple[str, ...] = DEFAULT_PRELOAD,
        base_dir: str | None = None,
    ) -> Kernel:
        """Create the session folder and start the kernel process; returns before it is ready."""
        base = Path(base_dir or tempfile.gettempdir())
        sweep_stale(base)
        session_dir = Path(tempfile.mkdtemp(prefix=f"{SESSION_PREFIX}{os.getpid()}-", dir=base))
        lock_fd = -1
        try:
            lock_fd = os.open(session_dir / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            inner = launcher.inner_dir(session_dir)
            connection = {
                **_PORTS, "transport": "ipc", "ip": f"{inner}/k", "key": secrets.token_hex(32),
                "signature_scheme": "hmac-sha256", "kernel_name": "",
            }  # fmt: skip
            (session_dir / "kernel.json").write_text(json.dumps(connection))
            shutil.copyfile(_STARTUP, session_dir / "startup.py")
            uid = launcher.sandbox_uid()
            if uid is not None:
                for path in (session_dir, session_dir / "kernel.json", session_dir / "startup.py"):
                    os.chown(path, uid, uid)
            os.chmod(session_dir / "kernel.json", 0o600)
            kernel = cls(launcher, limits, session_dir, lock_fd, {**connection, "ip": str(session_dir / "k")})
            register(kernel)
            argv = [
                launcher.python(), "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", f"{inner}/kernel.json",
                f"--IPKernelApp.exec_files={inner}/startup.py", "--HistoryManager.enabled=False",
                "--InteractiveShell.colors=nocolor", "--InteractiveShell.xmode=Plain",
                "--IPKernelApp.log_level=ERROR",
            ]  # fmt: skip
            env = {
                "PATH": f"{os.path.dirname(launcher.python())}:/usr/local/bin:/usr/bin:/bin",
                "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "NUMEXPR_NUM_THREADS": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                "MATHAGENT_OUTPUT_CAP": str(limits.max_output_bytes),
                "MATHAGENT_DISPLAY_CAP": str(limits.max_display_bytes),
                "MATHAGENT_PRELOAD": ",".join(preload),
            }  # fmt: skip
            kernel.process = launcher.launch(session_dir, argv, env, limits)
            return kernel
        except BaseException:
            if lock_fd >= 0:
                os.close(lock_fd)
            shutil.rmtree(session_dir, ignore_errors=True)
            raise

    def _log_tail(self) -> str:
        try:
            return (self.session_dir / "kernel.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _make_client(self, asynchronous: bool):
        if not asynchronous:
            return Wire(self._connection)
        from jupyter_client.asynchronous import AsyncKernelClient

        client = AsyncKernelClient()
        client.load_connection_info(cast("KernelConnectionInfo", self._connection))
        client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=True)
        return client

    @property
    def client(self):
        """The synchronous client (created on first use)."""
        if self._closed:
            raise SandboxClosedError("this kernel was closed; start a new Sandbox")
        if self._client is None:
            self._client = self._make_client(False)
        return self._client

    def alive(self) -> bool:
        """True while the kernel process runs."""
        return not self._closed and self.process is not None and self.process.alive()

    def wait_ready(self, timeout: float | None = None, stop: threading.Event | None = None) -> None:
        """Block until the kernel answers on shell and iopub; raise KernelStartError otherwise.

        Args:
            timeout: seconds to wait (default Limits.startup_timeout_s); the kernel is closed after it.
            stop: when set, give up at the next check (every 0.5 s) with KernelStartError.
        """
        if self._ready:
            return
        deadline = time.monotonic() + (timeout or self.limits.startup_timeout_s)
        # Connect only once the kernel has bound its sockets: zmq would otherwise retry every 100 ms.
        sockets = [self.session_dir / f"k-{port}" for port in (1, 2, 4)]
        while not all(s.exists() for s in sockets) and time.monotonic() < deadline and self.alive():
            if stop is not None and stop.is_set():
                break
            time.sleep(0.005)
        client = self.client
        attempt = 0
        while True:
            attempt += 1
            if not self.alive():
                log = self._log_tail()
                self.close()
                raise KernelStartError(f"the sandbox kernel exited during start-up:\n{log}")
            if time.monotonic() > deadline or (stop is not None and stop.is_set()):
                log = self._log_tail()
                self.close()
                raise KernelStartError(f"the sandbox kernel did not answer in time:\n{log}")
            msg_id = client.kernel_info()
            if self._await_idle_sync(client, msg_id, min(0.05 * attempt, 0.5, max(deadline - time.monotonic(), 0.01))):
                break
        # One throw-away cell: IPython's first execution is slower (lazy imports, caches).
        msg_id = client.execute("0", store_history=False, allow_stdin=False)
        if not self._await_idle_sync(client, msg_id, max(deadline - time.monotonic(), 0.01)):
            log = self._log_tail()
            self.close()
            raise KernelStartError(f"the sandbox kernel did not run its warm-up cell:\n{log}")
        self._drain_sync(client)
        self._ready = True

    def _await_idle_sync(self, client, msg_id: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                msg = client.get_iopub_msg(timeout=left)
            except queue.Empty:
                return False
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status":
                if msg["content"].get("execution_state") == "idle":
                    return True
        return False

    @staticmethod
    def _drain_sync(client: Wire) -> None:
        client.drain()

    def interrupt(self) -> None:
        """Ask the kernel to raise KeyboardInterrupt (an interrupt_request on the control channel)."""
        self.client.interrupt()

    def close(self) -> None:
        """Kill the kernel and its processes, close the sockets, remove the session folder. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for client in (self._client, self._aclient):
            if client is not None:
                try:
                    client.stop_channels()
                except Exception as exc:  # noqa: BLE001 - closing must go on
                    logger.debug("stop_channels: %s", exc)
        self._client = self._aclient = None
        if self.process is not None:
            self.process.kill()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        shutil.rmtree(self.session_dir, ignore_errors=True)

    # ----------------------------------------------------------------------------- execution

    def _dead_result(
        self, collector: _Collector, start: float, oom_before: int, close: bool = True, **flags
    ) -> ExecResult:
        memory = self.process.oom_kills() > oom_before if self.process else False  # per-session group
        what = "exceeded the memory limit and was killed" if memory else "died (crashed or exited)"
        if close:
            self.close()
        return collector.result(
            time.monotonic() - start, restarted=True, memory_exceeded=memory or flags.pop("memory_exceeded", False),
            error=("KernelDied", f"the kernel {what}; all variables were lost", None), **flags,
        )  # fmt: skip

    def _finish_timeout(
        self, collector: _Collector, start: float, timeout: float, restarted: bool, close: bool = True
    ) -> ExecResult:
        err = ("Timeout", f"the cell ran longer than {timeout:g} s and was stopped", None)
        if restarted and close:
            self.close()
        return collector.result(time.monotonic() - start, timed_out=True, restarted=restarted, error=err)

    def execute(self, code: str, timeout: float | None = None) -> ExecResult:
        """Run one cell and return what it produced; never raises for errors in the cell."""
        timeout = timeout or self.limits.cell_timeout_s
        client = self.client
        start = time.monotonic()
        oom_before = 0  # each session has its own cgroup or container: any OOM kill is this kernel's
        msg_id = client.execute(code, store_history=True, allow_stdin=False, stop_on_error=False)
        collector = _Collector(msg_id, self.limits)
        state = self._pump_sync(client, collector, start + timeout)
        if state == "timeout":
            self.interrupt()
            state = self._pump_sync(client, collector, time.monotonic() + self.limits.interrupt_grace_s)
            if state == "idle":
                self._drain_sync(client)
                return self._finish_timeout(collector, start, timeout, restarted=False)
            if state == "timeout":
                return self._finish_timeout(collector, start, timeout, restarted=True)
        if state == "died":
            return self._dead_result(collector, start, oom_before)
        self._drain_sync(client)
        return collector.result(time.monotonic() - start)

    def _pump_sync(self, client, collector: _Collector, deadline: float) -> str:
        poll = getattr(self.process, "poll_interval", 0.05)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            try:
                msg = client.get_iopub_msg(timeout=min(left, poll))
            except queue.Empty:
                assert self.process is not None  # set by Kernel.start before any cell runs
                if not self.process.alive():
                    return "died"
                continue
            if collector.feed(msg):
                return "idle"

    # ----------------------------------------------------------------------------- async twin

    async def _async_client(self):
        if self._closed:
            raise SandboxClosedError("this kernel was closed; start a new Sandbox")
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aloop is not loop:
            if self._aclient is not None:
                self._aclient.stop_channels()
            self._aclient, self._aloop = self._make_client(True), loop
            # New iopub subscription: wait until it sees our messages (zmq slow joiner).
            deadline = time.monotonic() + self.limits.startup_timeout_s
            while True:
                msg_id = self._aclient.kernel_info()
                collector = _Collector(msg_id, self.limits)
                state = await self._pump_async(self._aclient, collector, time.monotonic() + 0.5)
                if state == "idle":
                    break
                if state == "died" or time.monotonic() > deadline:
                    raise KernelStartError(f"the sandbox kernel did not answer:\n{self._log_tail()}")
            await self._drain_async(self._aclient)
        return self._aclient

    @staticmethod
    async def _drain_async(client) -> None:
        for channel in (client.shell_channel, client.control_channel):
            while await channel.msg_ready():
                await channel.get_msg(timeout=0)

    async def aexecute(self, code: str, timeout: float | None = None) -> ExecResult:
        """Async twin of :meth:`execute`."""
        timeout = timeout or self.limits.cell_timeout_s
        client = await self._async_client()
        start = time.monotonic()
        oom_before = 0  # each session has its own cgroup or container: any OOM kill is this kernel's
        msg_id = client.execute(code, store_history=True, allow_stdin=False, stop_on_error=False)
        collector = _Collector(msg_id, self.limits)
        state = await self._pump_async(client, collector, start + timeout)
        if state == "timeout":
            client.control_channel.send(client.session.msg("interrupt_request", {}))
            state = await self._pump_async(client, collector, time.monotonic() + self.limits.interrupt_grace_s)
            if state == "idle":
                await self._drain_async(client)
                return self._finish_timeout(collector, start, timeout, restarted=False)
            if state == "timeout":
                result = self._finish_timeout(collector, start, timeout, restarted=True, close=False)
                await asyncio.to_thread(self.close)  # killing may wait for the processes: not on the loop
                return result
        if state == "died":
            result = self._dead_result(collector, start, oom_before, close=False)
            await asyncio.to_thread(self.close)
            return result
        await self._drain_async(client)
        return collector.result(time.monotonic() - start)

    async def _pump_async(self, client, collector: _Collector, deadline: float) -> str:
        poll = getattr(self.process, "poll_interval", 0.05)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            try:
                msg = await client.get_iopub_msg(timeout=min(left, poll))
            except queue.Empty:
                assert self.process is not None  # set by Kernel.start before any cell runs
                if not self.process.alive():
                    return "died"
                continue
            if collector.feed(msg):
                return "idle"
