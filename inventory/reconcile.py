"""Reconciliation of netkeep's inventory with the dashboard organization's inventory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.db import bulk_insert
from core.errors import DashboardError, NotFound
from inventory.domain import PROVIDER_NAME, DeviceStatus, OwnerKind, OwnershipReason
from inventory.models import CatalogueModel, Device, OwnershipEvent
from inventory.ports import InventoryDashboard


@dataclass
class ReconcileReport:
    organization_id: str
    dashboard_count: int = 0
    netkeep_count: int = 0
    only_in_dashboard: list[dict[str, Any]] = field(default_factory=list)
    only_in_netkeep: list[dict[str, Any]] = field(default_factory=list)
    network_mismatch: list[dict[str, Any]] = field(default_factory=list)
    model_mismatch: list[dict[str, Any]] = field(default_factory=list)
    unknown_models: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not (
            self.only_in_dashboard
            or self.only_in_netkeep
            or self.network_mismatch
            or self.model_mismatch
        )


# Devices netkeep expects to find in the organization (others may sit unclaimed in a warehouse).
EXPECTED_ON_DASHBOARD = frozenset(
    {DeviceStatus.DEPLOYED.value, DeviceStatus.RESERVED.value, DeviceStatus.FAILED.value}
)


def reconcile(
    *,
    session: Session,
    dashboard: InventoryDashboard,
    organization_id: str,
    actor: Actor,
    now: datetime,
    apply: bool = False,
) -> ReconcileReport:
    """Compare both inventories; with `apply`, import serials only the dashboard knows.

    An organization the dashboard does not know (its 404) is the caller's mistake: NotFound, not
    a dashboard failure (schemathesis, issue 15, found it answered 502)."""
    try:
        items = dashboard.list_inventory(organization_id)
    except DashboardError as exc:
        if exc.details.get("status") != 404:
            raise
        raise NotFound(
            f"the dashboard knows no organization {organization_id!r} for this API key",
            organization_id=organization_id,
        ) from exc
    report = ReconcileReport(organization_id=organization_id, dashboard_count=len(items))
    remote = {i.serial: i for i in items}
    local = {d.serial: d for d in session.exec(select(Device))}
    report.netkeep_count = len(local)
    for serial, item in sorted(remote.items()):
        device = local.get(serial)
        if device is None:
            report.only_in_dashboard.append(
                {"serial": serial, "model": item.model, "network_id": item.network_id}
            )
            continue
        if (device.network_id or None) != (item.network_id or None):
            report.network_mismatch.append(
                {"serial": serial, "netkeep": device.network_id, "dashboard": item.network_id}
            )
        if item.model and device.model != item.model.upper():
            report.model_mismatch.append(
                {"serial": serial, "netkeep": device.model, "dashboard": item.model}
            )
    for serial, device in sorted(local.items()):
        if serial not in remote and device.status in EXPECTED_ON_DASHBOARD:
            report.only_in_netkeep.append(
                {"serial": serial, "model": device.model, "status": device.status}
            )
    if apply and report.only_in_dashboard:
        _import_unknown(session=session, report=report, remote=remote, actor=actor, now=now)
    audit.record(
        session,
        actor=actor,
        action="inventory.reconcile",
        entity_type="organization",
        entity_id=organization_id,
        at=now,
        after={
            "only_in_dashboard": len(report.only_in_dashboard),
            "only_in_netkeep": len(report.only_in_netkeep),
            "network_mismatch": len(report.network_mismatch),
            "imported": report.imported,
        },
    )
    return report


def _import_unknown(
    *,
    session: Session,
    report: ReconcileReport,
    remote: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> None:
    known_models = set(session.exec(select(CatalogueModel.model)))
    rows = []
    for entry in report.only_in_dashboard:
        item = remote[entry["serial"]]
        model = item.model.upper()
        if model not in known_models:
            report.unknown_models.append(f"{item.serial} ({model})")
            continue
        rows.append(
            {
                "serial": item.serial,
                "model": model,
                "mac": item.mac,
                "status": (
                    DeviceStatus.DEPLOYED if item.network_id else DeviceStatus.IN_STOCK
                ).value,
                "network_id": item.network_id,
                "notes": f"imported from dashboard {report.organization_id}",
                "created_at": now,
                "updated_at": now,
            }
        )
    if not rows:
        return
    bulk_insert(session, Device, rows)
    ids = dict(
        session.exec(
            select(Device.serial, Device.id).where(
                col(Device.serial).in_([r["serial"] for r in rows])
            )
        ).all()
    )
    bulk_insert(
        session,
        OwnershipEvent,
        [
            {
                "device_id": ids[r["serial"]],
                "serial": r["serial"],
                "owner_kind": OwnerKind.PROVIDER.value,
                "owner_name": PROVIDER_NAME,
                "reason": OwnershipReason.RECONCILE_IMPORT.value,
                "effective_at": now,
                "recorded_at": now,
                "actor": actor.name,
                "reference": report.organization_id,
            }
            for r in rows
        ],
    )
    for r in rows:
        audit.record(
            session,
            actor=actor,
            action="device.reconcile_import",
            entity_type="device",
            entity_id=r["serial"],
            after=r,
            at=now,
        )
        report.imported.append(r["serial"])
