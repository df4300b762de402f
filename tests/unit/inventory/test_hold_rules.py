"""A unit an RMA holds is refused to hand moves, with the RMA's commands (issue 20 item 1)."""

from __future__ import annotations

import pytest

from inventory.domain import hand_move_refusal, job_hold_is_live, rma_hold_is_live

SERIAL = "Q2FY-AAAA-0002"


def test_a_held_unit_is_refused_with_the_rma_commands() -> None:
    assert hand_move_refusal(SERIAL, "RMA-000004") == (
        "Q2FY-AAAA-0002 is held by RMA-000004; change it through the RMA: netkeep rma show 4 "
        "(a reserved replacement is freed by: netkeep rma release 4)"
    )


@pytest.mark.parametrize("held_by", [None, ""])
def test_a_unit_no_rma_holds_may_be_moved(held_by: str | None) -> None:
    assert hand_move_refusal(SERIAL, held_by) is None


@pytest.mark.parametrize(
    ("held_by", "ref"),
    [
        ("RMA-000120", "120"),  # the id the CLI takes, zeros dropped
        ("RMA-100000", "100000"),  # inner zeros kept
        ("RMA-000000", "0"),
        ("SURVEY-7", "SURVEY-7"),  # not an RMA number: quoted as it is
    ],
)
def test_the_commands_name_the_rma_as_the_cli_takes_it(held_by: str, ref: str) -> None:
    message = hand_move_refusal(SERIAL, held_by) or ""
    assert message.startswith(f"{SERIAL} is held by {held_by};")
    assert f"netkeep rma show {ref} (" in message
    assert message.endswith(f"netkeep rma release {ref})")


# A hold is live while its holder still needs the unit (issue 20, the doctor's hold checks):
# an RMA under way holding its own failed unit or replacement; a provisioning job that is
# pending, running, or failed and not rolled back (it may be resumed).


@pytest.mark.parametrize(
    ("rma_open", "failed", "replacement", "live"),
    [
        (True, SERIAL, None, True),  # the RMA's failed unit
        (True, "Q2FY-AAAA-0001", SERIAL, True),  # its replacement
        (True, "Q2FY-AAAA-0001", None, False),  # another unit
        (True, "Q2FY-AAAA-0001", "Q2FY-AAAA-0003", False),
        (False, SERIAL, None, False),  # the RMA has ended
        (False, "Q2FY-AAAA-0001", SERIAL, False),
    ],
)
def test_an_rma_hold_is_live_while_the_rma_is_under_way_and_concerns_the_unit(
    rma_open: bool, failed: str, replacement: str | None, live: bool
) -> None:
    got = rma_hold_is_live(
        SERIAL, rma_open=rma_open, failed_serial=failed, replacement_serial=replacement
    )
    assert got is live


@pytest.mark.parametrize(
    ("status", "rolled_back", "live"),
    [
        ("pending", False, True),
        ("running", False, True),
        ("running", True, True),  # running: live whatever else exists
        ("failed", False, True),
        ("failed", True, False),
        ("done", False, False),
        ("verify_failed", False, False),
        (None, False, False),  # no such job
    ],
)
def test_a_job_hold_is_live_while_the_job_may_still_claim_the_unit(
    status: str | None, rolled_back: bool, live: bool
) -> None:
    assert job_hold_is_live(status, rolled_back=rolled_back) is live
