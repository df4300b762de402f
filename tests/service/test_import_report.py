"""An import's problems located by row for the web's table; the upload kept until commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from core.errors import NotFound, Problem, ValidationFailed
from inventory import importer
from inventory.import_report import RowProblem, located, stash_upload, stashed_upload
from tests.service.helpers import ACTOR, T0, write_csv


def test_every_problem_lands_on_its_row_and_column(session: Session, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "Q2FY-BBBB-0001,MX67,,in_stock,,倉庫,,,,,,\n"
        "Q2FY-BBBB-0002,NOPE,,in_stock,,倉庫,,,,,,\n"
        "Q2FY-BBBB-0001,MX67,,limbo,,倉庫,,,,,,\n",
        name="stock.csv",
    )
    report = importer.import_devices(session=session, actor=ACTOR, path=path, now=T0)
    rows = located(report.source, report.problems)
    assert [(p.row, p.column) for p in rows] == [(3, "model"), (4, "status")]
    assert "NOPE" in rows[0].message and "limbo" in rows[1].message


def test_a_problem_about_the_whole_file_has_no_row() -> None:
    problems = [Problem("the file has no data rows under its header", "x.csv")]
    assert located("x.csv", problems) == [
        RowProblem(None, None, "the file has no data rows under its header")
    ]
    assert located("x.csv", [Problem("bad", "x.csv line 7")]) == [RowProblem(7, None, "bad")]


def test_the_upload_is_kept_by_its_digest(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    token = stash_upload(spool=spool, name="在庫.csv", content=b"serial\n")
    assert stashed_upload(spool=spool, token=token) == ("在庫.csv", b"serial\n")
    with pytest.raises(NotFound):
        stashed_upload(spool=spool, token="0" * 64)
    with pytest.raises(NotFound):
        stashed_upload(spool=spool, token="../../etc/passwd")
    with pytest.raises(ValidationFailed):
        stash_upload(spool=spool, name="x.exe", content=b"MZ")
    # a day later the file is dropped when the next one is kept
    stash_upload(spool=spool, name="b.csv", content=b"other\n", now=10**10)
    with pytest.raises(NotFound):
        stashed_upload(spool=spool, token=token)
