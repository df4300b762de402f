"""What is on a floor: excluded areas, measurements (entered or CSV) and planned APs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import Conflict, Problem, ValidationFailed
from inventory.models import Device
from survey import points_csv
from survey.domain import (
    Band,
    ExclusionReason,
    Measurement,
    Mounting,
    PointIdentity,
    RadioPlan,
    Rect,
    StockUnit,
    exclusion_hits,
    installed_serial_problem,
    measurement_problems,
    model_problem,
    normal_serial,
    point_identity,
    position_problems,
    radio_problems,
    rect_problems,
    serial_problem,
)
from survey.models import PlannedAp, Survey, SurveyExclusion, SurveyFloor, SurveyPoint
from survey.service import (
    aps_of,
    exclusions_of,
    get_floor,
    get_survey,
    raise_if,
    record_change,
    required_text,
)


def add_exclusion(
    *,
    session: Session,
    actor: Actor,
    survey_id: int,
    floor: str,
    reason: ExclusionReason,
    x_m: float,
    y_m: float,
    width_m: float,
    height_m: float,
    note: str = "",
    now: datetime,
) -> SurveyExclusion:
    """An excluded area; refused if it runs off the floor or covers a planned AP."""
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    row = get_floor(session=session, survey_id=survey_id, name=floor)
    rect = Rect(x_m, y_m, width_m, height_m)
    where = f"floor {floor} exclusion"
    problems = rect_problems(rect, row.width_m, row.height_m, where, floor)
    if not problems:
        for ap in aps_of(session, survey_id):
            if ap.floor_id == row.id and rect.contains(ap.x_m, ap.y_m):
                problems.append(
                    Problem(
                        f"the area covers planned AP {ap.name} at ({ap.x_m:g}, {ap.y_m:g}) m", where
                    )
                )
    raise_if(problems)
    assert row.id is not None
    area = SurveyExclusion(
        floor_id=row.id,
        reason=reason.value,
        x_m=x_m,
        y_m=y_m,
        width_m=width_m,
        height_m=height_m,
        note=note.strip()[:200],
    )
    session.add(area)
    record_change(
        session,
        actor=actor,
        survey=survey,
        action="survey.exclude",
        after={"floor": floor, "reason": reason.value, "rect": [x_m, y_m, width_m, height_m]},
        now=now,
    )
    return area


def add_points(
    *,
    session: Session,
    actor: Actor,
    survey_id: int,
    floor: str,
    points: Sequence[Measurement],
    source: str = "entered",
    now: datetime,
) -> int:
    """Measurements for a floor: every one is checked, and none is kept if any is wrong."""
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    row = get_floor(session=session, survey_id=survey_id, name=floor)
    if not points:
        raise ValidationFailed([Problem("no measurements given", "points")])
    problems = []
    for index, point in enumerate(points):
        problems += measurement_problems(
            point,
            width_m=row.width_m,
            height_m=row.height_m,
            floor=floor,
            where=f"points[{index}]",
        )
    raise_if(problems)
    return _store_points(session, actor, survey, row, points, source, now)[0]


def _store_points(
    session: Session,
    actor: Actor,
    survey: Survey,
    row: SurveyFloor,
    points: Sequence[Measurement],
    source: str,
    now: datetime,
) -> tuple[int, int]:
    """Store the readings by identity (`point_identity`): a reading already stored is updated,
    not added again, so the same file imported twice leaves the floor as once. (kept, added)"""
    assert row.id is not None
    incoming = {point_identity(row.name, p): p for p in points}  # in-file repeats: last wins
    stored: dict[PointIdentity, SurveyPoint] = {}
    for old in session.exec(select(SurveyPoint).where(SurveyPoint.floor_id == row.id)):
        stored.setdefault(point_identity(row.name, _measurement_of(old)), old)
    added = updated = 0
    for identity, p in incoming.items():
        have = stored.get(identity)
        if have is None:
            session.add(_point_row(row.id, p))
            added += 1
        elif (have.rssi_dbm, have.snr_db, have.interference) != (
            p.rssi_dbm,
            p.snr_db,
            p.interference,
        ):
            have.rssi_dbm, have.snr_db, have.interference = p.rssi_dbm, p.snr_db, p.interference
            session.add(have)
            updated += 1
    record_change(
        session,
        actor=actor,
        survey=survey,
        action="survey.points",
        after={
            "floor": row.name,
            "count": len(incoming),
            "added": added,
            "updated": updated,
            "source": source,
        },
        now=now,
    )
    return len(incoming), added


def _point_row(floor_id: int, p: Measurement) -> SurveyPoint:
    return SurveyPoint(
        floor_id=floor_id,
        x_m=p.x_m,
        y_m=p.y_m,
        band=p.band.value,
        channel=p.channel,
        rssi_dbm=p.rssi_dbm,
        snr_db=p.snr_db,
        ssid=p.ssid[:32],
        bssid=p.bssid.lower().replace("-", ":"),
        interference=p.interference,
    )


def _measurement_of(point: SurveyPoint) -> Measurement:
    return Measurement(
        x_m=point.x_m,
        y_m=point.y_m,
        band=Band(point.band),
        channel=point.channel,
        rssi_dbm=point.rssi_dbm,
        snr_db=point.snr_db,
        ssid=point.ssid,
        bssid=point.bssid,
        interference=point.interference,
    )


@dataclass(frozen=True, slots=True)
class PointsImport:
    """What a CSV import stored."""

    floor: str
    count: int  # distinct readings in the file
    ignored_columns: list[str]
    added: int = 0  # of which new to the floor (the others were already stored)


def import_points_csv(
    *,
    session: Session,
    actor: Actor,
    survey_id: int,
    floor: str,
    data: bytes,
    name: str = "points.csv",
    now: datetime,
) -> PointsImport:
    """The survey tool's CSV: all rows or none; every bad cell reported by row and column."""
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    row = get_floor(session=session, survey_id=survey_id, name=floor)
    try:
        text = points_csv.decode(data)
    except UnicodeDecodeError:
        raise ValidationFailed([Problem("is neither UTF-8 nor Shift_JIS text", name)]) from None
    parsed = points_csv.parse_points(
        text, width_m=row.width_m, height_m=row.height_m, floor=floor, name=name
    )
    if parsed.problems:
        raise ValidationFailed(
            parsed.problems, f"{name}: {len(parsed.problems)} problem(s) found; nothing was stored"
        )
    count, added = _store_points(session, actor, survey, row, parsed.points, f"csv:{name}", now)
    return PointsImport(
        floor=floor, count=count, ignored_columns=parsed.ignored_columns, added=added
    )


def add_ap(
    *,
    session: Session,
    actor: Actor,
    survey_id: int,
    floor: str,
    name: str,
    model: str,
    x_m: float,
    y_m: float,
    mounting: Mounting,
    radios: Sequence[RadioPlan],
    serial: str | None = None,
    now: datetime,
) -> PlannedAp:
    """A planned AP; refused off the floor, inside an excluded area, or with bad radio values."""
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    row = get_floor(session=session, survey_id=survey_id, name=floor)
    assert row.id is not None
    where = f"floor {floor} AP {name}"
    problems = [p for p in (required_text(name, "name", 60),) if p]
    if message := model_problem(model):
        problems.append(Problem(message, f"{where}.model"))
    if message := serial_problem(serial):
        problems.append(Problem(message, f"{where}.serial"))
    problems += position_problems(x_m, y_m, row.width_m, row.height_m, where, floor)
    areas = [
        (Rect(e.x_m, e.y_m, e.width_m, e.height_m), ExclusionReason(e.reason))
        for e in exclusions_of(session, row.id)
    ]
    problems += [Problem(m, where) for m in exclusion_hits(x_m, y_m, areas)]
    problems += radio_problems(radios, where)
    if serial and not problems:
        at = f"floor {floor} AP {{}}.serial"
        problems += stock_problems(session, survey, {name.strip(): (model, serial)}, where=at)
    raise_if(problems)
    serial_text = normal_serial(serial)
    for other in aps_of(session, survey_id):
        if other.name == name.strip():
            raise Conflict(f"survey {survey.number} already plans an AP named {name}", ap=name)
        if serial_text and other.serial == serial_text:
            raise Conflict(f"serial {serial_text} is already planned as AP {other.name}", ap=name)
    by_band = {r.band: r for r in radios}

    def radio(band: Band) -> tuple[int | None, int | None]:
        r = by_band.get(band)
        return (r.channel, r.power_dbm) if r else (None, None)

    ap = PlannedAp(
        survey_id=survey_id,
        floor_id=row.id,
        name=name.strip(),
        model=model.strip().upper(),
        x_m=x_m,
        y_m=y_m,
        mounting=mounting.value,
        serial=serial_text,
    )
    ap.channel_24, ap.power_24 = radio(Band.GHZ_24)
    ap.channel_5, ap.power_5 = radio(Band.GHZ_5)
    ap.channel_6, ap.power_6 = radio(Band.GHZ_6)
    session.add(ap)
    record_change(
        session,
        actor=actor,
        survey=survey,
        action="survey.ap_add",
        after=ap.model_dump(exclude={"id"}),
        now=now,
    )
    return ap


def stock_problems(
    session: Session, survey: Survey, serials: Mapping[str, tuple[str, str]], *, where: str
) -> list[Problem]:
    """Each AP's serial checked against the inventory: known, planned model, state, customer."""
    wanted = {
        name: (model, normal_serial(serial) or "") for name, (model, serial) in serials.items()
    }
    stmt = select(Device).where(col(Device.serial).in_([s for _, s in wanted.values()]))
    units = {
        d.serial: StockUnit(model=d.model, status=d.status, customer=d.customer)
        for d in session.exec(stmt)
    }
    problems = []
    for name, (model, serial) in wanted.items():
        message = installed_serial_problem(
            serial,
            planned_model=model.strip().upper(),
            customer=survey.customer,
            unit=units.get(serial),
        )
        if message:
            problems.append(Problem(message, where.format(name)))
    return problems


def record_serials(
    *,
    session: Session,
    actor: Actor,
    survey_id: int,
    serials: Mapping[str, str | None],
    now: datetime,
) -> list[PlannedAp]:
    """Installed APs' serials, by AP name (None clears one).

    A serial is not a device setting, so no new version of the preparation sheet opens (IV(3):
    the sheet changes when settings change); the wireless settings sheet generated from the
    approved version takes the serials recorded here. Every problem is reported at once.
    """
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    aps = {ap.name: ap for ap in aps_of(session, survey_id)}
    problems: list[Problem] = []
    given: dict[str, str | None] = {}
    for name, serial in serials.items():
        if name not in aps:
            missing = f"survey {survey.number} plans no AP named {name}"
            problems.append(Problem(missing, f"AP {name}"))
            continue
        if message := serial_problem(serial):
            problems.append(Problem(message, f"AP {name}.serial"))
            continue
        given[name] = normal_serial(serial)
    holder: dict[str, str] = {}
    for name, serial in ({n: ap.serial for n, ap in aps.items()} | given).items():
        if serial is None:
            continue
        if serial in holder:
            twice = f"serial {serial} is also given to AP {holder[serial]}"
            problems.append(Problem(twice, f"AP {name}.serial"))
        holder.setdefault(serial, name)
    wanted = {n: (aps[n].model, serial) for n, serial in given.items() if serial is not None}
    problems += stock_problems(session, survey, wanted, where="AP {}.serial")
    raise_if(problems)
    before = {name: aps[name].serial for name in given}
    for name, serial in given.items():
        aps[name].serial = serial
        session.add(aps[name])
    survey.updated_at = now
    session.add(survey)
    audit.record(
        session,
        actor=actor,
        action="survey.ap_serials",
        entity_type="survey",
        entity_id=survey.number,
        before={"serials": before},
        after={"serials": given},
        at=now,
    )
    session.flush()
    return [aps[name] for name in given]
