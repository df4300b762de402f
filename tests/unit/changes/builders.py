"""Builders for change-request tests: contracts, sheets as bytes, a loopback SMTP server."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from inventory.models import Contract, Device
from provisioning.sheet_io import load_sheet
from provisioning.sheet_model import sheet_to_raw

JST = ZoneInfo("Asia/Tokyo")
EXAMPLES = Path(__file__).resolve().parents[3] / "provisioning" / "examples"
SAKURA = "株式会社さくら商事"
MIDORI = "有限会社みどり設計"
ENV = {
    "AOBA_RADIUS_SECRET": "radius-s3cret-value",
    "AOBA_DEVICE_PSK": "device-key-2025-xyz",
    "AOBA_GUEST_PSK": "welcome-aoba-2025",
    "SAKURA_STAFF_PSK": "sakura-staff-psk-9",
}
# Tue 2027-01-12 10:00 JST: a business day inside the operations window.
TUESDAY_10 = datetime(2027, 1, 12, 10, 0, tzinfo=JST)


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)  # type: ignore[misc]


SAKURA_SITE = "東京本社"  # the site of the example change request
SAKURA_NETWORK = "N_sakura_tokyo"


def build_contracts(session: Session) -> None:
    """さくら商事 (UTM, its MX67 at 東京本社) and みどり設計 (router, its MX68 at 事務所).

    The inventory links each site to its network id (a change request changes that network).
    """
    rows = [
        ("C-SAKURA-1", SAKURA, "utm", "Q2FY-AAAA-0002", "MX67", SAKURA_SITE, SAKURA_NETWORK),
        ("C-MIDORI-1", MIDORI, "router", "Q2KY-BBBB-0001", "MX68", "みどり設計 事務所", "N_midori"),
    ]
    for number, customer, plan, serial, model, site, network_id in rows:
        contract = Contract(number=number, customer=customer, plan=plan, status="active")
        session.add(contract)
        session.flush()
        session.add(
            Device(
                serial=serial,
                model=model,
                status="deployed",
                customer=customer,
                site=site,
                contract_id=contract.id,
                network_id=network_id,
            )
        )
    # a device that belongs to someone else
    other = Contract(number="C-OTHER-1", customer="他社株式会社", plan="utm", status="active")
    session.add(other)
    session.flush()
    session.add(
        Device(
            serial="Q2FY-ZZZZ-0009",
            model="MX67",
            status="deployed",
            customer="他社株式会社",
            site="他社",
            contract_id=other.id,
        )
    )
    session.flush()


def link_site(session: Session, network_id: str | None, site: str = SAKURA_SITE) -> None:
    """The inventory links the site's units to this network (as after provisioning it)."""
    for device in session.exec(select(Device).where(Device.site == site)):
        device.network_id = network_id
        session.add(device)
    session.flush()


def change_raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((EXAMPLES / "change_request.yaml").read_text("utf-8"))
    return raw


def typical_utm_change() -> dict[str, Any]:
    """Five settings: VLAN 20's DNS, a new VLAN 40, the L3 rules, one forward, blocked URLs."""
    raw = change_raw()
    raw["vlans"] = [
        {
            "id": 20,
            "name": "来客用",
            "subnet": "192.168.20.0/24",
            "applianceIp": "192.168.20.1",
            "dhcpHandling": "run",
            "dhcpLeaseTime": "4 hours",
            "dnsNameservers": ["opendns"],
        },
        {"id": 40, "name": "会議室", "subnet": "192.168.40.0/24", "applianceIp": "192.168.40.1"},
    ]
    raw["l3FirewallRules"] = [
        {
            "comment": "来客→業務 禁止",
            "policy": "deny",
            "protocol": "any",
            "srcCidr": "192.168.20.0/24",
            "destCidr": "192.168.10.0/24",
        },
    ]
    raw["portForwardingRules"] = raw["portForwardingRules"][:1]
    raw["contentFiltering"] = {"blockedUrlPatterns": ["example-gamble.com", "bad.example.net"]}
    return raw


def as_bytes(raw: dict[str, Any]) -> bytes:
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False).encode("utf-8")


def router_change_raw() -> dict[str, Any]:
    """router.yaml as a change request of みどり設計."""
    raw = sheet_to_raw(load_sheet(EXAMPLES / "router.yaml"))
    raw["kind"] = "change_request"
    raw["request"] = {
        "id": "CR-2027-0002",
        "customer": MIDORI,
        "requester": "所長 緑川",
        "date": "2027-01-10",
    }
    return raw


@dataclass
class Inbox:
    """Messages the loopback SMTP server received, parsed."""

    host: str
    port: int
    envelopes: list[Any] = field(default_factory=list)

    def messages(self) -> list[Message]:
        return [email.message_from_bytes(e.content, policy=default) for e in self.envelopes]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.inbox.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(name="smtp_inbox")
def smtp_inbox_fixture() -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on a free loopback port."""
    inbox = Inbox("127.0.0.1", free_port())
    controller = Controller(_Handler(inbox), hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
