"""`netkeep account create|list|disable|password`: passwords from stdin, never printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.db import make_engine, session_scope
from core.errors import AuthenticationFailed
from core.settings import get_settings
from netkeep.cli import app
from web import accounts


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CliRunner, str]]:
    url = f"sqlite:///{tmp_path / 'var' / 'cli.db'}"
    monkeypatch.setenv("NETKEEP_DATABASE_URL", url)
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield runner, url
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str, code: int = 0, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    return result.output


def test_accounts_are_created_listed_disabled_and_given_new_passwords(
    cli: tuple[CliRunner, str],
) -> None:
    runner, url = cli
    out = run(
        runner,
        "account",
        "create",
        "Yamada",
        "--role",
        "logistics",
        "--password-stdin",
        stdin="first password\n",
    )
    assert out.strip() == "yamada: logistics created"
    out = run(
        runner,
        "account",
        "create",
        "aoba",
        "--role",
        "customer",
        "--customer",
        "医療法人あおば会",
        "--password-stdin",
        stdin="aoba password\n",
    )
    assert out.strip() == "aoba: customer of 医療法人あおば会 created"
    listed = json.loads(run(runner, "account", "list", "--json"))
    assert [(a["name"], a["role"], a["customer"], a["disabled"]) for a in listed] == [
        ("aoba", "customer", "医療法人あおば会", False),
        ("yamada", "logistics", None, False),
    ]
    assert "password" not in json.dumps(listed) and "argon2" not in json.dumps(listed)
    run(runner, "account", "password", "yamada", "--password-stdin", stdin="second password\n")
    run(runner, "account", "disable", "aoba")
    engine = make_engine(url)
    with session_scope(engine) as session:
        assert accounts.verify_password(session=session, name="yamada", password="second password")
        with pytest.raises(AuthenticationFailed):
            accounts.verify_password(session=session, name="aoba", password="aoba password")
    engine.dispose()
    table = run(runner, "account", "list")
    assert "yamada" in table and "yes" in table


def test_refusals_exit_with_their_codes(cli: tuple[CliRunner, str]) -> None:
    runner, _url = cli
    short = run(
        runner,
        "account",
        "create",
        "x",
        "--role",
        "noc",
        "--password-stdin",
        stdin="short\n",
        code=2,
    )
    assert "password" in short and "short" not in short.replace("password", "")
    run(
        runner,
        "account",
        "create",
        "x",
        "--role",
        "customer",
        "--password-stdin",
        stdin="long enough pw\n",
        code=2,
    )
    run(runner, "account", "disable", "nobody", code=3)
    run(
        runner,
        "account",
        "create",
        "twice",
        "--role",
        "noc",
        "--password-stdin",
        stdin="long enough pw\n",
    )
    run(
        runner,
        "account",
        "create",
        "TWICE",
        "--role",
        "noc",
        "--password-stdin",
        stdin="long enough pw\n",
        code=4,
    )
