"""Whose fault an outage was, corrected by the desk; the credit follows (seed 004, seed 000)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from core import audit
from core.audit import Actor
from core.errors import NotFound
from sla.domain import CreditBasis, Outage, OutageCause, credit_lines
from sla.models import SlaOutage, SlaPolicy
from sla.service import contract_number_of

MONITORING_SOURCE = "monitoring"
"""`sla_outage.source` of the records monitoring makes (monitoring.outages.SLA_SOURCE)."""


@dataclass(frozen=True, slots=True)
class CauseChange:
    """An outage's cause corrected, and its credit (all months, tax-exclusive) before and
    after; a credit is None while the outage is ongoing or the contract has no SLA policy."""

    outage: SlaOutage
    contract: str
    before: OutageCause
    credit_before_yen: int | None
    credit_yen: int | None


def outage_credit_yen(*, session: Session, outage: SlaOutage) -> int | None:
    """The outage's whole credit (every month it falls in), or None if not computable yet."""
    policy = session.exec(
        select(SlaPolicy).where(SlaPolicy.contract_id == outage.contract_id)
    ).first()
    if outage.ended_at is None or policy is None:
        return None
    interval = Outage(
        started_at=outage.started_at,
        ended_at=outage.ended_at,
        learned_at=outage.learned_at,
        cause=OutageCause(outage.cause),
    )
    lines = credit_lines(interval, policy.monthly_fee_yen, CreditBasis(policy.basis))
    return sum(line.yen for line in lines)


def set_cause(
    *,
    session: Session,
    actor: Actor,
    outage_id: int,
    cause: OutageCause,
    now: datetime,
    note: str = "",
    source: str | None = None,
) -> CauseChange:
    """Correct whose fault an outage was (monitoring records the provider's by default); the
    credit follows the cause. Audited with the credit before and after; the same cause again
    changes nothing and records nothing. With `source` ("monitoring"), `outage_id` is that
    source's own outage id (`netkeep monitor outages`), not the SLA record's."""
    query = select(SlaOutage).with_for_update()
    if source is None:
        query = query.where(SlaOutage.id == outage_id)
    else:
        query = query.where(SlaOutage.source == source, SlaOutage.source_ref == str(outage_id))
    outage = session.exec(query).first()
    if outage is None:
        named = f"{source} outage" if source else "outage"
        raise NotFound(f"no SLA record of {named} {outage_id}", outage=outage_id)
    contract = contract_number_of(session=session, outage=outage)
    before = OutageCause(outage.cause)
    credit_before = outage_credit_yen(session=session, outage=outage)
    if before is cause:
        return CauseChange(outage, contract, before, credit_before, credit_before)
    outage.cause = cause.value
    if note:
        outage.note = f"{outage.note}\n{note}".strip()[:2000]
    session.add(outage)
    credit = outage_credit_yen(session=session, outage=outage)
    audit.record(
        session,
        actor=actor,
        action="sla.outage_cause",
        entity_type="sla_outage",
        entity_id=str(outage.id),
        before={"cause": before.value, "credit_yen": credit_before},
        after={"cause": cause.value, "credit_yen": credit, "note": note},
        at=now,
    )
    return CauseChange(outage, contract, before, credit_before, credit)
