"""`netkeep survey`: thin over the survey services (the local CLI acts as admin)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.bounds import record_number
from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors, settings
from core.timeutil import utcnow
from survey import floor_plan, service, versions, views
from survey.domain import Band, ExclusionReason, Measurement, Mounting, RadioPlan
from survey.schemas import SurveyOut, VersionOut
from survey.snapshot import SsidData
from survey.wireless_sheet import wireless_sheet_yaml

survey_app = typer.Typer(
    help="Wireless site survey: floors, layouts, exclusions, measurements, planned APs, the "
    "preparation sheet (導入準備シート), its approval and the generated settings sheet.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
SurveyId = Annotated[
    int,
    typer.Argument(
        help="the survey: SV-000123 or its id 123",
        parser=lambda value: record_number(value, "SV"),
        metavar="SURVEY",
    ),
]
Floor = Annotated[str, typer.Argument(help="floor name, e.g. 1F")]
Out = Annotated[Path, typer.Option("--out", "-o", help="file to write")]
VersionOpt = Annotated[int | None, typer.Option("--version", help="a version number")]


def _show(out: SurveyOut, json_out: bool) -> None:
    if json_out:
        emit_json(out)
        return
    latest = out.versions[-1]
    console.print(
        f"{out.number} {out.customer} / {out.site} — surveyed {out.survey_date} by "
        f"{out.surveyor}; version {latest.number} {latest.status}",
        highlight=False,
    )
    for floor in out.floors:
        layout = "layout ✓" if floor.layout_sha256 else "no layout"
        console.print(
            f"  floor {floor.name}: {floor.width_m:g} × {floor.height_m:g} m, {layout}, "
            f"{floor.points} points, {len(floor.exclusions)} excluded areas",
            highlight=False,
        )
    for ap in out.aps:
        console.print(
            f"  AP {ap.name} {ap.model} on {ap.floor} at ({ap.x_m:g}, {ap.y_m:g}) {ap.mounting}"
            f"{' ' + ap.serial if ap.serial else ''}",
            highlight=False,
        )


def _version(version: VersionOut, json_out: bool) -> None:
    if json_out:
        emit_json(version)
        return
    console.print(f"version {version.number}: {version.status}", highlight=False)


@survey_app.command("create")
@handle_errors
def create_cmd(
    customer: Annotated[str, typer.Option(help="customer name")],
    site: Annotated[str, typer.Option(help="site name (the Meraki network)")],
    surveyor: Annotated[str, typer.Option(help="who surveyed")],
    survey_date: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    address: str = "",
    contract: Annotated[str | None, typer.Option(help="contract number")] = None,
    gateway: Annotated[str | None, typer.Option(help="gateway/UTM model, e.g. MX67")] = None,
    switch: Annotated[str | None, typer.Option(help="switch model, if any")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a new site survey (version 1, draft)."""
    with cli_session() as session:
        survey = service.create_survey(
            session=session,
            actor=cli_actor(),
            customer=customer,
            site=site,
            surveyor=surveyor,
            survey_date=date.fromisoformat(survey_date),
            address=address,
            contract_number=contract,
            gateway_model=gateway,
            switch_model=switch,
            now=utcnow(),
        )
        out = views.survey_out(session=session, survey_id=survey.id or 0)
    _show(out, json_out)


@survey_app.command("show")
@handle_errors
def show_cmd(survey_id: SurveyId, json_out: JsonOpt = False) -> None:
    """A survey with floors, APs and versions."""
    with cli_session() as session:
        out = views.survey_out(session=session, survey_id=survey_id)
    _show(out, json_out)


@survey_app.command("list")
@handle_errors
def list_cmd(
    customer: str | None = None, site: str | None = None, json_out: JsonOpt = False
) -> None:
    """Surveys with their latest version's status."""
    with cli_session() as session:
        items = views.survey_list(session=session, customer=customer, site=site)
    if json_out:
        emit_json(items)
        return
    table = Table("number", "customer", "site", "date", "version", "status")
    for s in items:
        table.add_row(
            s.number, s.customer, s.site, str(s.survey_date), str(s.latest_version), s.status
        )
    console.print(table)


@survey_app.command("floor-add")
@handle_errors
def floor_add_cmd(
    survey_id: SurveyId,
    name: Floor,
    width: Annotated[float, typer.Option(help="real width in metres")],
    height: Annotated[float, typer.Option(help="real depth in metres")],
) -> None:
    """Add a floor with its real dimensions."""
    with cli_session() as session:
        floor = service.add_floor(
            session=session,
            actor=cli_actor(),
            survey_id=survey_id,
            name=name,
            width_m=width,
            height_m=height,
            now=utcnow(),
        )
    console.print(f"floor {floor.name}: {floor.width_m:g} × {floor.height_m:g} m", highlight=False)


@survey_app.command("layout")
@handle_errors
def layout_cmd(survey_id: SurveyId, floor: Floor, image: Path) -> None:
    """Attach the customer's floor layout (PNG or JPEG)."""
    with cli_session() as session:
        row = service.set_layout(
            session=session,
            actor=cli_actor(),
            survey_id=survey_id,
            floor=floor,
            data=image.read_bytes(),
            filename=image.name,
            storage_dir=settings().survey_dir,
            now=utcnow(),
        )
    console.print(
        f"floor {row.name}: layout {row.layout_width_px}×{row.layout_height_px} px "
        f"sha256 {row.layout_sha256}",
        highlight=False,
    )


@survey_app.command("exclude")
@handle_errors
def exclude_cmd(
    survey_id: SurveyId,
    floor: Floor,
    reason: Annotated[ExclusionReason, typer.Option(help="outdoor, ladder (high place), other")],
    x: Annotated[float, typer.Option(help="left edge, metres")],
    y: Annotated[float, typer.Option(help="top edge, metres")],
    width: Annotated[float, typer.Option(help="metres")],
    height: Annotated[float, typer.Option(help="metres")],
    note: str = "",
) -> None:
    """Mark an area excluded from the survey and the install."""
    with cli_session() as session:
        floor_plan.add_exclusion(
            session=session,
            actor=cli_actor(),
            survey_id=survey_id,
            floor=floor,
            reason=reason,
            x_m=x,
            y_m=y,
            width_m=width,
            height_m=height,
            note=note,
            now=utcnow(),
        )
    console.print(f"floor {floor}: excluded ({reason.value})", highlight=False)


@survey_app.command("points-import")
@handle_errors
def points_import_cmd(survey_id: SurveyId, floor: Floor, csv_file: Path) -> None:
    """Import the survey tool's CSV (Japanese or English headers); all rows or none."""
    with cli_session() as session:
        result = floor_plan.import_points_csv(
            session=session,
            actor=cli_actor(),
            survey_id=survey_id,
            floor=floor,
            data=csv_file.read_bytes(),
            name=csv_file.name,
            now=utcnow(),
        )
    ignored = (
        f" (ignored columns: {', '.join(result.ignored_columns)})" if result.ignored_columns else ""
    )
    already = result.count - result.added
    kept = f" ({already} already stored, updated in place)" if already else ""
    console.print(f"floor {floor}: {result.count} points imported{kept}{ignored}", highlight=False)


@survey_app.command("point-add")
@handle_errors
def point_add_cmd(
    survey_id: SurveyId,
    floor: Floor,
    x: Annotated[float, typer.Option(help="metres from the left")],
    y: Annotated[float, typer.Option(help="metres from the top")],
    band: Annotated[Band, typer.Option(help="2.4, 5 or 6 (GHz)")],
    channel: Annotated[int, typer.Option()],
    rssi: Annotated[float, typer.Option(help="dBm")],
    snr: Annotated[float | None, typer.Option(help="dB")] = None,
    ssid: str = "",
    bssid: str = "",
    interference: bool = False,
) -> None:
    """Enter one measurement by hand."""
    point = Measurement(
        x_m=x,
        y_m=y,
        band=band,
        channel=channel,
        rssi_dbm=rssi,
        snr_db=snr,
        ssid=ssid,
        bssid=bssid,
        interference=interference,
    )
    with cli_session() as session:
        floor_plan.add_points(
            session=session,
            actor=cli_actor(),
            survey_id=survey_id,
            floor=floor,
            points=[point],
            now=utcnow(),
        )
    console.print(f"floor {floor}: 1 point added", highlight=False)


def _radio(band: Band, text: str) -> RadioPlan:
    channel, _, power = text.partition("/")
    try:
        return RadioPlan(band=band, channel=int(channel), power_dbm=int(power))
    except ValueError:
        raise typer.BadParameter(f"{text!r}: write CHANNEL/POWER_DBM, e.g. 36/17") from None


@survey_app.command("ap-add")
@handle_errors
def ap_add_cmd(
    survey_id: SurveyId,
    floor: Floor,
    name: Annotated[str, typer.Option(help="AP name, e.g. 1F-受付-AP01")],
    model: Annotated[str, typer.Option(help="MR36, CW9162 …")],
    x: Annotated[float, typer.Option(help="metres from the left")],
    y: Annotated[float, typer.Option(help="metres from the top")],
    mounting: Mounting = Mounting.CEILING,
    ch24: Annotated[
        str | None, typer.Option("--2g", help="2.4 GHz CHANNEL/POWER, e.g. 1/14")
    ] = None,
    ch5: Annotated[str | None, typer.Option("--5g", help="5 GHz CHANNEL/POWER, e.g. 36/17")] = None,
    ch6: Annotated[str | None, typer.Option("--6g", help="6 GHz CHANNEL/POWER")] = None,
    serial: str | None = None,
) -> None:
    """Plan an AP position with its channels and power."""
    radios = [
        _radio(band, text)
        for band, text in ((Band.GHZ_24, ch24), (Band.GHZ_5, ch5), (Band.GHZ_6, ch6))
        if text
    ]
    with cli_session() as session:
        ap = floor_plan.add_ap(
            session=session,
            actor=cli_actor(),
            survey_id=survey_id,
            floor=floor,
            name=name,
            model=model,
            x_m=x,
            y_m=y,
            mounting=mounting,
            radios=radios,
            serial=serial,
            now=utcnow(),
        )
    console.print(f"AP {ap.name} {ap.model} planned on {floor}", highlight=False)


@survey_app.command("serials")
@handle_errors
def serials_cmd(
    survey_id: SurveyId,
    pairs: Annotated[
        list[str], typer.Argument(help="AP_NAME=SERIAL for each installed AP (AP_NAME= clears)")
    ],
) -> None:
    """Record installed APs' serials; the approved version stays approved."""
    serials: dict[str, str | None] = {}
    for pair in pairs:
        name, sep, serial = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"{pair!r}: write AP_NAME=SERIAL")
        serials[name.strip()] = serial.strip() or None
    with cli_session() as session:
        aps = floor_plan.record_serials(
            session=session, actor=cli_actor(), survey_id=survey_id, serials=serials, now=utcnow()
        )
    for ap in aps:
        console.print(f"{ap.name}: {ap.serial or '(none)'}", highlight=False)


@survey_app.command("ssids")
@handle_errors
def ssids_cmd(
    survey_id: SurveyId,
    ssid: Annotated[
        list[str], typer.Option("--ssid", help="NAME[:open|psk[:VLAN]], repeat for each")
    ],
) -> None:
    """Record the SSIDs planned with the customer (replaces the list)."""
    items = []
    for text in ssid:
        name, _, rest = text.partition(":")
        auth, _, vlan = rest.partition(":")
        items.append(
            SsidData(name=name, auth_mode=auth or "psk", vlan_id=int(vlan) if vlan else None)
        )
    with cli_session() as session:
        service.set_ssids(
            session=session, actor=cli_actor(), survey_id=survey_id, ssids=items, now=utcnow()
        )
    console.print(f"{len(items)} SSID(s) recorded", highlight=False)


@survey_app.command("diagram")
@handle_errors
def diagram_cmd(survey_id: SurveyId, out: Out, version: VersionOpt = None) -> None:
    """Write the network diagram as SVG."""
    with cli_session() as session:
        svg = versions.network_diagram_svg(session=session, survey_id=survey_id, version=version)
    out.write_bytes(svg)
    console.print(f"wrote {out} ({len(svg)} bytes)", highlight=False)


@survey_app.command("coverage")
@handle_errors
def coverage_cmd(
    survey_id: SurveyId, floor: Floor, out: Out, version: VersionOpt = None, dpi: int = 100
) -> None:
    """Write a floor's coverage picture as PNG."""
    with cli_session() as session:
        png = versions.coverage_png(
            session=session,
            survey_id=survey_id,
            floor=floor,
            storage_dir=settings().survey_dir,
            version=version,
            dpi=dpi,
        )
    out.write_bytes(png)
    console.print(f"wrote {out} ({len(png)} bytes)", highlight=False)


@survey_app.command("issue")
@handle_errors
def issue_cmd(survey_id: SurveyId, json_out: JsonOpt = False) -> None:
    """Issue the draft version to the customer (freezes its data and PDF)."""
    with cli_session() as session:
        version = versions.issue_version(
            session=session,
            actor=cli_actor(),
            survey_id=survey_id,
            storage_dir=settings().survey_dir,
            now=utcnow(),
        )
        out = VersionOut.of(version)
    _version(out, json_out)


@survey_app.command("pdf")
@handle_errors
def pdf_cmd(survey_id: SurveyId, out: Out, version: VersionOpt = None) -> None:
    """Write the preparation sheet PDF (as issued; a draft preview for a draft)."""
    with cli_session() as session:
        row, pdf = versions.version_pdf(
            session=session, survey_id=survey_id, number=version, storage_dir=settings().survey_dir
        )
    out.write_bytes(pdf)
    console.print(
        f"wrote {out}: version {row.number} {row.status}, {len(pdf)} bytes", highlight=False
    )


@survey_app.command("approve")
@handle_errors
def approve_cmd(
    survey_id: SurveyId,
    version: Annotated[int, typer.Option("--version", help="the version the customer signed")],
    approver: Annotated[str, typer.Option(help="the customer's signatory")],
    approved_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD of the signature")],
    signature_ref: Annotated[str, typer.Option(help="where the signed copy is kept")] = "",
    note: str = "",
    json_out: JsonOpt = False,
) -> None:
    """Record the customer's approval (signature on the completion-confirmation field)."""
    with cli_session() as session:
        row = versions.approve_version(
            session=session,
            actor=cli_actor(),
            survey_id=survey_id,
            number=version,
            approver_name=approver,
            approved_on=date.fromisoformat(approved_on),
            signature_ref=signature_ref,
            note=note,
            now=utcnow(),
        )
        out = VersionOut.of(row)
    _version(out, json_out)


@survey_app.command("sheet")
@handle_errors
def sheet_cmd(survey_id: SurveyId, out: Out, version: VersionOpt = None) -> None:
    """Write the wireless settings sheet (YAML) generated from the approved version."""
    with cli_session() as session:
        text = wireless_sheet_yaml(session=session, survey_id=survey_id, version=version)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}", highlight=False)
