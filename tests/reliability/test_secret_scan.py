"""Secret scan: after a demo that sets PSKs, a RADIUS secret and the API key, none is anywhere.

A real `netkeep serve` and sandbox (own processes, own logs) on the demo's data: the secrets are
stored (`netkeep secret set`, PUT /secrets) and used by a sheet uploaded to the API
(`secret:NAME`), then a sheet run locally with other values (`env:NAME`) is applied by the CLI
with --json.
The dashboard must have received the values (else the scan proves nothing); then the server's
log, every file in its var directory (but the installation key), every CLI output, every API
response (and every GET of the OpenAPI that needs no parameter) and every row of every table are
searched for each value and for the Meraki API key: 0 hits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, inspect, text

from bench.api_fuzz import free_port, wait_http
from dashboard.session import build_sdk
from netkeep.demo import load_demo
from tests.unit.provisioning.sheets import EXAMPLES

NETKEEP = str(Path(sys.executable).with_name("netkeep"))
CUSTOMER = "医療法人あおば会"
NAMES = ("AOBA_RADIUS_SECRET", "AOBA_DEVICE_PSK", "AOBA_GUEST_PSK")


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with open(log, "w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def stored_sheet() -> str:
    """The example wireless sheet naming netkeep's stored secrets."""
    sheet = (EXAMPLES / "wireless.yaml").read_text(encoding="utf-8")
    sheet = sheet.replace("{env: AOBA_RADIUS_SECRET}", "secret:AOBA_RADIUS_SECRET")
    sheet = sheet.replace("env:AOBA_DEVICE_PSK", "secret:AOBA_DEVICE_PSK")
    return sheet.replace("{env: AOBA_GUEST_PSK}", "{secret: AOBA_GUEST_PSK}")


def table_rows(url: str) -> Iterator[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    yield table, repr(tuple(row))
    finally:
        engine.dispose()


def test_no_secret_of_a_full_demo_is_found_anywhere(
    tmp_path: Path, figure: Callable[[str, Any], None]
) -> None:
    tag = uuid.uuid4().hex[:10]
    api_key = f"nkscan-apikey-{tag}"
    via_api = {name: f"nkscan-api-{name.lower()}-{tag}" for name in NAMES}
    via_cli = {name: f"nkscan-cli-{name.lower()}-{tag}" for name in NAMES}
    secrets = [api_key, *via_api.values(), *via_cli.values()]
    url = f"sqlite:///{tmp_path / 'netkeep.db'}"
    token = load_demo(url).admin_token
    sandbox_port, api_port = free_port(), free_port()
    sandbox_base = f"http://127.0.0.1:{sandbox_port}/api/v1"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NETKEEP_", "AOBA_"))} | {
        "NETKEEP_DATABASE_URL": url,
        "NETKEEP_MERAKI_BASE_URL": sandbox_base,
        "NETKEEP_MERAKI_API_KEY": api_key,
        "NETKEEP_VAR_DIR": str(tmp_path / "var"),
        "NETKEEP_PROVISIONING_REQUIRE_SURVEY": "false",
        "NETKEEP_LOG_LEVEL": "DEBUG",
        "NETKEEP_DASHBOARD_PATIENCE_SECONDS": "10",
    }
    outputs: dict[str, str] = {}
    sandbox_cmd = [NETKEEP, "sandbox", "--port", str(sandbox_port), "--api-key", api_key]
    sandbox_cmd += ["--claim-settle", "0", "--network-settle", "0"]
    server_log = tmp_path / "server.log"
    with (
        process(sandbox_cmd, env, tmp_path / "sandbox.log"),
        process([NETKEEP, "serve", "--port", str(api_port)], env, server_log),
    ):
        base = f"http://127.0.0.1:{api_port}"
        wait_http(f"{base}/healthz")

        def cli(*args: str, stdin: str | None = None, extra: dict[str, str] | None = None) -> str:
            done = subprocess.run(
                [NETKEEP, *args], env=env | (extra or {}), input=stdin, capture_output=True,
                text=True, timeout=300, check=False,
            )  # fmt: skip
            outputs[" ".join(args)] = done.stdout + done.stderr
            assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
            return done.stdout

        cli("secret", "set", CUSTOMER, NAMES[0], "--stdin", stdin=via_api[NAMES[0]] + "\n")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=300) as api:
            for name in NAMES[1:]:
                put = api.put(f"/secrets/{CUSTOMER}/{name}", json={"value": via_api[name]})
                outputs[f"PUT /secrets/{name}"] = put.text
                assert put.is_success, put.text
            upload = {"file": ("wireless.yaml", stored_sheet().encode(), "application/x-yaml")}
            plan = api.post("/plans", files=upload)
            outputs["POST /plans"] = plan.text
            assert plan.status_code == 200, plan.text
            job = api.post("/jobs", files=upload)
            outputs["POST /jobs"] = job.text
            assert job.status_code == 201 and job.json()["status"] == "done", job.text
            network = job.json()["network_id"]
            schema = api.get(f"{base}/openapi.json").json()
            for path, methods in schema["paths"].items():
                if "get" in methods and "{" not in path and path.startswith("/api/v1"):
                    got = api.get(path.removeprefix("/api/v1"))
                    outputs[f"GET {path}"] = got.text
            for path in (f"/jobs/{job.json()['id']}", f"/jobs/{job.json()['id']}/journal"):
                outputs[f"GET {path}"] = api.get(path).text
        sheet = tmp_path / "wireless.yaml"
        sheet.write_text((EXAMPLES / "wireless.yaml").read_text(encoding="utf-8"), "utf-8")
        cli("apply", str(sheet), "--yes", "--json", extra=via_cli)
        cli("job", "list", "--json")
        dash = build_sdk(api_key=api_key, base_url=sandbox_base, maximum_retries=4)
        ssid = dash.wireless.getNetworkWirelessSsid(network, 1)
        assert ssid["psk"] == via_cli["AOBA_DEVICE_PSK"], (
            "the CLI's PSK never reached the dashboard"
        )
    places = {"server log": server_log.read_text(errors="replace")}
    for path in (tmp_path / "var").rglob("*"):
        if path.is_file() and path.name != "secret.key":
            places[f"var/{path.relative_to(tmp_path / 'var')}"] = path.read_text(errors="replace")
    places |= {
        f"cli: {k}": v for k, v in outputs.items() if not k.startswith(("GET", "POST", "PUT"))
    }
    places |= {f"api: {k}": v for k, v in outputs.items() if k.startswith(("GET", "POST", "PUT"))}
    rows = 0
    for table, row in table_rows(url):
        rows += 1
        places[f"table {table} #{rows}"] = row
    hits = [(where, s) for where, body in places.items() for s in secrets if s in body]
    figure("places_scanned", len(places))
    figure("rows_scanned", rows)
    figure("secrets", len(secrets))
    figure("hits", len(hits))
    assert len(places) > 50 and rows > 50
    assert hits == []
