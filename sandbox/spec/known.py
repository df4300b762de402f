"""Known places where netkeep's own requests break the published operations (issue 13).

The sandbox still accepts these so the rest of the suite keeps running, records them in its
request log, and ``tests/contract/spec`` fails both when a new mismatch appears and when one of
these no longer occurs (then delete the entry). Each entry says why it is wrong.
"""

from __future__ import annotations

NETKEEP_KNOWN_BODY_MISMATCHES: dict[tuple[str, str], str] = {}
"""(operationId, field) -> reason. Empty: issue 13's VLAN create fields, null WAN fields, L7
values as objects and the float 5 GHz bitrate were fixed in netkeep."""

NETKEEP_KNOWN_BATCH_MISMATCHES: dict[tuple[str, str], str] = {}
"""(resource template, batch operation) netkeep batches that the SDK's batch module lacks. Empty:
netkeep claims and removes with /devices/claim + claim and /devices/remove + remove."""
