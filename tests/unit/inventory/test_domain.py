import itertools
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidTransition
from inventory.domain import (
    TRANSITIONS,
    Acquisition,
    DeviceStatus,
    Owner,
    OwnerKind,
    advance,
    contract_end_date,
    must_return_at_end,
    normalise_mac,
    normalise_serial,
    owner_after_initial_fee,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("q2fy-aaaa-0001", "Q2FY-AAAA-0001"), (" Q2KY-BBBB-0002 ", "Q2KY-BBBB-0002")],
)
def test_serial_is_normalised(raw: str, expected: str) -> None:
    assert normalise_serial(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "Q2FY-AAAA-001", "Q2FYAAAA0001", "Q2FY-AAAA-00011", "Q2FY_AAAA_0001", "Q2FY-AAAA-00!1"],
)
def test_malformed_serial_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="XXXX-XXXX-XXXX"):
        normalise_serial(raw)


@pytest.mark.parametrize(
    "raw", ["E0:55:3D:10:00:01", "e0-55-3d-10-00-01", "e055.3d10.0001", "e0553d100001"]
)
def test_mac_forms(raw: str) -> None:
    assert normalise_mac(raw) == "e0:55:3d:10:00:01"


@pytest.mark.parametrize("raw", ["e0:55:3d:10:00", "zz:55:3d:10:00:01", "e0:55:3d:10:00:01:02"])
def test_bad_mac(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_mac(raw)


@pytest.mark.parametrize(
    ("current", "target"), [(c, t) for c, targets in TRANSITIONS.items() for t in sorted(targets)]
)
def test_every_allowed_move_passes(current: DeviceStatus, target: DeviceStatus) -> None:
    assert advance("Q2FY-AAAA-0001", current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [(c, t) for c in DeviceStatus for t in DeviceStatus if t not in TRANSITIONS[c]],
)
def test_every_other_move_is_refused_with_the_allowed_set(
    current: DeviceStatus, target: DeviceStatus
) -> None:
    with pytest.raises(InvalidTransition) as info:
        advance("Q2FY-AAAA-0001", current, target)
    assert info.value.allowed == sorted(TRANSITIONS[current])
    assert "Q2FY-AAAA-0001" in info.value.message


def test_disposed_is_final() -> None:
    assert TRANSITIONS[DeviceStatus.DISPOSED] == frozenset()


def test_lifecycle_path_exists() -> None:
    path = [
        "in_stock",
        "reserved",
        "deployed",
        "failed",
        "in_rma",
        "returned",
        "refurbished",
        "in_stock",
    ]
    for a, b in itertools.pairwise(path):
        advance("Q2FY-AAAA-0001", DeviceStatus(a), DeviceStatus(b))


def test_initial_fee_moves_only_sold_devices() -> None:
    assert owner_after_initial_fee(Acquisition.SOLD, "さくら") == Owner(
        OwnerKind.CUSTOMER, "さくら"
    )
    assert owner_after_initial_fee(Acquisition.LEASED, "さくら") is None


@pytest.mark.parametrize(
    ("kind", "returns"),
    [(OwnerKind.PROVIDER, True), (OwnerKind.CUSTOMER, False), (OwnerKind.LEASING_COMPANY, False)],
)
def test_what_comes_back_at_the_end(kind: OwnerKind, returns: bool) -> None:
    assert must_return_at_end(Owner(kind, "x")) is returns


@pytest.mark.parametrize(
    ("notice", "end"),
    [
        (date(2027, 2, 3), date(2027, 2, 28)),
        (date(2028, 2, 29), date(2028, 2, 29)),
        (date(2026, 12, 1), date(2026, 12, 31)),
    ],
)
def test_contract_end_is_the_last_day_of_the_notice_month(notice: date, end: date) -> None:
    assert contract_end_date(notice) == end


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_contract_end_is_in_the_notice_month_and_not_before(notice: date) -> None:
    end = contract_end_date(notice)
    assert end >= notice
    assert (end.year, end.month) == (notice.year, notice.month)
    assert (end.toordinal() + 1) == date(
        end.year + (end.month == 12), end.month % 12 + 1, 1
    ).toordinal()
