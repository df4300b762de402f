"""A coverage picture matplotlib cannot draw (singular transform) is a 422 naming the floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from numpy.linalg import LinAlgError

from core.errors import ValidationFailed
from survey import coverage, versions
from survey.snapshot import FloorData


def test_singular_geometry_is_a_validation_failure_naming_the_floor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def singular(*_args: Any, **_kwargs: Any) -> bytes:
        raise LinAlgError("Singular matrix")

    monkeypatch.setattr(coverage, "render_coverage", singular)  # versions imports it lazily
    floor = FloorData(name="3F", width_m=10.0, height_m=8.0)
    with pytest.raises(ValidationFailed) as failed:
        versions.floor_coverage(floor, storage_dir=tmp_path)
    assert failed.value.http_status == 422
    assert failed.value.problems[0].location == "floor 3F"
    assert "degenerate" in failed.value.problems[0].message


def test_a_drawable_floor_still_gives_a_png(tmp_path: Path) -> None:
    floor = FloorData(name="3F", width_m=10.0, height_m=8.0)
    assert versions.floor_coverage(floor, storage_dir=tmp_path, dpi=20).startswith(b"\x89PNG")
