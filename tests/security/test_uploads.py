"""Uploads and renders are bounded: sheets, imports, Excel zips, layouts, render slots.

Limits as stated in the settings: a sheet of at most `sheet_max_bytes` (2 MiB) and 100,000 YAML
values, an import of at most `import_max_bytes` (4 MiB) and `import_max_rows` (20,000) rows, an
Excel upload expanding to at most 20 × its byte limit, a layout of at most `layout_max_bytes`
(8 MiB) and `layout_max_pixels` (25 Mpx) checked from its header, upload file names one visible
line of at most 200 characters; renders at most `render_concurrency` at once, cached by content.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.security.abuse import bomb_png, yaml_alias_bomb, zip_bomb_xlsx
from tests.security.conftest import ClientFactory
from tests.service.survey_builders import png_bytes

SURVEY = {
    "customer": "株式会社みなと",
    "site": "本社",
    "surveyor": "田中",
    "survey_date": "2026-11-02",
}


# --- uploads ---------------------------------------------------------------------------------


def test_a_sheet_over_its_limit_is_413(app_client: TestClient, tokens: dict[str, str]) -> None:
    app_client.app.state.settings.sheet_max_bytes = 1000  # type: ignore[attr-defined]
    sheet = b"site:\n  name: x\n" + b"#" * 1000
    response = app_client.post(
        "/api/v1/sheets/validate",
        files={"file": ("s.yaml", sheet, "application/yaml")},
        headers=bearer(tokens["field"]),
    )
    assert response.status_code == 413
    assert "s.yaml" in response.json()["message"] and "1,000 bytes" in response.json()["message"]


def test_a_yaml_alias_bomb_is_refused_quickly(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    started = time.perf_counter()
    response = app_client.post(
        "/api/v1/sheets/validate",
        files={"file": ("bomb.yaml", yaml_alias_bomb().encode(), "application/yaml")},
        headers=bearer(tokens["field"]),
    )
    assert response.status_code == 422
    assert "100,000 values" in response.json()["problems"][0]["message"]
    assert time.perf_counter() - started < 1.0


def test_an_excel_zip_bomb_is_refused_before_openpyxl(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    app_client.app.state.settings.import_max_bytes = 100_000  # type: ignore[attr-defined]
    bomb = zip_bomb_xlsx(4 * 2**20)  # 4 MiB expanded > 20 × 100 kB
    assert len(bomb) < 100_000
    response = app_client.post(
        "/api/v1/inventory/import",
        files={"file": ("devices.xlsx", bomb, "application/octet-stream")},
        headers=bearer(tokens["logistics"]),
    )
    assert response.status_code == 413
    assert "expands to" in response.json()["message"]


def test_import_rows_are_bounded(app_client: TestClient, tokens: dict[str, str]) -> None:
    app_client.app.state.settings.import_max_rows = 3  # type: ignore[attr-defined]
    header = "serial,model,status,site\n"
    rows = [f"Q2FY-ROWS-{9001 + i},MX67,in_stock,倉庫\n" for i in range(4)]

    def upload(n: int) -> int:
        body = (header + "".join(rows[:n])).encode()
        return app_client.post(
            "/api/v1/inventory/import",
            files={"file": ("d.csv", body, "text/csv")},
            headers=bearer(tokens["logistics"]),
        ).status_code

    assert upload(3) == 200
    assert upload(4) == 422


# --- images ----------------------------------------------------------------------------------


@pytest.fixture
def floor_url(app_client: TestClient, tokens: dict[str, str], tmp_path: Path) -> str:
    app_client.app.state.settings.survey_dir = tmp_path  # type: ignore[attr-defined]
    h = bearer(tokens["field"])
    sid = app_client.post("/api/v1/surveys", json=SURVEY, headers=h).json()["id"]
    floor = {"name": "1F", "width_m": 30, "height_m": 20}
    assert (
        app_client.post(f"/api/v1/surveys/{sid}/floors", json=floor, headers=h).status_code == 201
    )
    return f"/api/v1/surveys/{sid}/floors/1F/layout"


def test_a_177_megapixel_png_is_refused_from_its_header(
    app_client: TestClient, tokens: dict[str, str], floor_url: str, tmp_path: Path
) -> None:
    bomb = bomb_png()
    started = time.perf_counter()
    response = app_client.put(
        floor_url, files={"file": ("plan.png", bomb, "image/png")}, headers=bearer(tokens["field"])
    )
    assert response.status_code == 422
    assert "13300×13300 = 176,890,000 pixels" in response.json()["problems"][0]["message"]
    assert time.perf_counter() - started < 1.0
    assert not (tmp_path / "layouts").exists() or not any((tmp_path / "layouts").iterdir())


def test_the_pixel_limit_is_inclusive(
    app_client: TestClient, tokens: dict[str, str], floor_url: str
) -> None:
    app_client.app.state.settings.layout_max_pixels = 60 * 40  # type: ignore[attr-defined]
    h = bearer(tokens["field"])
    exact = app_client.put(
        floor_url, files={"file": ("a.png", png_bytes((60, 40)), "image/png")}, headers=h
    )
    assert exact.status_code == 200, exact.text
    over = app_client.put(
        floor_url, files={"file": ("b.png", png_bytes((60, 41)), "image/png")}, headers=h
    )
    assert over.status_code == 422


def test_a_layout_over_its_byte_limit_is_413(
    app_client: TestClient, tokens: dict[str, str], floor_url: str
) -> None:
    app_client.app.state.settings.layout_max_bytes = 500  # type: ignore[attr-defined]
    response = app_client.put(
        floor_url,
        files={"file": ("c.png", b"\x89PNG" + b"\x00" * 600, "image/png")},
        headers=bearer(tokens["field"]),
    )
    assert response.status_code == 413


def test_pillows_own_bomb_limit_is_a_clear_refusal_too() -> None:
    from core.errors import ValidationFailed
    from survey.storage import check_layout_image

    with pytest.raises(ValidationFailed) as refused:
        check_layout_image(bomb_png(14_000, 14_000), "huge.png")  # 196 Mpx: Pillow raises
    assert "pixels" in str(refused.value)


def test_coverage_is_drawn_once_per_content(
    app_client: TestClient, tokens: dict[str, str], floor_url: str
) -> None:
    h = bearer(tokens["field"])
    base = floor_url.removesuffix("/layout")
    gate = app_client.app.state.render_gate  # type: ignore[attr-defined]
    first = app_client.get(f"{base}/coverage.png", headers=h)
    again = app_client.get(f"{base}/coverage.png", headers=h)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content and gate.renders == 1
    point = {"x_m": 1, "y_m": 1, "band": "5", "channel": 36, "rssi_dbm": -60}
    added = app_client.post(f"{base}/points", json={"points": [point]}, headers=h)
    assert added.status_code == 201, added.text
    changed = app_client.get(f"{base}/coverage.png", headers=h)
    assert changed.content != first.content and gate.renders == 2


def test_a_render_finding_every_slot_taken_is_503_with_retry_after(
    client_with: ClientFactory, tokens: dict[str, str], tmp_path: Path
) -> None:
    client = client_with(render_concurrency=1, render_wait_seconds=0.05, survey_dir=tmp_path)
    h = bearer(tokens["field"])
    sid = client.post("/api/v1/surveys", json=SURVEY, headers=h).json()["id"]
    floor = {"name": "1F", "width_m": 30, "height_m": 20}
    assert client.post(f"/api/v1/surveys/{sid}/floors", json=floor, headers=h).status_code == 201
    gate = client.app.state.render_gate  # type: ignore[attr-defined]
    with gate.slot():  # another request is drawing
        busy = client.get(f"/api/v1/surveys/{sid}/floors/1F/coverage.png", headers=h)
    assert busy.status_code == 503
    assert busy.json()["error"] == "busy" and int(busy.headers["retry-after"]) >= 1
    assert client.get(f"/api/v1/surveys/{sid}/floors/1F/coverage.png", headers=h).status_code == 200


def test_a_change_request_sheet_over_its_limit_is_413(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    app_client.app.state.settings.sheet_max_bytes = 1000  # type: ignore[attr-defined]
    response = app_client.post(
        "/api/v1/change-requests",
        files={"file": ("cr.yaml", b"site:\n" + b"#" * 1000, "application/yaml")},
        data={"notice_email": "it@example.jp"},
        headers=bearer(tokens["noc"]),
    )
    assert response.status_code == 413
    assert "cr.yaml" in response.json()["message"]


def raw_multipart(filename: bytes, fields: dict[str, str]) -> bytes:
    """A multipart body with the file name's bytes as given (httpx would escape a NUL)."""
    parts = [
        f'--nk\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        b'--nk\r\nContent-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
        b"Content-Type: application/yaml\r\n\r\nsite:\n  name: x\n\r\n--nk--\r\n"
    )
    return b"".join(parts)


@pytest.mark.parametrize(
    ("url", "role", "fields"),
    [
        ("/api/v1/sheets/validate", "field", {}),
        ("/api/v1/inventory/import", "logistics", {}),
        ("/api/v1/change-requests", "noc", {"notice_email": "it@example.jp"}),
    ],
)
@pytest.mark.parametrize(
    "bad", [b"a\x00.yaml", "evil\u202elmx.yaml".encode(), b"x" * 201 + b".yaml"]
)
def test_an_upload_file_name_is_a_visible_bounded_line(
    app_client: TestClient,
    tokens: dict[str, str],
    url: str,
    role: str,
    fields: dict[str, str],
    bad: bytes,
) -> None:
    response = app_client.post(
        url,
        content=raw_multipart(bad, fields),
        headers={**bearer(tokens[role]), "content-type": "multipart/form-data; boundary=nk"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["location"] == "file"


def test_a_deeply_nested_yaml_sheet_is_a_422(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    sheet = b"site: " + b"[" * 50_000
    response = app_client.post(
        "/api/v1/sheets/validate",
        files={"file": ("deep.yaml", sheet, "application/yaml")},
        headers=bearer(tokens["field"]),
    )
    assert response.status_code == 422
    assert "nested too deeply" in response.json()["problems"][0]["message"]


def test_an_oversized_csv_cell_is_a_422_naming_its_line(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    body = b'serial,model,status,notes\nQ2FY-CELL-0001,MX67,in_stock,"' + b"x" * 200_000 + b'"\n'
    response = app_client.post(
        "/api/v1/inventory/import",
        files={"file": ("d.csv", body, "text/csv")},
        headers=bearer(tokens["logistics"]),
    )
    assert response.status_code == 422
    assert response.json()["problems"][0]["location"] == "d.csv line 2"
