"""Every message key the pages use exists in Japanese and English; the catalogue refuses a key
defined twice or missing a language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from web.i18n import CatalogueError, catalogue, load_catalogue, translator

WEB = Path(__file__).resolve().parents[2] / "web"
# _("key") / _('key') in templates and Python, and in Python any literal "common.key" (the
# foundation keeps some keys in variables first; other dotted literals may be scopes, not keys).
# A prefix joined in a template (_("common.role_" ~ role)) is not a key; the names built so are
# checked below.
USE = re.compile(r"""\b_\(\s*["']([A-Za-z0-9_.]+)["']\s*(~?)""")
LITERAL = re.compile(r"""["'](common\.[a-z0-9_.]+)["']""")


def used_keys() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        keys = [key for key, joined in USE.findall(text) if not joined]
        if path.suffix == ".py":
            keys += LITERAL.findall(text)
        for key in keys:
            found.setdefault(key, set()).add(str(path.relative_to(WEB)))
    return found


def test_every_key_used_in_the_pages_is_in_both_languages() -> None:
    messages = catalogue()
    used = used_keys()
    assert len(used) > 30
    missing = {key: sorted(where) for key, where in used.items() if key not in messages}
    assert missing == {}
    for key in used:
        assert messages[key]["ja"].strip() and messages[key]["en"].strip(), key


def test_the_names_pages_build_from_a_prefix_exist() -> None:
    messages = catalogue()
    # the roles (core.auth.Role and customer), step and job states, error statuses shown
    for role in ("admin", "noc", "field", "logistics", "viewer", "customer"):
        assert f"common.role_{role}" in messages
    for state in ("pending", "running", "done", "failed"):
        assert f"common.step_{state}" in messages and f"common.job_{state}" in messages
    assert "common.job_verify_failed" in messages
    for status in (400, 401, 403, 404, 409, 413, 422, 500, 502, 503, 504):
        assert f"common.error_{status}" in messages


def test_the_translator_fills_values_and_shows_an_unknown_key() -> None:
    assert translator("en")("common.signed_in_as", account="sato", role="NOC") == "sato (NOC)"
    assert translator("ja")("common.signed_in_as", account="sato", role="NOC") == "sato（NOC）"
    assert translator("fr")("common.sign_in") == "サインイン"  # unknown language: Japanese
    assert translator("en")("no.such.key") == "no.such.key"


def test_a_key_defined_twice_or_missing_a_language_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text('x.one: {ja: "一", en: "one"}\n', encoding="utf-8")
    (tmp_path / "b.yaml").write_text('x.one: {ja: "一", en: "one"}\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match="already defined"):
        load_catalogue(tmp_path)
    (tmp_path / "b.yaml").write_text('x.two: {ja: "二"}\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match="needs ja and en"):
        load_catalogue(tmp_path)
