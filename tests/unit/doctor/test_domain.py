"""The doctor's invariants, each broken on purpose in an otherwise consistent world.

The rules, stated from the contract and the business, not from the code:
- a unit an open RMA concerns is `failed` until the swap and `in_rma` after it; a `failed` or
  `in_rma` unit always has an open RMA;
- an RMA that reserved a replacement and has not swapped it in holds a unit that is `reserved`,
  and no other RMA holds the same unit;
- a deployed unit is on a contract, and its customer is the contract's; a unit back with the
  provider (stock, reserved, returned, refurbished, disposed) is on no contract and in no network;
- a leased unit belongs to its leasing company (Art. 22); a sold one to the customer once the
  initial fee is paid (Art. 18), to the provider before; a unit with the provider is the provider's;
- a deployed unit is in its network on the dashboard, and a unit the dashboard shows in a network
  is deployed there in the inventory; what a successful apply put into a network is still there;
- no job is pending or running without moving for longer than the bound;
- a unit held by an RMA number is that RMA's failed unit or replacement, and the RMA is under way
  (not closed nor resolved remotely); an RMA's reserved or shipped replacement, not yet swapped
  in, is held by that RMA;
- a unit held by a provisioning job is held by one that may still claim it: pending, running, or
  failed with no rollback of it created; a done or verify_failed job's hold is stale, and the
  repair is `netkeep inventory release-hold SERIAL --reason ...`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from doctor.domain import examine, expected_owner
from doctor.facts import (
    HoldingJob,
    Invariant,
    Ownership,
    ProvisionedUnit,
    RmaFacts,
    RunFacts,
    UnitFacts,
    Violation,
)
from inventory.domain import DeviceStatus, OwnerKind
from rma.domain import RmaStatus

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
CUSTOMER = "株式会社さくら商事"
PROVIDER = Ownership(OwnerKind.PROVIDER, "provider")
SAKURA = Ownership(OwnerKind.CUSTOMER, CUSTOMER)


def deployed(serial: str, **kw: object) -> UnitFacts:
    base = UnitFacts(
        serial=serial,
        status=DeviceStatus.DEPLOYED,
        customer=CUSTOMER,
        site="東京本社",
        network_id="N_1",
        contract="C-1",
        contract_customer=CUSTOMER,
        contract_fee_paid=True,
        acquisition="sold",
        owner=SAKURA,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def stock(serial: str, **kw: object) -> UnitFacts:
    return replace(UnitFacts(serial=serial, status=DeviceStatus.IN_STOCK, owner=PROVIDER), **kw)  # type: ignore[arg-type]


WORLD = [deployed("AAAA-AAAA-0001"), stock("AAAA-AAAA-0002")]
DASHBOARD: dict[str, str | None] = {"AAAA-AAAA-0001": "N_1", "AAAA-AAAA-0002": None}


def check(
    units: list[UnitFacts] = WORLD,
    rmas: list[RmaFacts] | None = None,
    runs: list[RunFacts] | None = None,
    provisioned: list[ProvisionedUnit] | None = None,
    dashboard: dict[str, str | None] | None = DASHBOARD,
    ended: dict[str, RmaFacts] | None = None,
    jobs: dict[int, HoldingJob] | None = None,
) -> list[Violation]:
    return examine(
        units=units,
        rmas=rmas or [],
        runs=runs or [],
        provisioned=provisioned or [],
        on_dashboard=dashboard,
        now=NOW,
        stuck_after=HOUR,
        ended_rmas=ended,
        holding_jobs=jobs,
    )


def found(violations: list[Violation]) -> set[tuple[str, str]]:
    return {(v.invariant.value, v.subject) for v in violations}


def test_a_consistent_world_has_no_violation() -> None:
    assert check() == []


def test_every_violation_names_a_netkeep_command_or_api_call_to_repair_it() -> None:
    broken = [deployed("AAAA-AAAA-0001", contract=None, network_id=None, owner=None)]
    violations = check(broken, dashboard={})
    assert violations
    for v in violations:
        assert v.repair.startswith(("netkeep ", "PATCH /api/v1/")), v


# --- unit ↔ RMA -------------------------------------------------------------------------------


def rma(status: RmaStatus, **kw: object) -> RmaFacts:
    base = RmaFacts(id=4, number="RMA-000004", status=status, failed_serial="AAAA-AAAA-0001")
    return replace(base, customer=CUSTOMER, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rma_status", "unit_status", "ok"),
    [
        (RmaStatus.OPEN, DeviceStatus.FAILED, True),
        (RmaStatus.OPEN, DeviceStatus.DEPLOYED, False),
        (RmaStatus.SHIPPED, DeviceStatus.FAILED, True),
        (RmaStatus.SHIPPED, DeviceStatus.IN_RMA, False),
        (RmaStatus.SWAPPED, DeviceStatus.IN_RMA, True),
        (RmaStatus.SWAPPED, DeviceStatus.FAILED, False),
        (RmaStatus.RECEIVED, DeviceStatus.RETURNED, True),
        (RmaStatus.RECEIVED, DeviceStatus.IN_RMA, False),
        (RmaStatus.OVERDUE, DeviceStatus.LOST, True),
    ],
)
def test_the_failed_unit_is_where_its_rma_says(
    rma_status: RmaStatus, unit_status: DeviceStatus, ok: bool
) -> None:
    swapped = rma_status is RmaStatus.SWAPPED
    with_provider = unit_status in (DeviceStatus.RETURNED, DeviceStatus.IN_RMA, DeviceStatus.LOST)
    unit = deployed(
        "AAAA-AAAA-0001",
        status=unit_status,
        contract=None if with_provider else "C-1",
        network_id=None if with_provider else "N_1",
        customer=None if with_provider else CUSTOMER,
        owner=PROVIDER if with_provider else SAKURA,
    )
    dash = {"AAAA-AAAA-0002": None} | ({} if with_provider else {"AAAA-AAAA-0001": "N_1"})
    got = found(check([unit, WORLD[1]], [rma(rma_status, swapped=swapped)], dashboard=dash))
    assert (("unit_rma", "AAAA-AAAA-0001") in got) is (not ok)


def test_a_failed_unit_without_an_open_rma_is_a_violation_and_a_closed_rma_holds_nothing() -> None:
    unit = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED)
    assert found(check([unit, WORLD[1]])) == {("unit_rma", "AAAA-AAAA-0001")}
    assert found(check([unit, WORLD[1]], [rma(RmaStatus.CLOSED)])) == {
        ("unit_rma", "AAAA-AAAA-0001")
    }
    assert check([unit, WORLD[1]], [rma(RmaStatus.OPEN)]) == []


def test_a_swapped_in_replacement_must_be_deployed() -> None:
    failed = stock("AAAA-AAAA-0001", status=DeviceStatus.IN_RMA)
    replacement = stock("AAAA-AAAA-0002", status=DeviceStatus.RESERVED)
    held = rma(RmaStatus.SWAPPED, swapped=True, replacement_serial="AAAA-AAAA-0002")
    got = found(check([failed, replacement], [held], dashboard=None))
    assert got == {("unit_rma", "AAAA-AAAA-0002")}


# --- RMA holds --------------------------------------------------------------------------------


def test_an_rma_holds_only_a_unit_reserved_for_it() -> None:
    unit = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED)
    spare = stock("AAAA-AAAA-0002", status=DeviceStatus.RESERVED, held_by="RMA-000004")
    holding = rma(RmaStatus.REPLACEMENT_RESERVED, replacement_serial="AAAA-AAAA-0002")
    assert check([unit, spare], [holding]) == []
    released = stock("AAAA-AAAA-0002")  # a clerk put it back in stock by hand
    assert found(check([unit, released], [holding])) == {("rma_holds", "RMA-000004")}


def test_two_rmas_cannot_hold_the_same_replacement() -> None:
    a = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED)
    b = deployed("AAAA-AAAA-0003", status=DeviceStatus.FAILED)
    spare = stock("AAAA-AAAA-0002", status=DeviceStatus.RESERVED, held_by="RMA-000004")
    first = rma(RmaStatus.REPLACEMENT_RESERVED, replacement_serial="AAAA-AAAA-0002")
    second = RmaFacts(
        id=5,
        number="RMA-000005",
        status=RmaStatus.REPLACEMENT_RESERVED,
        failed_serial="AAAA-AAAA-0003",
        customer=CUSTOMER,
        replacement_serial="AAAA-AAAA-0002",
    )
    dash = {"AAAA-AAAA-0001": "N_1", "AAAA-AAAA-0003": "N_1", "AAAA-AAAA-0002": None}
    assert found(check([a, b, spare], [first, second], dashboard=dash)) == {
        ("rma_holds", "AAAA-AAAA-0002"),
        ("rma_holds", "RMA-000005"),  # the unit is held by RMA-000004 only
    }


def test_an_rma_before_the_swap_concerns_a_unit_of_its_own_customer() -> None:
    other = deployed(
        "AAAA-AAAA-0001",
        status=DeviceStatus.FAILED,
        customer="なにわ物産",
        contract_customer="なにわ物産",
    )
    other = replace(other, owner=Ownership(OwnerKind.CUSTOMER, "なにわ物産"))
    assert found(check([other, WORLD[1]], [rma(RmaStatus.OPEN)])) == {("rma_holds", "RMA-000004")}


# --- contract and network ---------------------------------------------------------------------


def test_a_deployed_unit_is_on_a_contract_of_its_customer() -> None:
    off = deployed("AAAA-AAAA-0001", contract=None, contract_customer=None)
    assert ("unit_contract", "AAAA-AAAA-0001") in found(check([off, WORLD[1]]))
    wrong = deployed("AAAA-AAAA-0001", customer="なにわ物産")
    assert found(check([wrong, WORLD[1]])) == {("unit_contract", "AAAA-AAAA-0001")}


@pytest.mark.parametrize(
    "status",
    [DeviceStatus.IN_STOCK, DeviceStatus.RESERVED, DeviceStatus.RETURNED, DeviceStatus.DISPOSED],
)
def test_a_unit_back_with_the_provider_is_on_no_contract_and_in_no_network(
    status: DeviceStatus,
) -> None:
    on_contract = stock("AAAA-AAAA-0002", status=status, contract="C-1", contract_customer=None)
    assert found(check([WORLD[0], on_contract])) == {("unit_contract", "AAAA-AAAA-0002")}
    in_network = stock("AAAA-AAAA-0002", status=status, network_id="N_1")
    assert found(check([WORLD[0], in_network])) == {("unit_network", "AAAA-AAAA-0002")}


def test_a_deployed_unit_is_linked_to_a_network() -> None:
    unlinked = deployed("AAAA-AAAA-0001", network_id=None)
    assert ("unit_network", "AAAA-AAAA-0001") in found(check([unlinked, WORLD[1]]))


# --- ownership --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "owner"),
    [
        (deployed("S", acquisition="sold", contract_fee_paid=True), SAKURA),
        (deployed("S", acquisition="sold", contract_fee_paid=False), PROVIDER),
        (
            deployed("S", acquisition="leased", leasing_company="東京リース"),
            Ownership(OwnerKind.LEASING_COMPANY, "東京リース"),
        ),
        (stock("S"), PROVIDER),
        (stock("S", status=DeviceStatus.DISPOSED), PROVIDER),
    ],
)
def test_who_must_own_a_unit(unit: UnitFacts, owner: Ownership) -> None:
    assert expected_owner(unit) == owner


def test_the_ledger_disagreeing_with_the_contract_is_a_violation() -> None:
    unpaid_but_customers = deployed("AAAA-AAAA-0001", contract_fee_paid=False)
    assert found(check([unpaid_but_customers, WORLD[1]])) == {("ownership", "AAAA-AAAA-0001")}
    disposed_still_customers = stock("AAAA-AAAA-0002", status=DeviceStatus.DISPOSED, owner=SAKURA)
    assert found(check([WORLD[0], disposed_still_customers])) == {("ownership", "AAAA-AAAA-0002")}
    no_ledger = stock("AAAA-AAAA-0002", owner=None)
    [v] = check([WORLD[0], no_ledger])
    assert (v.invariant, v.repair) == (
        Invariant.OWNERSHIP,
        "netkeep inventory owner AAAA-AAAA-0002 provider:provider",
    )


# --- dashboard --------------------------------------------------------------------------------


def test_a_deployed_unit_missing_from_its_network_on_the_dashboard() -> None:
    assert found(check(dashboard={"AAAA-AAAA-0002": None})) == {("on_dashboard", "AAAA-AAAA-0001")}
    moved = {"AAAA-AAAA-0001": "N_2", "AAAA-AAAA-0002": None}
    assert found(check(dashboard=moved)) == {("on_dashboard", "AAAA-AAAA-0001")}


def test_a_unit_the_dashboard_has_in_a_network_but_the_inventory_keeps_in_stock() -> None:
    claimed = {"AAAA-AAAA-0001": "N_1", "AAAA-AAAA-0002": "N_9"}
    assert found(check(dashboard=claimed)) == {("unit_network", "AAAA-AAAA-0002")}
    unknown = DASHBOARD | {"ZZZZ-ZZZZ-0001": "N_9"}
    assert found(check(dashboard=unknown)) == {("unit_network", "ZZZZ-ZZZZ-0001")}
    claimed_no_network = DASHBOARD | {"ZZZZ-ZZZZ-0001": None}
    assert check(dashboard=claimed_no_network) == []


def test_what_an_apply_provisioned_must_still_be_on_the_dashboard() -> None:
    placed = [ProvisionedUnit("AAAA-AAAA-0001", "N_1", 7)]
    assert check(provisioned=placed) == []
    gone = {"AAAA-AAAA-0002": None}
    got = found(check(provisioned=placed, dashboard=gone))
    assert ("provisioned", "AAAA-AAAA-0001") in got
    returned = stock("AAAA-AAAA-0001", status=DeviceStatus.RETURNED)
    assert check([returned, WORLD[1]], provisioned=placed, dashboard=gone) == []


def test_without_the_dashboard_its_checks_are_skipped() -> None:
    assert check(dashboard=None, provisioned=[ProvisionedUnit("X", "N_1", 1)]) == []


# --- stuck jobs -------------------------------------------------------------------------------


def test_a_job_idle_beyond_the_bound_is_stuck_and_one_within_it_is_not() -> None:
    at_bound = RunFacts(job_id=1, status="running", last_activity=NOW - HOUR)
    beyond = RunFacts(job_id=2, status="pending", last_activity=NOW - HOUR - timedelta(seconds=1))
    [v] = check(runs=[at_bound, beyond])
    assert (v.invariant, v.subject, v.repair) == (
        Invariant.STUCK,
        "job 2",
        "netkeep apply SHEET --resume 2",
    )


def test_a_stuck_rollout_is_one_violation_naming_its_jobs() -> None:
    old = NOW - 3 * HOUR
    runs = [
        RunFacts(job_id=3, status="running", last_activity=old, rollout="R1"),
        RunFacts(job_id=4, status="pending", last_activity=old, rollout="R1"),
    ]
    [v] = check(runs=runs)
    assert v.subject == "rollout R1" and "3, 4" in v.message
    assert v.repair == "netkeep apply SHEETS... --rollout R1"


def test_a_unit_an_rma_holds_that_the_dashboard_has_in_a_network_names_the_rma() -> None:
    unit = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED)
    spare = stock("AAAA-AAAA-0002", status=DeviceStatus.RESERVED, held_by="RMA-000004")
    holding = rma(RmaStatus.REPLACEMENT_RESERVED, replacement_serial="AAAA-AAAA-0002")
    claimed = {"AAAA-AAAA-0001": "N_1", "AAAA-AAAA-0002": "N_7"}  # a rollout claimed it
    [v] = check([unit, spare], [holding], dashboard=claimed)
    assert (v.invariant, v.subject) == (Invariant.UNIT_NETWORK, "AAAA-AAAA-0002")
    assert "replacement of RMA-000004" in v.message and v.repair.startswith("netkeep rma show 4")


# --- holds: held_by (an RMA) and held_by_job (a provisioning job) -----------------------------

RELEASE_SPARE = 'netkeep inventory release-hold AAAA-AAAA-0002 --reason "..."'


def test_an_rmas_failed_unit_and_reserved_replacement_may_be_held_by_it() -> None:
    unit = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED, held_by="RMA-000004")
    spare = stock("AAAA-AAAA-0002", status=DeviceStatus.RESERVED, held_by="RMA-000004")
    holding = rma(RmaStatus.REPLACEMENT_RESERVED, replacement_serial="AAAA-AAAA-0002")
    assert check([unit, spare], [holding]) == []


def test_a_unit_held_by_a_closed_rma_is_a_stale_hold() -> None:
    spare = stock("AAAA-AAAA-0002", held_by="RMA-000004")
    closed = rma(RmaStatus.CLOSED, replacement_serial="AAAA-AAAA-0002", swapped=True)
    [v] = check([WORLD[0], spare], [], ended={"RMA-000004": closed})
    assert (v.invariant, v.subject) == (Invariant.UNIT_HOLDS, "AAAA-AAAA-0002")
    assert "RMA-000004 is closed" in v.message
    assert v.repair == RELEASE_SPARE


def test_a_unit_held_by_an_rma_that_does_not_exist_is_a_stale_hold() -> None:
    spare = stock("AAAA-AAAA-0002", held_by="RMA-000099")
    [v] = check([WORLD[0], spare])
    assert (v.invariant, v.subject) == (Invariant.UNIT_HOLDS, "AAAA-AAAA-0002")
    assert "no RMA-000099" in v.message and v.repair == RELEASE_SPARE


def test_a_unit_held_by_an_open_rma_that_does_not_concern_it_is_a_stale_hold() -> None:
    unit = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED, held_by="RMA-000004")
    spare = stock("AAAA-AAAA-0002", held_by="RMA-000004")  # in stock, the RMA reserved none
    [v] = check([unit, spare], [rma(RmaStatus.REPLACEMENT_NEEDED)])
    assert (v.invariant, v.subject) == (Invariant.UNIT_HOLDS, "AAAA-AAAA-0002")
    assert v.repair == RELEASE_SPARE


def test_a_reserved_replacement_its_rma_does_not_hold_is_found_re_reserving_repairs() -> None:
    unit = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED)
    spare = stock("AAAA-AAAA-0002", status=DeviceStatus.RESERVED)  # the hold was lost
    holding = rma(RmaStatus.REPLACEMENT_RESERVED, replacement_serial="AAAA-AAAA-0002")
    [v] = check([unit, spare], [holding])
    assert (v.invariant, v.subject) == (Invariant.RMA_HOLDS, "RMA-000004")
    assert "held by nothing" in v.message
    assert v.repair == (
        'netkeep rma release 4 --reason "..."  then  netkeep inventory status AAAA-AAAA-0002 '
        "in_stock  then  netkeep rma reserve 4 --serial AAAA-AAAA-0002"
    )


def test_a_shipped_replacement_its_rma_does_not_hold_is_found() -> None:
    unit = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED)
    spare = stock("AAAA-AAAA-0002", status=DeviceStatus.IN_TRANSIT, held_by="RMA-000007")
    shipped = rma(RmaStatus.SHIPPED, replacement_serial="AAAA-AAAA-0002")
    got = check([unit, spare], [shipped])
    assert found(got) == {
        ("rma_holds", "RMA-000004"),  # its replacement is not held by it
        ("unit_holds", "AAAA-AAAA-0002"),  # and RMA-000007 does not exist
    }
    [v] = [v for v in got if v.invariant is Invariant.RMA_HOLDS]
    assert "held by RMA-000007, not RMA-000004" in v.message
    assert v.repair.startswith("netkeep rma show 4")


def test_a_replacement_swapped_in_is_not_required_to_be_held() -> None:
    failed = stock("AAAA-AAAA-0001", status=DeviceStatus.IN_RMA, held_by="RMA-000004")
    repl = deployed("AAAA-AAAA-0002")
    swapped = rma(RmaStatus.SWAPPED, swapped=True, replacement_serial="AAAA-AAAA-0002")
    assert check([failed, repl], [swapped], dashboard=None) == []


@pytest.mark.parametrize(
    ("job", "live"),
    [
        (HoldingJob(7, "pending"), True),
        (HoldingJob(7, "running"), True),
        (HoldingJob(7, "failed"), True),  # resumable: its resume takes the hold back
        (HoldingJob(7, "failed", rolled_back=True), False),
        (HoldingJob(7, "done"), False),
        (HoldingJob(7, "verify_failed"), False),
        (None, False),  # no such job
    ],
)
def test_a_job_hold_is_live_only_while_the_job_may_still_claim_the_unit(
    job: HoldingJob | None, live: bool
) -> None:
    spare = stock("AAAA-AAAA-0002", held_by_job=7)
    got = check([WORLD[0], spare], jobs={7: job} if job else {})
    if live:
        assert got == []
    else:
        [v] = got
        assert (v.invariant, v.subject) == (Invariant.UNIT_HOLDS, "AAAA-AAAA-0002")
        assert "provisioning job 7" in v.message and v.repair == RELEASE_SPARE


def test_a_reserved_replacement_another_rma_holds_is_re_reserved_without_a_hand_move() -> None:
    unit = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED)
    spare = stock("AAAA-AAAA-0002", status=DeviceStatus.RESERVED, held_by="RMA-000007")
    holding = rma(RmaStatus.REPLACEMENT_RESERVED, replacement_serial="AAAA-AAAA-0002")
    [v] = [v for v in check([unit, spare], [holding]) if v.invariant is Invariant.RMA_HOLDS]
    assert "held by RMA-000007, not RMA-000004" in v.message
    assert v.repair == (
        'netkeep rma release 4 --reason "..."  then  netkeep rma reserve 4 --serial AAAA-AAAA-0002'
    )


def test_only_a_replacement_not_yet_swapped_in_must_be_held() -> None:
    failed = stock("AAAA-AAAA-0001", status=DeviceStatus.IN_RMA, held_by="RMA-000004")
    on_the_road = stock("AAAA-AAAA-0002", status=DeviceStatus.IN_TRANSIT)
    swapped = rma(RmaStatus.SWAPPED, swapped=True, replacement_serial="AAAA-AAAA-0002")
    assert ("rma_holds", "RMA-000004") not in found(check([failed, on_the_road], [swapped]))
    unswapped = rma(RmaStatus.SHIPPED, replacement_serial="AAAA-AAAA-0002")
    at_site = deployed("AAAA-AAAA-0001", status=DeviceStatus.FAILED, held_by="RMA-000004")
    assert ("rma_holds", "RMA-000004") in found(check([at_site, on_the_road], [unswapped]))
    needed = rma(RmaStatus.REPLACEMENT_NEEDED, replacement_serial="AAAA-AAAA-0002")
    assert ("rma_holds", "RMA-000004") not in found(check([at_site, on_the_road], [needed]))
