"""The CLI answers at once and its output survives a pipe (issue 16, items 5 and 6)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netkeep import cli
from netkeep.demo import SAMPLE_DEVICES, load_demo

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("matplotlib", "fastapi", "netmiko", "paramiko", "openpyxl", "reportlab")


def _netkeep(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """The real `netkeep` in a child process, its stdout a pipe (not a terminal)."""
    env = {**os.environ, "NETKEEP_DATABASE_URL": database_url, "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from netkeep.cli import main; sys.exit(main())", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = (
        "import sys, netkeep.cli\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'pydantic') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    heavy, database = done.stdout.splitlines()
    assert heavy == "[]"
    assert database == "[]"  # `netkeep --help` needs no database layer either


@pytest.mark.parametrize(
    "module",
    sorted({e.target.partition(":")[0] for e in cli.SUB_COMMANDS} - {"sandbox.cli"}),
)
def test_a_command_group_loads_heavy_libraries_only_inside_its_commands(module: str) -> None:
    """`netkeep rma list` must not pay for the PDF, SSH, Excel or plotting libraries."""
    probe = f"import sys, {module}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_help_lists_every_command_without_loading_one(tmp_path: Path) -> None:
    done = _netkeep("--help", database_url=f"sqlite:///{tmp_path / 'unused.db'}")
    assert done.returncode == 0, done.stderr
    for entry in cli.SUB_COMMANDS:
        assert f" {entry.name} " in done.stdout
    for local in ("serve", "demo"):
        assert f" {local} " in done.stdout


@pytest.mark.parametrize("entry", cli.SUB_COMMANDS, ids=lambda e: e.name)
def test_the_listed_help_is_the_commands_own(entry: cli.Lazy) -> None:
    real = cli.load(entry.name)
    own = " ".join((real.help or "").split("\n\n")[0].split())
    assert own == " ".join(entry.help.split())
    assert real.name == entry.name


def test_help_itself_loads_no_command_module() -> None:
    probe = (
        "import sys\n"
        "from netkeep.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('sqlalchemy', 'rma.cli', 'inventory.cli') if m in sys.modules]\n"
        "print(loaded, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "inventory" in done.stdout  # the listing was printed
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_an_unknown_command_is_refused(tmp_path: Path) -> None:
    done = _netkeep("inventori", database_url=f"sqlite:///{tmp_path / 'unused.db'}")
    assert done.returncode == 2
    assert "No such command" in done.stderr


def test_a_piped_inventory_list_shows_whole_serials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    load_demo(url)
    with SAMPLE_DEVICES.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[2:]  # Japanese header, English header, then devices
    serials = {row[0] for row in rows}
    assert len(serials) >= 10
    done = _netkeep("inventory", "list", "--limit", "500", database_url=url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split("\t") == [
        "serial",
        "model",
        "status",
        "customer",
        "site",
        "owner",
        "network",
    ]
    assert all(len(line.split("\t")) == 7 for line in lines)  # nothing but the table
    assert {line.split("\t")[0] for line in lines[1:]} == serials
    assert f"{len(serials)} of {len(serials)}" in done.stderr  # the count, for the person
    assert "…" not in done.stdout
    tokyo = next(line for line in lines if line.startswith("Q2FY-AAAA-0001\t"))
    assert tokyo.split("\t")[3] == "株式会社さくら商事"  # a long customer name, whole too


def test_json_is_unchanged_off_a_terminal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    load_demo(url)
    done = _netkeep("inventory", "list", "--json", "--limit", "3", database_url=url)
    assert done.returncode == 0, done.stderr
    assert [d["serial"] for d in json.loads(done.stdout)["items"]] == [
        "Q2FY-AAAA-0001",
        "Q2FY-AAAA-0002",
        "Q2FY-AAAA-0003",
    ]
