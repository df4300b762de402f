"""Hostile inputs built cheaply: a decompression-bomb PNG, a zip bomb, a YAML alias bomb."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def bomb_png(width: int = 13_300, height: int = 13_300) -> bytes:
    """A valid 1-bit PNG of width × height pixels (177 Mpx by default) in a few tens of KB."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte + a row of black pixels
    packer = zlib.compressobj(9)
    parts = [packer.compress(row * 1000) for _ in range(height // 1000)]
    parts.append(packer.compress(row * (height % 1000)))
    parts.append(packer.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def zip_bomb_xlsx(expanded_bytes: int) -> bytes:
    """A zip named like a workbook whose one member expands to `expanded_bytes` zeros."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/sharedStrings.xml", "w") as member,
    ):
        block = b"\x00" * 2**20
        for _ in range(expanded_bytes // len(block)):
            member.write(block)
    return buffer.getvalue()


def yaml_alias_bomb(levels: int = 9) -> str:
    """Each level is a list of ten aliases of the one before: 10**levels values in ~1 KB."""
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"
