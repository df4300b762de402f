"""The ports change requests need: a mailer for customer notices, an SSH CLI opener."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from netdevices.ports import DeviceCLI, DeviceTarget

CliFactory = Callable[[DeviceTarget], DeviceCLI]


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A plain-text mail to one recipient; the adapter adds From, Date and Message-ID."""

    to: str
    subject: str
    body: str


class Mailer(Protocol):
    """Sends a mail and returns its Message-ID; raises MailNotSent when it cannot."""

    def send(self, mail: OutgoingMail) -> str: ...
