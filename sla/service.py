"""SLA use cases: a contract's credit policy, its outages, and the monthly credit report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from core import audit
from core.audit import Actor
from core.errors import NotFound, Problem, ValidationFailed
from core.timeutil import as_utc, show
from helpdesk.domain import month_bounds
from inventory.contracts import get_contract
from inventory.models import Contract
from sla.domain import (
    CreditBasis,
    Outage,
    OutageCause,
    credit_in_month,
    tax_of,
)
from sla.models import SlaOutage, SlaPolicy


def _policy_of(session: Session, contract_id: int) -> SlaPolicy | None:
    return session.exec(select(SlaPolicy).where(SlaPolicy.contract_id == contract_id)).first()


def set_policy(
    *,
    session: Session,
    actor: Actor,
    contract_number: str,
    monthly_fee_yen: int,
    basis: CreditBasis,
    now: datetime,
) -> SlaPolicy:
    """Set a contract's tax-exclusive monthly fee and credit basis (seed 004 or seed 000)."""
    if monthly_fee_yen < 0:
        raise ValidationFailed(
            [Problem(f"must not be negative, got {monthly_fee_yen}", "monthly_fee_yen")]
        )
    contract = get_contract(session=session, number=contract_number)
    assert contract.id is not None
    policy = _policy_of(session, contract.id)
    before: dict[str, Any] | None = None
    if policy is None:
        policy = SlaPolicy(
            contract_id=contract.id,
            monthly_fee_yen=monthly_fee_yen,
            basis=basis.value,
            updated_at=now,
            updated_by=actor.name,
        )
    else:
        before = {"monthly_fee_yen": policy.monthly_fee_yen, "basis": policy.basis}
        policy.monthly_fee_yen, policy.basis = monthly_fee_yen, basis.value
        policy.updated_at, policy.updated_by = now, actor.name
    session.add(policy)
    audit.record(
        session,
        actor=actor,
        action="sla.policy",
        entity_type="contract",
        entity_id=contract.number,
        before=before,
        after={"monthly_fee_yen": monthly_fee_yen, "basis": basis.value},
        at=now,
    )
    return policy


def record_outage(
    *,
    session: Session,
    actor: Actor,
    contract_number: str,
    started_at: datetime,
    learned_at: datetime,
    ended_at: datetime | None,
    cause: OutageCause,
    now: datetime,
    note: str = "",
    source: str = "manual",
    source_ref: str | None = None,
) -> SlaOutage:
    """Record a period in which the contract's service was completely unusable."""
    problems: list[Problem] = []
    if ended_at is not None and as_utc(ended_at) <= as_utc(started_at):
        problems.append(Problem(f"must be after the start ({show(started_at)})", "ended_at"))
    if as_utc(started_at) > as_utc(now):
        problems.append(Problem("must not be in the future", "started_at"))
    if problems:
        raise ValidationFailed(problems)
    contract = get_contract(session=session, number=contract_number)
    assert contract.id is not None
    outage = SlaOutage(
        contract_id=contract.id,
        started_at=started_at,
        learned_at=learned_at,
        ended_at=ended_at,
        cause=cause.value,
        note=note,
        source=source,
        source_ref=source_ref,
        created_at=now,
    )
    session.add(outage)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="sla.outage",
        entity_type="sla_outage",
        entity_id=str(outage.id),
        after={
            "contract": contract.number,
            "started_at": started_at,
            "learned_at": learned_at,
            "ended_at": ended_at,
            "cause": cause.value,
        },
        at=now,
    )
    return outage


def end_outage(
    *, session: Session, actor: Actor, outage_id: int, ended_at: datetime, now: datetime
) -> SlaOutage:
    """Record the end of an outage still open."""
    outage = session.exec(
        select(SlaOutage).where(SlaOutage.id == outage_id).with_for_update()
    ).first()
    if outage is None:
        raise NotFound(f"no outage {outage_id}", outage=outage_id)
    if outage.ended_at is not None:
        raise ValidationFailed([Problem(f"already ended {show(outage.ended_at)}", "ended_at")])
    if as_utc(ended_at) <= as_utc(outage.started_at):
        raise ValidationFailed(
            [Problem(f"must be after the start ({show(outage.started_at)})", "ended_at")]
        )
    outage.ended_at = ended_at
    session.add(outage)
    audit.record(
        session,
        actor=actor,
        action="sla.outage_end",
        entity_type="sla_outage",
        entity_id=str(outage.id),
        before={"ended_at": None},
        after={"ended_at": ended_at},
        at=now,
    )
    return outage


@dataclass(frozen=True, slots=True)
class CreditRow:
    """One outage's credit in the month."""

    contract: str
    customer: str
    outage_id: int
    started_at: datetime
    learned_at: datetime
    ended_at: datetime
    cause: str
    basis: str
    monthly_fee_yen: int
    full_days: int
    seconds: int
    credit_yen: int
    tax_yen: int


@dataclass(frozen=True, slots=True)
class ContractTotal:
    contract: str
    customer: str
    credit_yen: int
    tax_yen: int


@dataclass(frozen=True, slots=True)
class CreditReport:
    """The month's credits per contract, the outages behind them, and ongoing outages."""

    month: str
    rows: list[CreditRow]
    totals: list[ContractTotal]
    ongoing: list[tuple[str, int, datetime]]  # contract, outage id, started_at: settled later
    without_policy: list[str]  # contracts with outages but no SLA policy

    @property
    def credit_yen(self) -> int:
        return sum(t.credit_yen for t in self.totals)


def credit_report(*, session: Session, month: str) -> CreditReport:
    """Every credit falling in the Tokyo month `month` (YYYY-MM), per outage and per contract."""
    try:
        start, end = month_bounds(month)
    except ValueError as exc:
        raise ValidationFailed([Problem(str(exc), "month")]) from None
    # Outages that may have a day or a second in the month: begun before its end, not ended before
    # its start (a day starting in the month may end after it, so no upper bound on the end).
    stmt = (
        select(SlaOutage, Contract)
        .join(Contract, col(Contract.id) == SlaOutage.contract_id)
        .where(
            col(SlaOutage.started_at) < as_utc(end),
            or_(col(SlaOutage.ended_at).is_(None), col(SlaOutage.ended_at) > as_utc(start)),
        )
        .order_by(col(Contract.number), col(SlaOutage.started_at), col(SlaOutage.id))
    )
    rows: list[CreditRow] = []
    ongoing: list[tuple[str, int, datetime]] = []
    without_policy: set[str] = set()
    for outage, contract in session.exec(stmt):
        assert outage.id is not None and contract.id is not None
        if outage.ended_at is None:
            ongoing.append((contract.number, outage.id, outage.started_at))
            continue
        policy = _policy_of(session, contract.id)
        if policy is None:
            without_policy.add(contract.number)
            continue
        basis = CreditBasis(policy.basis)
        interval = Outage(
            started_at=outage.started_at,
            ended_at=outage.ended_at,
            learned_at=outage.learned_at,
            cause=OutageCause(outage.cause),
        )
        line = credit_in_month(interval, policy.monthly_fee_yen, basis, month)
        if line is None:
            continue
        rows.append(
            CreditRow(
                contract=contract.number,
                customer=contract.customer,
                outage_id=outage.id,
                started_at=outage.started_at,
                learned_at=outage.learned_at,
                ended_at=outage.ended_at,
                cause=outage.cause,
                basis=basis.value,
                monthly_fee_yen=policy.monthly_fee_yen,
                full_days=line.full_days,
                seconds=line.seconds,
                credit_yen=line.yen,
                tax_yen=tax_of(line.yen),
            )
        )
    totals: dict[str, ContractTotal] = {}
    for row in rows:
        t = totals.get(row.contract)
        credit = row.credit_yen + (t.credit_yen if t else 0)
        totals[row.contract] = ContractTotal(row.contract, row.customer, credit, tax_of(credit))
    return CreditReport(
        month=month,
        rows=rows,
        totals=list(totals.values()),
        ongoing=ongoing,
        without_policy=sorted(without_policy),
    )


CSV_HEADER = (
    "契約番号 contract",
    "お客様 customer",
    "障害ID outage",
    "開始 started (JST)",
    "当社認知 learned (JST)",
    "復旧 ended (JST)",
    "原因 cause",
    "算定方式 basis",
    "月額料金（税抜） monthly fee",
    "24時間単位 full days",
    "秒数 seconds (negligence)",
    "減額（税抜） credit",
    "消費税 tax",
)


def report_csv_rows(report: CreditReport) -> list[list[object]]:
    """The report as CSV rows (header first) for core.csv_export."""
    return [
        list(CSV_HEADER),
        *(
            [
                r.contract,
                r.customer,
                r.outage_id,
                show(r.started_at),
                show(r.learned_at),
                show(r.ended_at),
                r.cause,
                r.basis,
                r.monthly_fee_yen,
                r.full_days,
                r.seconds,
                r.credit_yen,
                r.tax_yen,
            ]
            for r in report.rows
        ),
    ]


def contract_number_of(*, session: Session, outage: SlaOutage) -> str:
    contract = session.get(Contract, outage.contract_id)
    return contract.number if contract is not None else ""
