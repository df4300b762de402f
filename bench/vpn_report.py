"""Benchmark a VPN status report for 500 sites against the sandbox (run by hand; prints figures).

    .venv/bin/python bench/vpn_report.py                 # 500 sites: 5 hubs, 495 spokes
    .venv/bin/python bench/vpn_report.py --sites 2000 --per-page 100

The sandbox runs in a thread with rate limits lifted; the database is a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session

from core import migrate
from core.audit import Actor
from core.db import make_engine
from dashboard.meraki import MerakiDashboard
from dashboard.vpn import MerakiVpnDashboard
from sandbox import seeds
from sandbox.app import SandboxConfig
from sandbox.server import running_sandbox
from vpn import status
from vpn.report_pdf import render_report_pdf, report_csv

ORG = seeds.DEMO_ORG_ID
BENCH = Actor(name="bench", role="admin")
T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def state(sites: int, hubs: int) -> dict[str, object]:
    st = seeds.seed_empty()
    hub_ids = [f"N_hub_{h:02d}" for h in range(hubs)]
    for i in range(sites):
        is_hub = i < hubs
        net = hub_ids[i] if is_hub else f"N_site_{i:05d}"
        seeds.add_network(st, ORG, net, f"拠点{i:05d}", ["appliance"])
        seeds.add_device(st, ORG, "MX67", f"Q2FY-{i // 10000:04d}-{i % 10000:04d}", net)
        st.network_settings[net]["siteToSiteVpn"] = {
            "mode": "hub" if is_hub else "spoke",
            "hubs": []
            if is_hub
            else [
                {"hubId": hub_ids[i % hubs], "useDefaultRoute": False},
                {"hubId": hub_ids[(i + 1) % hubs], "useDefaultRoute": False},
            ],
            "subnets": [{"localSubnet": f"10.{i // 250}.{i % 250}.0/24", "useVpn": True}],
        }
    return st.to_dict()


@contextmanager
def timed(label: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    print(f"{label:<42} {time.perf_counter() - start:8.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--hubs", type=int, default=5)
    parser.add_argument("--per-page", type=int, default=300)
    args = parser.parse_args()
    config = SandboxConfig(rate_limit=None, ip_rate_limit=None)
    with running_sandbox(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        sandbox.admin.load_state(state(args.sites, args.hubs))
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        engine = make_engine(url)
        dashboard = MerakiVpnDashboard(
            MerakiDashboard(
                api_key=sandbox.api_key,
                base_url=sandbox.base_url,
            ),
            per_page=args.per_page,
        )
        print(f"{args.sites} VPN sites ({args.hubs} hubs), perPage {args.per_page}")
        for round_no in (1, 2):
            if round_no == 2:
                for i in range(args.hubs, args.sites, 10):
                    sandbox.admin.set_device_status(
                        f"Q2FY-{i // 10000:04d}-{i % 10000:04d}", "offline"
                    )
            sandbox.admin.reset_counters()
            print(f"-- snapshot {round_no}")
            with timed("fetch VPN + uplink statuses (all pages)"):
                observed = status.fetch_statuses(dashboard=dashboard, organization_id=ORG)
            ops = sandbox.admin.counters()["operations"]
            pages = {k.split("/")[-2] + "/" + k.split("/")[-1]: v["count"] for k, v in ops.items()}
            print(f"{'  requests':<42} {pages}")
            with Session(engine, expire_on_commit=False) as session:
                with timed("compare, build and store the snapshot (commit)"):
                    report = status.store_snapshot(
                        session=session,
                        actor=BENCH,
                        organization_id=ORG,
                        observed=observed,
                        now=T0 + timedelta(hours=round_no),
                    )
                    session.commit()
                events = status.list_events(session=session, report_id=report.id, limit=100000)
            print(
                f"{'  sites / peers / down / events':<42} {report.site_count} / {report.peer_count}"
                f" / {report.peers_down} / {len(events)}"
            )
            with timed("render PDF"):
                pdf = render_report_pdf(report, events)
            with timed("render CSV"):
                csv = report_csv(report)
            print(f"{'  PDF bytes / CSV bytes':<42} {len(pdf)} / {len(csv.encode())}")


if __name__ == "__main__":
    main()
