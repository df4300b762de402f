"""Content-addressed files of the survey: layout images and issued sheet PDFs."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from core.errors import Conflict, NotFound, Problem, ValidationFailed

MAX_LAYOUT_BYTES = 20 * 1024 * 1024
LAYOUT_FORMATS = {"PNG": "png", "JPEG": "jpg"}


@dataclass(frozen=True, slots=True)
class LayoutImage:
    """A checked layout image: its format, pixel size and content hash."""

    suffix: str
    width_px: int
    height_px: int
    sha256: str


def check_layout_image(data: bytes, name: str = "layout") -> LayoutImage:
    """PNG or JPEG bytes that really decode as an image; anything else is refused."""
    if not data:
        raise ValidationFailed([Problem("the layout file is empty", name)])
    if len(data) > MAX_LAYOUT_BYTES:
        raise ValidationFailed(
            [Problem(f"the layout is larger than {MAX_LAYOUT_BYTES // 2**20} MB", name)]
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed(
            [Problem("is not a readable image; upload a PNG or JPEG floor layout", name)]
        ) from None
    if kind not in LAYOUT_FORMATS:
        raise ValidationFailed([Problem(f"is a {kind} image; only PNG or JPEG is accepted", name)])
    return LayoutImage(LAYOUT_FORMATS[kind], width, height, hashlib.sha256(data).hexdigest())


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
