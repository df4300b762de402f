"""Bulk import of devices from CSV/XLSX: a dry run reporting every problem, then all or nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text, update
from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.db import bulk_insert
from core.errors import Problem, ValidationFailed
from core.models import AuditEntry
from core.timeutil import parse_instant
from inventory.domain import (
    PROVIDER_NAME,
    TRANSITIONS,
    Acquisition,
    DeviceStatus,
    OwnerKind,
    OwnershipReason,
    hand_move_refusal,
    normalise_mac,
    normalise_serial,
)
from inventory.models import CatalogueModel, Contract, Device, OwnershipEvent
from inventory.service import DEVICE_AUDIT_FIELDS
from inventory.tabular import Row, read_table

COLUMNS: dict[str, tuple[str, ...]] = {
    "serial": ("シリアル番号", "シリアル", "製造番号", "Serial number"),
    "model": ("モデル", "型番", "機種"),
    "mac": ("MACアドレス", "MAC address"),
    "status": ("ステータス", "状態"),
    "customer": ("顧客", "顧客名", "お客様名"),
    "site": ("設置場所", "サイト", "拠点"),
    "contract": ("契約番号", "契約", "contract number"),
    "acquisition": ("提供形態", "販売区分"),
    "leasing_company": ("リース会社", "leasing company"),
    "network_id": ("ネットワークID", "network id"),
    "license_expiry": ("ライセンス期限", "ライセンス有効期限", "license expiry"),
    "owner_kind": ("所有者区分", "owner kind"),
    "owner_name": ("所有者", "所有者名", "owner", "owner name"),
    "notes": ("備考", "メモ"),
    "owner_since": ("所有開始日", "入庫日", "owner since"),
}
STATUS_WORDS = {
    "在庫": "in_stock",
    "引当済": "reserved",
    "設置済": "deployed",
    "故障": "failed",
    "修理中": "in_rma",
    "返却済": "returned",
    "整備済": "refurbished",
    "廃棄": "disposed",
}
ACQUISITION_WORDS = {"販売": "sold", "リース": "leased", "レンタル": "leased"}
OWNER_WORDS = {"当社": "provider", "顧客": "customer", "リース会社": "leasing_company"}
ANALYZE_AFTER = 1000
UPDATABLE = (
    "mac",
    "customer",
    "site",
    "contract_id",
    "acquisition",
    "leasing_company",
    "network_id",
    "license_expiry",
    "notes",
)


@dataclass
class ImportReport:
    source: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: dict[str, dict[str, Any]] = field(default_factory=dict)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    committed: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "problems": len(self.problems),
            "committed": self.committed,
        }


@dataclass
class _Planned:
    row: Row
    values: dict[str, Any]
    owner_kind: str
    owner_name: str
    since: datetime | None = None


def _where(source: str, row: Row, column: str) -> str:
    return f"{source} row {row.number}, column {column}"


def _parse_row(
    source: str,
    row: Row,
    models: set[str],
    contracts: dict[str, Contract],
    problems: list[Problem],
) -> _Planned | None:
    values: dict[str, Any] = {}
    raw = row.values
    count_before = len(problems)

    def bad(column: str, message: str) -> None:
        problems.append(Problem(message, _where(source, row, column)))

    try:
        values["serial"] = normalise_serial(raw.get("serial", ""))
    except ValueError as exc:
        bad("serial", str(exc) if raw.get("serial") else "serial is required")
    model = raw.get("model", "").strip().upper()
    if not model:
        bad("model", "model is required")
    elif model not in models:
        bad("model", f"unknown model {model!r} (not in the catalogue)")
    values["model"] = model
    if raw.get("mac"):
        try:
            values["mac"] = normalise_mac(raw["mac"])
        except ValueError as exc:
            bad("mac", str(exc))
    status_text = raw.get("status", "").strip()
    status_text = STATUS_WORDS.get(status_text, status_text.lower()) or DeviceStatus.IN_STOCK.value
    try:
        values["status"] = DeviceStatus(status_text).value
    except ValueError:
        bad("status", f"unknown status {raw.get('status')!r}; one of {', '.join(DeviceStatus)}")
    for column in ("customer", "site", "network_id", "notes"):
        if column in raw:
            values[column] = raw[column] or None if column != "notes" else raw[column]
    if raw.get("license_expiry"):
        try:
            values["license_expiry"] = date.fromisoformat(
                raw["license_expiry"].replace("/", "-")[:10]
            )
        except ValueError:
            bad("license_expiry", f"{raw['license_expiry']!r} is not a date (YYYY-MM-DD)")
    if raw.get("contract"):
        contract = contracts.get(raw["contract"])
        if contract is None:
            bad("contract", f"unknown contract {raw['contract']!r}")
        else:
            values["contract_id"] = contract.id
            if values.get("customer") and values["customer"] != contract.customer:
                bad(
                    "customer",
                    f"customer {values['customer']!r} differs from contract's "
                    f"{contract.customer!r}",
                )
            values["customer"] = contract.customer
    acquisition_text = raw.get("acquisition", "").strip()
    if acquisition_text:
        acquisition_text = ACQUISITION_WORDS.get(acquisition_text, acquisition_text.lower())
        try:
            values["acquisition"] = Acquisition(acquisition_text).value
        except ValueError:
            bad("acquisition", f"unknown acquisition {raw['acquisition']!r}; sold or leased")
    if raw.get("leasing_company"):
        values["leasing_company"] = raw["leasing_company"]
    if values.get("acquisition") == Acquisition.LEASED and not values.get("leasing_company"):
        bad("leasing_company", "a leased device needs its leasing company")
    owner_text = raw.get("owner_kind", "").strip()
    owner_kind = OWNER_WORDS.get(owner_text, owner_text.lower())
    owner_name = raw.get("owner_name", "").strip()
    if not owner_kind:
        if values.get("acquisition") == Acquisition.LEASED and values.get("leasing_company"):
            owner_kind, owner_name = OwnerKind.LEASING_COMPANY.value, values["leasing_company"]
        else:
            owner_kind = OwnerKind.PROVIDER.value
    try:
        kind = OwnerKind(owner_kind)
        if kind is OwnerKind.PROVIDER:
            owner_name = owner_name or PROVIDER_NAME
        elif kind is OwnerKind.CUSTOMER:
            owner_name = owner_name or values.get("customer") or ""
        if not owner_name:
            bad("owner_name", f"owner kind {kind.value} needs an owner name")
    except ValueError:
        bad(
            "owner_kind",
            f"unknown owner kind {owner_text!r}; provider, customer or leasing_company",
        )
    owner_since = None
    if raw.get("owner_since"):
        try:
            owner_since = parse_instant(raw["owner_since"].replace("/", "-"))
        except ValueError:
            bad("owner_since", f"{raw['owner_since']!r} is not a date or time (ISO 8601)")
    if len(problems) > count_before:
        return None
    return _Planned(
        row=row, values=values, owner_kind=owner_kind, owner_name=owner_name, since=owner_since
    )


def _chunks(items: list[str], size: int = 900) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plan_import(
    *, session: Session, path: Path, content: bytes | None = None, max_rows: int | None = None
) -> tuple[ImportReport, list[_Planned], dict[str, Device]]:
    """Read and check every row against the catalogue, contracts and existing devices."""
    source = path.name
    rows, _columns = read_table(path, COLUMNS, content=content, max_rows=max_rows)
    report = ImportReport(source=source, rows=len(rows))
    if not rows:  # a header and nothing under it: nothing to import is an error, not a no-op
        report.problems.append(Problem("the file has no data rows under its header", source))
    models = {m for m in session.exec(select(CatalogueModel.model))}
    contract_numbers = sorted({r.values["contract"] for r in rows if r.values.get("contract")})
    contracts = {
        c.number: c
        for chunk in _chunks(contract_numbers)
        for c in session.exec(select(Contract).where(col(Contract.number).in_(chunk)))
    }
    planned: list[_Planned] = []
    first_row_of: dict[str, int] = {}
    for row in rows:
        item = _parse_row(source, row, models, contracts, report.problems)
        if item is None:
            continue
        serial = item.values["serial"]
        if serial in first_row_of:
            report.problems.append(
                Problem(
                    f"serial {serial} appears twice (first at row {first_row_of[serial]})",
                    _where(source, row, "serial"),
                )
            )
            continue
        first_row_of[serial] = row.number
        planned.append(item)
    serials = [p.values["serial"] for p in planned]
    existing = {
        d.serial: d
        for chunk in _chunks(serials)
        for d in session.exec(select(Device).where(col(Device.serial).in_(chunk)))
    }
    for item in planned:
        device = existing.get(item.values["serial"])
        if device is None:
            report.created.append(item.values["serial"])
            continue
        changes = _changes(source, item, device, report.problems)
        if changes:
            report.updated[device.serial] = changes
        else:
            report.unchanged += 1
    return report, planned, existing


def _changes(
    source: str, item: _Planned, device: Device, problems: list[Problem]
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if item.values["model"] != device.model:
        problems.append(
            Problem(
                f"{device.serial} is a {device.model}, not a {item.values['model']}",
                _where(source, item.row, "model"),
            )
        )
    target = DeviceStatus(item.values["status"])
    current = DeviceStatus(device.status)
    if "status" in item.row.values and target != current:
        held = hand_move_refusal(device.serial, device.held_by)
        if held is not None:
            problems.append(Problem(held, _where(source, item.row, "status")))
        elif target not in TRANSITIONS[current]:
            allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
            problems.append(
                Problem(
                    f"{device.serial}: status cannot move from {current} to {target} "
                    f"(allowed: {allowed})",
                    _where(source, item.row, "status"),
                )
            )
        else:
            changes["status"] = target.value
    for name in UPDATABLE:
        if name in item.values and item.values[name] != getattr(device, name):
            changes[name] = item.values[name]
    return changes


def import_devices(
    *,
    session: Session,
    actor: Actor,
    path: Path,
    now: datetime,
    commit: bool = False,
    content: bytes | None = None,
    max_rows: int | None = None,
) -> ImportReport:
    """A dry run unless `commit`; any problem means nothing is written (ValidationFailed)."""
    report, planned, existing = plan_import(
        session=session, path=path, content=content, max_rows=max_rows
    )
    if not commit:
        return report
    if report.problems:
        raise ValidationFailed(
            report.problems,
            f"{len(report.problems)} problem(s) in {report.source}; nothing was imported",
        )
    _write(session=session, actor=actor, report=report, planned=planned, existing=existing, now=now)
    report.committed = True
    return report


def _write(
    *,
    session: Session,
    actor: Actor,
    report: ImportReport,
    planned: list[_Planned],
    existing: dict[str, Device],
    now: datetime,
) -> None:
    new_items = [p for p in planned if p.values["serial"] not in existing]
    device_rows = [
        {name: p.values.get(name) for name in DEVICE_AUDIT_FIELDS if name != "verified_at"}
        | {"notes": p.values.get("notes") or "", "created_at": now, "updated_at": now}
        for p in new_items
    ]
    bulk_insert(session, Device, device_rows)
    ids = {
        serial: device_id
        for chunk in _chunks([p.values["serial"] for p in new_items])
        for serial, device_id in session.exec(
            select(Device.serial, Device.id).where(col(Device.serial).in_(chunk))
        )
    }
    events = [
        {
            "device_id": ids[p.values["serial"]],
            "serial": p.values["serial"],
            "owner_kind": p.owner_kind,
            "owner_name": p.owner_name,
            "reason": OwnershipReason.IMPORT.value,
            "effective_at": p.since or now,
            "recorded_at": now,
            "actor": actor.name,
            "contract_id": p.values.get("contract_id"),
            "reference": report.source,
        }
        for p in new_items
    ]
    bulk_insert(session, OwnershipEvent, events)
    updates = [
        {"id": existing[serial].id, **changes, "updated_at": now}
        for serial, changes in report.updated.items()
    ]
    for start in range(0, len(updates), 2000):
        session.execute(update(Device), updates[start : start + 2000])
    audit_rows = [
        {
            "at": now,
            "actor": actor.name,
            "role": actor.role,
            "action": "device.import",
            "entity_type": "device",
            "entity_id": row["serial"],
            "before": None,
            "after": audit.redact(row),
            "request_id": actor.request_id,
            "outcome": "ok",
        }
        for row in device_rows
    ] + [
        {
            "at": now,
            "actor": actor.name,
            "role": actor.role,
            "action": "device.import",
            "entity_type": "device",
            "entity_id": serial,
            "before": audit.redact({k: getattr(existing[serial], k) for k in changes}),
            "after": audit.redact(changes),
            "request_id": actor.request_id,
            "outcome": "ok",
        }
        for serial, changes in report.updated.items()
    ]
    bulk_insert(session, AuditEntry, audit_rows)
    audit.record(
        session,
        actor=actor,
        action="inventory.import",
        entity_type="import",
        entity_id=report.source,
        after=report.summary() | {"committed": True},
        at=now,
    )
    if len(new_items) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, so the planner uses the serial index at once (not after autovacuum).
        session.execute(text("ANALYZE device, ownership_event"))
    session.expire_all()
