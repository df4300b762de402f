"""The demo's local SMTP sink: every mail netkeep sends is kept as a file to read."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class MailSink:
    host: str
    port: int
    folder: Path


class _Writer:
    """Writes each message to FOLDER/NNNN.eml as sent and NNNN.txt decoded, in arrival order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        number = len(list(self.folder.glob("*.eml"))) + 1
        raw = bytes(envelope.content)
        (self.folder / f"{number:04d}.eml").write_bytes(raw)
        (self.folder / f"{number:04d}.txt").write_text(readable(raw), encoding="utf-8")
        return "250 kept"


def readable(raw: bytes) -> str:
    """Headers that matter and the decoded text body (notices are base64 UTF-8)."""
    msg = message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    head = "".join(f"{h}: {msg[h]}\n" for h in ("Date", "From", "To", "Subject") if msg[h])
    return f"{head}\n{text}"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextmanager
def running_mail_sink(
    folder: Path, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[MailSink]:
    """An SMTP server on loopback (a free port when 0) for as long as the block runs."""
    port = port or free_port(host)
    controller = Controller(_Writer(folder), hostname=host, port=port)
    controller.start()
    try:
        yield MailSink(host=host, port=port, folder=folder)
    finally:
        controller.stop()
