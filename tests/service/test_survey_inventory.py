"""Survey serials are checked against the inventory; a measurement file imported twice counts once.

Rules, stated independently: an AP's serial names a unit the inventory knows, of the model the
AP is planned as, that is in stock, reserved or deployed, and that is no other customer's. A
reading is the same reading when floor, position (to the centimetre), band, channel, SSID and
BSSID agree; importing it again updates it instead of adding a point.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from core.errors import ValidationFailed
from survey import floor_plan
from survey.domain import Band, Mounting, RadioPlan
from survey.models import SurveyFloor, SurveyPoint
from tests.service.survey_builders import ACTOR, T0, build_survey, stock

OTHER_CUSTOMER = "株式会社よその会社"


def record(session: Session, survey_id: int, serial: str) -> None:
    floor_plan.record_serials(
        session=session, actor=ACTOR, survey_id=survey_id, serials={"1F-受付-AP01": serial}, now=T0
    )


@pytest.mark.parametrize(
    ("unit", "refusal"),
    [
        ({"model": "MR46"}, "is an MR46, but the AP is planned as MR36"),
        ({"status": "disposed"}, "is disposed"),
        ({"status": "in_rma"}, "is in_rma"),
        ({"customer": OTHER_CUSTOMER}, f"is {OTHER_CUSTOMER}'s"),
        (None, "is not in the inventory"),
    ],
)
def test_a_serial_the_inventory_contradicts_is_refused_at_its_ap(
    session: Session, tmp_path: Path, unit: dict[str, str] | None, refusal: str
) -> None:
    survey = build_survey(session, tmp_path)
    serial = "Q3AJ-TEST-0001"
    if unit is not None:
        fields = {"status": "in_stock", "model": "MR36"} | unit
        stock(session, serial, model=fields.pop("model"), **fields)
    with pytest.raises(ValidationFailed) as refused:
        record(session, survey.id or 0, serial)
    [problem] = refused.value.problems
    assert problem.location == "AP 1F-受付-AP01.serial"
    assert refusal in problem.message


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "in_stock"},
        {"status": "reserved"},
        {"status": "deployed", "customer": "医療法人あおば会"},
    ],
)
def test_a_serial_of_the_planned_model_in_stock_or_at_this_customer_is_taken(
    session: Session, tmp_path: Path, fields: dict[str, str]
) -> None:
    survey = build_survey(session, tmp_path)
    stock(session, "Q3AJ-TEST-0002", model="MR36", **fields)
    record(session, survey.id or 0, "q3aj-test-0002")


def test_adding_an_ap_with_another_models_serial_is_refused(
    session: Session, tmp_path: Path
) -> None:
    survey = build_survey(session, tmp_path)
    stock(session, "Q3AC-TEST-0046", model="MR46")
    with pytest.raises(ValidationFailed) as refused:
        floor_plan.add_ap(
            session=session,
            actor=ACTOR,
            survey_id=survey.id or 0,
            floor="2F",
            name="2F-AP09",
            model="MR36",
            x_m=5,
            y_m=15,
            mounting=Mounting.CEILING,
            radios=[RadioPlan(Band.GHZ_5, 36, 17)],
            serial="Q3AC-TEST-0046",
            now=T0,
        )
    [problem] = refused.value.problems
    assert problem.location == "floor 2F AP 2F-AP09.serial" and "MR46" in problem.message


CSV = (
    "x,y,band,channel,rssi,snr,ssid,bssid\n"
    "1,1,5,36,-55,30,AOBA,00:11:22:33:44:66\n"
    "2,2,2.4,6,-70,,,\n"
)


def points_on(session: Session, survey_id: int, floor: str) -> list[tuple[float, float, float]]:
    row = session.exec(
        select(SurveyFloor).where(SurveyFloor.survey_id == survey_id, SurveyFloor.name == floor)
    ).one()
    stmt = select(SurveyPoint).where(SurveyPoint.floor_id == row.id).order_by(SurveyPoint.x_m)
    return [(p.x_m, p.y_m, p.rssi_dbm) for p in session.exec(stmt)]


def test_the_same_measurement_file_imported_twice_counts_once(
    session: Session, tmp_path: Path
) -> None:
    survey = build_survey(session, tmp_path)
    sid = survey.id or 0

    def load(text: str) -> floor_plan.PointsImport:
        return floor_plan.import_points_csv(
            session=session, actor=ACTOR, survey_id=sid, floor="2F", data=text.encode(), now=T0
        )

    first = load(CSV)
    assert (first.count, first.added) == (2, 2)
    second = load(CSV)
    assert (second.count, second.added) == (2, 0)
    assert points_on(session, sid, "2F") == [(1.0, 1.0, -55.0), (2.0, 2.0, -70.0)]
    remeasured = load(CSV.replace("-55,30", "-58,28"))  # same reading, new values: updated
    assert remeasured.added == 0
    assert points_on(session, sid, "2F") == [(1.0, 1.0, -58.0), (2.0, 2.0, -70.0)]
    elsewhere = load(CSV.replace("1,1,5,36", "1.01,1,5,36"))  # one centimetre away: a new point
    assert elsewhere.added == 1
    total = session.exec(select(func.count()).select_from(SurveyPoint)).one()
    assert total == len(points_on(session, sid, "1F")) + 3
