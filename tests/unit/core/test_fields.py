"""Bounded text: lengths at their edges, control, format and bidi characters refused in names."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from core.fields import Code, Email, HostName, LongName, Name, Note, Number, OptionalLine, ShortNote


class Form(BaseModel):
    code: Code = "c"
    number: Number = "n"
    name: Name = "n"
    long_name: LongName = "l"
    optional: OptionalLine = ""
    email: Email = ""
    host: HostName = "h"
    note: Note = ""
    short_note: ShortNote = ""


LIMITS = [
    ("code", 40),
    ("number", 80),
    ("name", 120),
    ("long_name", 200),
    ("optional", 200),
    ("email", 254),
    ("host", 255),
    ("note", 2000),
    ("short_note", 500),
]


@pytest.mark.parametrize(("field", "limit"), LIMITS)
def test_the_limit_is_accepted_and_one_more_is_refused(field: str, limit: int) -> None:
    assert len(getattr(Form(**{field: "あ" * limit}), field)) == limit
    with pytest.raises(ValidationError):
        Form(**{field: "あ" * (limit + 1)})


@pytest.mark.parametrize("field", ["code", "number", "name", "long_name", "host"])
def test_a_name_may_not_be_empty_or_blank(field: str) -> None:
    for value in ("", "   "):
        with pytest.raises(ValidationError):
            Form(**{field: value})


def test_names_are_trimmed() -> None:
    assert Form(name="  さくら商事 ").name == "さくら商事"


BAD_IN_NAMES = [
    "\x00",  # NUL
    "\n",
    "\r",
    "\t",
    "\x1b",  # ESC
    "\x7f",  # DEL
    "\u0085",  # NEL
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u202a",  # LEFT-TO-RIGHT EMBEDDING
    "\u2066",  # LEFT-TO-RIGHT ISOLATE
    "\u200b",  # ZERO WIDTH SPACE
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\ufeff",  # BOM
    "\u2028",  # LINE SEPARATOR
    "\ud800",  # lone surrogate
]


@pytest.mark.parametrize("char", BAD_IN_NAMES)
@pytest.mark.parametrize("field", ["code", "name", "long_name", "optional", "email", "host"])
def test_invisible_and_control_characters_are_refused_in_names(field: str, char: str) -> None:
    with pytest.raises(ValidationError):
        Form(**{field: f"abc{char}def"})


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\u202e", "\u2066", "\ufeff", "\ud800"])
def test_free_text_refuses_controls_and_bidi_overrides(char: str) -> None:
    with pytest.raises(ValidationError):
        Form(note=f"line{char}")


def test_free_text_keeps_line_breaks_tabs_and_emoji_joiners() -> None:
    text = "電源が落ちる\r\n再起動後も同じ\tです 👨\u200d🔧"
    assert Form(note=text).note == text


def test_japanese_and_ordinary_punctuation_are_names() -> None:
    assert Form(name="株式会社さくら（本社）・東京-1").name == "株式会社さくら（本社）・東京-1"
