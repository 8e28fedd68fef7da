"""Start and stop llama.cpp's OpenAI-compatible server (``python -m llama_cpp.server``) on loopback.

Used by the tests of the ``openai`` backend, the benchmarks and the CPU deployment profile. The server
serialises requests behind one lock (no parallel slots), and by default a new request interrupts a
running stream: ``--interrupt_requests False`` turns that off.

Example:
    >>> free_port() > 0
    True
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ..errors import BackendError

__all__ = ["LlamaServer", "free_port"]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """A ``llama_cpp.server`` process serving one GGUF file; a context manager that stops it.

    Args:
        gguf: The model file.
        alias: The model name clients send.
        n_ctx: Context window.
        n_threads: CPU threads (default ``$MATHAGENT_THREADS`` or 1).
        port: Port on 127.0.0.1 (default: a free one).
        startup_timeout: Seconds to wait for ``/v1/models`` to answer.
    """

    def __init__(
        self,
        gguf: Path,
        alias: str,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        port: int | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threads = n_threads or int(os.environ.get("MATHAGENT_THREADS") or 1)
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--model_alias",
            alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(n_ctx),
            "--n_threads",
            str(threads),
            "--interrupt_requests",
            "False",
        ]
        # The server logs a lot: to a file, not to a pipe that nobody reads (a full pipe blocks it).
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        try:
            self._wait(startup_timeout)
        except BaseException:
            self.close()
            raise

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BackendError(f"llama_cpp.server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        raise BackendError(f"llama_cpp.server did not answer within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, chars: int = 1500) -> str:
        self.log.seek(0)
        return self.log.read()[-chars:]

    def close(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 15 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
