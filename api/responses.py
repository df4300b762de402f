"""Response helpers shared by the routers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fastapi.responses import Response, StreamingResponse

from core.csv_export import iter_csv


def csv_response(rows: Iterable[Sequence[object]], filename: str) -> StreamingResponse:
    """Rows as a CSV download through the one safe writer (UTF-8 with a BOM for Excel)."""
    return StreamingResponse(
        iter_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def attachment(body: bytes, media_type: str, name: str) -> Response:
    """A download named `name` (a PDF, a CSV already rendered)."""
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def pdf_attachment(pdf: bytes, name: str) -> Response:
    return attachment(pdf, "application/pdf", name)


def csv_attachment(text: str, name: str) -> Response:
    return attachment(text.encode("utf-8"), "text/csv; charset=utf-8", name)
