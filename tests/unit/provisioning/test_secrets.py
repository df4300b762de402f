"""Secrets: read from the environment, never shown in a repr, dump or the plan-facing view."""

from __future__ import annotations

import pytest
import yaml

from core.errors import Problem, ValidationFailed
from provisioning.excel import write_workbook
from provisioning.sheet_io import dashboard_view, dump_yaml, load_sheet, parse_yaml
from provisioning.sheet_model import MASK, Sheet, SheetSecret, secret_fingerprint
from provisioning.validation import validate_sheet

from . import sheets

PSK = "correct-horse-battery-9"
RADIUS = "radius-shared-s3cret"
KEY = b"fingerprint-key"


def _sheet(environ: dict[str, str] | None = None) -> Sheet:
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = PSK
    raw["ssids"].append(
        {
            "number": 2,
            "name": "STAFF-1X",
            "authMode": "8021x-radius",
            "wpaEncryptionMode": "wpa2",
            "radiusServers": [{"host": "192.168.10.5", "secret": {"env": "RADIUS_SECRET"}}],
        }
    )
    sheet, problems = validate_sheet(raw, environ=environ or {"RADIUS_SECRET": RADIUS})
    assert problems == []
    assert sheet is not None
    return sheet


def _texts(sheet: Sheet) -> list[str]:
    return [
        repr(sheet),
        str(sheet),
        sheet.model_dump_json(),
        str(sheet.model_dump()),
        str(sheet.model_dump(by_alias=True, mode="json")),
        str(dashboard_view(sheet, secret_key=KEY)),
        dump_yaml(sheet),
    ]


def test_secrets_appear_nowhere(tmp_path):
    sheet = _sheet()
    for text in _texts(sheet):
        assert PSK not in text
        assert RADIUS not in text
    assert sheet.ssids and sheet.ssids[0].psk and sheet.ssids[0].psk.reveal() == PSK


def test_dumps_show_mask_or_env_reference():
    dumped = _sheet().model_dump(mode="json")
    assert dumped["ssids"][0]["psk"] == MASK
    assert dumped["ssids"][2]["radiusServers"][0]["secret"] == "env:RADIUS_SECRET"


def test_dashboard_view_carries_fingerprints():
    view = dashboard_view(_sheet(), secret_key=KEY)
    ssids = view["wireless"]["ssids"]
    assert ssids[0]["psk"] == secret_fingerprint(PSK, KEY)
    assert ssids[2]["radiusServers"][0]["secret"] == secret_fingerprint(RADIUS, KEY)
    assert ssids[0]["authMode"] == "psk"
    assert ssids[2]["wpaEncryptionMode"] == "WPA2 only"


def test_fingerprint_tells_changed_from_unchanged_only():
    same = secret_fingerprint(PSK, KEY)
    assert secret_fingerprint(PSK, KEY) == same
    assert secret_fingerprint(PSK + "!", KEY) != same
    assert secret_fingerprint(PSK, b"other-key") != same
    assert same.startswith("hmac-sha256:")
    assert len(same) == len("hmac-sha256:") + 16
    secret = SheetSecret.model_validate(PSK)
    assert secret_fingerprint(secret, KEY) == same


def test_masked_dump_does_not_load_back_as_a_password():
    raw, source = parse_yaml(dump_yaml(_sheet()))
    _, problems = validate_sheet(raw, source, environ={"RADIUS_SECRET": RADIUS})
    assert problems == [
        Problem("psk is masked (********); write the secret or a secret:NAME", "ssids[0].psk")
    ]


def test_revealed_dump_loads_back_equal():
    sheet = _sheet()
    raw = yaml.safe_load(dump_yaml(sheet, reveal_secrets=True))
    assert raw["ssids"][2]["radiusServers"][0]["secret"] == "env:RADIUS_SECRET"
    assert validate_sheet(raw, environ={"RADIUS_SECRET": RADIUS})[0] == sheet


@pytest.mark.parametrize("reference", ["env:STAFF_PSK", {"env": "STAFF_PSK"}, "env: STAFF_PSK"])
def test_env_reference_forms(reference):
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = reference
    sheet, problems = validate_sheet(raw, environ={"STAFF_PSK": PSK})
    assert problems == []
    assert sheet and sheet.ssids and sheet.ssids[0].psk
    assert sheet.ssids[0].psk.reveal() == PSK
    assert sheet.ssids[0].psk.env == "STAFF_PSK"


def test_missing_variable_is_a_problem_at_its_place():
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = "env:STAFF_PSK"
    _, problems = validate_sheet(raw, environ={})
    assert problems == [
        Problem("psk refers to environment variable STAFF_PSK, which is not set", "ssids[0].psk")
    ]


def test_missing_radius_variable_in_excel_names_the_cell(tmp_path):
    path = write_workbook(_sheet(), tmp_path / "w.xlsx", reveal_secrets=True)
    with pytest.raises(ValidationFailed) as failure:
        load_sheet(path, environ={})
    assert failure.value.problems == [
        Problem(
            "secret refers to environment variable RADIUS_SECRET, which is not set",
            "tab RADIUSサーバ RADIUS, cell D3",
        )
    ]


def test_bad_variable_name_and_shape():
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = {"env": "1BAD"}
    raw["ssids"][1]["authMode"] = "psk"
    raw["ssids"][1]["psk"] = {"value": 5, "from": "vault"}
    _, problems = validate_sheet(raw, environ={})
    assert (
        Problem("psk names '1BAD', which is not an environment variable name", "ssids[0].psk")
        in problems
    )
    assert Problem("psk must be a string, secret:NAME or env:NAME", "ssids[1].psk") in problems
    assert [p.location for p in problems] == ["ssids[0].psk", "ssids[1].psk"]


def test_loader_reads_os_environ_by_default(monkeypatch, tmp_path):
    path = tmp_path / "w.yaml"
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = "env:NETKEEP_TEST_STAFF_PSK"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("NETKEEP_TEST_STAFF_PSK", PSK)
    sheet = load_sheet(path)
    assert sheet.ssids and sheet.ssids[0].psk and sheet.ssids[0].psk.reveal() == PSK


# --- a sheet sent over the network: no env:, secret:NAME from netkeep's store ------------------

STORE = {("みなと商事", "STAFF"): PSK, ("ほか商事", "STAFF"): "someone-else's"}


def _lookup(customer: str, name: str) -> str | None:
    return STORE.get((customer, name))


@pytest.mark.parametrize(
    "reference", ["env:NETKEEP_MERAKI_API_KEY", {"env": "PATH"}, "env:NO_SUCH_VARIABLE_X"]
)
def test_network_sheet_refuses_env_saying_nothing_of_the_servers_variables(reference):
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = reference
    sheet, problems = validate_sheet(raw, environ={"PATH": "/usr/bin"}, allow_env=False)
    assert sheet is None
    assert [p.location for p in problems] == ["ssids[0].psk"]
    message = problems[0].message
    assert "env: references are read only from sheets run locally" in message
    for telling in ("not set", "PATH", "NETKEEP_MERAKI_API_KEY", "NO_SUCH", "characters"):
        assert telling not in message


@pytest.mark.parametrize("reference", ["secret:STAFF", {"secret": "STAFF"}, "secret: STAFF"])
def test_secret_reference_reads_the_customers_named_secret(reference):
    raw = sheets.wireless()
    raw["site"]["customer"] = "みなと商事"
    raw["ssids"][0]["psk"] = reference
    sheet, problems = validate_sheet(raw, allow_env=False, secrets=_lookup)
    assert problems == []
    assert sheet and sheet.ssids and sheet.ssids[0].psk
    assert sheet.ssids[0].psk.reveal() == PSK
    assert PSK not in dump_yaml(sheet) and "secret:STAFF" in dump_yaml(sheet)


def test_secret_reference_of_another_customer_or_without_one_is_refused():
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = "secret:STAFF"
    _, problems = validate_sheet(raw, allow_env=False, secrets=_lookup)
    assert problems == [
        Problem(
            "psk secret:STAFF needs site.customer (or request.customer): whose secret?",
            "ssids[0].psk",
        )
    ]
    raw["site"]["customer"] = "あおば"
    _, problems = validate_sheet(raw, allow_env=False, secrets=_lookup)
    assert problems == [
        Problem("psk netkeep holds no secret 'STAFF' for customer 'あおば'", "ssids[0].psk")
    ]


def test_secret_reference_without_the_store_is_refused():
    raw = sheets.wireless()
    raw["site"]["customer"] = "みなと商事"
    raw["ssids"][0]["psk"] = "secret:STAFF"
    _, problems = validate_sheet(raw)
    assert [p.location for p in problems] == ["ssids[0].psk"]
    assert "secret store is not open" in problems[0].message
