"""Time an SSH push of a ~200-line IOS router config to the loopback fake device, per phase.

Run by hand: ``.venv/bin/python bench/ssh_push.py [runs]``. Prints median and max seconds.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from netdevices.fake_ssh import FakeSSHServer
from netdevices.netmiko_adapter import NetmikoDeviceCLI
from netdevices.ports import Platform
from netdevices.push import PushStatus, push_router_config
from netdevices.router_config import render
from netdevices.testing import FakeEndpoint, ios_new_router
from provisioning.sheet_model import Sheet


def big_sheet(vlans: int = 12, rules: int = 20) -> Sheet:
    """A router-plan sheet whose IOS rendering is about 200 lines."""
    raw: dict[str, Any] = {
        "format": "netkeep-sheet/1",
        "kind": "settings",
        "site": {"name": "bench", "plan": "router"},
        "devices": [{"serial": "Q2KY-BBBB-0001", "model": "MX68"}],
        "vlans": [
            {
                "id": 100 + i,
                "name": f"vlan{i}",
                "subnet": f"10.{i}.0.0/24",
                "applianceIp": f"10.{i}.0.1",
                "dhcpLeaseTime": "4 hours",
                "dnsNameservers": ["google_dns"],
                "reservedIpRanges": [{"start": f"10.{i}.0.2", "end": f"10.{i}.0.9"}],
            }
            for i in range(vlans)
        ],
        "l3FirewallRules": [
            {
                "comment": f"rule {i}",
                "policy": "deny",
                "protocol": "tcp",
                "srcCidr": f"10.{i % vlans}.0.0/24",
                "destPort": str(1000 + i),
            }
            for i in range(rules)
        ],
        "portForwardingRules": [
            {
                "name": f"fwd{i}",
                "lanIp": f"10.0.0.{20 + i}",
                "protocol": "tcp",
                "publicPort": str(8000 + i),
                "localPort": "443",
            }
            for i in range(5)
        ],
    }
    return Sheet.model_validate(raw)


def one_run(sheet: Sheet) -> dict[str, float]:
    device = ios_new_router()
    with FakeSSHServer(device) as server:
        target = FakeEndpoint(device, server).target(read_timeout=30.0)
        start = time.perf_counter()
        cli = NetmikoDeviceCLI(target).__enter__()
        phases = {"connect": time.perf_counter() - start}
        try:
            result = push_router_config(cli=cli, sheet=sheet)
            assert result.status is PushStatus.VERIFIED, result.journal()
            phases |= {s.step: s.seconds for s in result.steps}
            phases["lines pushed"] = len(result.diff.commands)
            again = push_router_config(cli=cli, sheet=sheet)
            assert again.status is PushStatus.UNCHANGED
            phases["second run (plan only)"] = sum(s.seconds for s in again.steps)
        finally:
            start = time.perf_counter()
            cli.__exit__(None, None, None)
            phases["disconnect"] = time.perf_counter() - start
    return phases


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    sheet = big_sheet()
    print(f"rendered IOS lines: {len(render(sheet, Platform.CISCO_IOS).lines())}, runs: {runs}")
    results = [one_run(sheet) for _ in range(runs)]
    print(f"{'phase':<24}{'median s':>10}{'max s':>10}")
    for phase in results[0]:
        values = [r[phase] for r in results]
        if phase == "lines pushed":
            print(f"{phase:<24}{int(values[0]):>10}")
            continue
        print(f"{phase:<24}{statistics.median(values):>10.3f}{max(values):>10.3f}")
    total = [sum(v for k, v in r.items() if k not in ("lines pushed",)) for r in results]
    print(f"{'total (incl. 2nd run)':<24}{statistics.median(total):>10.3f}{max(total):>10.3f}")


if __name__ == "__main__":
    main()
