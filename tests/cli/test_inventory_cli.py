"""The CLI end to end on a temporary SQLite file: the commands a new user types."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from netkeep.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "sample" / "devices.csv"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield runner
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_import_show_pay_and_ownership_history(cli: CliRunner) -> None:
    from netkeep.demo import DEMO_ACTOR, SAMPLE_CONTRACTS  # the sample data's contracts

    assert json.loads(run(cli, "catalogue", "list", "--json")) == []
    for number, customer, plan, options, _applied in SAMPLE_CONTRACTS:
        run(
            cli,
            "contract",
            "create",
            number,
            "--customer",
            customer,
            "--plan",
            plan.value,
            *[x for o in options for x in ("--option", o.value)],
        )
    # without a catalogue every row fails: all problems reported, nothing written
    out = run(cli, "inventory", "import", str(SAMPLE), "--commit", code=2)
    assert "unknown model 'MX67'" in out and "row 3, column model" in out
    assert json.loads(run(cli, "inventory", "list", "--json"))["total"] == 0
    from core.db import get_engine, session_scope
    from inventory.catalogue_defaults import seed_catalogue

    with session_scope(get_engine(get_settings().database_url)) as session:
        seed_catalogue(session=session, actor=DEMO_ACTOR)
    dry = run(cli, "inventory", "import", str(SAMPLE))
    assert "dry run: 13 rows, 13 to create" in dry
    run(cli, "inventory", "import", str(SAMPLE), "--commit")
    assert "0 to create, 0 to update, 13 unchanged" in run(cli, "inventory", "import", str(SAMPLE))
    run(cli, "contract", "accept", "C-2026-0001", "--acceptance-date", "2026-04-30")
    paid = run(cli, "contract", "paid", "C-2026-0001", "--paid-at", "2026-05-29T10:00")
    assert "ownership moved: Q2FY-AAAA-0001" in paid
    before = json.loads(
        run(cli, "inventory", "show", "Q2FY-AAAA-0001", "--at", "2026-05-01", "--json")
    )
    after = json.loads(
        run(cli, "inventory", "show", "Q2FY-AAAA-0001", "--at", "2026-06-01", "--json")
    )
    assert before["owner_at"]["owner_kind"] == "provider"
    assert after["owner_at"] == after["ownership"][-1]
    assert (after["owner_at"]["owner_kind"], after["owner_at"]["owner_name"]) == (
        "customer",
        "株式会社さくら商事",
    )
    leased = json.loads(run(cli, "inventory", "show", "Q3AJ-DDDD-0001", "--json"))
    assert leased["device"]["owner"] == {
        "kind": "leasing_company",
        "name": "東京オフィスリース株式会社",
    }
    text = run(cli, "inventory", "show", "Q2FY-AAAA-0001", "--at", "2026-06-01")
    assert "initial_fee_paid" in text and "cli-test" in text


def test_errors_map_to_exit_codes(cli: CliRunner) -> None:
    assert "not in the Meraki form" in run(cli, "inventory", "show", "nope", code=2)
    assert "no device with serial Q2FY-AAAA-0001" in run(
        cli, "inventory", "show", "Q2FY-AAAA-0001", code=3
    )
    run(cli, "contract", "create", "C-1", "--customer", "x", "--plan", "utm")
    assert "already exists" in run(
        cli, "contract", "create", "C-1", "--customer", "x", "--plan", "utm", code=4
    )


def test_token_is_shown_once_and_listed_without_value(cli: CliRunner) -> None:
    issued = json.loads(
        run(cli, "token", "create", "--role", "noc", "--name", "noc-desk", "--json")
    )
    assert issued["token"].startswith("nk_") and issued["role"] == "noc"
    listing = run(cli, "token", "list", "--json")
    assert issued["token"] not in listing and json.loads(listing)[0]["name"] == "noc-desk"
    run(cli, "token", "revoke", "noc-desk")
    assert json.loads(run(cli, "token", "list", "--json"))[0]["revoked_at"] != ""


def test_the_last_admin_token_is_revoked_only_with_force(cli: CliRunner) -> None:
    run(cli, "token", "create", "--role", "admin", "--name", "boss", "--json")
    refused = run(cli, "token", "revoke", "boss", code=4)
    assert "last live admin token" in refused
    assert json.loads(run(cli, "token", "list", "--json"))[0]["revoked_at"] == ""
    run(cli, "token", "revoke", "boss", "--force")
    assert json.loads(run(cli, "token", "list", "--json"))[0]["revoked_at"] != ""


def test_illegal_status_change_exits_4(cli: CliRunner, tmp_path: Path) -> None:
    from core.db import get_engine, session_scope
    from inventory.catalogue_defaults import seed_catalogue
    from netkeep.demo import DEMO_ACTOR

    with session_scope(get_engine(get_settings().database_url)) as session:
        seed_catalogue(session=session, actor=DEMO_ACTOR)
    csv = tmp_path / "one.csv"
    csv.write_text("serial,model\nQ2FY-AAAA-0101,MX67\n", encoding="utf-8")
    run(cli, "inventory", "import", str(csv), "--commit")
    out = run(cli, "inventory", "status", "Q2FY-AAAA-0101", "in_rma", code=4)
    assert "allowed next: deployed, disposed, reserved" in out
    assert "now reserved" in run(cli, "inventory", "status", "Q2FY-AAAA-0101", "reserved")


def test_an_outdated_schema_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'old.db'}")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["db", "upgrade", "0001"]).exit_code == 0
        out = run(runner, "inventory", "list", code=8)
        assert "schema is at 0001" in out and "netkeep db upgrade" in out
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        assert json.loads(run(runner, "inventory", "list", "--json"))["total"] == 0
    finally:
        get_settings.cache_clear()
