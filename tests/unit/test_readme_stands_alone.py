"""The repository stands alone: no file points outside it, and the README's links resolve."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".venv", "var", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "build"}
TEXT = {".py", ".md", ".toml", ".yaml", ".yml", ".ini", ".cfg", ".txt", ".csv", ".json", ".mako"}
# Built from parts so this file does not match itself.
OUTSIDE = re.compile(
    "|".join(re.escape(p) for p in ("../" + "shared", "/" + "work/", "DOMAIN" + ".md"))
)


def _files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & SKIP or any(p.endswith(".egg-info") for p in parts) or not path.is_file():
            continue
        if path.suffix in TEXT or path.name == "Makefile":
            found.append(path)
    return found


def test_no_file_names_a_path_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _files()
        for number, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_readme_links_the_business_rules_and_every_link_resolves() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert "docs/domain.md" in links
    local = [link for link in links if "://" not in link]
    assert [link for link in local if not (ROOT / link).exists()] == []
    rules = (ROOT / "docs" / "domain.md").read_text("utf-8")
    for clause in ("Art. 18", "Art. 22", "Art. 34", "Art. 36", "App. 1", "V(4)"):
        assert clause in rules
