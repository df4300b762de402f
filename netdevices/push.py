"""Push a router-plan sheet over SSH: plan → push → save → verify, journalled step by step."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from core.errors import Conflict, DomainError, Problem, ValidationFailed
from netdevices.ports import DeviceCLI, Platform
from netdevices.router_config import WAN_INTERFACE, ConfigDiff, RouterConfig, diff, render
from provisioning.sheet_model import Sheet

SHOW_CONFIG: Final = {Platform.CISCO_IOS: "show running-config", Platform.YAMAHA: "show config"}
_LOOKS_LIKE_CONFIG: Final = {
    Platform.CISCO_IOS: ("Current configuration", "\nhostname ", "\ninterface "),
    Platform.YAMAHA: ("# RTX", "\nip ", "\nlogin ", "\nconsole "),
}
EXCERPT: Final = 400


class StepStatus(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


class PushStatus(StrEnum):
    UNCHANGED = "unchanged"  # the device already matched the sheet: nothing was sent
    VERIFIED = "verified"  # pushed, saved, and the re-read config matches the sheet
    VERIFY_FAILED = "verify_failed"  # pushed and saved, but the device still differs
    FAILED = "failed"  # a step raised; later steps did not run


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One journal entry: what was sent, what the device said (an excerpt), how it ended."""

    step: str
    lines: tuple[str, ...]
    output: str
    status: StepStatus
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "lines": list(self.lines),
            "output": self.output,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class PushResult:
    """The outcome and the per-step journal of one push to one device."""

    address: str
    platform: Platform
    status: PushStatus = PushStatus.FAILED
    steps: list[StepRecord] = field(default_factory=list)
    diff: ConfigDiff = field(default_factory=ConfigDiff)
    remaining: ConfigDiff = field(default_factory=ConfigDiff)
    warnings: tuple[str, ...] = ()
    error: DomainError | None = None

    @property
    def pushed(self) -> bool:
        return any(s.step == "push" and s.status is StepStatus.OK for s in self.steps)

    def journal(self) -> list[dict[str, Any]]:
        """The steps as plain data, ready for a provisioning job's journal (JSON column)."""
        return [s.to_dict() for s in self.steps]

    def raise_for_status(self) -> None:
        """Raise the step's DomainError, or Conflict when the device does not match after push."""
        if self.error is not None:
            raise self.error
        if self.status is PushStatus.VERIFY_FAILED:
            raise Conflict(
                f"{self.address}: config still differs after push and save",
                remaining=list(self.remaining.commands),
            )


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT else f"{text[: EXCERPT // 2]} … {text[-EXCERPT // 2 :]}"


def fetch_running(cli: DeviceCLI) -> str:
    """The running config, refused when it does not look like one (garbage must not be diffed)."""
    platform = cli.target.device_type
    text = cli.send_command(SHOW_CONFIG[platform])
    if not any(marker in f"\n{text}" for marker in _LOOKS_LIKE_CONFIG[platform]):
        raise ValidationFailed(
            [Problem(f"unexpected output: {_excerpt(text)[:200]!r}", cli.target.address)],
            message=f"{cli.target.address}: '{SHOW_CONFIG[platform]}' did not return a config",
        )
    return text


def plan_push(*, cli: DeviceCLI, desired: RouterConfig) -> ConfigDiff:
    """The commands that would bring the device to the sheet (nothing is sent)."""
    return diff(desired, fetch_running(cli))


def push_router_config(
    *,
    cli: DeviceCLI,
    sheet: Sheet,
    wan_interface: str = WAN_INTERFACE,
    clock: Callable[[], float] = time.perf_counter,
) -> PushResult:
    """Render, plan, push, save and verify; a second run with the same sheet sends nothing."""
    platform = cli.target.device_type
    result = PushResult(cli.target.address, platform)

    def step(name: str, lines: tuple[str, ...], action: Callable[[], str]) -> str | None:
        start = clock()
        try:
            output = action()
        except DomainError as exc:
            result.steps.append(
                StepRecord(name, lines, _excerpt(str(exc)), StepStatus.FAILED, clock() - start)
            )
            result.error, result.status = exc, PushStatus.FAILED
            return None
        result.steps.append(
            StepRecord(name, lines, _excerpt(output), StepStatus.OK, clock() - start)
        )
        return output

    desired: list[RouterConfig] = []
    if step("render", (), lambda: _render(sheet, platform, wan_interface, desired)) is None:
        return result
    result.warnings = desired[0].warnings
    running = step("plan", (SHOW_CONFIG[platform],), lambda: fetch_running(cli))
    if running is None:
        return result
    result.diff = diff(desired[0], running)
    commands = result.diff.commands
    if result.diff.is_empty:
        for name in ("push", "save", "verify"):
            result.steps.append(StepRecord(name, (), "", StepStatus.SKIPPED, 0.0))
        result.status = PushStatus.UNCHANGED
        return result
    if step("push", commands, lambda: cli.send_config(commands)) is None:
        return result
    if step("save", (), cli.save) is None:
        return result
    after = step("verify", (SHOW_CONFIG[platform],), lambda: fetch_running(cli))
    if after is None:
        return result
    result.remaining = diff(desired[0], after)
    result.status = PushStatus.VERIFIED if result.remaining.is_empty else PushStatus.VERIFY_FAILED
    if not result.remaining.is_empty:
        last = result.steps[-1]
        result.steps[-1] = StepRecord(
            last.step, result.remaining.commands, last.output, StepStatus.FAILED, last.seconds
        )
    return result


def _render(sheet: Sheet, platform: Platform, wan: str, into: list[RouterConfig]) -> str:
    config = render(sheet, platform, wan_interface=wan)
    into.append(config)
    return f"{len(config.lines())} lines rendered"
