"""One message catalogue from `web/messages/*.yaml` (`key: {ja: …, en: …}`); Japanese first."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

MESSAGES = Path(__file__).parent / "messages"
LANGS = ("ja", "en")
DEFAULT_LANG = "ja"
LANG_COOKIE = "netkeep_lang"

Translator = Callable[..., str]


class CatalogueError(Exception):
    """A message file that is not `key: {ja, en}` or repeats another file's key."""


def load_catalogue(folder: Path = MESSAGES) -> dict[str, dict[str, str]]:
    """Every message of every file; a key defined twice or missing a language is an error."""
    catalogue: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping):
            raise CatalogueError(f"{path.name}: must map keys to {{ja, en}}")
        for key, texts in data.items():
            if key in catalogue:
                raise CatalogueError(f"{path.name}: {key!r} is already defined in another file")
            if not isinstance(texts, Mapping) or any(
                not isinstance(texts.get(lang), str) for lang in LANGS
            ):
                raise CatalogueError(f"{path.name}: {key!r} needs ja and en texts")
            catalogue[str(key)] = {lang: str(texts[lang]) for lang in LANGS}
    return catalogue


@cache
def catalogue() -> dict[str, dict[str, str]]:
    return load_catalogue()


def normal_lang(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def translator(locale: str) -> Translator:
    """`_(key, **values)`: the key's text in `locale` with `{name}` fields filled; an unknown
    key shows itself (the catalogue test fails on it)."""
    lang = normal_lang(locale)
    messages = catalogue()

    def translate(key: str, **values: Any) -> str:
        texts = messages.get(key)
        if texts is None:
            return key
        text = texts[lang]
        return text.format(**values) if values else text

    return translate
