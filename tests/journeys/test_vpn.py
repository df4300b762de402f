"""VPN option: check → site-to-site and client VPN build → status report, on the demo data.

The demo's 株式会社さくら商事 has two UTM sites with the VPN option and global WAN addresses:
東京本社 (N_demo_tokyo) and 横浜支店 (N_demo_yokohama). The request is the shipped
`vpn/examples/demo_vpn.yaml`: 東京本社 the hub, 横浜支店 its spoke, one client VPN user at 東京本社.
大阪支店 (N_demo_osaka) is なにわ物産's router site without the VPN option: not eligible.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pypdf
import yaml

from tests.journeys.conftest import Journey

REQUEST = Path(__file__).resolve().parents[2] / "vpn" / "examples" / "demo_vpn.yaml"
SITES = ("N_demo_tokyo", "N_demo_yokohama")


def _built_on_the_dashboard(j: Journey) -> None:
    sdk = j.sandbox.dashboard_api()
    hub = sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn("N_demo_tokyo")
    spoke = sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn("N_demo_yokohama")
    assert hub["mode"] == "hub"
    assert spoke["mode"] == "spoke" and [h["hubId"] for h in spoke["hubs"]] == ["N_demo_tokyo"]
    users = sdk.networks.getNetworkMerakiAuthUsers("N_demo_tokyo")
    assert [u["email"] for u in users] == ["tanaka@sakura.example.jp"]


def test_vpn_over_the_cli(journey: Journey) -> None:
    j = journey
    rows = j.cli_json("vpn", "check", *SITES)
    assert [(r["network_id"], r["eligible"], r["reasons"]) for r in rows] == [
        ("N_demo_tokyo", True, []),
        ("N_demo_yokohama", True, []),
    ]
    refused = j.cli_json("vpn", "check", "N_demo_osaka", code=1)
    assert refused[0]["eligible"] is False and refused[0]["reasons"]

    built = j.cli_json("vpn", "build", str(REQUEST), actor="noc-suzuki")
    assert built["status"] == "applied", built
    _built_on_the_dashboard(j)
    assert "tanaka@sakura.example.jp" in j.cli("vpn", "users", "--network", "N_demo_tokyo")

    pdf, table = j.folder / "vpn.pdf", j.folder / "vpn.csv"
    report = j.cli_json(
        "vpn", "report", "--pdf", str(pdf), "--csv", str(table), "--customer", "株式会社さくら商事"
    )
    assert report["report"]["site_count"] >= 2 and report["report"]["peers_down"] == 0
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "東京本社" in text and "横浜支店" in text
    rows_csv = list(csv.reader(io.StringIO(table.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert any("N_demo_yokohama" in row or "横浜支店 Yokohama" in row for row in rows_csv)
    j.finish()


def test_vpn_over_the_api(journey: Journey) -> None:
    j = journey
    checks = j.http("POST", "/vpn/checks", json={"network_ids": list(SITES)}, status=201)["items"]
    assert [(c["network_id"], c["eligible"]) for c in checks] == [
        ("N_demo_tokyo", True),
        ("N_demo_yokohama", True),
    ]
    body = yaml.safe_load(REQUEST.read_text(encoding="utf-8"))
    built = j.http("POST", "/vpn/builds", json=body, status=201)
    assert built["status"] == "applied", built
    _built_on_the_dashboard(j)
    report = j.http("POST", "/vpn/reports", status=201)
    assert report["site_count"] >= 2 and report["peers_down"] == 0
    pdf = j.http("GET", f"/vpn/reports/{report['id']}/report.pdf")
    assert pdf.startswith(b"%PDF")
    shown = j.http("GET", f"/vpn/reports/{report['id']}")
    assert shown is not None
    j.finish()
