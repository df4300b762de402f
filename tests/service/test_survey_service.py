"""Survey use cases on SQLite and PostgreSQL: records, bad input, versions, approval, the sheet."""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from pathlib import Path

import pypdf
import pytest
from sqlmodel import Session, func, select

from core.audit import history
from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from inventory import contracts
from inventory.domain import ContractOption, Plan
from provisioning.sheet_io import load_sheet
from survey import floor_plan, service, versions
from survey.domain import Band, ExclusionReason, Measurement, Mounting, RadioPlan
from survey.models import PlannedAp, SurveyExclusion, SurveyFloor, SurveyPoint
from survey.views import survey_out
from survey.wireless_sheet import psk_secret, wireless_sheet, wireless_sheet_yaml
from tests.service.survey_builders import (
    ACTOR,
    APPROVER,
    SERIAL_1,
    SERIAL_2,
    T0,
    build_survey,
    png_bytes,
)

LATER = T0 + timedelta(days=3)  # 2026-11-05 JST
LATEST = T0 + timedelta(days=5)


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_recorded_survey_reads_back(session: Session, tmp_path: Path) -> None:
    survey = build_survey(session, tmp_path)
    out = survey_out(session=session, survey_id=survey.id or 0)
    assert (out.number, out.site, out.gateway_model) == (survey.number, "あおばクリニック", "MX67")
    assert [(f.name, f.points, len(f.exclusions)) for f in out.floors] == [
        ("1F", 2, 1),
        ("2F", 0, 1),
    ]
    assert out.floors[0].layout_sha256 == hashlib.sha256(png_bytes()).hexdigest()
    stored = tmp_path / "layouts" / f"{out.floors[0].layout_sha256}.png"
    assert stored.read_bytes() == png_bytes()
    assert [(a.name, a.model, a.channel_5, a.serial) for a in out.aps] == [
        ("1F-受付-AP01", "MR36", 36, SERIAL_1),
        ("2F-事務室-AP02", "MR36", 44, SERIAL_2),
    ]
    assert [(v.number, v.status) for v in out.versions] == [(1, "draft")]
    actions = [
        e.action for e in history(session=session, entity_type="survey", entity_id=out.number)
    ]
    assert actions[0] == "survey.create" and actions.count("survey.ap_add") == 2


def test_measurement_outside_the_floor_stores_nothing(session: Session, tmp_path: Path) -> None:
    survey = build_survey(session, tmp_path)
    before = count(session, SurveyPoint)
    with pytest.raises(ValidationFailed) as caught:
        floor_plan.add_points(
            session=session,
            actor=ACTOR,
            survey_id=survey.id or 0,
            floor="1F",
            points=[
                Measurement(1, 1, Band.GHZ_5, 36, -50.0),
                Measurement(31, 1, Band.GHZ_5, 36, -50.0),
                Measurement(1, 25, Band.GHZ_5, 36, -50.0),
            ],
            now=T0,
        )
    assert [p.location for p in caught.value.problems] == ["points[1]", "points[2]"]
    assert "outside floor 1F (30 × 20 m)" in caught.value.problems[0].message
    assert count(session, SurveyPoint) == before


def test_ap_inside_an_excluded_area_is_refused(session: Session, tmp_path: Path) -> None:
    survey = build_survey(session, tmp_path)
    with pytest.raises(ValidationFailed) as caught:
        floor_plan.add_ap(
            session=session,
            actor=ACTOR,
            survey_id=survey.id or 0,
            floor="1F",
            name="1F-テラス-AP09",
            model="MR36",
            x_m=2,
            y_m=3,
            mounting=Mounting.WALL,
            radios=[RadioPlan(Band.GHZ_5, 36, 17)],
            now=T0,
        )
    [problem] = caught.value.problems
    assert problem.location == "floor 1F AP 1F-テラス-AP09"
    assert "inside an excluded area (屋外 outdoor" in problem.message
    assert count(session, PlannedAp) == 2


def test_exclusion_over_a_planned_ap_is_refused(session: Session, tmp_path: Path) -> None:
    survey = build_survey(session, tmp_path)
    with pytest.raises(ValidationFailed, match="problem") as caught:
        floor_plan.add_exclusion(
            session=session,
            actor=ACTOR,
            survey_id=survey.id or 0,
            floor="1F",
            reason=ExclusionReason.LADDER,
            x_m=10,
            y_m=5,
            width_m=5,
            height_m=5,
            now=T0,
        )
    assert "covers planned AP 1F-受付-AP01" in caught.value.problems[0].message


def test_non_image_layout_is_refused_and_not_stored(session: Session, tmp_path: Path) -> None:
    survey = build_survey(session, tmp_path / "first")
    storage = tmp_path / "store"
    for data, fragment in (
        (b"%PDF-1.4 not a picture", "not a readable image"),
        (png_bytes()[:40], "not a readable image"),
        (png_bytes(kind="GIF"), "only PNG or JPEG"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            service.set_layout(
                session=session,
                actor=ACTOR,
                survey_id=survey.id or 0,
                floor="2F",
                data=data,
                filename="plan.pdf",
                storage_dir=storage,
                now=T0,
            )
        assert caught.value.problems[0].location == "plan.pdf"
        assert fragment in caught.value.problems[0].message
    assert not storage.exists()
    floor = service.get_floor(session=session, survey_id=survey.id or 0, name="2F")
    assert floor.layout_sha256 is None


def test_jpeg_layout_is_accepted(session: Session, tmp_path: Path) -> None:
    survey = build_survey(session, tmp_path)
    row = service.set_layout(
        session=session,
        actor=ACTOR,
        survey_id=survey.id or 0,
        floor="2F",
        data=png_bytes((80, 50), kind="JPEG"),
        storage_dir=tmp_path,
        now=T0,
    )
    assert (row.layout_suffix, row.layout_width_px, row.layout_height_px) == ("jpg", 80, 50)


@pytest.mark.parametrize(("width", "height"), [(0.0, 10.0), (-5.0, 10.0), (10.0, 0.0)])
def test_floor_dimensions_must_be_positive(
    session: Session, tmp_path: Path, width: float, height: float
) -> None:
    survey = build_survey(session, tmp_path)
    with pytest.raises(ValidationFailed) as caught:
        service.add_floor(
            session=session,
            actor=ACTOR,
            survey_id=survey.id or 0,
            name="3F",
            width_m=width,
            height_m=height,
            now=T0,
        )
    assert caught.value.problems[0].location.startswith("floor 3F.")
    assert count(session, SurveyFloor) == 2


def test_csv_with_several_bad_rows_reports_all_and_stores_none(
    session: Session, tmp_path: Path
) -> None:
    survey = build_survey(session, tmp_path)
    before = count(session, SurveyPoint)
    text = (
        "X座標(m),Y座標(m),帯域,チャネル,RSSI(dBm)\n"
        "1,1,5GHz,36,-50\n"
        "40,1,5GHz,36,-50\n"
        "1,1,2.4GHz,36,-50\n"
        "1,1,5GHz,36,強い\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        floor_plan.import_points_csv(
            session=session,
            actor=ACTOR,
            survey_id=survey.id or 0,
            floor="1F",
            data=text.encode("utf-8-sig"),
            name="1F.csv",
            now=T0,
        )
    assert [p.location for p in caught.value.problems] == [
        "1F.csv row 3, column X座標(m)",
        "1F.csv row 4, column チャネル",
        "1F.csv row 5, column RSSI(dBm)",
    ]
    assert "nothing was stored" in caught.value.message
    assert count(session, SurveyPoint) == before
    good = floor_plan.import_points_csv(
        session=session,
        actor=ACTOR,
        survey_id=survey.id or 0,
        floor="2F",
        data=text.splitlines()[0].encode() + b"\n1,1,5GHz,36,-50\n2,2,6,5,-66\n",
        now=T0,
    )
    assert good.count == 2
    assert count(session, SurveyPoint) == before + 2


def test_versions_approval_and_the_provisioning_gate(session: Session, tmp_path: Path) -> None:
    survey = build_survey(session, tmp_path)
    sid = survey.id or 0
    with pytest.raises(Conflict, match="has no site survey"):
        versions.require_approved_survey(session=session, site="どこか")
    with pytest.raises(Conflict, match="version 1 is draft"):
        versions.require_approved_survey(session=session, site=survey.site)
    with pytest.raises(InvalidTransition):  # a draft cannot be approved
        versions.approve_version(
            session=session,
            actor=APPROVER,
            survey_id=sid,
            number=1,
            approver_name="鈴木",
            signature_ref="scan/test.pdf",
            approved_on=date(2026, 11, 5),
            now=LATER,
        )

    v1 = versions.issue_version(
        session=session, actor=ACTOR, survey_id=sid, storage_dir=tmp_path, now=T0
    )
    pdf = (tmp_path / "sheets" / f"{v1.pdf_sha256}.pdf").read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == v1.pdf_sha256 and len(pdf) == v1.pdf_size
    assert v1.snapshot is not None and v1.snapshot["floors"][0]["name"] == "1F"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "第1版" in text and "屋外" in text and "脚立が必要な高所" in text
    with pytest.raises(InvalidTransition):  # nothing changed: nothing new to issue
        versions.issue_version(
            session=session, actor=ACTOR, survey_id=sid, storage_dir=tmp_path, now=T0
        )

    versions.approve_version(
        session=session,
        actor=APPROVER,
        survey_id=sid,
        number=1,
        approver_name="鈴木 院長",
        approved_on=date(2026, 11, 5),
        signature_ref="scan/SV-1-v1.pdf",
        now=LATER,
    )
    gate = versions.require_approved_survey(session=session, site=survey.site)
    assert (gate.version.number, gate.version.approver_name) == (1, "鈴木 院長")

    # A change after approval opens version 2; provisioning waits again.
    floor_plan.add_points(
        session=session,
        actor=ACTOR,
        survey_id=sid,
        floor="2F",
        points=[Measurement(3, 3, Band.GHZ_5, 40, -61.0)],
        now=LATER,
    )
    statuses = [(v.number, v.status) for v in service.versions_of(session=session, survey_id=sid)]
    assert statuses == [(1, "approved"), (2, "draft")]
    with pytest.raises(Conflict, match="version 2 is draft"):
        versions.require_approved_survey(session=session, site=survey.site)
    # A second change keeps the same draft.
    floor_plan.add_points(
        session=session,
        actor=ACTOR,
        survey_id=sid,
        floor="2F",
        points=[Measurement(4, 4, Band.GHZ_5, 40, -62.0)],
        now=LATER,
    )
    assert len(service.versions_of(session=session, survey_id=sid)) == 2

    v2 = versions.issue_version(
        session=session, actor=ACTOR, survey_id=sid, storage_dir=tmp_path, now=LATER
    )
    assert v2.pdf_sha256 != v1.pdf_sha256
    statuses = [(v.number, v.status) for v in service.versions_of(session=session, survey_id=sid)]
    assert statuses == [(1, "superseded"), (2, "issued")]
    with pytest.raises(Conflict, match="version 1 is not the latest"):
        versions.approve_version(
            session=session,
            actor=APPROVER,
            survey_id=sid,
            number=1,
            approver_name="鈴木",
            signature_ref="scan/test.pdf",
            approved_on=date(2026, 11, 6),
            now=LATEST,
        )
    with pytest.raises(ValidationFailed, match="problem"):
        versions.approve_version(
            session=session,
            actor=APPROVER,
            survey_id=sid,
            number=2,
            approver_name="鈴木",
            signature_ref="scan/test.pdf",
            approved_on=date(2026, 11, 1),  # before it was issued
            now=LATEST,
        )
    with pytest.raises(ValidationFailed) as future:
        versions.approve_version(
            session=session,
            actor=APPROVER,
            survey_id=sid,
            number=2,
            approver_name="鈴木",
            signature_ref="scan/test.pdf",
            approved_on=date(2026, 11, 8),
            now=LATEST,
        )
    assert str(future.value.problems[0]) == "approved_on: approval date 2026-11-08 is in the future"
    versions.approve_version(
        session=session,
        actor=APPROVER,
        survey_id=sid,
        number=2,
        approver_name="鈴木",
        signature_ref="scan/test.pdf",
        approved_on=date(2026, 11, 6),
        now=LATEST,
    )
    assert versions.require_approved_survey(session=session, site=survey.site).version.number == 2
    # Version 1 is still kept, exactly as issued.
    kept, again = versions.version_pdf(
        session=session, survey_id=sid, number=1, storage_dir=tmp_path
    )
    assert (kept.status, again) == ("superseded", pdf)
    actions = [
        e.action for e in history(session=session, entity_type="survey", entity_id=survey.number)
    ]
    assert actions.count("survey.issue") == 2 and actions.count("survey.approve") == 2


def test_approved_version_generates_a_loadable_wireless_sheet(
    session: Session, tmp_path: Path
) -> None:
    survey = build_survey(session, tmp_path)
    sid = survey.id or 0
    with pytest.raises(Conflict, match="only a version the customer approved"):
        wireless_sheet(session=session, survey_id=sid)
    versions.issue_version(
        session=session, actor=ACTOR, survey_id=sid, storage_dir=tmp_path, now=T0
    )
    versions.approve_version(
        session=session,
        actor=APPROVER,
        survey_id=sid,
        number=1,
        approver_name="鈴木",
        signature_ref="scan/test.pdf",
        approved_on=date(2026, 11, 5),
        now=LATEST,
    )
    path = tmp_path / "wireless.yaml"
    path.write_text(wireless_sheet_yaml(session=session, survey_id=sid), encoding="utf-8")
    assert "placeholder" not in path.read_text(encoding="utf-8")
    held = {("医療法人あおば会", psk_secret(sid, 0)): "correct-horse-battery"}
    sheet = load_sheet(path, secrets=lambda customer, name: held.get((customer, name)))
    assert (sheet.site.name, sheet.site.plan, sheet.site.customer) == (
        "あおばクリニック",
        "wireless",
        "医療法人あおば会",
    )
    assert [(d.serial, d.model, d.name, d.tags) for d in sheet.devices or []] == [
        (SERIAL_1, "MR36", "1F-受付-AP01", ["1F", "survey-v1"]),
        (SERIAL_2, "MR36", "2F-事務室-AP02", ["2F", "survey-v1"]),
    ]
    ssids = sheet.ssids or []
    assert [(s.name, s.auth_mode, s.default_vlan_id) for s in ssids] == [
        ("AOBA-STAFF", "psk", 10),
        ("AOBA-GUEST", "open", None),
    ]
    assert ssids[0].psk is not None and ssids[0].psk.reveal() == "correct-horse-battery"
    [profile] = sheet.rf_profiles or []
    assert (profile.two_four_ghz_settings.min_power, profile.two_four_ghz_settings.max_power) == (
        11,
        14,
    )
    assert (profile.five_ghz_settings.min_power, profile.five_ghz_settings.max_power) == (17, 20)
    assert {d.rf_profile for d in sheet.devices or []} == {profile.name}


def test_contract_must_match_customer_and_cover_a_survey(session: Session, tmp_path: Path) -> None:
    contracts.create_contract(
        session=session, actor=ACTOR, number="C-SV-1", customer="あおば会", plan=Plan.UTM
    )
    contracts.create_contract(
        session=session,
        actor=ACTOR,
        number="C-SV-2",
        customer="あおば会",
        plan=Plan.UTM,
        options=[ContractOption.SURVEY],
    )
    args = {
        "session": session,
        "actor": ACTOR,
        "site": "本店",
        "surveyor": "田中",
        "survey_date": date(2026, 11, 2),
        "now": T0,
    }
    with pytest.raises(Conflict, match="neither the survey option"):
        service.create_survey(customer="あおば会", contract_number="C-SV-1", **args)  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="belongs to あおば会"):
        service.create_survey(customer="別会社", contract_number="C-SV-2", **args)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        service.create_survey(customer="あおば会", contract_number="C-NONE", **args)  # type: ignore[arg-type]
    survey = service.create_survey(customer="あおば会", contract_number="C-SV-2", **args)  # type: ignore[arg-type]
    assert survey_out(session=session, survey_id=survey.id or 0).contract_number == "C-SV-2"
    with pytest.raises(Conflict, match="version 1 is draft"):
        versions.require_approved_survey(session=session, site="本店", contract="C-SV-2")


def test_coverage_and_diagram_of_present_data(session: Session, tmp_path: Path) -> None:
    from PIL import Image

    survey = build_survey(session, tmp_path)
    png = versions.coverage_png(
        session=session, survey_id=survey.id or 0, floor="1F", storage_dir=tmp_path, dpi=30
    )
    with Image.open(io.BytesIO(png)) as image:
        assert image.width == 240
    with pytest.raises(NotFound, match="no floor '9F'"):
        versions.coverage_png(
            session=session, survey_id=survey.id or 0, floor="9F", storage_dir=tmp_path
        )
    svg = versions.network_diagram_svg(session=session, survey_id=survey.id or 0).decode()
    assert "1F-受付-AP01" in svg and "MX67" in svg
    assert count(session, SurveyExclusion) >= 2


def _approved(session: Session, tmp_path: Path) -> int:
    survey = build_survey(session, tmp_path)
    sid = survey.id or 0
    versions.issue_version(
        session=session, actor=ACTOR, survey_id=sid, storage_dir=tmp_path, now=T0
    )
    versions.approve_version(
        session=session, actor=APPROVER, survey_id=sid, number=1, approver_name="鈴木",
        approved_on=date(2026, 11, 5), signature_ref="scan/test.pdf", now=LATEST,
    )  # fmt: skip
    return sid


def test_installed_serials_need_no_new_approval(session: Session, tmp_path: Path) -> None:
    sid = _approved(session, tmp_path)
    floor_plan.record_serials(
        session=session, actor=ACTOR, survey_id=sid,
        serials={"1F-受付-AP01": "q3aj-inst-0001", "2F-事務室-AP02": None}, now=LATEST,
    )  # fmt: skip
    latest = service.latest_version(session=session, survey_id=sid)
    assert (latest.number, latest.status) == (1, "approved")
    sheet = wireless_sheet(session=session, survey_id=sid)
    assert [(d.serial, d.name) for d in sheet.devices or []] == [("Q3AJ-INST-0001", "1F-受付-AP01")]
    number = service.get_survey(session=session, survey_id=sid).number
    entries = history(session, entity_type="survey", entity_id=number)
    [entry] = [e for e in entries if e.action == "survey.ap_serials"]
    assert entry.before == {"serials": {"1F-受付-AP01": SERIAL_1, "2F-事務室-AP02": SERIAL_2}}
    assert entry.after == {"serials": {"1F-受付-AP01": "Q3AJ-INST-0001", "2F-事務室-AP02": None}}


def test_serial_problems_are_reported_together_and_change_nothing(
    session: Session, tmp_path: Path
) -> None:
    sid = _approved(session, tmp_path)
    with pytest.raises(ValidationFailed) as refused:
        floor_plan.record_serials(
            session=session, actor=ACTOR, survey_id=sid,
            serials={"3F-AP09": "Q3AJ-INST-0009", "1F-受付-AP01": "Q3AJ-BAD",
                     "2F-事務室-AP02": SERIAL_1.lower()},
            now=LATEST,
        )  # fmt: skip
    assert sorted(p.location for p in refused.value.problems) == [
        "AP 1F-受付-AP01.serial",  # not a Meraki serial
        "AP 2F-事務室-AP02.serial",  # AP01 keeps SERIAL_1
        "AP 3F-AP09",  # no such AP
    ]
    with pytest.raises(ValidationFailed) as twice:
        floor_plan.record_serials(
            session=session, actor=ACTOR, survey_id=sid,
            serials={"2F-事務室-AP02": SERIAL_1.lower()}, now=LATEST,
        )  # fmt: skip
    assert [p.message for p in twice.value.problems] == [
        f"serial {SERIAL_1} is also given to AP 1F-受付-AP01"
    ]
    serials = session.exec(select(PlannedAp.serial).where(PlannedAp.survey_id == sid)).all()
    assert sorted(s or "" for s in serials) == [SERIAL_1, SERIAL_2]
