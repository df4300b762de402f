"""One table of exit codes: each kind of error exits as the README says, and the README says it."""

import pytest

from core import errors
from core.exit_codes import BEGIN, END, README, exit_code_table


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.DomainError, 1),
        (errors.ValidationFailed, 2),
        (errors.PayloadTooLarge, 2),
        (errors.NotFound, 3),
        (errors.Conflict, 4),
        (errors.InvalidTransition, 4),
        (errors.AuthenticationFailed, 5),
        (errors.PermissionDenied, 5),
        (errors.DashboardError, 6),
        (errors.DeviceUnreachable, 7),
        (errors.SchemaOutdated, 8),
        (errors.Busy, 9),
    ],
)
def test_each_error_exits_with_its_documented_code(
    error: type[errors.DomainError], code: int
) -> None:
    assert error.exit_code == code


def test_the_readme_table_is_the_one_in_code_and_names_every_code() -> None:
    text = README.read_text(encoding="utf-8")
    block = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert block == exit_code_table(), "run `make roles`"
    rows = [line.split(" | ")[0].removeprefix("| ") for line in block.splitlines()[2:]]
    assert rows == [str(n) for n in range(11)]
    assert "verify_failed" in block.splitlines()[-1] and "db upgrade" in block.splitlines()[10]
    assert "vpn check" in block.splitlines()[3]  # exit 1: a site found not eligible
