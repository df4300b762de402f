"""A real SSH server on loopback emulating an IOS-like or Yamaha-RTX-like CLI, for tests.

This module is the paramiko plumbing; the emulated device lives in ``netdevices.fake_device``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from functools import lru_cache
from types import TracebackType
from typing import Final, Self

import paramiko  # type: ignore[import-untyped]

from netdevices.fake_device import GARBAGE, CliSession
from netdevices.fake_device import Behaviour as Behaviour
from netdevices.fake_device import FakeDevice as FakeDevice

LOG_CHANNEL: Final = "netdevices.fake_ssh"
logging.getLogger(LOG_CHANNEL).addHandler(logging.NullHandler())  # client resets are not news


@lru_cache(maxsize=1)
def _host_key() -> paramiko.PKey:
    """One throwaway ECDSA host key per process (fast to generate)."""
    return paramiko.ECDSAKey.generate()


class _Server(paramiko.ServerInterface):  # type: ignore[misc]
    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self.shell = threading.Event()

    def check_auth_password(self, username: str, password: str) -> int:
        ok = username == self.device.username and password == self.device.password
        return int(paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED)

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return int(paramiko.OPEN_SUCCEEDED)
        return int(paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED)

    def check_channel_pty_request(self, *args: object) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.shell.set()
        return True

    def check_channel_window_change_request(self, *args: object) -> bool:
        return True


class FakeSSHServer:
    """Listens on 127.0.0.1:<free port>; each connection gets a thread and a shell on ``device``."""

    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.1)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._accept = threading.Thread(target=self._serve, name="fake-ssh-accept", daemon=True)

    def __enter__(self) -> Self:
        self._accept.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, drop every open connection, join the threads."""
        self._stop.set()
        if self._accept.is_alive():
            self._accept.join(2)
        self._sock.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.close()
        for thread in self._threads:
            thread.join(2)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._open.append(conn)
            thread = threading.Thread(target=self._session, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _session(self, conn: socket.socket) -> None:
        if self.device.behaviour is Behaviour.HANG_BANNER:
            self._stop.wait()
            return
        transport = paramiko.Transport(conn)
        transport.set_log_channel(f"{LOG_CHANNEL}.transport")
        transport.add_server_key(_host_key())
        server = _Server(self.device)
        try:
            transport.start_server(server=server)
            channel = transport.accept(timeout=10)
            if channel is None or not server.shell.wait(10):
                return
            _Shell(channel, self.device, self._stop).run()
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            transport.close()


class _Shell:
    """The interactive CLI on a channel: reads lines, echoes them, answers, prints the prompt."""

    def __init__(self, channel: paramiko.Channel, device: FakeDevice, stop: threading.Event):
        self.chan = channel
        self.dev = device
        self.stop = stop
        self.cli = CliSession(device, self.send)

    def send(self, text: str) -> None:
        self.chan.sendall(text.encode("utf-8"))

    def run(self) -> None:
        self.chan.settimeout(0.2)
        if self.dev.behaviour is Behaviour.HANG_SHELL:
            self.stop.wait()
            return
        banner = GARBAGE if self.dev.behaviour is Behaviour.GARBAGE else "\r\n"
        self.send(banner + ("" if self.dev.behaviour is Behaviour.GARBAGE else self.cli.prompt()))
        pending = ""
        while not self.stop.is_set():
            try:
                data = self.chan.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            pending += data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
            while "\n" in pending:
                line, pending = pending.split("\n", 1)
                if not self.cli.answer(line):
                    self.chan.close()
                    return
