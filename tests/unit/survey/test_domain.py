"""Pure survey rules: the version state machine, floor geometry, radio values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import Conflict, InvalidTransition
from survey.domain import (
    TRANSITIONS,
    Band,
    ExclusionReason,
    Measurement,
    RadioPlan,
    Rect,
    VersionStatus,
    advance,
    change_opens_new_version,
    check_approvable,
    dimension_problems,
    exclusion_hits,
    measurement_problems,
    on_floor,
    parse_band,
    radio_problems,
    rect_problems,
    superseded_by_issue,
)

V = VersionStatus
ALLOWED = [(a, b) for a in V for b in V if b in TRANSITIONS[a]]  # stable order for xdist
FORBIDDEN = [(a, b) for a in V for b in V if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_moves(current: V, target: V) -> None:
    assert advance(current, target) is target


@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_forbidden_moves_name_the_allowed_ones(current: V, target: V) -> None:
    with pytest.raises(InvalidTransition) as caught:
        advance(current, target)
    assert caught.value.allowed == sorted(s.value for s in TRANSITIONS[current])


def test_the_life_of_a_version() -> None:
    assert [s for s in (V.ISSUED, V.APPROVED, V.SUPERSEDED)] == [
        advance(V.DRAFT, V.ISSUED),
        advance(V.ISSUED, V.APPROVED),
        advance(V.APPROVED, V.SUPERSEDED),
    ]
    assert TRANSITIONS[V.SUPERSEDED] == frozenset()


@pytest.mark.parametrize(
    ("latest", "opens"),
    [(V.DRAFT, False), (V.ISSUED, True), (V.APPROVED, True), (V.SUPERSEDED, True)],
)
def test_a_change_after_issue_opens_a_new_version(latest: V, opens: bool) -> None:
    assert change_opens_new_version(latest) is opens


def test_only_the_latest_issued_version_is_approvable() -> None:
    check_approvable(number=2, status=V.ISSUED, latest_number=2)
    with pytest.raises(Conflict, match="version 1 is not the latest"):
        check_approvable(number=1, status=V.ISSUED, latest_number=2)
    with pytest.raises(InvalidTransition):
        check_approvable(number=2, status=V.DRAFT, latest_number=2)
    with pytest.raises(InvalidTransition):
        check_approvable(number=2, status=V.APPROVED, latest_number=2)


def test_issuing_supersedes_issued_and_approved_versions() -> None:
    statuses = [(1, V.SUPERSEDED), (2, V.APPROVED), (3, V.ISSUED)]
    assert superseded_by_issue(statuses) == [2, 3]


# --- geometry ---------------------------------------------------------------------------------

sides = st.floats(min_value=0.5, max_value=500, allow_nan=False)
fractions = st.floats(min_value=0, max_value=1)


@given(sides, sides, fractions, fractions)
def test_a_point_inside_the_floor_is_accepted(w: float, h: float, fx: float, fy: float) -> None:
    assert on_floor(fx * w, fy * h, w, h)


@given(
    sides,
    sides,
    st.floats(min_value=1e-3, max_value=100),
    fractions,
    st.sampled_from(["left", "right", "top", "bottom"]),
)
def test_a_point_outside_the_floor_is_refused(
    w: float, h: float, beyond: float, along: float, side: str
) -> None:
    x, y = {
        "left": (-beyond, along * h),
        "right": (w + beyond, along * h),
        "top": (along * w, -beyond),
        "bottom": (along * w, h + beyond),
    }[side]
    assert not on_floor(x, y, w, h)


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf, 1001.0])
def test_bad_dimensions_are_named(value: float) -> None:
    problems = dimension_problems(value, 10.0, "floor 1F")
    assert [p.location for p in problems] == ["floor 1F.width_m"]
    assert dimension_problems(30.0, 10.0, "floor 1F") == []


@given(
    st.floats(min_value=0, max_value=50),
    st.floats(min_value=0, max_value=50),
    st.floats(min_value=0.1, max_value=20),
    st.floats(min_value=0.1, max_value=20),
    fractions,
    fractions,
)
def test_a_point_in_an_excluded_area_is_hit(
    x: float, y: float, w: float, h: float, fx: float, fy: float
) -> None:
    rect = Rect(x, y, w, h)
    px, py = min(x + fx * w, x + w), min(y + fy * h, y + h)
    assert exclusion_hits(px, py, [(rect, ExclusionReason.OUTDOOR)])
    assert not exclusion_hits(x + w + 0.01, py, [(rect, ExclusionReason.OUTDOOR)])


def test_exclusion_hit_message_names_the_reason() -> None:
    [message] = exclusion_hits(2, 2, [(Rect(0, 0, 5, 5), ExclusionReason.LADDER)])
    assert "脚立が必要な高所" in message and "ladder" in message


@pytest.mark.parametrize(
    ("rect", "fragment"),
    [
        (Rect(0, 0, 0, 5), "greater than 0"),
        (Rect(0, 0, 5, -1), "greater than 0"),
        (Rect(28, 0, 5, 5), "runs off floor 1F"),
        (Rect(-1, 0, 5, 5), "runs off floor 1F"),
    ],
)
def test_excluded_area_must_lie_on_the_floor(rect: Rect, fragment: str) -> None:
    [problem] = rect_problems(rect, 30, 20, "here", "1F")
    assert fragment in problem.message
    assert rect_problems(Rect(25, 15, 5, 5), 30, 20, "here", "1F") == []


# --- radio values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "band"),
    [("2.4", Band.GHZ_24), ("2.4GHz", Band.GHZ_24), ("5 GHz", Band.GHZ_5), ("6g", Band.GHZ_6)],
)
def test_band_spellings(text: str, band: Band) -> None:
    assert parse_band(text) is band


def test_unknown_band() -> None:
    with pytest.raises(ValueError, match="not a band"):
        parse_band("60GHz")


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"x_m": 31.0}, "outside floor 1F"),
        ({"channel": 36}, "channel 36 is not a 2.4 GHz channel"),
        ({"rssi_dbm": 5.0}, "RSSI 5 dBm is out of range"),
        ({"snr_db": -3.0}, "SNR -3 dB"),
        ({"bssid": "zz"}, "BSSID zz"),
    ],
)
def test_each_bad_measurement_value_is_named(changes: dict[str, object], fragment: str) -> None:
    good = {"x_m": 1.0, "y_m": 1.0, "band": Band.GHZ_24, "channel": 6, "rssi_dbm": -60.0}
    assert (
        measurement_problems(
            Measurement(**good),
            width_m=30,
            height_m=20,
            floor="1F",
            where="p",  # type: ignore[arg-type]
        )
        == []
    )
    problems = measurement_problems(
        Measurement(**{**good, **changes}),  # type: ignore[arg-type]
        width_m=30,
        height_m=20,
        floor="1F",
        where="points[3]",
    )
    assert [p.location for p in problems] == ["points[3]"]
    assert fragment in problems[0].message


def test_radio_plan_rules() -> None:
    assert radio_problems([RadioPlan(Band.GHZ_5, 36, 17)], "ap") == []
    assert "at least one band" in radio_problems([], "ap")[0].message
    messages = [
        p.message
        for p in radio_problems(
            [
                RadioPlan(Band.GHZ_24, 13, 40),
                RadioPlan(Band.GHZ_5, 37, 17),
                RadioPlan(Band.GHZ_5, 36, 17),
            ],
            "ap",
        )
    ]
    assert any("power 40 dBm" in m for m in messages)
    assert any("channel 37" in m for m in messages)
    assert any("5 GHz is given twice" in m for m in messages)
