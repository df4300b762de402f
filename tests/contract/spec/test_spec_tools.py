"""tools/spec_report judges a request log file: a new mismatch fails, known ones are listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import spec_report

AGENT = "python-meraki/4.7.0 Caller/(netkeep/0.1 netkeep)"


def _log(tmp_path: Path, *entries: dict[str, object]) -> str:
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    return str(path)


def _vlan_create(body: dict[str, object], agent: str = AGENT) -> dict[str, object]:
    return {
        "method": "POST",
        "path": "/networks/N_1/appliance/vlans",
        "template": "/networks/{networkId}/appliance/vlans",
        "body": body,
        "status": 201,
        "reply": None,
        "agent": agent,
    }


def test_a_clean_log_passes_and_a_new_mismatch_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _vlan_create({"id": "20", "name": "g", "subnet": "10.20.0.0/24"})
    assert spec_report.main([_log(tmp_path, good)]) == 0
    bad = _vlan_create({"id": "20", "name": "g", "colour": "red"})
    assert spec_report.main([_log(tmp_path, good, bad)]) == 1
    assert "NEW   body   createNetworkApplianceVlan colour" in capsys.readouterr().out


def test_known_mismatches_and_other_clients_do_not_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the known list is empty now (issue 13's were fixed); one listed entry for this test
    listed = {("createNetworkApplianceVlan", "dnsNameservers"): "listed for this test"}
    monkeypatch.setattr(spec_report, "NETKEEP_KNOWN_BODY_MISMATCHES", listed)
    known = _vlan_create({"id": "20", "name": "g", "dnsNameservers": "google_dns"})
    someone_else = _vlan_create({"id": "20", "name": "g", "colour": "red"}, agent="curl/8")
    assert spec_report.main([_log(tmp_path, known, someone_else)]) == 0
