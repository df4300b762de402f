"""Survey rules stated with literal values (issue 22: mutants of survey/domain.py).

Channels and powers are the regulatory ones the wireless plan uses: 2.4 GHz channels 1–14,
5 GHz 36–64, 100–144 and 149–177 in steps of 4, 6 GHz 1–233 in steps of 4; transmit power
5–30 dBm at 2.4 GHz and 8–30 dBm at 5 and 6 GHz. RSSI −120–0 dBm, SNR 0–100 dB.
"""

from __future__ import annotations

import pytest

from core.errors import Conflict, InvalidTransition
from survey.domain import (
    Band,
    Measurement,
    Rect,
    StockUnit,
    VersionStatus,
    advance,
    channel_problem,
    check_approvable,
    dimension_problems,
    installed_serial_problem,
    model_problem,
    normal_serial,
    on_floor,
    point_identity,
    power_problem,
    rect_problems,
    rssi_problem,
    serial_problem,
    snr_problem,
    superseded_by_issue,
)

V = VersionStatus
G24, G5, G6 = Band.GHZ_24, Band.GHZ_5, Band.GHZ_6


def test_an_issued_version_can_be_superseded_and_nothing_follows_superseded() -> None:
    assert advance(V.ISSUED, V.SUPERSEDED) is V.SUPERSEDED
    assert advance(V.APPROVED, V.SUPERSEDED) is V.SUPERSEDED
    with pytest.raises(InvalidTransition) as caught:
        advance(V.ISSUED, V.DRAFT)
    assert caught.value.allowed == ["approved", "superseded"]
    with pytest.raises(InvalidTransition) as caught:
        advance(V.SUPERSEDED, V.ISSUED)
    assert caught.value.allowed == []


def test_approving_names_the_latest_version() -> None:
    with pytest.raises(Conflict) as caught:
        check_approvable(number=3, status=V.ISSUED, latest_number=4)
    assert not isinstance(caught.value, InvalidTransition)
    assert "version 4 is" in str(caught.value)
    assert superseded_by_issue([(1, V.DRAFT), (2, V.ISSUED)]) == [2]


ALL_24 = list(range(1, 15))
ALL_5 = [36, 40, 44, 48, 52, 56, 60, 64, 100, 104, 108, 112, 116, 120, 124, 128, 132, 136, 140,
         144, 149, 153, 157, 161, 165, 169, 173, 177]  # fmt: skip


@pytest.mark.parametrize(
    ("band", "good"),
    [(G24, ALL_24), (G5, ALL_5), (G6, [1, 5, 9, 97, 117, 229, 233])],
)
def test_allowed_channels(band: Band, good: list[int]) -> None:
    assert [c for c in good if channel_problem(band, c)] == []


@pytest.mark.parametrize(
    ("band", "bad"),
    [
        (G24, [0, 15, 36]),
        (G5, [32, 35, 37, 38, 39, 41, 65, 68, 96, 99, 101, 145, 148, 150, 181, 1]),
        (G6, [0, 2, 3, 4, 6, 237, 234]),
    ],
)
def test_other_channels_are_refused(band: Band, bad: list[int]) -> None:
    assert [c for c in bad if channel_problem(band, c) is None] == []
    assert channel_problem(band, bad[0]) == f"channel {bad[0]} is not a {band.value} GHz channel"


@pytest.mark.parametrize(("band", "low", "high"), [(G24, 5, 30), (G5, 8, 30), (G6, 8, 30)])
def test_power_limits_are_inclusive(band: Band, low: int, high: int) -> None:
    assert power_problem(band, low) is None
    assert power_problem(band, high) is None
    assert power_problem(band, low - 1) == (
        f"power {low - 1} dBm is out of range {low}–{high} dBm for {band.value} GHz"
    )
    assert power_problem(band, high + 1) is not None


def test_power_bounds_per_band() -> None:
    assert power_problem(G24, 5) is None
    assert power_problem(G24, 4) is not None
    assert power_problem(G5, 7) is not None
    assert power_problem(G6, 7) is not None
    assert power_problem(G5, 31) is not None
    assert power_problem(G24, 31) is not None


def test_rssi_and_snr_limits_are_inclusive() -> None:
    assert rssi_problem(-120.0) is None
    assert rssi_problem(0.0) is None
    assert rssi_problem(-120.5) == "RSSI -120.5 dBm is out of range -120–0"
    assert rssi_problem(float("nan")) is not None
    assert snr_problem(0.0) is None
    assert snr_problem(100.0) is None
    assert snr_problem(None) is None
    assert snr_problem(100.5) == "SNR 100.5 dB is out of range 0–100"


def test_floor_dimensions_limits() -> None:
    assert dimension_problems(0.5, 1000.0, "f") == []
    [problem] = dimension_problems(10.0, 1000.5, "f")
    assert problem.message == "height_m 1000.5 exceeds 1000 m"
    assert problem.location == "f.height_m"


def test_a_point_just_off_the_floor_is_off_and_edges_are_on() -> None:
    assert not on_floor(-0.5, 1.0, 30, 20)
    assert not on_floor(1.0, -0.5, 30, 20)
    assert on_floor(0, 0, 30, 20) and on_floor(30, 20, 30, 20)


@pytest.mark.parametrize(("x", "y"), [(0, 2), (5, 2), (2, 0), (2, 5), (0, 0), (5, 5)])
def test_an_excluded_area_contains_its_edges(x: float, y: float) -> None:
    assert Rect(0, 0, 5, 5).contains(x, y)
    assert not Rect(1, 1, 5, 5).contains(0.5, 3)
    assert not Rect(1, 1, 5, 5).contains(3, 0.5)


@pytest.mark.parametrize(
    "rect",
    [
        Rect(1, 1, 0, 5),
        Rect(1, 1, 5, 0),
        Rect(1, 1, -0.5, 5),
        Rect(1, 1, 5, -0.5),
        Rect(1, float("nan"), 5, 5),
    ],
)
def test_an_excluded_area_needs_a_size(rect: Rect) -> None:
    [problem] = rect_problems(rect, 30, 20, "here", "1F")
    assert problem.message == "an excluded area needs a width and height greater than 0"


def test_a_small_excluded_area_is_fine_and_one_running_off_the_bottom_is_named() -> None:
    assert rect_problems(Rect(1, 1, 0.5, 0.5), 30, 20, "here", "1F") == []
    [problem] = rect_problems(Rect(0, 18, 5, 5), 30, 20, "here", "1F")
    assert problem.message == "area (0, 18)–(5, 23) m runs off floor 1F (30 × 20 m)"
    [problem] = rect_problems(Rect(27, 0, 5, 5), 30, 20, "here", "1F")
    assert problem.message == "area (27, 0)–(32, 5) m runs off floor 1F (30 × 20 m)"


def test_serial_form() -> None:
    assert serial_problem("q2xx-aaaa-0001 ") is None
    assert serial_problem(None) is None
    assert serial_problem("") is None
    assert (
        serial_problem("Q2XX-AAAA") == "serial Q2XX-AAAA is not in the Meraki form XXXX-XXXX-XXXX"
    )


def test_normal_serial() -> None:
    assert normal_serial(" q2xx-aaaa-0001 ") == "Q2XX-AAAA-0001"
    assert normal_serial("   ") is None
    assert normal_serial(None) is None


def _unit(model: str = "MR46", status: str = "in_stock", customer: str | None = None) -> StockUnit:
    return StockUnit(model, status, customer)


def _installed(unit: StockUnit | None) -> str | None:
    return installed_serial_problem("S1", planned_model="mr46", customer="acme", unit=unit)


def test_an_installed_serial_must_be_a_known_unit_of_the_plan_free_or_the_customers() -> None:
    for status in ("in_stock", "reserved", "deployed"):
        assert _installed(_unit(status=status)) is None
    assert _installed(_unit(customer="acme")) is None
    assert _installed(None) == "serial S1 is not in the inventory (import or reconcile it first)"
    assert _installed(_unit(model="MR36")) == "serial S1 is an MR36, but the AP is planned as mr46"
    assert _installed(_unit(status="rma")) == (
        "serial S1 is rma; only a unit in stock or deployed can be installed"
    )
    assert _installed(_unit(customer="other")) == "serial S1 is other's, not acme's"
    assert _installed(_unit(status="retired", customer="other")) == (
        "serial S1 is retired; only a unit in stock or deployed can be installed"
    )


def test_an_access_point_model_starts_mr_or_cw() -> None:
    assert model_problem(" mr46") is None
    assert model_problem("CW9166") is None
    assert model_problem("MX68") == "model MX68 is not an access point (MR or CW…)"


def test_a_reading_is_identified_to_the_centimetre_and_by_what_was_heard() -> None:
    m = Measurement(12.345, 7.891, G5, 36, -60.0, ssid="S" * 40, bssid="AA-BB-CC-DD-EE-FF")
    assert m.interference is False
    assert point_identity("1F", m) == ("1F", 1234, 789, "5", 36, "S" * 32, "aa:bb:cc:dd:ee:ff")
    far = Measurement(950.0, 800.0, G24, 1, -60.0)
    assert point_identity("2F", far)[1:3] == (95000, 80000)
