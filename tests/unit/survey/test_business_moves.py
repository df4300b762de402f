"""Installation preparation sheet versions, written out from the contract.

Source: docs/domain.md "Wireless site survey" (seed 002 App.1 IV(1), IV(3)):
the provider issues the sheet, the customer approves it by signing; when settings change so that
the sheet must change, the provider updates it — a new version replaces the issued or approved
one. A draft is edited in place and is never shown to the customer.
"""

from __future__ import annotations

import pytest

from core.errors import InvalidTransition
from survey.domain import VersionStatus, advance, change_opens_new_version
from tests.unit.business_moves import every_pair

V = VersionStatus

BUSINESS: dict[VersionStatus, frozenset[VersionStatus]] = {
    V.DRAFT: frozenset({V.ISSUED}),
    V.ISSUED: frozenset({V.APPROVED, V.SUPERSEDED}),  # signed, or replaced before signing
    V.APPROVED: frozenset({V.SUPERSEDED}),  # settings changed after signing: a new version
    V.SUPERSEDED: frozenset(),
}


@pytest.mark.parametrize(("current", "target", "allowed"), every_pair(V, BUSINESS))
def test_every_move_is_allowed_exactly_when_the_business_has_it(current, target, allowed):
    if allowed:
        assert advance(current, target) is target
        return
    with pytest.raises(InvalidTransition) as refused:
        advance(current, target)
    assert refused.value.allowed == sorted(s.value for s in BUSINESS[current])
    assert refused.value.message.startswith(f"survey version: cannot move from '{current}'")


@pytest.mark.parametrize(
    ("latest", "new_version"),
    [(V.DRAFT, False), (V.ISSUED, True), (V.APPROVED, True), (V.SUPERSEDED, True)],
)
def test_a_change_edits_a_draft_and_versions_anything_the_customer_has_seen(latest, new_version):
    assert change_opens_new_version(latest) is new_version
