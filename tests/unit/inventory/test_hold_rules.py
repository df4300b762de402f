"""A unit an RMA holds is refused to hand moves, with the RMA's commands (issue 20 item 1)."""

from __future__ import annotations

import pytest

from inventory.domain import hand_move_refusal

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
