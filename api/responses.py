"""Response helpers shared by the routers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fastapi.responses import StreamingResponse

from core.csv_export import iter_csv


def csv_response(rows: Iterable[Sequence[object]], filename: str) -> StreamingResponse:
    """Rows as a CSV download through the one safe writer (UTF-8 with a BOM for Excel)."""
    return StreamingResponse(
        iter_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
