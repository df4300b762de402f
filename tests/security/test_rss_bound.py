"""The resident-memory bound of a real `netkeep serve` under the abuse of issue 19, measured.

Stated bound: the server's peak RSS (VmHWM) stays under RSS_BOUND_MIB = 640 MiB through the
whole sequence below — its idle footprint (~200 MiB: Python, FastAPI, SQLAlchemy, matplotlib's
fonts) plus one layout decode at the pixel limit (25 Mpx × 3 bytes, decoded once at upload) plus
`render_concurrency` (2) renders at the largest dpi (~100–150 MiB each). The refused abuse itself
costs nothing: a 50 MB body and a 177-megapixel PNG are answered 413/422 within a second and
leave the RSS within ABUSE_SLACK_MIB of where it was.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from PIL import Image

from tests.security.abuse import bomb_png
from tests.security.serve import netkeep_serve, raw_post, rss_kib

RSS_BOUND_MIB = 640
ABUSE_SLACK_MIB = 50
FIFTY_MB = 50 * 2**20
BOUNDARY = "nk-boundary"


def pieces(total: int, size: int = 2**20) -> Iterator[bytes]:
    chunk = b"1," * (size // 2)
    for _ in range(total // size):
        yield chunk


def chunked(parts: Iterator[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield f"{len(part):x}\r\n".encode() + part + b"\r\n"


def test_abuse_is_refused_fast_and_memory_stays_bounded(tmp_path: Path) -> None:
    with netkeep_serve(tmp_path) as served:
        mib = lambda field="VmRSS": rss_kib(served.pid, field) / 1024  # noqa: E731
        idle = mib()
        viewer = {"Authorization": f"Bearer {served.tokens['viewer']}"}
        field = {"Authorization": f"Bearer {served.tokens['field']}"}
        form = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

        # a 50 MB sheet, its length declared: refused on the headers
        declared = raw_post(
            served.port,
            "/api/v1/sheets/validate",
            {**viewer, **form, "Content-Length": str(FIFTY_MB)},
            pieces(FIFTY_MB),
        )
        assert declared.status == 413 and b"payload_too_large" in declared.body
        assert declared.seconds < 1.0 and declared.sent < FIFTY_MB

        # the same streamed without a length: refused once 10 MiB have arrived
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="s.yaml"\r\n'
            "Content-Type: application/yaml\r\n\r\n"
        ).encode()
        streamed = raw_post(
            served.port,
            "/api/v1/sheets/validate",
            {**viewer, **form, "Transfer-Encoding": "chunked"},
            chunked(iter([head, *pieces(FIFTY_MB)])),
        )
        assert streamed.status == 413 and b"payload_too_large" in streamed.body
        # it must take in 10 MiB first: ~0.4 s on an idle machine, bounded loosely for CI
        assert streamed.seconds < 3.0 and streamed.sent < FIFTY_MB

        client = httpx.Client(base_url=served.url, timeout=120)
        survey = {"customer": "c", "site": "s", "surveyor": "t", "survey_date": "2026-11-02"}
        sid = client.post("/api/v1/surveys", json=survey, headers=field).json()["id"]
        floor = {"name": "1F", "width_m": 30, "height_m": 20}
        assert client.post(f"/api/v1/surveys/{sid}/floors", json=floor, headers=field).is_success
        layout_url = f"/api/v1/surveys/{sid}/floors/1F/layout"

        # a 177-megapixel PNG of a few KB: refused from its header, nothing decoded
        started = time.perf_counter()
        bomb = client.put(
            layout_url, files={"file": ("plan.png", bomb_png(), "image/png")}, headers=field
        )
        assert bomb.status_code == 422 and "176,890,000 pixels" in bomb.text
        assert time.perf_counter() - started < 1.0
        assert mib("VmHWM") < idle + ABUSE_SLACK_MIB, "the refused abuse allocated memory"

        # the heaviest legitimate work: a layout at the pixel limit, six renders at once
        big = io.BytesIO()
        Image.new("RGB", (5000, 5000), "white").save(big, "PNG")
        upload = client.put(
            layout_url, files={"file": ("max.png", big.getvalue(), "image/png")}, headers=field
        )
        assert upload.status_code == 200, upload.text
        statuses: list[int] = []

        def render(dpi: int) -> None:
            answer = client.get(
                f"/api/v1/surveys/{sid}/floors/1F/coverage.png",
                params={"dpi": dpi},
                headers=viewer,
            )
            statuses.append(answer.status_code)

        threads = [threading.Thread(target=render, args=(300 - n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(statuses) <= {200, 503} and 200 in statuses
        peak = mib("VmHWM")
        print(f"\nidle {idle:.0f} MiB, peak {peak:.0f} MiB (bound {RSS_BOUND_MIB} MiB)")
        assert peak < RSS_BOUND_MIB
