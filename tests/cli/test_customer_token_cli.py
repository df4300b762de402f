"""`netkeep token create --role customer --customer NAME`: a token bound to one customer."""

import json

from typer.testing import CliRunner

from tests.cli.test_inventory_cli import cli, run

__all__ = ["cli"]  # the fixture, used by name


def test_a_customer_token_is_bound_to_its_customer(cli: CliRunner) -> None:
    issued = json.loads(
        run(
            cli, "token", "create", "--role", "customer", "--name", "asahi-portal",
            "--customer", "株式会社あさひ物産", "--json",
        )
    )  # fmt: skip
    assert (issued["role"], issued["customer"]) == ("customer", "株式会社あさひ物産")
    [listed] = json.loads(run(cli, "token", "list", "--json"))
    assert listed["customer"] == "株式会社あさひ物産"


def test_a_customer_token_needs_its_customer_and_a_staff_token_none(cli: CliRunner) -> None:
    refused = run(cli, "token", "create", "--role", "customer", "--name", "nobody", code=2)
    assert "customer" in refused
    run(
        cli, "token", "create", "--role", "noc", "--name", "noc-x", "--customer", "A社", code=2
    )  # fmt: skip
    assert json.loads(run(cli, "token", "list", "--json")) == []
