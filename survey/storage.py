"""Content-addressed files of the survey: layout images and issued sheet PDFs."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from core.errors import Conflict, NotFound, PayloadTooLarge, Problem, ValidationFailed

MAX_LAYOUT_BYTES = 8 * 1024 * 1024
MAX_LAYOUT_PIXELS = 25_000_000  # 6000 × 4000 px; an A2 plan scanned at 200 dpi is 15 Mpx
LAYOUT_FORMATS = {"PNG": "png", "JPEG": "jpg"}
PREVIEW_PX = 2000  # the largest a coverage picture (8 in at 250 dpi) can show a layout
UNREADABLE = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
)


@dataclass(frozen=True, slots=True)
class LayoutImage:
    """A checked layout image: its format, pixel size and content hash."""

    suffix: str
    width_px: int
    height_px: int
    sha256: str
    preview: bytes = b""
    """A PNG at most PREVIEW_PX on a side: what the coverage pictures draw, so no render
    decodes the full-size original again."""


def check_layout_image(
    data: bytes,
    name: str = "layout",
    *,
    max_bytes: int = MAX_LAYOUT_BYTES,
    max_pixels: int = MAX_LAYOUT_PIXELS,
) -> LayoutImage:
    """PNG or JPEG bytes, within the byte and pixel limits, that really decode as an image.

    The pixel size is read from the header and checked before a single pixel is decoded, so a
    small file claiming a huge picture (a decompression bomb) costs nothing; Pillow's own bomb
    guard is turned into a refusal too.
    """
    if not data:
        raise ValidationFailed([Problem("the layout file is empty", name)])
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"{name}: the layout is {len(data):,} bytes; at most {max_bytes:,} are accepted",
            limit_bytes=max_bytes,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # ours is stricter
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                kind = image.format or ""
                width, height = image.size
        if kind not in LAYOUT_FORMATS:
            raise ValidationFailed(
                [Problem(f"is a {kind} image; only PNG or JPEG is accepted", name)]
            )
        _check_pixels(width, height, max_pixels, name)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                preview = preview_png(image)
    except Image.DecompressionBombError:
        raise ValidationFailed(
            [Problem(f"the layout has more than {max_pixels:,} pixels", name)]
        ) from None
    except (*UNREADABLE, Image.DecompressionBombWarning):
        raise ValidationFailed(
            [Problem("is not a readable image; upload a PNG or JPEG floor layout", name)]
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    return LayoutImage(LAYOUT_FORMATS[kind], width, height, digest, preview)


def preview_png(image: Image.Image) -> bytes:
    """The picture scaled (in place: no full-size copy) to fit PREVIEW_PX², as RGB PNG bytes."""
    image.thumbnail((PREVIEW_PX, PREVIEW_PX))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def store_preview(storage_dir: Path, sha256: str, preview: bytes) -> Path:
    """Keep a layout's preview next to it (derived data: rewritten whenever it is missing)."""
    folder = storage_dir / "layouts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha256}.preview.png"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".preview-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(preview)
    os.replace(tmp, path)
    return path


def load_layout_preview(storage_dir: Path, sha256: str, suffix: str) -> bytes:
    """The layout's preview; made from the hash-checked original (within the limits) if missing."""
    path = storage_dir / "layouts" / f"{sha256}.preview.png"
    if path.exists():
        return path.read_bytes()
    original = load_blob(storage_dir, "layouts", sha256, suffix)
    checked = check_layout_image(original, f"{sha256}.{suffix}", max_bytes=len(original))
    store_preview(storage_dir, sha256, checked.preview)
    return checked.preview


def _check_pixels(width: int, height: int, max_pixels: int, name: str) -> None:
    if width * height > max_pixels:
        raise ValidationFailed(
            [
                Problem(
                    f"the layout is {width}×{height} = {width * height:,} pixels; at most "
                    f"{max_pixels:,} are accepted (scale it down, e.g. to 6000×4000)",
                    name,
                )
            ]
        )


def store_blob(storage_dir: Path, kind: str, sha256: str, suffix: str, data: bytes) -> Path:
    """Write content-addressed bytes atomically (a second write of the same content is a no-op)."""
    folder = storage_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha256}.{suffix}"
    if path.exists():
        return path
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return path


def load_blob(storage_dir: Path, kind: str, sha256: str, suffix: str) -> bytes:
    path = storage_dir / kind / f"{sha256}.{suffix}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"stored file {path} is missing", path=str(path)) from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Conflict(f"stored file {path} does not match its hash", path=str(path))
    return data
