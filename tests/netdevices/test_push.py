"""Render → plan → push → save → verify against the loopback fake devices, through netmiko."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.errors import DomainError
from netdevices import testing as fakes
from netdevices.fake_ssh import Behaviour, FakeDevice
from netdevices.netmiko_adapter import NetmikoDeviceCLI
from netdevices.ports import Platform
from netdevices.push import PushStatus, StepStatus, plan_push, push_router_config
from netdevices.router_config import render
from tests.netdevices.sheets import changed_sheet, router_sheet, yamaha_sheet

Factory = Callable[[FakeDevice], fakes.FakeEndpoint]


def test_push_saves_verifies_and_second_run_sends_nothing(fake_ios: fakes.FakeEndpoint) -> None:
    original = fake_ios.device.config_lines()
    with NetmikoDeviceCLI(fake_ios.target()) as cli:
        first = push_router_config(cli=cli, sheet=router_sheet())
        sent_after_first = len(fake_ios.device.commands)
        second = push_router_config(cli=cli, sheet=router_sheet())
    first.raise_for_status()
    assert first.status is PushStatus.VERIFIED
    assert [s.step for s in first.steps] == ["render", "plan", "push", "save", "verify"]
    assert all(s.status is StepStatus.OK for s in first.steps)
    assert first.journal()[2]["lines"] == list(first.diff.commands)
    running = fake_ios.device.config_lines()
    assert fake_ios.device.saved == running
    assert "interface Vlan50" in running and " ip helper-address 192.168.1.10" in running
    # Lines netkeep does not manage are all still there, in their order.
    assert [line for line in running if line in original] == original
    assert second.status is PushStatus.UNCHANGED
    assert not second.pushed
    assert [s.status for s in second.steps[2:]] == [StepStatus.SKIPPED] * 3
    sent_by_second = fake_ios.device.commands[sent_after_first:]
    assert "configure terminal" not in sent_by_second
    assert "write memory" not in sent_by_second


def test_changed_sheet_pushes_exactly_the_diff(fake_ios: fakes.FakeEndpoint) -> None:
    with NetmikoDeviceCLI(fake_ios.target()) as cli:
        push_router_config(cli=cli, sheet=router_sheet()).raise_for_status()
        planned = plan_push(cli=cli, desired=render(changed_sheet(), Platform.CISCO_IOS))
        before = len(fake_ios.device.commands)
        result = push_router_config(cli=cli, sheet=changed_sheet())
    assert result.status is PushStatus.VERIFIED
    assert result.diff == planned
    sent = fake_ios.device.commands[before:]
    config = [c.strip() for c in sent[sent.index("configure terminal") + 1 : sent.index("end")]]
    config = [c for c in config if c]  # netmiko's bare returns, checking the prompt
    assert config == [c.strip() for c in planned.commands]
    assert "interface Vlan60" in fake_ios.device.config_lines()


def test_yamaha_push_and_idempotence(fake_yamaha: fakes.FakeEndpoint) -> None:
    with NetmikoDeviceCLI(fake_yamaha.target()) as cli:
        first = push_router_config(cli=cli, sheet=yamaha_sheet())
        second = push_router_config(cli=cli, sheet=yamaha_sheet())
    assert first.status is PushStatus.VERIFIED, first.journal()
    assert second.status is PushStatus.UNCHANGED
    running = fake_yamaha.device.config_lines()
    assert "ip lan1/1 address 192.168.1.1/24" in running
    assert "ip route default gateway pp 1" in running and " pppoe use lan2" in running
    assert fake_yamaha.device.saved == running


def test_garbage_device_gets_nothing_pushed(fake_device_factory: Factory) -> None:
    device = fakes.ios_new_router()
    device.behaviour = Behaviour.GARBAGE
    endpoint = fake_device_factory(device)
    with pytest.raises(DomainError) as caught, NetmikoDeviceCLI(endpoint.target()) as cli:
        push_router_config(cli=cli, sheet=router_sheet())
    assert "DEADBEEF" in str(caught.value)
    assert "configure terminal" not in device.commands
    assert device.config_lines() == fakes.ios_new_router().running


def test_config_that_is_not_a_config_fails_the_plan_step(fake_device_factory: Factory) -> None:
    device = fakes.ios_new_router()
    endpoint = fake_device_factory(device)

    class Garbled(NetmikoDeviceCLI):
        def send_command(self, command: str) -> str:
            return "%%%% not a config %%%%"

    with Garbled(endpoint.target()) as cli:
        result = push_router_config(cli=cli, sheet=router_sheet())
    assert result.status is PushStatus.FAILED
    assert result.steps[-1].step == "plan" and result.steps[-1].status is StepStatus.FAILED
    assert "not a config" in result.steps[-1].output
    assert "configure terminal" not in device.commands
    with pytest.raises(DomainError):
        result.raise_for_status()
