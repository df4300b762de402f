"""Contract statuses, written out from the contract (implicit in the service, so the refusals
are tested there). docs/domain.md "Contracts, ownership and money": the contract forms on the
application (applied); the acceptance date (検収日) makes it active; a party's notice ends it at the
end of that month — before acceptance too (Art. 10: the customer then pays the provider's loss).
An ended contract takes no devices and cannot be accepted or ended again.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from core.errors import Conflict, ValidationFailed
from inventory import contracts
from inventory.domain import Acquisition, ContractStatus, Plan
from tests.service.helpers import ACTOR, T0, import_csv, write_csv
from tests.service.test_contracts import DEVICES


@pytest.fixture
def number(session: Session, tmp_path: Path) -> str:
    """A UTM contract, applied for, with one device on it."""
    import_csv(session, write_csv(tmp_path, DEVICES))
    contracts.create_contract(
        session=session, actor=ACTOR, number="C-1", customer="さくら商事", plan=Plan.UTM
    )
    contracts.attach_device(
        session=session,
        actor=ACTOR,
        number="C-1",
        serial="Q2FY-AAAA-7001",
        acquisition=Acquisition.SOLD,
        now=T0,
    )
    session.flush()
    return "C-1"


BUSINESS = {
    ContractStatus.APPLIED: {"accept": ContractStatus.ACTIVE, "end": ContractStatus.ENDED},
    ContractStatus.ACTIVE: {"end": ContractStatus.ENDED},
    ContractStatus.ENDED: {},
}


def _bring_to(session: Session, number: str, status: ContractStatus) -> None:
    if status is not ContractStatus.APPLIED:
        contracts.accept_contract(
            session=session, actor=ACTOR, number=number, acceptance_date=date(2026, 5, 1)
        )
    if status is ContractStatus.ENDED:
        contracts.end_contract(
            session=session, actor=ACTOR, number=number, notice_date=date(2026, 6, 10)
        )


def _do(session: Session, number: str, action: str) -> None:
    if action == "accept":
        contracts.accept_contract(
            session=session, actor=ACTOR, number=number, acceptance_date=date(2026, 7, 1)
        )
    else:
        contracts.end_contract(
            session=session, actor=ACTOR, number=number, notice_date=date(2026, 8, 3)
        )


@pytest.mark.parametrize("action", ["accept", "end"])
@pytest.mark.parametrize("start", list(ContractStatus))
def test_each_action_in_each_status(
    session: Session,
    number: str,
    start: ContractStatus,
    action: str,
) -> None:
    _bring_to(session, number, start)
    allowed = BUSINESS[start]
    if action in allowed:
        _do(session, number, action)
        contract = contracts.get_contract(session=session, number=number)
        assert contract.status == allowed[action]
        if action == "end":
            assert contract.end_date == date(2026, 8, 31)  # the last day of the notice month
        return
    with pytest.raises(Conflict):
        _do(session, number, action)
    assert contracts.get_contract(session=session, number=number).status == start


@pytest.mark.parametrize("start", list(ContractStatus))
def test_devices_join_only_a_contract_that_has_not_ended(
    session: Session,
    number: str,
    start: ContractStatus,
    tmp_path: Path,
) -> None:
    _bring_to(session, number, start)

    def attach() -> None:
        contracts.attach_device(
            session=session,
            actor=ACTOR,
            number=number,
            serial="Q2FY-AAAA-7003",
            acquisition=Acquisition.SOLD,
            now=T0,
        )

    if start is ContractStatus.ENDED:
        with pytest.raises(ValidationFailed) as refused:
            attach()
        assert [p.message for p in refused.value.problems] == ["contract C-1 has ended"]
    else:
        attach()
