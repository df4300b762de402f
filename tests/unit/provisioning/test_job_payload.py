"""A queued rollout carries its sheets sealed: readable only under the installation's key."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.fernet import InvalidToken

from core.audit import Actor
from core.keys import InstallationKey
from provisioning.jobs import (
    SheetUpload,
    payload_actor,
    payload_organizations,
    payload_sheets,
    rollout_payload,
)

KEY = InstallationKey(b"k" * 32)
OTHER = InstallationKey(b"o" * 32)
SHEET = "site:\n  name: さくら商事 本社\nwireless:\n  psk: 'aoba-guest-2027'\n".encode()


def test_the_sheets_are_sealed_and_come_back_whole() -> None:
    payload = rollout_payload(
        rollout="R1",
        files=[SheetUpload("../../etc/utm.yaml", SHEET)],
        organizations=["600001"],
        actor=Actor(name="field-1", role="field"),
        cipher=KEY.job_fernet(),
    )
    text = json.dumps(payload, ensure_ascii=False)
    assert "aoba-guest-2027" not in text and "さくら商事" not in text
    assert base64.b64encode(SHEET).decode() not in text
    assert payload_sheets(payload, KEY.job_fernet()) == [SheetUpload("utm.yaml", SHEET)]
    assert payload_actor(payload) == Actor(name="field-1", role="field", request_id="R1")
    # the organization it goes to is recorded beside it: a resume groups the jobs the same way
    assert payload_organizations(payload, "537758") == ["600001"]


def test_a_job_queued_before_organizations_were_recorded_goes_to_the_configured_one() -> None:
    payload = rollout_payload(
        rollout="R1",
        files=[SheetUpload("utm.yaml", SHEET), SheetUpload("router.yaml", SHEET)],
        organizations=["600001", "600002"],
        actor=Actor(name="field-1", role="field"),
        cipher=KEY.job_fernet(),
    )
    for sheet in payload["sheets"]:
        del sheet["organization"]
    assert payload_organizations(payload, "537758") == ["537758", "537758"]


def test_another_key_or_the_named_secrets_key_cannot_open_them() -> None:
    payload = rollout_payload(
        rollout="R1",
        files=[SheetUpload("utm.yaml", SHEET)],
        organizations=["537758"],
        actor=Actor(name="field-1", role="field"),
        cipher=KEY.job_fernet(),
    )
    for cipher in (OTHER.job_fernet(), KEY.fernet()):
        with pytest.raises(InvalidToken):
            payload_sheets(payload, cipher)
