"""A minimal synchronous Jupyter client over raw zmq sockets: the hot path of :meth:`Kernel.execute`.

jupyter_client's BlockingKernelClient runs an asyncio loop per call and parses every header's dates;
for a `1+1` cell that is about half of the round trip. This client speaks the same wire protocol
(signed with jupyter_client's Session) with plain sockets and ``json.loads``, and verifies the HMAC
signature of every message it reads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import queue

import zmq
from jupyter_client.session import Session

__all__ = ["Wire"]

logger = logging.getLogger(__name__)

_DELIM = b"<IDS|MSG>"


class Wire:
    """Shell, control and iopub sockets of one kernel; not thread-safe (one caller at a time).

    Example:
        >>> Wire.url({"transport": "ipc", "ip": "/run/k"}, 1)
        'ipc:///run/k-1'
    """

    def __init__(self, connection: dict) -> None:
        key = connection["key"].encode()
        self.session = Session(key=key, signature_scheme=connection["signature_scheme"])
        self._key = key
        context: zmq.SyncContext = zmq.Context.instance()
        self.shell = context.socket(zmq.DEALER)
        self.control = context.socket(zmq.DEALER)
        self.iopub = context.socket(zmq.SUB)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        for socket, port in ((self.shell, "shell_port"), (self.control, "control_port"), (self.iopub, "iopub_port")):
            socket.linger = 0
            socket.connect(self.url(connection, connection[port]))

    @staticmethod
    def url(connection: dict, port: int) -> str:
        """The zmq address of one channel."""
        if connection["transport"] == "ipc":
            return f"ipc://{connection['ip']}-{port}"
        return f"tcp://{connection['ip']}:{port}"

    def _send(self, socket: zmq.Socket, msg_type: str, content: dict) -> str:
        msg = self.session.msg(msg_type, content)
        self.session.send(socket, msg)
        return msg["header"]["msg_id"]

    def kernel_info(self) -> str:
        """Send a kernel_info_request; returns its msg_id."""
        return self._send(self.shell, "kernel_info_request", {})

    def execute(
        self, code: str, store_history: bool = True, allow_stdin: bool = False, stop_on_error: bool = False
    ) -> str:
        """Send an execute_request; returns its msg_id."""
        content = {
            "code": code, "silent": False, "store_history": store_history, "user_expressions": {},
            "allow_stdin": allow_stdin, "stop_on_error": stop_on_error,
        }  # fmt: skip
        return self._send(self.shell, "execute_request", content)

    def interrupt(self) -> None:
        """Send an interrupt_request on the control channel."""
        self._send(self.control, "interrupt_request", {})

    def get_iopub_msg(self, timeout: float) -> dict:
        """The next iopub message within `timeout` seconds, else queue.Empty (as jupyter_client)."""
        while True:
            if not self.iopub.poll(max(math.ceil(timeout * 1000), 0)):
                raise queue.Empty
            msg = self._decode(self.iopub.recv_multipart())
            if msg is not None:
                return msg
            timeout = 0

    def _decode(self, frames: list[bytes]) -> dict | None:
        try:
            i = frames.index(_DELIM)
            signature, header, parent, metadata, content = frames[i + 1 : i + 6]
        except ValueError:
            logger.debug("dropping a malformed kernel message")
            return None
        if self._key:
            mac = hmac.new(self._key, digestmod=hashlib.sha256)
            for part in (header, parent, metadata, content):
                mac.update(part)
            if not hmac.compare_digest(mac.hexdigest().encode(), signature):
                logger.debug("dropping a kernel message with a bad signature")
                return None
        head = json.loads(header)
        return {"msg_type": head.get("msg_type"), "header": head, "parent_header": json.loads(parent),
                "content": json.loads(content)}  # fmt: skip

    def drain(self) -> None:
        """Discard the replies waiting on shell and control (results are read from iopub)."""
        for socket in (self.shell, self.control):
            while socket.poll(0):
                socket.recv_multipart()

    def stop_channels(self) -> None:
        """Close the sockets."""
        for socket in (self.shell, self.control, self.iopub):
            socket.close(linger=0)
