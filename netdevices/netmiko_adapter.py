"""The DeviceCLI adapter over netmiko; netmiko/paramiko/socket failures become DomainErrors."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final, Self

import paramiko  # type: ignore[import-untyped]
from netmiko import ConnectHandler
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)

from core.errors import DeviceUnreachable, Problem, ValidationFailed
from netdevices.ports import DeviceTarget, Platform

CONFIG_ERROR: Final[dict[Platform, str]] = {
    Platform.CISCO_IOS: r"^\s*% ?(?:Invalid|Incomplete|Ambiguous|Unknown|Bad mask)",
    Platform.YAMAHA: r"^\s*(?:Error|エラー)",
}
SAVE_COMMAND: Final[dict[Platform, str]] = {
    Platform.CISCO_IOS: "write memory",
    Platform.YAMAHA: "save",
}
EXCERPT_CHARS: Final = 240


class NetmikoDeviceCLI:
    """A privileged SSH CLI session opened with ``with NetmikoDeviceCLI(target) as cli``."""

    def __init__(self, target: DeviceTarget, *, global_delay_factor: float = 0.1) -> None:
        self._target = target
        self._delay = global_delay_factor
        self._log = io.BytesIO()
        self._conn: Any = None

    @property
    def target(self) -> DeviceTarget:
        return self._target

    def __enter__(self) -> Self:
        t = self._target
        secret = t.secret.get_secret_value() if t.secret else ""
        with self._translated("login"):
            self._conn = ConnectHandler(
                device_type=t.device_type.value,
                host=t.host,
                port=t.port,
                username=t.username,
                password=t.password.get_secret_value(),
                secret=secret,
                conn_timeout=t.conn_timeout,
                auth_timeout=t.auth_timeout,
                banner_timeout=t.banner_timeout,
                read_timeout_override=t.read_timeout,
                fast_cli=True,
                global_delay_factor=self._delay,
                session_log=self._log,
                allow_agent=False,
                use_keys=False,
            )
            self._conn.enable()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            self._conn.disconnect()
            self._conn = None

    def send_command(self, command: str) -> str:
        with self._translated(f"command '{command}'"):
            return str(self._session().send_command(command))

    def send_config(self, lines: Sequence[str]) -> str:
        platform = self._target.device_type
        with self._translated("configuration"):
            return str(
                self._session().send_config_set(
                    list(lines), error_pattern=CONFIG_ERROR[platform], terminator=r"[#>]"
                )
            )

    def save(self) -> str:
        platform = self._target.device_type
        with self._translated("save"):
            return str(self._session().save_config(cmd=SAVE_COMMAND[platform]))

    def _session(self) -> Any:
        if self._conn is None:
            raise DeviceUnreachable(f"{self._target.address}: the session is not open")
        return self._conn

    def _excerpt(self) -> str:
        """The tail of what the device said, with the password and secret blanked out."""
        text = self._log.getvalue().decode("utf-8", "replace")
        for value in (self._target.password, self._target.secret):
            if value is not None and value.get_secret_value():
                text = text.replace(value.get_secret_value(), "********")
        return text[-EXCERPT_CHARS:].strip()

    def _unreachable(self, step: str, reason: str) -> DeviceUnreachable:
        t = self._target
        excerpt = self._excerpt()
        message = f"{t.device_type} {t.address}: {step} failed: {reason}"
        if excerpt:
            message += f"; last output: {excerpt!r}"
        return DeviceUnreachable(message, host=t.host, port=t.port, reason=reason, excerpt=excerpt)

    @contextmanager
    def _translated(self, step: str) -> Iterator[None]:
        """Turn third-party failures into DeviceUnreachable / ValidationFailed, naming host:port."""
        t = self._target
        try:
            yield
        except ConfigInvalidException as exc:
            raise ValidationFailed(
                [Problem(f"the device refused a line: {_first_line(exc)}", t.address)],
                message=f"{t.address}: configuration refused; the rest was not sent",
            ) from exc
        except (NetmikoAuthenticationException, paramiko.AuthenticationException) as exc:
            raise self._unreachable(step, "authentication failed (user or password)") from exc
        except NetmikoTimeoutException as exc:
            raise self._unreachable(step, _timeout_reason(exc)) from exc
        except ReadTimeout as exc:
            raise self._unreachable(
                step, f"no CLI prompt within {t.read_timeout:g}s (timeout or unexpected output)"
            ) from exc
        except ReadException as exc:
            raise self._unreachable(step, f"unexpected output: {_first_line(exc)}") from exc
        except paramiko.SSHException as exc:
            raise self._unreachable(step, f"SSH error: {_first_line(exc)}") from exc
        except TimeoutError as exc:  # socket.timeout is an alias
            raise self._unreachable(step, "timed out") from exc
        except (OSError, EOFError) as exc:
            raise self._unreachable(step, f"connection lost: {_first_line(exc) or 'EOF'}") from exc
        except ValueError as exc:  # netmiko: prompt not found, enable refused
            raise self._unreachable(step, f"unexpected CLI behaviour: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _timeout_reason(exc: BaseException) -> str:
    text = str(exc)
    if "TCP connection to device failed" in text:
        return "TCP connection refused or timed out (nothing listening, or filtered)"
    if "banner" in text.lower() or "No existing session" in text:
        return "timed out waiting for the SSH server (no banner or session)"
    return f"timed out: {_first_line(exc)}"
