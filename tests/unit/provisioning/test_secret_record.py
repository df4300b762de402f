"""A plan's secrets are compared with what netkeep last set, never with the dashboard's value."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from provisioning.domain import diff
from provisioning.secret_diff import secret_values, with_recorded_secrets
from provisioning.secret_record import FileRecord, MemoryRecord, remember_job_secrets

DESIRED = {
    "ssid/0": {"name": "STAFF", "psk": "fp-new"},
    "ssid/2": {"name": "1X", "radiusServers": [{"host": "10.0.0.5", "secret": "fp-radius"}]},
}
DASHBOARD = {
    # what the dashboard returned, fingerprinted: equal to the sheet's (a right guess)
    "ssid/0": {"number": 0, "name": "STAFF", "psk": "fp-new"},
    "ssid/2": {"number": 2, "name": "1X", "radiusServers": [{"host": "10.0.0.5", "secret": "x"}]},
}


def test_secret_values_names_each_secret_by_resource_and_path() -> None:
    assert secret_values(DESIRED) == {
        "ssid/0:psk": "fp-new",
        "ssid/2:radiusServers.0.secret": "fp-radius",
    }


def test_without_a_record_every_secret_is_set_whatever_the_dashboard_holds() -> None:
    current = with_recorded_secrets(DESIRED, DASHBOARD, {})
    assert current["ssid/0"]["psk"] == "(not set by netkeep)"
    assert current["ssid/2"]["radiusServers"] == [
        {"host": "10.0.0.5", "secret": "(not set by netkeep)"}
    ]
    changes = diff(DESIRED, current, sections=frozenset({"ssid"}), prune=False, network_exists=True)
    fields = sorted((c.key, f.path, f.secret) for c in changes for f in c.fields)
    assert fields == [
        ("ssid/0", "psk", True),
        ("ssid/2", "radiusServers", False),  # the list differs: written again, secret included
    ]


def test_a_recorded_secret_equal_to_the_sheets_is_unchanged() -> None:
    recorded = {"ssid/0:psk": "fp-new", "ssid/2:radiusServers.0.secret": "fp-radius"}
    current = with_recorded_secrets(DESIRED, DASHBOARD, recorded)
    assert (
        diff(DESIRED, current, sections=frozenset({"ssid"}), prune=False, network_exists=True) == []
    )


def test_a_recorded_secret_other_than_the_sheets_is_set() -> None:
    current = with_recorded_secrets(DESIRED, DASHBOARD, {"ssid/0:psk": "fp-old"})
    changes = diff(
        {"ssid/0": DESIRED["ssid/0"]},
        current,
        sections=frozenset(),
        prune=False,
        network_exists=True,
    )
    assert [(c.key, [f.path for f in c.fields]) for c in changes] == [("ssid/0", ["psk"])]


def test_only_a_finished_job_is_remembered() -> None:
    record = MemoryRecord()
    for done, network in ((False, "N_1"), (True, None)):
        remember_job_secrets(
            record, organization_id="o", network_id=network, desired=DESIRED, done=done
        )
    assert record.recorded("o/N_1") == {}
    remember_job_secrets(record, organization_id="o", network_id="N_1", desired=DESIRED, done=True)
    assert record.recorded("o/N_1")["ssid/0:psk"] == "fp-new"
    assert record.recorded("o/N_2") == {}


def test_file_record_is_private_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret-record.json"
    FileRecord(path).remember("o/N_1", {"ssid/0:psk": "fp-1"})
    FileRecord(path).remember("o/N_2", {"ssid/0:psk": "fp-2"})
    again = FileRecord(path)
    assert again.recorded("o/N_1") == {"ssid/0:psk": "fp-1"}
    assert again.recorded("o/N_2") == {"ssid/0:psk": "fp-2"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_many_networks_are_recorded_in_one_write_merged_with_what_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollout's organization records its networks at once: one atomic file write (one fsync
    while the journal's transaction waits), each scope merged with what the file holds."""
    from core import keys
    from provisioning import secret_record

    record = FileRecord(tmp_path / "record.json")
    record.remember("o/N_1", {"ssid/0:psk": "fp-old", "ssid/1:psk": "fp-kept"})
    writes: list[Path] = []

    def counted(path: Path, data: bytes) -> None:
        writes.append(path)
        keys.write_private(path, data)

    monkeypatch.setattr(secret_record, "write_private", counted)
    record.remember_many(
        {"o/N_1": {"ssid/0:psk": "fp-new"}, "o/N_2": {"ssid/0:psk": "fp-2"}, "o/N_3": {}}
    )
    assert writes == [tmp_path / "record.json"]
    assert record.recorded("o/N_1") == {"ssid/0:psk": "fp-new", "ssid/1:psk": "fp-kept"}
    assert record.recorded("o/N_2") == {"ssid/0:psk": "fp-2"}
    assert record.recorded("o/N_3") == {}
    record.remember_many({"o/N_4": {}})  # nothing to record: no write at all
    assert len(writes) == 1
