"""The netmiko adapter turns every connection failure into DeviceUnreachable, quickly."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from core.errors import DeviceUnreachable
from netdevices import testing as fakes
from netdevices.fake_ssh import Behaviour, FakeDevice
from netdevices.netmiko_adapter import NetmikoDeviceCLI

Factory = Callable[[FakeDevice], fakes.FakeEndpoint]


def _login(endpoint: fakes.FakeEndpoint, **overrides: object) -> DeviceUnreachable:
    with pytest.raises(DeviceUnreachable) as caught, NetmikoDeviceCLI(endpoint.target(**overrides)):
        pass
    return caught.value


def test_wrong_password_names_host_and_authentication(fake_ios: fakes.FakeEndpoint) -> None:
    error = _login(fake_ios, password=SecretStr("not-the-password"))
    assert f"127.0.0.1:{fake_ios.server.port}" in error.message
    assert "authentication" in error.message
    assert "not-the-password" not in str(error.to_dict())


def test_nothing_listening_fails_fast() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = fakes.FakeEndpoint(
        FakeDevice(), type("S", (), {"host": "127.0.0.1", "port": port})()
    )  # type: ignore[arg-type]
    start = time.monotonic()
    error = _login(endpoint)
    assert time.monotonic() - start < 2
    assert f"127.0.0.1:{port}" in error.message and "TCP connection" in error.message


@pytest.mark.parametrize("behaviour", [Behaviour.HANG_BANNER, Behaviour.HANG_SHELL])
def test_hanging_device_times_out(fake_device_factory: Factory, behaviour: Behaviour) -> None:
    endpoint = fake_device_factory(FakeDevice(behaviour=behaviour))
    start = time.monotonic()
    error = _login(endpoint, read_timeout=1.0, banner_timeout=1.0)
    assert time.monotonic() - start < 5
    assert "timed out" in error.message or "no CLI prompt" in error.message


def test_garbage_device_error_carries_the_output(fake_device_factory: Factory) -> None:
    endpoint = fake_device_factory(FakeDevice(behaviour=Behaviour.GARBAGE))
    error = _login(endpoint, read_timeout=1.0)
    assert "DEADBEEF" in error.details["excerpt"]
    assert error.details["port"] == endpoint.server.port
