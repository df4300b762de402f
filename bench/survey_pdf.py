"""Benchmark: the preparation-sheet PDF of a 5-floor survey with 2,000 measurements and 40 APs.

Prints the time to draw the coverage pictures, to build the PDF, the PDF's size, and the whole
`issue_version` use case on a temporary SQLite database (snapshot, pictures, PDF, hashes).
Run by hand:  .venv/bin/python bench/survey_pdf.py [--floors 5] [--points 2000] [--aps 40]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import migrate  # noqa: E402
from core.audit import Actor  # noqa: E402
from core.db import make_engine, session_scope  # noqa: E402
from survey import floor_plan, service, versions  # noqa: E402
from survey.domain import Band, ExclusionReason, Measurement, Mounting, RadioPlan  # noqa: E402
from survey.prep_sheet_pdf import render_prep_sheet  # noqa: E402
from survey.snapshot import SsidData  # noqa: E402

ACTOR = Actor(name="bench", role="admin")
NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
WIDTH_M, HEIGHT_M = 60.0, 40.0


def layout_image(seed: int) -> bytes:
    """A 1600×1067 floor drawing: walls and rooms, as a scanned layout would be."""
    rng = random.Random(seed)
    image = Image.new("RGB", (1600, 1067), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(0, 1500), rng.randrange(0, 1000)
        draw.rectangle(
            (x, y, x + rng.randrange(60, 300), y + rng.randrange(60, 200)), outline="black", width=3
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def build(session_url: str, storage: Path, floors: int, points: int, aps: int) -> int:
    rng = random.Random(7)
    engine = make_engine(session_url)
    with session_scope(engine) as session:
        survey = service.create_survey(
            session=session,
            actor=ACTOR,
            customer="ベンチマーク株式会社",
            site="ベンチ本社ビル",
            surveyor="計測 太郎",
            survey_date=date(2026, 11, 2),
            address="東京都千代田区丸の内1-1-1",
            gateway_model="MX85",
            switch_model="MS120-24P",
            now=NOW,
        )
        sid = survey.id or 0
        service.set_ssids(
            session=session,
            actor=ACTOR,
            survey_id=sid,
            ssids=[SsidData("BENCH-STAFF", "psk", 10), SsidData("BENCH-GUEST", "open")],
            now=NOW,
        )
        for f in range(floors):
            name = f"{f + 1}F"
            service.add_floor(
                session=session,
                actor=ACTOR,
                survey_id=sid,
                name=name,
                width_m=WIDTH_M,
                height_m=HEIGHT_M,
                now=NOW,
            )
            service.set_layout(
                session=session,
                actor=ACTOR,
                survey_id=sid,
                floor=name,
                data=layout_image(f),
                storage_dir=storage,
                now=NOW,
            )
            floor_plan.add_exclusion(
                session=session, actor=ACTOR, survey_id=sid, floor=name,
                reason=ExclusionReason.OUTDOOR, x_m=50, y_m=0, width_m=10, height_m=8,
                note="バルコニー", now=NOW,
            )  # fmt: skip
            floor_plan.add_points(
                session=session,
                actor=ACTOR,
                survey_id=sid,
                floor=name,
                points=[
                    Measurement(
                        round(rng.uniform(0, WIDTH_M), 2),
                        round(rng.uniform(0, HEIGHT_M), 2),
                        Band.GHZ_5 if i % 2 == 0 else Band.GHZ_24,
                        36 if i % 2 == 0 else 6,
                        round(rng.uniform(-92, -35), 1),
                        round(rng.uniform(5, 40), 1),
                        interference=rng.random() < 0.05,
                    )
                    for i in range(points // floors)
                ],
                now=NOW,
            )
            for a in range(aps // floors):
                floor_plan.add_ap(
                    session=session,
                    actor=ACTOR,
                    survey_id=sid,
                    floor=name,
                    name=f"{name}-AP{a + 1:02d}",
                    model="MR46",
                    x_m=5 + a * 6,
                    y_m=20,
                    mounting=Mounting.CEILING,
                    radios=[
                        RadioPlan(Band.GHZ_24, (1, 6, 11)[a % 3], 14),
                        RadioPlan(Band.GHZ_5, 36 + 4 * (a % 4), 17),
                    ],
                    serial=f"Q3AC-BN{f:02d}-{a:04d}",
                    now=NOW,
                )
    engine.dispose()
    return sid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--floors", type=int, default=5)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--aps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        storage = Path(tmp) / "store"
        migrate.upgrade(url)
        started = time.perf_counter()
        sid = build(url, storage, args.floors, args.points, args.aps)
        took = time.perf_counter() - started
        print(
            f"recorded {args.floors} floors, {args.points} points, {args.aps} APs in {took:.2f} s"
        )
        engine = make_engine(url)
        with session_scope(engine) as session:
            survey = service.get_survey(session=session, survey_id=sid)
            data = versions.snapshot(session=session, survey=survey)
        cover_times, pdf_times, sizes = [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            coverage = {
                f.name: versions.floor_coverage(f, storage_dir=storage) for f in data.floors
            }
            t1 = time.perf_counter()
            pdf = render_prep_sheet(data, version=1, issued_on=date(2026, 11, 5), coverage=coverage)
            t2 = time.perf_counter()
            cover_times.append(t1 - t0)
            pdf_times.append(t2 - t1)
            sizes.append(len(pdf))
        print(
            f"coverage pictures ({args.floors} PNGs): median {statistics.median(cover_times):.2f} s"
        )
        print(f"PDF build (reportlab):            median {statistics.median(pdf_times):.2f} s")
        pictures = sum(len(c) for c in coverage.values()) / 1024
        print(f"PDF size: {sizes[0] / 1024:.0f} KiB; coverage PNGs {pictures:.0f} KiB")
        t0 = time.perf_counter()
        with session_scope(engine) as session:
            version = versions.issue_version(
                session=session, actor=ACTOR, survey_id=sid, storage_dir=storage, now=NOW
            )
        took = time.perf_counter() - t0
        size = (version.pdf_size or 0) / 1024
        print(f"issue_version (snapshot, pictures, PDF, hash, store): {took:.2f} s, {size:.0f} KiB")
        engine.dispose()


if __name__ == "__main__":
    main()
