"""The port netdevices needs from an SSH CLI session, and the target it connects to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from pydantic import SecretStr


class Platform(StrEnum):
    """Device families netkeep renders and parses; values are netmiko device types."""

    CISCO_IOS = "cisco_ios"
    YAMAHA = "yamaha"


@dataclass(frozen=True, slots=True)
class DeviceTarget:
    """Where and how to log in; the password never appears in repr or messages."""

    host: str
    device_type: Platform
    username: str
    password: SecretStr
    port: int = 22
    secret: SecretStr | None = field(default=None, repr=False)
    conn_timeout: float = 10.0
    auth_timeout: float = 10.0
    banner_timeout: float = 10.0
    read_timeout: float = 30.0

    @property
    def address(self) -> str:
        """host:port, as error messages name the device."""
        return f"{self.host}:{self.port}"


class DeviceCLI(Protocol):
    """An open privileged CLI session on one device."""

    @property
    def target(self) -> DeviceTarget: ...

    def send_command(self, command: str) -> str: ...

    def send_config(self, lines: Sequence[str]) -> str: ...

    def save(self) -> str: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
