"""Provisioning benchmark (run by hand): netkeep vs a naive one-call-per-setting SDK loop.

    .venv/bin/python -m bench.provisioning --sites 10 --orgs 2

Starts a sandbox in a separate process at 10 requests/s per organization, provisions N UTM sites
(1 MX, 4 VLANs with DHCP, 12 L3 rules, content filtering, IPS, malware, 2 port forwards) and N
wireless sites (3 MR, 3 SSIDs, an RF profile, AP names) spread over the organizations, once with
netkeep (plan + journalled apply + verify, workers sharing one limiter) and once with the naive
loop; then times planning 1,000 sites against in-memory state.

What is timed is the tool's own work: for the rollout, from building the organizations'
dashboard clients to the rollout's outcome (planning, journalling, running, verifying). The
bench's set-up (the sheets, the database migrated and its engine) comes before the clock, and
the floor it prints (`rollout_estimate`) is computed after it.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import meraki
from sqlmodel import Session

from bench import ansible_baseline
from core import migrate
from core.audit import Actor
from core.db import make_engine, writer_engine
from dashboard.pacing import IP_RATE, IpCap, OrgRateLimiter
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning.domain import desired_resources, sections_of
from provisioning.plan import change_rows, plan_changes
from provisioning.rollout import RolloutSite, apply_rollout, plan_rollout, rollout_estimate
from provisioning.service import ProvisioningOptions, apply_plan, plan_sheet
from provisioning.sheet_io import dashboard_view
from provisioning.sheet_model import Sheet, dashboard_value
from provisioning.validation import SheetSource, validate_sheet

KEY, ADMIN = "sandbox-api-key", secrets.token_urlsafe(16)
RATE = 10.0
IP_LIMIT = 100.0
"""The dashboard's (and the sandbox's) requests per second per source IP, all organizations."""
ACTOR = Actor(name="bench", role="admin")


def base36(i: int) -> str:
    """Three characters for a site's serials (a serial's groups are four: the tag and these),
    enough for 46,656 sites."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "".join(digits[(i // 36**k) % 36] for k in (2, 1, 0))


def utm_sheet(tag: str, i: int) -> Sheet:
    raw: dict[str, Any] = {
        "format": "netkeep-sheet/1",
        "kind": "settings",
        "site": {"name": f"{tag}-utm-{i:03d}", "plan": "utm"},
        "devices": [{"serial": f"Q2FY-{tag}{base36(i)}-0001", "model": "MX67", "name": f"mx-{i}"}],
        "vlans": [
            {
                "id": 10 * (v + 1),
                "name": f"vlan{v}",
                "subnet": f"192.168.{10 * (v + 1)}.0/24",
                "applianceIp": f"192.168.{10 * (v + 1)}.1",
                "dhcpHandling": "run",
                "dhcpLeaseTime": "1 day",
                "reservedIpRanges": [
                    {"start": f"192.168.{10 * (v + 1)}.2", "end": f"192.168.{10 * (v + 1)}.9"}
                ],
            }
            for v in range(4)
        ],
        "l3FirewallRules": [
            {"comment": f"r{r}", "policy": "deny", "protocol": "tcp", "destPort": str(1000 + r)}
            for r in range(12)
        ],
        "portForwardingRules": [
            {
                "name": f"pf{p}",
                "lanIp": "192.168.10.50",
                "protocol": "tcp",
                "publicPort": str(8440 + p),
                "localPort": "443",
            }
            for p in range(2)
        ],
        "contentFiltering": {"blockedUrlCategories": ["meraki:contentFiltering/category/C7"]},
        "intrusion": {"mode": "prevention"},
        "malware": {"mode": "enabled"},
    }
    return _valid(raw)


def wireless_sheet(tag: str, i: int) -> Sheet:
    raw: dict[str, Any] = {
        "format": "netkeep-sheet/1",
        "kind": "settings",
        "site": {"name": f"{tag}-wifi-{i:03d}", "plan": "wireless"},
        "devices": [
            {"serial": f"Q3AJ-{tag}{base36(i)}-000{a}", "model": "MR36", "name": f"ap{a}-{i}"}
            for a in range(1, 4)
        ],
        "ssids": [
            {
                "number": n,
                "name": f"site{i}-ssid{n}",
                "authMode": "psk",
                "wpaEncryptionMode": "wpa2",
                "psk": f"bench-psk-{i:03d}-{n}",
            }
            for n in range(3)
        ],
        "rfProfiles": [{"name": "標準", "fiveGhzSettings": {"channelWidth": "40"}}],
    }
    return _valid(raw)


def _valid(raw: dict[str, Any]) -> Sheet:
    sheet, problems = validate_sheet(raw, SheetSource(name=raw["site"]["name"]))
    if sheet is None:
        raise SystemExit(f"bench sheet invalid: {problems}")
    return sheet


# --- the sandbox in another process ------------------------------------------------------------


SANDBOX_PID = [0]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_sandbox() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "sandbox.cli", "--port", str(port), "--rate-limit", str(RATE)),
            *("--admin-token", ADMIN),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    SANDBOX_PID[0] = proc.pid
    for _ in range(200):
        try:
            httpx.get(f"{root}/_sandbox/rate-limit", headers={"X-Sandbox-Admin-Token": ADMIN})
            return proc, root
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("sandbox did not start")


def admin(root: str, method: str, path: str, body: Any = None) -> Any:
    r = httpx.request(
        method, f"{root}/_sandbox{path}", json=body, headers={"X-Sandbox-Admin-Token": ADMIN}
    )
    r.raise_for_status()
    return r.json()


def totals(root: str) -> tuple[int, int]:
    ops = admin(root, "GET", "/counters")["operations"]
    calls = sum(v["count"] for v in ops.values())
    limited = sum(int(v.get("429", 0)) for v in ops.values())
    return calls, limited


def reads(root: str) -> int:
    ops = admin(root, "GET", "/counters")["operations"]
    return sum(v["count"] for k, v in ops.items() if k.startswith("GET "))


# --- netkeep ------------------------------------------------------------------------------------


def run_netkeep(
    sites: list[tuple[str, Sheet]], base_url: str, db_url: str, workers: int
) -> dict[str, Any]:
    """Plan + apply + verify each site; all workers share one limiter (9 req/s per org)."""
    limiter = OrgRateLimiter(rate=9.0)
    # no survey database here: the wireless survey gate is off, as for any bulk roll-out tool
    options = ProvisioningOptions(
        secret_key=b"bench", rate=9.0, poll_seconds=0.5, require_survey=False
    )
    local = threading.local()  # one SQLite file per worker: SQLite has one writer at a time
    free = []
    for w in range(workers):  # Alembic is not thread-safe: migrate up front
        url = db_url.replace(".db", f"-{w}.db")
        migrate.upgrade(url)
        free.append(make_engine(url))
    floors: list[int] = []
    failures = 0
    lock = threading.Lock()

    def one(item: tuple[str, Sheet]) -> None:
        nonlocal failures
        org, sheet = item
        sdk = build_sdk(api_key=KEY, base_url=base_url, maximum_retries=12)
        dash = MerakiProvisioning(sdk, organization_id=org, limiter=limiter)
        plan = plan_sheet(dashboard=dash, sheet=sheet, options=options)
        if not hasattr(local, "engine"):
            with lock:
                local.engine = free.pop()
        with Session(local.engine, expire_on_commit=False) as session:
            job = apply_plan(
                session=session,
                dashboard=dash,
                sheet=sheet,
                plan=plan,
                actor=ACTOR,
                clock=lambda: datetime.now(UTC),
                options=options,
            )
        with lock:
            floors.append(plan.estimate.calls)
            failures += job.status != "done"

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, sites))
    return {"floor_calls": sum(floors), "failures": failures}


@dataclass(frozen=True)
class Pace:
    """How fast the rollout lets itself go: per organization (with its burst) and per IP.

    The default is the dashboard's budget: 10 req/s per organization with a burst of 2 (the
    dashboard's bucket of 10 then absorbs 0.8 s of jitter between sending and arrival, so no
    429), 98 of its 100 req/s per IP."""

    rate: float = 10.0
    burst: float | None = 2.0
    ip_rate: float = 98.0


def rollout_run(
    sites: list[tuple[str, Sheet]], base_url: str, db_url: str, pace: Pace
) -> Callable[[], dict[str, Any]]:
    """All sheets as one rollout: one thread and one dashboard client per organization, every
    organization's requests also under the process's per-IP cap (by default 98 of the
    dashboard's 100/s, which binds from 10 organizations on at 10/s).

    The bench's own set-up is done here, before the clock: the database migrated and its engine
    made (a provider migrates once, not per rollout). The returned run is what is timed: the
    product's work, from building the dashboard clients to the rollout's outcome. The floor it
    reports (`rollout_estimate`, the bench's yardstick) is computed after the clock stops.
    """
    url = db_url.replace(".db", "-rollout.db")
    migrate.upgrade(url)
    engine = writer_engine(make_engine(url))
    limiter = OrgRateLimiter(rate=pace.rate, burst=pace.burst, ip_cap=IpCap(rate=pace.ip_rate))
    # the bench's sandbox has no claim limit (the dashboard's: 10 per 5 minutes, which would add
    # 300 s per further 10 sites of one organization; tests/service/test_rollout_claim_limit.py)
    options = ProvisioningOptions(
        secret_key=b"bench", rate=pace.rate, poll_seconds=0.5, require_survey=False,
        claim_limit=None,
    )  # fmt: skip

    def run() -> dict[str, Any]:
        dashboards = {
            org: MerakiProvisioning(
                build_sdk(api_key=KEY, base_url=base_url, maximum_retries=12),
                organization_id=org,
                limiter=limiter,
            )
            for org in sorted({org for org, _ in sites})
        }
        items = [RolloutSite(dashboards[org], sheet) for org, sheet in sites]
        plans = plan_rollout(items, options)
        with Session(engine, expire_on_commit=False) as session:
            outcome = apply_rollout(
                session=session,
                sites=items,
                actor=ACTOR,
                clock=lambda: datetime.now(UTC),
                options=options,
                jobs_in_full=False,  # how the jobs ended, not their plans
            )
        failed = [j for j in outcome.jobs if j.status != "done"]
        return {
            "floor_calls": lambda: rollout_estimate(plans, options).calls,
            "failures": len(failed),
            "messages": [f"{j.network_name}: {j.status} {j.error}" for j in failed[:5]],
        }

    return run


# --- the naive loop -----------------------------------------------------------------------------


def run_naive(
    sites: list[tuple[str, Sheet]], base_url: str, workers: int, *, smart_flow: bool = True
) -> dict[str, Any]:
    """One SDK call per setting, as a script would do it (SDK defaults: smart flow on).

    With `smart_flow` off the SDK makes none of its own look-ups (device, network, inventory):
    only the settings calls and their 429 retries remain — the leanest naive loop.
    """
    failures = 0
    lock = threading.Lock()

    def one(item: tuple[str, Sheet]) -> None:
        nonlocal failures
        org, sheet = item
        api = meraki.DashboardAPI(
            KEY,
            base_url=base_url,
            suppress_logging=True,
            output_log=False,
            print_console=False,
            maximum_retries=12,
            smart_flow_enabled=smart_flow,
            smart_flow_cache_path="",
        )
        try:
            naive_site(api, org, sheet)
        except meraki.APIError:
            with lock:
                failures += 1

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, sites))
    return {"failures": failures}


def naive_site(api: Any, org: str, sheet: Sheet) -> None:
    view = dashboard_view(sheet, secret_key=b"x")
    net = api.organizations.createOrganizationNetwork(
        org, sheet.site.name, view["network"]["productTypes"], timeZone="Asia/Tokyo"
    )["id"]
    serials = [d.serial for d in sheet.devices or []]
    api.networks.claimNetworkDevices(net, serials=serials)
    for d in sheet.devices or []:
        api.devices.updateDevice(d.serial, name=d.name, tags=d.tags or [])
    appliance = view.get("appliance") or {}
    if appliance.get("vlans"):
        api.appliance.updateNetworkApplianceVlansSettings(net, vlansEnabled=True)
        for vid, vlan in appliance["vlans"].items():
            body = {k: v for k, v in vlan.items() if k not in ("id", "name")}
            api.appliance.createNetworkApplianceVlan(net, str(vid), vlan["name"], **body)
        api.appliance.deleteNetworkApplianceVlan(net, "1")
        a = api.appliance
        a.updateNetworkApplianceFirewallL3FirewallRules(net, **appliance["l3FirewallRules"])
        a.updateNetworkApplianceFirewallPortForwardingRules(net, **appliance["portForwardingRules"])
        a.updateNetworkApplianceContentFiltering(net, **appliance["contentFiltering"])
        a.updateNetworkApplianceSecurityIntrusion(net, **appliance["security/intrusion"])
        a.updateNetworkApplianceSecurityMalware(net, **appliance["security/malware"])
    for ssid in sheet.ssids or []:
        api.wireless.updateNetworkWirelessSsid(
            net,
            ssid.number,
            name=ssid.name,
            enabled=True,
            authMode="psk",
            encryptionMode="wpa",
            wpaEncryptionMode=dashboard_value(ssid.wpa_encryption_mode)
            if ssid.wpa_encryption_mode
            else "WPA2 only",
            psk=ssid.psk.reveal() if ssid.psk else None,
        )
    for profile in sheet.rf_profiles or []:
        body = profile.model_dump(mode="json", by_alias=True)
        api.wireless.createNetworkWirelessRfProfile(
            net, body.pop("name"), body.pop("bandSelectionType"), **body
        )


def ansible_run(
    sites: list[tuple[str, Sheet]], base_url: str, *, forks: int, folder: Path
) -> dict[str, Any]:
    """The same sites with the cisco.meraki collection (ansible-playbook, one host per site).

    Returns {"failures": failed tasks, ...}; calls and 429s are read from the sandbox counters.
    """
    if not ansible_baseline.venv_bin("ansible-playbook").exists():
        raise RuntimeError(f"no ansible in {ansible_baseline.VENV}: run with --with-ansible")
    result = ansible_baseline.run_playbook(sites, base_url, forks=forks, folder=folder)
    if result["returncode"] not in (0, 2):  # 2: some task failed, counted below
        raise RuntimeError(f"ansible-playbook exited {result['returncode']}; see {folder}")
    return result


def off_spec(sites: list[tuple[str, Sheet]], base_url: str) -> list[str]:
    """Sites whose dashboard still differs from the sheet (netkeep plans them; reads only)."""
    options = ProvisioningOptions(secret_key=b"bench", require_survey=False)
    limiter = OrgRateLimiter(rate=9.0)
    differ = []
    for org, sheet in sites:
        sdk = build_sdk(api_key=KEY, base_url=base_url, maximum_retries=12)
        dash = MerakiProvisioning(sdk, organization_id=org, limiter=limiter)
        plan = plan_sheet(dashboard=dash, sheet=sheet, options=options)
        if not plan.empty:
            fields = [f"{r['resource']}.{f['field']}" for r in change_rows(plan.changes)
                      for f in r["fields"]]  # fmt: skip
            differ.append(f"{sheet.site.name}: {', '.join(fields[:6]) or 'network missing'}")
    return differ


# --- planning CPU -------------------------------------------------------------------------------


def planning_cpu(count: int) -> float:
    """CPU seconds to plan `count` sites (view + diff + packing) against in-memory state."""
    sheets = [
        utm_sheet("P", i % 1000) if i % 2 else wireless_sheet("P", i % 1000) for i in range(count)
    ]
    states = []
    for sheet in sheets:
        desired = desired_resources(dashboard_view(sheet, secret_key=b"k"))
        current = {k: dict(v) for k, v in desired.items()}
        for key in current:
            if key.startswith("vlan/"):
                current[key]["name"] = "old"
        current["l3FirewallRules"] = {"rules": []}
        states.append(current)
    start = time.process_time()
    for sheet, current in zip(sheets, states, strict=True):
        view = dashboard_view(sheet, secret_key=b"k")
        desired = desired_resources(view)
        plan_changes(
            desired=desired,
            current=current,
            sections=sections_of(view),
            prune=True,
            network_exists=True,
            vlans_enabled=True,
            organization_id="o",
            rate=9.0,
            poll_seconds=0.5,
        )
    return time.process_time() - start


def print_timeline(per_second: dict[str, dict[str, int]]) -> None:
    """Requests per second seen by the sandbox, all organizations and the busiest/idlest one."""
    seconds = sorted({int(s) for org in per_second.values() for s in org})
    if not seconds:
        return
    start = seconds[0]
    print("         second  total  per organization (min–max)")
    for second in range(start, seconds[-1] + 1):
        counts = [int(org.get(str(second), 0)) for org in per_second.values()]
        print(f"         {second - start:6d} {sum(counts):6d}  {min(counts)}–{max(counts)}")


def report(
    name: str,
    root: str,
    n: int,
    run: Callable[[], dict[str, Any]],
    orgs: int,
    breakdown: bool = False,
    timeline: bool = False,
) -> None:
    admin(root, "DELETE", "/counters")
    started, cpu_started = time.monotonic(), time.process_time()
    sandbox_started = process_cpu(SANDBOX_PID[0])
    result = run()
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_started
    sandbox_cpu = process_cpu(SANDBOX_PID[0]) - sandbox_started
    calls, limited = totals(root)
    ideal = calls / (RATE * orgs)
    floor_calls = result.get("floor_calls")  # a callable: computed after the clock stopped
    floor_calls = floor_calls() if callable(floor_calls) else floor_calls
    floor = f", floor {floor_calls / n:.2f}/site" if floor_calls is not None else ""
    print(
        f"{name:10} {n} sites: {calls} calls = {calls / n:.2f}/site ({reads(root) / n:.2f} GETs)"
        f"{floor}; "
        f"wall {wall:.1f} s vs calls÷(orgs×rate) {ideal:.1f} s = {wall / ideal:.2f}×; "
        f"429s seen {limited}, failures surfaced {result['failures']}",
        flush=True,
    )
    if RATE * orgs > IP_LIMIT:  # the per-IP limit binds before the organizations' budgets do
        at_ip = calls / IP_LIMIT
        print(
            f"         {orgs} organizations × {RATE:g} req/s exceed the dashboard's {IP_LIMIT:g} "
            f"req/s per source IP: calls÷{IP_LIMIT:g} {at_ip:.1f} s = {wall / at_ip:.2f}×",
            flush=True,
        )
    # this process only (the sandbox runs in its own): every thread's CPU; RSS is the peak so far
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_call = 1000 * sandbox_cpu / max(calls, 1)
    print(
        f"         CPU {cpu:.1f} s = {1000 * cpu / max(calls, 1):.2f} ms per dashboard call "
        f"({cpu / wall:.0%} of one core); peak RSS {rss_mb:.0f} MB; the sandbox "
        f"{per_call:.2f} ms per call ({sandbox_cpu / wall:.0%} of one core)",
        flush=True,
    )
    for message in result.get("messages", []):
        print(f"         failed: {message}")
    if timeline:
        print_timeline(admin(root, "GET", "/counters")["per_second"])
    if breakdown:
        ops = admin(root, "GET", "/counters")["operations"]
        for op, tally in sorted(ops.items(), key=lambda kv: -int(kv[1]["count"])):
            print(f"         {tally['count'] / n:6.2f}/site  {op}  ({tally.get('429', 0)} × 429)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100, help="UTM sites and as many wireless")
    parser.add_argument("--orgs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--plan-sites", type=int, default=1000)
    parser.add_argument(
        "--timeline", action="store_true", help="print the requests of every second of the run"
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="print calls per site for every operation"
    )
    parser.add_argument(
        "--tools",
        default="netkeep,rollout,naive,naive-lean",
        help="which to run, comma-separated: netkeep (one sheet at a time), rollout, naive "
        "(SDK defaults), naive-lean (smart flow off)",
    )
    parser.add_argument(
        "--with-ansible",
        action="store_true",
        help=f"also run the cisco.meraki collection (installs it into {ansible_baseline.VENV})",
    )
    parser.add_argument(
        "--pace", type=float, default=Pace.rate,
        help="the rollout's requests/s per organization (NETKEEP_PROVISIONING_RATE_PER_ORG); "
        f"default {Pace.rate:g}: the dashboard's whole budget, with --burst {Pace.burst:g}",
    )  # fmt: skip
    parser.add_argument(
        "--burst", type=float, default=Pace.burst,
        help="requests an organization may send at once: at the full rate, the sandbox's "
        "bucket of 10 absorbs (10 - burst)/10 s of jitter in the requests' arrival",
    )  # fmt: skip
    parser.add_argument(
        "--ip-pace", type=float, default=Pace.ip_rate,
        help=f"the rollout's requests/s over all organizations (netkeep's default {IP_RATE:g}; "
        f"the dashboard's limit {IP_LIMIT:g})",
    )  # fmt: skip
    args = parser.parse_args()
    pace = Pace(args.pace, args.burst, args.ip_pace)
    if "rollout" in args.tools:
        burst = "the rate" if pace.burst is None else f"{pace.burst:g}"
        print(f"rollout pace: {pace.rate:g} req/s per organization (burst {burst}), "
              f"{pace.ip_rate:g} req/s in all; timed from the dashboard clients to the outcome "
              "(the database's migration before the clock, the floor after it)")  # fmt: skip
    if args.with_ansible:
        versions = ansible_baseline.ensure_ansible()
        print("ansible baseline: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    proc, root = start_sandbox()
    try:
        orgs = admin(root, "POST", "/organizations/generate", {"count": args.orgs})[
            "organizationIds"
        ]
        base = f"{root}/api/v1"
        with tempfile.TemporaryDirectory() as tmp:
            db_url = f"sqlite:///{os.path.join(tmp, 'bench.db')}"

            def sites(tag: str) -> list[tuple[str, Sheet]]:
                out = []
                for i in range(args.sites):
                    out.append((orgs[i % len(orgs)], utm_sheet(tag, i)))
                    out.append((orgs[(i + 1) % len(orgs)], wireless_sheet(tag, i)))
                return out

            n = 2 * args.sites
            Sites = list[tuple[str, Sheet]]
            Run = Callable[[], dict[str, Any]]
            # each tool's set-up (before the clock) returns its timed run
            runs: dict[str, tuple[str, Callable[[Sites], Run]]] = {
                "netkeep": ("N", lambda s: lambda: run_netkeep(s, base, db_url, args.workers)),
                "rollout": ("R", lambda s: rollout_run(s, base, db_url, pace)),
                "naive": ("V", lambda s: lambda: run_naive(s, base, args.workers)),
                "naive-lean": (
                    "L",
                    lambda s: lambda: run_naive(s, base, args.workers, smart_flow=False),
                ),
            }
            for name in args.tools.split(","):
                tag, set_up = runs[name.strip()]
                given = sites(tag)  # the sheets are the input: made before the clock starts
                job = set_up(given)
                report(name, root, n, job, args.orgs, args.breakdown, args.timeline)
            if args.with_ansible:
                folder = ansible_baseline.ROOT / "var" / "ansible-bench"
                ansible_sites = sites("S")
                report(
                    "ansible",
                    root,
                    n,
                    lambda: ansible_run(ansible_sites, base, forks=args.workers, folder=folder),
                    args.orgs,
                )
                differ = off_spec(ansible_sites, base)
                print(f"         sites off the sheet after the run: {len(differ)} (netkeep plan)")
                for line in differ[:5]:
                    print(f"           {line}")
                print(f"         playbook, inventory and output kept in {folder}")
        cpu = planning_cpu(args.plan_sites)
        print(f"planning {args.plan_sites} sites in memory: {cpu:.2f} s CPU")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
