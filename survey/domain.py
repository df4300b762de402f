"""Pure rules of the wireless site survey (DOMAIN "Wireless install and site survey").

Floor coordinates are metres from the layout's top-left corner: x to the right, y downwards, as
the customer's drawing reads. Versions of the preparation sheet move draft → issued → approved,
and an older version is superseded when a newer one is issued. No I/O here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.errors import Conflict, InvalidTransition, Problem
from inventory.domain import SERIAL_PATTERN

MAX_FLOOR_SIDE_M = 1000.0
RSSI_RANGE = (-120.0, 0.0)
SNR_RANGE = (0.0, 100.0)
AP_MODEL_PREFIXES = ("MR", "CW")  # the wireless plan's models (provisioning MODEL_PREFIXES)
_BSSID = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")


class Band(StrEnum):
    """A Wi-Fi band, as surveyed and planned."""

    GHZ_24 = "2.4"
    GHZ_5 = "5"
    GHZ_6 = "6"


CHANNELS: dict[Band, frozenset[int]] = {
    Band.GHZ_24: frozenset(range(1, 15)),
    Band.GHZ_5: frozenset([*range(36, 65, 4), *range(100, 145, 4), *range(149, 178, 4)]),
    Band.GHZ_6: frozenset(range(1, 234, 4)),
}
POWER_DBM: dict[Band, tuple[int, int]] = {
    Band.GHZ_24: (5, 30),
    Band.GHZ_5: (8, 30),
    Band.GHZ_6: (8, 30),
}


class ExclusionReason(StrEnum):
    """Why an area is left out of the survey and the install."""

    OUTDOOR = "outdoor"
    LADDER = "ladder"  # a high place that needs a ladder
    OTHER = "other"


EXCLUSION_LABELS: dict[ExclusionReason, str] = {
    ExclusionReason.OUTDOOR: "屋外",
    ExclusionReason.LADDER: "脚立が必要な高所",
    ExclusionReason.OTHER: "その他",
}


class Mounting(StrEnum):
    """How a planned AP is fixed (no construction work either way)."""

    CEILING = "ceiling"
    WALL = "wall"


MOUNTING_LABELS: dict[Mounting, str] = {Mounting.CEILING: "天井", Mounting.WALL: "壁"}


class VersionStatus(StrEnum):
    """Where one version of the preparation sheet stands."""

    DRAFT = "draft"  # being edited; not shown to the customer
    ISSUED = "issued"  # PDF handed to the customer, awaiting signature
    APPROVED = "approved"  # the customer signed the completion-confirmation field
    SUPERSEDED = "superseded"  # a newer version was issued


_V = VersionStatus

TRANSITIONS: dict[VersionStatus, frozenset[VersionStatus]] = {
    _V.DRAFT: frozenset({_V.ISSUED}),
    _V.ISSUED: frozenset({_V.APPROVED, _V.SUPERSEDED}),
    _V.APPROVED: frozenset({_V.SUPERSEDED}),
    _V.SUPERSEDED: frozenset(),
}


def advance(current: VersionStatus, target: VersionStatus) -> VersionStatus:
    """`target` if the table allows the move from `current`, else InvalidTransition."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise InvalidTransition(
            "survey version", current.value, target.value, (s.value for s in allowed)
        )
    return target


def change_opens_new_version(latest: VersionStatus) -> bool:
    """A change after a version left draft starts a new draft; the issued one is kept as is."""
    return latest is not VersionStatus.DRAFT


def check_approvable(*, number: int, status: VersionStatus, latest_number: int) -> None:
    """Only the latest version, once issued, may be approved."""
    if number != latest_number:
        raise Conflict(
            f"version {number} is not the latest (version {latest_number} is); "
            "the customer approves the latest issued version",
            version=number,
            latest=latest_number,
        )
    advance(status, VersionStatus.APPROVED)


def superseded_by_issue(statuses: Iterable[tuple[int, VersionStatus]]) -> list[int]:
    """The version numbers a newly issued version supersedes (issued or approved ones)."""
    return [n for n, s in statuses if s in (VersionStatus.ISSUED, VersionStatus.APPROVED)]


# --- geometry ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle in metres: top-left corner, width, height."""

    x: float
    y: float
    width: float
    height: float

    def contains(self, x: float, y: float) -> bool:
        """Closed rectangle: a point on the edge counts as inside."""
        return self.x <= x <= self.x + self.width and self.y <= y <= self.y + self.height


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def dimension_problems(width_m: float, height_m: float, where: str) -> list[Problem]:
    """Real floor dimensions must be positive, finite and plausible."""
    problems = []
    for name, value in (("width_m", width_m), ("height_m", height_m)):
        if not _finite(value) or value <= 0:
            problems.append(Problem(f"{name} {value} must be greater than 0", f"{where}.{name}"))
        elif value > MAX_FLOOR_SIDE_M:
            problems.append(
                Problem(f"{name} {value} exceeds {MAX_FLOOR_SIDE_M:g} m", f"{where}.{name}")
            )
    return problems


def on_floor(x: float, y: float, width_m: float, height_m: float) -> bool:
    """Whether a point lies on the floor rectangle (edges included)."""
    return _finite(x, y) and 0 <= x <= width_m and 0 <= y <= height_m


def position_problems(
    x: float, y: float, width_m: float, height_m: float, where: str, floor: str
) -> list[Problem]:
    """A position off the floor, named with the floor's size."""
    if on_floor(x, y, width_m, height_m):
        return []
    return [
        Problem(
            f"({x:g}, {y:g}) m is outside floor {floor} ({width_m:g} × {height_m:g} m)",
            where,
        )
    ]


def rect_problems(
    rect: Rect, width_m: float, height_m: float, where: str, floor: str
) -> list[Problem]:
    """An excluded area must have a size and lie on the floor."""
    if not _finite(rect.x, rect.y, rect.width, rect.height) or rect.width <= 0 or rect.height <= 0:
        return [Problem("an excluded area needs a width and height greater than 0", where)]
    corner_x, corner_y = rect.x + rect.width, rect.y + rect.height
    if on_floor(rect.x, rect.y, width_m, height_m) and on_floor(
        corner_x, corner_y, width_m, height_m
    ):
        return []
    return [
        Problem(
            f"area ({rect.x:g}, {rect.y:g})–({corner_x:g}, {corner_y:g}) m runs off floor "
            f"{floor} ({width_m:g} × {height_m:g} m)",
            where,
        )
    ]


def exclusion_hits(x: float, y: float, areas: Sequence[tuple[Rect, ExclusionReason]]) -> list[str]:
    """Messages for each excluded area that contains the point."""
    return [
        f"({x:g}, {y:g}) m is inside an excluded area ({EXCLUSION_LABELS[reason]} {reason.value}"
        f" at {rect.x:g}, {rect.y:g}, {rect.width:g} × {rect.height:g} m)"
        for rect, reason in areas
        if rect.contains(x, y)
    ]


# --- radio values -----------------------------------------------------------------------------


def parse_band(text: str) -> Band:
    """'2.4', '2.4GHz', '5 GHz', '6g' … as a Band."""
    cleaned = text.strip().lower().replace(" ", "").removesuffix("ghz").removesuffix("g")
    try:
        return Band(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is not a band (2.4, 5 or 6 GHz)") from None


def channel_problem(band: Band, channel: int) -> str | None:
    if channel not in CHANNELS[band]:
        return f"channel {channel} is not a {band.value} GHz channel"
    return None


def power_problem(band: Band, power_dbm: int) -> str | None:
    low, high = POWER_DBM[band]
    if not low <= power_dbm <= high:
        return f"power {power_dbm} dBm is out of range {low}–{high} dBm for {band.value} GHz"
    return None


def rssi_problem(rssi_dbm: float) -> str | None:
    low, high = RSSI_RANGE
    if not (math.isfinite(rssi_dbm) and low <= rssi_dbm <= high):
        return f"RSSI {rssi_dbm:g} dBm is out of range {low:g}–{high:g}"
    return None


def snr_problem(snr_db: float | None) -> str | None:
    low, high = SNR_RANGE
    if snr_db is not None and not (math.isfinite(snr_db) and low <= snr_db <= high):
        return f"SNR {snr_db:g} dB is out of range {low:g}–{high:g}"
    return None


def bssid_problem(bssid: str | None) -> str | None:
    if bssid and not _BSSID.match(bssid.strip().lower()):
        return f"BSSID {bssid} is not a MAC address like 00:11:22:aa:bb:cc"
    return None


def serial_problem(serial: str | None) -> str | None:
    if serial and not SERIAL_PATTERN.match(serial.strip().upper()):
        return f"serial {serial} is not in the Meraki form XXXX-XXXX-XXXX"
    return None


# Inventory states in which a unit can be the AP installed at a customer's site.
INSTALLABLE = frozenset({"in_stock", "reserved", "deployed"})


@dataclass(frozen=True, slots=True)
class StockUnit:
    """A unit as the inventory knows it."""

    model: str
    status: str
    customer: str | None


def installed_serial_problem(
    serial: str, *, planned_model: str, customer: str, unit: StockUnit | None
) -> str | None:
    """An AP's serial must be a unit the inventory knows, of the planned model, in stock or
    deployed, and not another customer's."""
    if unit is None:
        return f"serial {serial} is not in the inventory (import or reconcile it first)"
    if unit.model.upper() != planned_model.upper():
        return f"serial {serial} is an {unit.model}, but the AP is planned as {planned_model}"
    if unit.status not in INSTALLABLE:
        return (
            f"serial {serial} is {unit.status}; only a unit in stock or deployed can be installed"
        )
    if unit.customer and unit.customer != customer:
        return f"serial {serial} is {unit.customer}'s, not {customer}'s"
    return None


def normal_serial(serial: str | None) -> str | None:
    """A serial as stored: trimmed and upper-cased; blank is none."""
    return serial.strip().upper() or None if serial else None


def model_problem(model: str) -> str | None:
    if not model.strip().upper().startswith(AP_MODEL_PREFIXES):
        return f"model {model} is not an access point ({' or '.join(AP_MODEL_PREFIXES)}…)"
    return None


@dataclass(frozen=True, slots=True)
class Measurement:
    """One reading at a point of a floor."""

    x_m: float
    y_m: float
    band: Band
    channel: int
    rssi_dbm: float
    snr_db: float | None = None
    ssid: str = ""
    bssid: str = ""
    interference: bool = False


PointIdentity = tuple[str, int, int, str, int, str, str]


def point_identity(floor: str, m: Measurement) -> PointIdentity:
    """What makes two readings the same reading: the floor, the place to the centimetre, and
    what was heard there (band, channel, SSID, BSSID). Importing a reading again updates it."""
    return (
        floor,
        round(m.x_m * 100),
        round(m.y_m * 100),
        m.band.value,
        m.channel,
        m.ssid[:32],
        m.bssid.lower().replace("-", ":"),
    )


def measurement_problems(
    m: Measurement, *, width_m: float, height_m: float, floor: str, where: str
) -> list[Problem]:
    """Everything wrong with one reading, each named at `where`."""
    problems = position_problems(m.x_m, m.y_m, width_m, height_m, where, floor)
    for message in (
        channel_problem(m.band, m.channel),
        rssi_problem(m.rssi_dbm),
        snr_problem(m.snr_db),
        bssid_problem(m.bssid),
    ):
        if message:
            problems.append(Problem(message, where))
    return problems


@dataclass(frozen=True, slots=True)
class RadioPlan:
    """Channel and transmit power of one band of a planned AP."""

    band: Band
    channel: int
    power_dbm: int


def radio_problems(radios: Sequence[RadioPlan], where: str) -> list[Problem]:
    """At least one band, each band once, channels and powers allowed."""
    if not radios:
        return [Problem("a planned AP needs a channel and power on at least one band", where)]
    problems = []
    seen: set[Band] = set()
    for radio in radios:
        at = f"{where}.{radio.band.value}GHz"
        if radio.band in seen:
            problems.append(Problem(f"{radio.band.value} GHz is given twice", at))
        seen.add(radio.band)
        for message in (
            channel_problem(radio.band, radio.channel),
            power_problem(radio.band, radio.power_dbm),
        ):
            if message:
                problems.append(Problem(message, at))
    return problems
