"""The one table of the CLI's exit codes; errors (`core.errors`) and commands take theirs from it.

`python -m core.exit_codes` rewrites the README's table between its markers (`make roles` runs
it too); `--check` exits 1 when the README has drifted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    FOUND = 1
    INVALID = 2
    NOT_FOUND = 3
    CONFLICT = 4
    NOT_ALLOWED = 5
    DASHBOARD = 6
    DEVICE = 7
    SCHEMA_BEHIND = 8
    BUSY = 9
    VERIFY_FAILED = 10


MEANING: dict[ExitCode, str] = {
    ExitCode.OK: "done",
    ExitCode.FOUND: "a check found something (`doctor` violations, a site `vpn check` finds not "
    "eligible), or you declined the confirmation",
    ExitCode.INVALID: "invalid input: every problem printed with its row, cell, field or serial "
    "(also a file over its size limit, a change request stored with problems)",
    ExitCode.NOT_FOUND: "not found",
    ExitCode.CONFLICT: "conflict with the current state: an illegal transition, a key already "
    "used, a returned serial that is not the one expected",
    ExitCode.NOT_ALLOWED: "not allowed (role or token)",
    ExitCode.DASHBOARD: "the Meraki dashboard refused or could not be reached (named by its URL); "
    "an apply, rollback or change whose job failed on the dashboard",
    ExitCode.DEVICE: "a network device did not answer over SSH",
    ExitCode.SCHEMA_BEHIND: "the database schema is behind the code: run `netkeep db upgrade`",
    ExitCode.BUSY: "the database stayed locked (or every render slot busy) past its bound: retry",
    ExitCode.VERIFY_FAILED: "an apply wrote every step but the dashboard reads back differently "
    "(`verify_failed`: see the job's diff)",
}

BEGIN = "<!-- exit-codes:begin: generated from core/exit_codes.py; do not edit -->"
END = "<!-- exit-codes:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def exit_code_table() -> str:
    """The Markdown table of every exit code and what it means."""
    lines = ["| exit | meaning |", "|---|---|"]
    lines += [f"| {code.value} | {MEANING[code]} |" for code in ExitCode]
    return "\n".join(lines)


def with_table(text: str, table: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return f"{text[:start]}\n{table}\n{text[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = README.read_text(encoding="utf-8")
    wanted = with_table(text, exit_code_table())
    if "--check" in args:
        if wanted != text:
            print("README.md's exit codes differ from core/exit_codes.py; run `make roles`")
            return 1
        return 0
    if wanted != text:
        README.write_text(wanted, encoding="utf-8")
        print("README.md: exit code table regenerated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
