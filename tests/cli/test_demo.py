"""The README's main command on a fresh database: sample data, a token, the sandbox, a tour."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from api.app import create_app
from core.db import get_engine
from core.settings import Settings, get_settings
from dashboard.meraki import MerakiDashboard
from inventory import reconcile, service
from netkeep.cli import app
from netkeep.demo import DEMO_ACTOR, load_demo
from sandbox.server import SandboxServer
from tests.service.helpers import T0


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("NETKEEP_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_demo_command_loads_data_starts_sandbox_and_prints_tour(demo_db: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--sandbox-port", "0"])
    assert result.exit_code == 0, result.output
    token = re.search(r"\b(nk_[A-Za-z0-9_\-]{20,})", result.output)
    assert token is not None
    assert re.search(r"Meraki dashboard sandbox: http://127\.0\.0\.1:\d+/api/v1", result.output)
    assert re.search(r"Mail sink \(SMTP 127\.0\.0\.1:\d+\)", result.output)
    assert "var/demo.json" in result.output  # the CLI follows the demo, no exports needed
    client = TestClient(create_app(Settings(database_url=demo_db, _env_file=None)))  # type: ignore[call-arg]
    devices = client.get("/api/v1/devices", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert devices.json()["total"] == 13
    again = CliRunner().invoke(app, ["demo", "--no-serve", "--sandbox-port", "0"])
    assert again.exit_code == 0, again.output  # re-running is harmless: data unchanged, new token
    assert (
        client.get("/api/v1/devices", headers={"Authorization": f"Bearer {token.group(1)}"}).json()[
            "total"
        ]
        == 13
    )


def test_sample_inventory_reconciles_against_the_sandbox_demo_org(
    demo_db: str, sandbox: SandboxServer
) -> None:
    load_demo(demo_db)
    dashboard = MerakiDashboard(api_key=sandbox.api_key, base_url=sandbox.base_url, retry_wait=0)
    with Session(get_engine(demo_db)) as session:
        report = reconcile.reconcile(
            session=session,
            dashboard=dashboard,
            organization_id="537758",
            actor=DEMO_ACTOR,
            now=T0,
            apply=True,
        )
        session.commit()
        assert [d["serial"] for d in report.only_in_dashboard] == ["Q2FY-ZZZZ-0099"]
        assert report.only_in_netkeep == []  # every deployed demo unit is in its network
        assert report.network_mismatch == [] and report.model_mismatch == []
        assert report.imported == ["Q2FY-ZZZZ-0099"]
        device = service.get_device(session=session, serial="Q2FY-ZZZZ-0099")
        assert device.model == "MX67" and device.status == "in_stock"
    assert sandbox.admin.count("GET", "/organizations/{organizationId}/inventory/devices") >= 1
    with Session(get_engine(demo_db)) as session:
        again = reconcile.reconcile(
            session=session, dashboard=dashboard, organization_id="537758", actor=DEMO_ACTOR, now=T0
        )
        assert again.only_in_dashboard == []


@pytest.fixture
def demo_cli(
    demo_db: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    """The loaded demo, the CLI pointed at a sandbox with the demo seed."""
    load_demo(demo_db)
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NETKEEP_MERAKI_API_KEY", sandbox.api_key)
    monkeypatch.setenv("NETKEEP_MERAKI_MAX_RETRIES", "1")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_the_demo_is_consistent_and_doctor_finds_a_break_with_its_repair(
    demo_cli: CliRunner,
) -> None:
    assert "no violations" in run(demo_cli, "doctor")
    run(demo_cli, "inventory", "status", "Q2FY-AAAA-0001", "failed")  # no RMA opened
    out = run(demo_cli, "doctor", code=1)
    assert "[unit_rma] Q2FY-AAAA-0001: Q2FY-AAAA-0001 is failed but no open RMA" in out
    assert "repair: netkeep inventory status Q2FY-AAAA-0001 deployed" in out
    run(demo_cli, "inventory", "status", "Q2FY-AAAA-0001", "deployed")
    assert "no violations" in run(demo_cli, "doctor")


def test_doctor_names_the_dashboard_it_could_not_reach(
    demo_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netkeep.mailsink import free_port

    closed = f"http://127.0.0.1:{free_port()}/api/v1"
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", closed)
    get_settings.cache_clear()
    result = demo_cli.invoke(app, ["doctor"])
    assert result.exit_code == 6, result.output
    assert f"dashboard unreachable at {closed}" in result.output
    assert "connection refused" in result.output.lower()
    assert "no violations" in run(demo_cli, "doctor", "--no-dashboard")


def test_demo_stock_is_checked_so_the_first_reserve_works(demo_cli: CliRunner) -> None:
    run(demo_cli, "rma", "open", "Q2FY-AAAA-0001", "--symptom", "電源断", "--reporter", "総務")
    run(demo_cli, "rma", "decide", "1", "--replace")
    run(demo_cli, "rma", "reserve", "1")
    reserved = json.loads(run(demo_cli, "rma", "show", "RMA-000001", "--json"))  # as shown
    assert reserved["status"] == "replacement_reserved"
    assert reserved["replacement_serial"] in {"Q2FY-AAAA-0002", "Q2FY-AAAA-0003"}
    assert "no violations" in run(demo_cli, "doctor")


def test_two_demo_utm_sites_pass_the_vpn_check_on_global_addresses(demo_cli: CliRunner) -> None:
    rows = json.loads(run(demo_cli, "vpn", "check", "N_demo_tokyo", "N_demo_yokohama", "--json"))
    assert [(r["network_id"], r["eligible"], r["reasons"]) for r in rows] == [
        ("N_demo_tokyo", True, []),
        ("N_demo_yokohama", True, []),
    ]


def test_the_demo_mail_sink_keeps_each_notice_readable(tmp_path: Path) -> None:
    from changes.mailer import SmtpMailer
    from changes.ports import OutgoingMail
    from netkeep.mailsink import running_mail_sink

    with running_mail_sink(tmp_path / "mail") as sink:
        mailer = SmtpMailer(host=sink.host, port=sink.port, sender="noc@netkeep.invalid")
        for n in (1, 2):
            mailer.send(
                OutgoingMail(to="soumu@example.jp", subject=f"作業完了のお知らせ {n}", body="本文")
            )
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == [
        "0001.eml",
        "0001.txt",
        "0002.eml",
        "0002.txt",
    ]
    text = (tmp_path / "mail" / "0002.txt").read_text(encoding="utf-8")
    assert "To: soumu@example.jp" in text and "Subject: 作業完了のお知らせ 2" in text
    assert text.rstrip().endswith("本文")


def test_the_shipped_vpn_example_builds_site_to_site_and_client_vpn_on_the_demo(
    demo_cli: CliRunner, sandbox: SandboxServer
) -> None:
    example = Path(__file__).resolve().parents[2] / "vpn" / "examples" / "demo_vpn.yaml"
    built = json.loads(run(demo_cli, "vpn", "build", str(example), "--json"))
    assert built["status"] == "applied", built
    assert {c["network_id"] for c in built["changes"] if c["changed"]} == {
        "N_demo_tokyo",
        "N_demo_yokohama",
    }
    sdk = sandbox.dashboard_api()
    spoke = sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn("N_demo_yokohama")
    assert spoke["mode"] == "spoke" and spoke["hubs"][0]["hubId"] == "N_demo_tokyo"
    assert [u["email"] for u in sdk.networks.getNetworkMerakiAuthUsers("N_demo_tokyo")] == [
        "tanaka@sakura.example.jp"
    ]


def test_the_tours_apply_deploys_its_units_and_doctor_stays_clean(demo_cli: CliRunner) -> None:
    examples = Path(__file__).resolve().parents[2] / "provisioning" / "examples"
    planned = json.loads(run(demo_cli, "plan", str(examples / "utm.yaml"), "--json"))
    assert planned["units"] == {
        "Q2FY-AAAA-0002": "in_stock → deployed at さくら商事 本社 for 株式会社さくら商事, on "
        "contract C-2026-0005 once claimed"
    }
    out = run(demo_cli, "apply", str(examples / "utm.yaml"), str(examples / "router.yaml"), "--yes")
    assert "rollout" in out and "done" in out
    assert "no violations" in run(demo_cli, "doctor")
    shown = json.loads(run(demo_cli, "inventory", "show", "Q2FY-AAAA-0002", "--json"))
    device = shown.get("device", shown)
    assert (device["status"], device["site"], device["customer"]) == (
        "deployed",
        "さくら商事 本社",
        "株式会社さくら商事",
    )
    assert device["network_id"] and device["network_id"].startswith("N_")


def test_apply_refuses_a_unit_deployed_elsewhere_with_exit_2_before_any_call(
    demo_cli: CliRunner, sandbox: SandboxServer, tmp_path: Path
) -> None:
    examples = Path(__file__).resolve().parents[2] / "provisioning" / "examples"
    text = (examples / "utm.yaml").read_text(encoding="utf-8")
    sheet = tmp_path / "moved.yaml"
    sheet.write_text(text.replace("Q2FY-AAAA-0002", "Q2FY-AAAA-0001"), encoding="utf-8")
    sandbox.admin.reset_counters()
    out = run(demo_cli, "apply", str(sheet), "--yes", code=2)
    assert (
        "moved.yaml: devices[0].serial: serial Q2FY-AAAA-0001 is deployed at 東京本社 "
        "(株式会社さくら商事, network N_demo_tokyo), not at さくら商事 本社"
        in " ".join(out.split())
    )
    assert sandbox.admin.counters()["operations"] == {}


def test_the_tours_incident_and_sla_lines_work_on_the_demo(
    demo_cli: CliRunner, tmp_path: Path
) -> None:
    opened = run(
        demo_cli, "incident", "open", "C-2026-0003", "-q", "VPN がつながらない",
        "-q", "SSID の追加方法", "--fault", "1", "--reporter", "総務 田中", "--channel", "mail",
    )  # fmt: skip
    assert "INC-000001 C-2026-0003 fault: open" in opened
    assert "INC-000002 C-2026-0003 question: open" in opened
    assert "auto-closes" in run(demo_cli, "incident", "answer", "1", "--text", "再起動で復旧")
    run(demo_cli, "sla", "policy", "C-2026-0003", "--monthly-fee", "30000")
    run(
        demo_cli, "sla", "outage", "C-2026-0003",
        "--started", "2026-11-02T09:00", "--ended", "2026-11-04T10:00",
    )  # fmt: skip
    out = run(demo_cli, "sla", "report", "--month", "2026-11", "--pdf", "sla-2026-11.pdf")
    assert "total credit 2026-11: ¥2,000" in out  # 30,000 × 2 ÷ 30
    assert (tmp_path / "sla-2026-11.pdf").read_bytes().startswith(b"%PDF")
