"""Site check: is the customer's existing edge device a router? UTM/router plans cannot go there.

Seed 002, Appendix 1 II(1): UTM and router are installed as the gateway and cannot be installed
where a router already exists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from core.errors import Problem, ValidationFailed
from netdevices.ports import DeviceCLI, Platform

REFUSED: Final = "UTM/router install refused: an upstream router exists"
ALLOWED: Final = "UTM/router install allowed: no upstream router found"
IOS_COMMANDS: Final = ("show ip route", "show ip interface brief", "show running-config")
YAMAHA_COMMANDS: Final = ("show config",)
_EXPECT: Final = {
    "show ip route": ("Codes:", "Gateway of last resort", "Default gateway is", "IP routing"),
    "show ip interface brief": ("Interface",),
    "show running-config": ("Current configuration", "hostname", "interface "),
    "show config": ("# RTX", "ip ", "pp ", "console ", "login "),
}
_IOS_ROUTE = re.compile(r"^\s*[A-Za-z]\*?\s.*\bvia\s+\d+\.\d+\.\d+\.\d+")
_IOS_LAST_RESORT = re.compile(r"Gateway of last resort is (\d+\.\d+\.\d+\.\d+)")
_IOS_BRIEF = re.compile(r"^(\S+)\s+(\d+\.\d+\.\d+\.\d+)\s+\S+\s+\S+\s+(up)\s+(up)\s*$")
_IOS_CONFIG = (
    (re.compile(r"^\s*ip nat (inside|outside)\b"), "NAT is configured"),
    (re.compile(r"^ip route 0\.0\.0\.0 0\.0\.0\.0 "), "static default route"),
    (re.compile(r"^router (ospf|eigrp|bgp|rip)\b"), "a routing protocol runs"),
    (re.compile(r"^\s*pppoe-client\b|^\s*pppoe enable\b"), "PPPoE client"),
)
_RTX_CONFIG = (
    (re.compile(r"^ip route default gateway \S+"), "default route"),
    (re.compile(r"^ip route \S+ gateway \S+"), "static route"),
    (re.compile(r"^\s*(ip \S+ )?nat descriptor\b"), "NAT is configured"),
    (re.compile(r"^pp select \d+"), "PPP (PPPoE) interface"),
    (re.compile(r"^\s*pppoe use \S+"), "PPPoE client"),
    (re.compile(r"^ip lan\d+ address dhcp"), "WAN address by DHCP"),
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One line of device output that shows routing, and what it shows."""

    command: str
    line: str
    meaning: str


@dataclass(frozen=True, slots=True)
class SiteCheck:
    """Whether the device routes, why, and the install verdict the DOMAIN rule gives."""

    host: str
    platform: Platform
    routing: bool
    evidence: tuple[Evidence, ...]

    @property
    def install_allowed(self) -> bool:
        return not self.routing

    @property
    def verdict(self) -> str:
        return REFUSED if self.routing else ALLOWED


def _recognised(command: str, output: str, where: str) -> None:
    """Refuse to judge output that is not what the command prints (a wrong device, garbage)."""
    if not any(marker in output for marker in _EXPECT[command]):
        excerpt = output.strip()[:200] or "(nothing)"
        raise ValidationFailed(
            [Problem(f"unexpected output of '{command}': {excerpt!r}", where)],
            message=f"{where}: cannot judge routing from the device's answers",
        )


def ios_evidence(route: str, brief: str, running: str) -> list[Evidence]:
    """Evidence of routing in IOS ``show ip route``, ``show ip interface brief`` and config."""
    found: list[Evidence] = []
    last_resort = _IOS_LAST_RESORT.search(route)
    if last_resort:
        found.append(Evidence("show ip route", last_resort.group(0), "default route"))
    for line in route.splitlines():
        if _IOS_ROUTE.match(line):
            found.append(Evidence("show ip route", line.strip(), "route via a next hop"))
    up = [line.strip() for line in brief.splitlines() if _IOS_BRIEF.match(line.strip())]
    if len(up) >= 2:
        found += [
            Evidence("show ip interface brief", line, "up interface with an IP") for line in up
        ]
    for line in running.splitlines():
        for pattern, meaning in _IOS_CONFIG:
            if pattern.match(line):
                found.append(Evidence("show running-config", line.strip(), meaning))
    return found


def yamaha_evidence(config: str) -> list[Evidence]:
    """Evidence of routing in Yamaha RTX ``show config``."""
    found: list[Evidence] = []
    for line in config.splitlines():
        if line.startswith("#"):
            continue
        for pattern, meaning in _RTX_CONFIG:
            if pattern.match(line):
                found.append(Evidence("show config", line.strip(), meaning))
                break
    return found


def judge(host: str, platform: Platform, outputs: Sequence[str]) -> SiteCheck:
    """The verdict from the outputs of the platform's commands, in command order."""
    commands = IOS_COMMANDS if platform is Platform.CISCO_IOS else YAMAHA_COMMANDS
    for command, output in zip(commands, outputs, strict=True):
        _recognised(command, output, host)
    if platform is Platform.CISCO_IOS:
        evidence = ios_evidence(*outputs)
    else:
        evidence = yamaha_evidence(outputs[0])
    return SiteCheck(host, platform, bool(evidence), tuple(evidence))


def check_site(*, cli: DeviceCLI) -> SiteCheck:
    """Log in to the customer's edge device (already open) and say whether it routes."""
    platform = cli.target.device_type
    commands = IOS_COMMANDS if platform is Platform.CISCO_IOS else YAMAHA_COMMANDS
    outputs = [cli.send_command(command) for command in commands]
    return judge(cli.target.address, platform, outputs)
