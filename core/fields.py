"""Bounded text types shared by every request model: a length limit and no invisible tricks.

A name or identifier is one line of visible text: no control characters (NUL, CR, LF, ESC …),
no format characters (the bidi overrides U+202A–U+202E and isolates U+2066–U+2069 that make
`evil‮fdp.exe` read backwards, zero-width spaces, a stray BOM) and no lone surrogate (it cannot
be stored as UTF-8). Free text (notes, reasons, symptoms) may hold line breaks and tabs and the
joiners emoji need, but still no other control character, bidi control or lone surrogate.
The limits follow the database columns the values land in.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
TEXT_LAYOUT = frozenset("\n\r\t")


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def line_problem(value: str) -> str | None:
    """Why `value` is not one line of visible text, or None when it is."""
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            return f"contains the invisible or control character {_describe(char)}"
    return None


def text_problem(value: str) -> str | None:
    """Why `value` is not acceptable free text, or None when it is."""
    for char in value:
        if char in TEXT_LAYOUT:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in BIDI_CONTROLS or char == "\ufeff":
            return f"contains the control character {_describe(char)}"
    return None


def plain_line(value: str) -> str:
    problem = line_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def plain_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _line(max_length: int, min_length: int = 1) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


# One-line names and identifiers; each limit is the column the value is stored in.
Code = Annotated[str, _line(40), AfterValidator(plain_line)]
"""A short identifier: a dashboard network id, a model, a courier, a tracking number."""
Number = Annotated[str, _line(80), AfterValidator(plain_line)]
"""A business number: contract, change request."""
Name = Annotated[str, _line(120), AfterValidator(plain_line)]
"""A person's, customer's, site's or company's name."""
LongName = Annotated[str, _line(200), AfterValidator(plain_line)]
"""A longer one-line label: an address, a floor, a signature reference, a file name."""
OptionalLine = Annotated[str, _line(200, min_length=0), AfterValidator(plain_line)]
"""A one-line value that may be left empty."""
HostName = Annotated[str, _line(255), AfterValidator(plain_line)]
"""A DNS name or IP address (RFC 1035's 255 characters)."""
Email = Annotated[str, _line(254, min_length=0), AfterValidator(plain_line)]
"""An e-mail address (RFC 5321's 254 characters); its form is checked by the domain."""

# Free text: line breaks allowed.
Note = Annotated[str, StringConstraints(max_length=2000), AfterValidator(plain_text)]
"""A note, reason, symptom or description: up to 2,000 characters, line breaks allowed."""
ShortNote = Annotated[str, StringConstraints(max_length=500), AfterValidator(plain_text)]
"""A short reason: up to 500 characters."""
Secret = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(plain_line)]
"""A password or key typed by a person: never longer than any dashboard accepts."""
