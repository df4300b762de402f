"""The overdue sweep: unreturned units past their deadline become overdue and are charged once.

Set-based: a batch of RMAs is claimed with one locking SELECT, then a handful of statements do
for the whole batch what `rma.charging.charge_overdue` does for one RMA (the code a late receipt
runs, so the money does not depend on whether the sweep ran first): one `INSERT ... SELECT` of
the audit rows (before/after JSON built in SQL, the same entries in the same order as the
row-by-row moves would write), one `INSERT ... SELECT` of the charges, one conditional status
UPDATE of the RMAs and one of their devices. The sweep never touches reminders: a reminder
whose day passed is settled (`missed`, or `cancelled` once charged) by `send_due_reminders`
by the rules of `rma.domain.reminder_outcome`.

Cost: the audit statement reads each RMA with its device once and serialises the fields no move
changes once per RMA, not once per snapshot (four snapshots for an RMA, four for its device); on
PostgreSQL as joined text with to_json for free text only (json_build_object costs twice as much
per member). The rest is index upkeep and WAL: status is indexed on both tables (the board's
`ix_rma_status_due_date_id`, the partial `ix_rma_awaiting_return`'s predicate, `ix_device_status`,
`ix_device_customer_status`), so no update is HOT and each moved RMA and device gets a new entry
in every index but the partial one; at 1,000,000 RMAs a 10,000-RMA sweep writes ~325 MB of WAL,
mostly first-touch page images of the rows and index leaves it changes
(bench/rma_sweep.py --runs 3 for the figures).
Id lists are INTEGER arrays like the id columns: PostgreSQL hashes a same-type `= ANY(array)`,
and searches a BIGINT one linearly per row. Batches of a few thousand keep the RMA, device and
index pages a batch touches in shared buffers from one statement to the next (at 1,000,000
RMAs, 20,000 per batch read twice as many pages from the OS) and the plans' costs under the JIT
threshold.

Safe to run concurrently. On SQLite the sweep takes the write lock before it reads, so sweeps
run one after another and each sees what the one before committed. On PostgreSQL the batch is
claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so two sweeps never work on the same RMA, and
the status filter is re-checked on the locked row version (PostgreSQL re-evaluates it under READ
COMMITTED), so a row another sweep or a receipt already charged no longer qualifies. Every later
statement names the claimed ids, never the filter again; the status UPDATE moves a row only from
a state the sweep may charge in and must move every claimed one (else Conflict, and the
transaction rolls back), and the UNIQUE `rma_damage_charge.rma_id` is the last guard: a second
charge for one RMA cannot be stored at all. The sweep only writes rows: it sends no mail and
calls no dashboard, so there is no side effect to repeat.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import bindparam, text
from sqlalchemy import select as select_columns
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from core.audit import Actor
from core.calendar import tokyo_date
from core.db import begin_write
from core.errors import Conflict
from core.timeutil import UtcDateTime
from inventory.domain import DeviceStatus
from inventory.models import CatalogueModel, Device
from inventory.service import DEVICE_AUDIT_FIELDS
from rma.domain import AWAITING_RETURN, CHARGEABLE, RmaStatus, damage_charge
from rma.models import DamageChargeRecord, Rma
from rma.service import RMA_AUDIT_FIELDS

S = RmaStatus


@dataclass(slots=True)
class SweepReport:
    """What one sweep did: RMA numbers marked overdue and charged, and the yen billed."""

    overdue: list[str] = field(default_factory=list)
    charged: list[str] = field(default_factory=list)
    total_yen: int = 0


@dataclass(frozen=True, slots=True)
class _Claimed:
    """One locked candidate as the batch found it."""

    id: int
    number: str
    device_id: int
    waiting: bool  # in a waiting state: becomes overdue
    price: int | None  # None: the model has no list price, it stays overdue for a person
    charged_before: bool  # a charge record exists already (a receipt settled it)


def sweep(
    *,
    session: Session,
    actor: Actor,
    now: datetime,
    tax_rate_percent: int = 10,
    batch_size: int = 2_500,
) -> SweepReport:
    """Mark every waiting RMA past its deadline overdue and issue its one damage charge."""
    damage_charge(0, tax_rate_percent)  # refuses a negative rate before anything is written
    begin_write(session)
    today = tokyo_date(now)  # overdue once 24:00 JST of the due date has passed: due < today
    report = SweepReport()
    last_id = 0
    while True:
        stmt = (
            select_columns(
                col(Rma.id),
                col(Rma.status),
                col(Rma.failed_device_id),
                col(CatalogueModel.list_price_yen),
                col(DamageChargeRecord.id),
            )
            .outerjoin(CatalogueModel, col(CatalogueModel.model) == col(Rma.failed_model))
            .outerjoin(DamageChargeRecord, col(DamageChargeRecord.rma_id) == col(Rma.id))
            .where(
                col(Rma.status).in_([s.value for s in CHARGEABLE]),
                col(Rma.due_date) < today,
                col(Rma.id) > last_id,
            )
            .order_by(col(Rma.id))
            .limit(batch_size)
            .with_for_update(of=Rma, skip_locked=True)
        )
        claimed = [
            _Claimed(
                id=rma_id or 0,
                number=f"RMA-{rma_id:06d}",
                device_id=device_id,
                waiting=RmaStatus(status) in AWAITING_RETURN,
                price=price,
                charged_before=charge_id is not None,
            )
            for rma_id, status, device_id, price, charge_id in session.execute(stmt)
        ]
        if not claimed:
            return report
        last_id = claimed[-1].id
        _settle_batch(session=session, actor=actor, now=now, tax=tax_rate_percent, claimed=claimed)
        for c in claimed:
            if c.waiting:
                report.overdue.append(c.number)
            if c.price is not None and not c.charged_before:
                report.charged.append(c.number)
                report.total_yen += damage_charge(c.price, tax_rate_percent).total_yen


def _settle_batch(
    *, session: Session, actor: Actor, now: datetime, tax: int, claimed: Sequence[_Claimed]
) -> None:
    """Overdue, charge, device lost and their audit rows for the locked batch, set-based."""
    sql = _Sql(session.get_bind().dialect.name)
    to_overdue = [c.id for c in claimed if c.waiting]
    to_charge = [c.id for c in claimed if c.price is not None and not c.charged_before]
    charging = set(to_charge)
    moving = sorted(set(to_overdue) | charging)
    if not moving:
        return
    params: dict[str, Any] = {
        "overdue_ids": sql.ids(to_overdue),
        "charge_ids": sql.ids(to_charge),
        "moving_ids": sql.ids(moving),
        # Usually few: waiting units without a list price or already charged by a receipt.
        "overdue_only_ids": sql.ids([i for i in moving if i not in charging]),
        "device_ids": sql.ids(sorted({c.device_id for c in claimed if c.id in charging})),
        "now": now,
        "tax": tax,
        "actor": actor.name,
        "role": actor.role,
        "request_id": actor.request_id,
    }
    typed = [bindparam("now", type_=UtcDateTime())]
    if sql.pg:  # the charged units' devices, locked in id order before they are read
        session.execute(text(sql.device_lock()), params)
    session.execute(text(sql.audit_insert()).bindparams(*typed), params)
    session.execute(text(sql.charge_insert()).bindparams(*typed), params)
    moved: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        text(sql.rma_update()).bindparams(*typed), params
    )
    if moved.rowcount != len(moving):
        numbers = ", ".join(f"RMA-{i:06d}" for i in moving)
        raise Conflict(f"another transaction charged one of {numbers} first", rmas=numbers)
    session.execute(text(sql.device_update()).bindparams(*typed), params)
    _expire_stale(session, rma_ids=set(moving), device_ids={c.device_id for c in claimed})


def _expire_stale(session: Session, *, rma_ids: set[int], device_ids: set[int | None]) -> None:
    """The SQL above bypassed the ORM: rows this session already holds are reloaded when next
    read, so a caller sees the RMAs charged and the devices lost, not what they were before."""
    for obj in list(session.identity_map.values()):
        if (isinstance(obj, Rma) and obj.id in rma_ids) or (
            isinstance(obj, Device) and obj.id in device_ids
        ):
            session.expire(obj)


def _literal(value: str) -> str:
    """A SQL literal of the JSON text of string `value` (a state or a key: no quote in it)."""
    return f"'{json.dumps(value)}'"


class _Sql:
    """The batch's statements in the database's dialect (JSON and text functions differ)."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    # -- ids -----------------------------------------------------------------------------------

    def ids(self, ids: Sequence[int]) -> Any:
        """One parameter holding a list of ids: an array on PostgreSQL, JSON text on SQLite."""
        return list(ids) if self.pg else json.dumps(list(ids))

    def member(self, column: str, param: str) -> str:
        if self.pg:
            return f"{column} = ANY(CAST(:{param} AS INTEGER[]))"
        return f"{column} IN (SELECT value FROM json_each(:{param}))"

    # -- values as `core.audit.redact` writes them into JSON -----------------------------------

    def number(self, id_expr: str) -> str:
        """RMA-000042 (six digits at least), as `Rma.number`."""
        if self.pg:
            return f"('RMA-' || CASE WHEN {id_expr} < 1000000 THEN lpad(CAST({id_expr} AS TEXT), 6, '0') ELSE CAST({id_expr} AS TEXT) END)"  # noqa: E501
        return f"printf('RMA-%06d', {id_expr})"

    def instant(self, expr: str) -> str:
        """datetime.isoformat() of the UTC instant: microseconds only when there are some."""
        if self.pg:  # one to_char; a fraction of .000000 is what isoformat() leaves out
            return (
                f"(replace(to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), "
                "'.000000', '') || '+00:00')"
            )
        # SQLAlchemy keeps naive UTC text on SQLite: 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return (
            f"(substr({expr}, 1, 10) || 'T' || substr({expr}, 12, 8) || CASE WHEN "
            f"length({expr}) <= 19 OR substr({expr}, 21) = '000000' THEN '' "
            f"ELSE '.' || substr(substr({expr}, 21) || '000000', 1, 6) END || '+00:00')"
        )

    def day(self, expr: str) -> str:
        return f"to_char({expr}, 'YYYY-MM-DD')" if self.pg else expr

    def flag(self, expr: str) -> str:
        return expr if self.pg else f"json(CASE WHEN {expr} THEN 'true' ELSE 'false' END)"

    def quote(self, expr: str) -> str:
        """A text value as JSON text: a string, or null."""
        if self.pg:
            return f"COALESCE(CAST(to_json(CAST({expr} AS TEXT)) AS TEXT), 'null')"
        return f"json_quote({expr})"

    def members(self, pairs: Sequence[tuple[str, str]]) -> str:
        """The members of a JSON object of scalar `pairs` as text, without the braces: the
        members of several objects joined with ', ' and braced make one object again.

        The first member starts with its quoted key and the last ends with a scalar value, so
        trimming braces from both ends takes off exactly the object's own.
        """
        args = ", ".join(f"'{key}', {value}" for key, value in pairs)
        if self.pg:
            return f"btrim(CAST(json_build_object({args}) AS TEXT), '{{}}')"
        return f"trim(json_object({args}), '{{}}')"

    def as_json(self, text_expr: str) -> str:
        return f"CAST({text_expr} AS JSON)" if self.pg else text_expr

    # -- snapshots: the fields that never change in the sweep are serialised once per row ------

    _RMA_KINDS: ClassVar[dict[str, str]] = {
        "substitution": "flag",
        "late_arrival": "flag",
        "shipped_at": "instant",
        "swapped_at": "instant",
        "swap_claimed_at": "instant",
        "closed_at": "instant",
        "due_date": "day",
        "pickup_date": "day",
    }
    _DEVICE_KINDS: ClassVar[dict[str, str]] = {"verified_at": "instant", "license_expiry": "day"}
    _RMA_FIELDS: ClassVar[tuple[str, ...]] = RMA_AUDIT_FIELDS
    _DEVICE_FIELDS: ClassVar[tuple[str, ...]] = (*DEVICE_AUDIT_FIELDS, "held_by")

    def _value(self, kinds: dict[str, str], alias: str, name: str) -> str:
        kind = kinds.get(name)
        expr = f"{alias}.{name}"
        if kind == "flag":
            return self.flag(expr)
        if kind == "instant":
            return self.instant(expr)
        if kind == "day":
            return self.day(expr)
        return expr

    @staticmethod
    def _segments(fields: Sequence[str], varying: set[str]) -> list[str | list[str]]:
        """The snapshot's fields in order: a varying field by name, runs of the others as lists."""
        segments: list[str | list[str]] = []
        for name in fields:
            if name in varying:
                segments.append(name)
            elif segments and isinstance(segments[-1], list):
                segments[-1].append(name)
            else:
                segments.append([name])
        return segments

    def fixed_members(self, prefix: str, alias: str) -> list[tuple[str, str]]:
        """(column, expression) of each run of unchanging fields of the `rma` or `device` row."""
        fields, kinds, varying = self._shape(prefix)
        runs = [seg for seg in self._segments(fields, varying) if isinstance(seg, list)]
        if self.pg:  # joined text: json_build_object costs twice as much per member
            return [
                (
                    f"{prefix}_{i}",
                    " || ', ' || ".join(self._pg_member(kinds, alias, n) for n in run),
                )
                for i, run in enumerate(runs)
            ]
        return [
            (f"{prefix}_{i}", self.members([(n, self._value(kinds, alias, n)) for n in run]))
            for i, run in enumerate(runs)
        ]

    def _pg_member(self, kinds: dict[str, str], alias: str, name: str) -> str:
        """`"name": value` of one column as JSON text (PostgreSQL). Only free text needs
        escaping (to_json); a flag, a day or an instant is written as it is, null as null."""
        kind = kinds.get(name)
        expr = f"{alias}.{name}"
        if kind == "flag":
            value = f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' ELSE 'null' END"
        elif kind in ("instant", "day"):  # digits, dashes, colons, T, + and a dot: no escaping
            value = f"COALESCE('\"' || {self._value(kinds, alias, name)} || '\"', 'null')"
        else:
            value = f"COALESCE(CAST(to_json({expr}) AS TEXT), 'null')"
        return f"'{json.dumps(name)}: ' || {value}"

    def _shape(self, prefix: str) -> tuple[tuple[str, ...], dict[str, str], set[str]]:
        if prefix == "rma":
            return self._RMA_FIELDS, self._RMA_KINDS, {"status", "waiting_status"}
        return self._DEVICE_FIELDS, self._DEVICE_KINDS, {"status"}

    def _snapshot(self, prefix: str, values: dict[str, str], note: str | None) -> str:
        """The JSON snapshot of row `m`: the varying fields' JSON text from `values`, the runs of
        the other fields from the columns `fixed_members` made, `note` (JSON text) appended."""
        fields, _, varying = self._shape(prefix)
        pieces: list[str] = []
        run = 0
        for seg in self._segments(fields, varying):
            if isinstance(seg, list):
                pieces.append(f"m.{prefix}_{run}")
                run += 1
            else:
                pieces.append(f"{_literal(seg)} || ': ' || {values[seg]}")
        if note is not None:
            pieces.append(f"{_literal('note')} || ': ' || {note}")
        return self.as_json("'{' || " + " || ', ' || ".join(pieces) + " || '}'")

    def rma_snapshot(self, status: str, waiting_status: str, note: str | None = None) -> str:
        """`rma.service.rma_snapshot` of the RMA in row `m` with this status and waiting status
        (JSON text expressions) and a note."""
        return self._snapshot("rma", {"status": status, "waiting_status": waiting_status}, note)

    def device_snapshot(self, status: str, note: str | None = None) -> str:
        """`inventory.service.device_snapshot` of the device in row `m` with this status."""
        return self._snapshot("device", {"status": status}, note)

    # -- statements ----------------------------------------------------------------------------

    def audit_insert(self) -> str:
        """Every audit row of the batch, in the order the row-by-row moves write them.

        Per RMA, step 1 rma.overdue (if it was waiting), 2 rma.charged, and for its device
        3 failed → in_rma (never swapped) and 4 in_rma → lost, each only where it applies. The
        rows are read once (`m`, each RMA with its device and list price, in id order) and the
        unchanging parts of the snapshots serialised once per RMA.
        """
        waiting = ", ".join(f"'{s.value}'" for s in sorted(AWAITING_RETURN))
        failed, in_rma, lost = DeviceStatus.FAILED, DeviceStatus.IN_RMA, DeviceStatus.LOST
        net = "cm.list_price_yen"
        tax = "(cm.list_price_yen * :tax / 100)"
        charge_note = (
            f"'damage charge ' || CAST({net} + {tax} AS TEXT) || ' yen (net ' || "
            f"CAST({net} AS TEXT) || ', tax ' || CAST({tax} AS TEXT) || ')'"
        )
        # The state the charge moves from: overdue, with the waiting state it came from.
        ws = f"CASE WHEN r.status IN ({waiting}) THEN r.status ELSE r.waiting_status END"
        columns = [
            ("rma_id", "r.id"),
            ("number", self.number("r.id")),
            ("serial", "d.serial"),
            ("device_status", "d.status"),
            ("overdue", self.member("r.id", "overdue_ids")),
            ("charge", self.member("r.id", "charge_ids")),
            ("status_j", self.quote("r.status")),
            ("waiting_j", self.quote("r.waiting_status")),
            ("ws_j", self.quote(ws)),
            ("due_note_j", self.quote(f"'return period ended ' || {self.day('r.due_date')}")),
            ("charge_note_j", self.quote(charge_note)),
            *self.fixed_members("rma", "r"),
            *self.fixed_members("device", "d"),
        ]
        fence = "OFFSET 0" if self.pg else "LIMIT -1 OFFSET 0"  # computed once, not per step
        rows = (
            "SELECT "
            + ", ".join(f"{expr} AS {name}" for name, expr in columns)
            + " FROM rma r JOIN device d ON d.id = r.failed_device_id"
            " LEFT JOIN catalogue_model cm ON cm.model = r.failed_model"
            f" WHERE {self.member('r.id', 'moving_ids')} ORDER BY r.id {fence}"
        )
        steps = "SELECT 1 AS step UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4"
        applies = (
            "CASE s.step WHEN 1 THEN m.overdue WHEN 2 THEN m.charge "
            f"WHEN 3 THEN m.charge AND m.device_status = '{failed.value}' "
            f"ELSE m.charge AND m.device_status IN ('{failed.value}', '{in_rma.value}') END"
        )
        overdue, charged = _literal(S.OVERDUE.value), _literal(S.CHARGED.value)
        rma, device = self.rma_snapshot, self.device_snapshot
        before = (
            f"CASE s.step WHEN 1 THEN {rma('m.status_j', 'm.waiting_j')} "
            f"WHEN 2 THEN {rma(overdue, 'm.ws_j')} "
            f"WHEN 3 THEN {device(_literal(failed.value))} "
            f"ELSE {device(_literal(in_rma.value))} END"
        )
        never_swapped = self.quote("m.number || ' never swapped'")
        not_returned = self.quote("m.number || ' not returned; damage charge issued'")
        after = (
            f"CASE s.step WHEN 1 THEN {rma(overdue, 'm.status_j', 'm.due_note_j')} "
            f"WHEN 2 THEN {rma(charged, 'm.ws_j', 'm.charge_note_j')} "
            f"WHEN 3 THEN {device(_literal(in_rma.value), never_swapped)} "
            f"ELSE {device(_literal(lost.value), not_returned)} END"
        )
        return (
            'INSERT INTO audit_log (at, actor, role, action, entity_type, entity_id, "before", '
            '"after", request_id, outcome) SELECT :now, :actor, :role, '
            "CASE s.step WHEN 1 THEN 'rma.overdue' WHEN 2 THEN 'rma.charged' "
            "ELSE 'device.status' END, "
            "CASE WHEN s.step <= 2 THEN 'rma' ELSE 'device' END, "
            "CASE WHEN s.step <= 2 THEN m.number ELSE m.serial END, "
            f"{before}, {after}, :request_id, 'ok' "
            f"FROM ({rows}) AS m JOIN ({steps}) AS s ON {applies} ORDER BY m.rma_id, s.step"
        )

    def charge_insert(self) -> str:
        return (
            "INSERT INTO rma_damage_charge (rma_id, model, net_yen, tax_yen, total_yen, "
            "issued_at) SELECT r.id, r.failed_model, cm.list_price_yen, "
            "cm.list_price_yen * :tax / 100, cm.list_price_yen + cm.list_price_yen * :tax / 100, "
            ":now FROM rma r JOIN catalogue_model cm ON cm.model = r.failed_model WHERE "
            + self.member("r.id", "charge_ids")
            + " ORDER BY r.id"
        )

    def rma_update(self) -> str:
        """The claimed RMAs move, each only from a state the sweep may charge in."""
        waiting = ", ".join(f"'{s.value}'" for s in sorted(AWAITING_RETURN))
        chargeable = ", ".join(f"'{s.value}'" for s in sorted(CHARGEABLE))
        return (
            f"UPDATE rma SET status = CASE WHEN {self.member('id', 'overdue_only_ids')} "
            f"THEN '{S.OVERDUE.value}' ELSE '{S.CHARGED.value}' END, "
            f"waiting_status = CASE WHEN status IN ({waiting}) THEN status "
            "ELSE waiting_status END, updated_at = :now "
            f"WHERE {self.member('id', 'moving_ids')} AND status IN ({chargeable})"
        )

    def device_lock(self) -> str:
        return (
            f"SELECT id FROM device WHERE {self.member('id', 'device_ids')} ORDER BY id FOR UPDATE"
        )

    def device_update(self) -> str:
        return (
            f"UPDATE device SET status = '{DeviceStatus.LOST.value}', updated_at = :now "
            f"WHERE status IN ('{DeviceStatus.FAILED.value}', '{DeviceStatus.IN_RMA.value}') "
            f"AND {self.member('id', 'device_ids')}"
        )
