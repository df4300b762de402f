"""The sandbox's table of batchable operations is the SDK's, not one of our own.

The `meraki` SDK generates one helper per batchable operation in `meraki/api/batch/`, each
building ``{"resource": f"/...", "operation": "..."}``. Every (resource, operation) the sandbox
accepts in an action batch must be one of them; the ones netkeep sends direct must not be.
"""

from __future__ import annotations

import re
from pathlib import Path

import meraki.api.batch

from provisioning.batching import DIRECT_KINDS
from sandbox.batches import BATCHABLE

_HELPER = re.compile(
    r'resource = f"(?P<resource>[^"?]+)".*?"operation": "(?P<operation>\w+)"', re.DOTALL
)


def sdk_batchable() -> set[tuple[str, str]]:
    """(resource template with `{}` placeholders, operation) of every SDK batch helper."""
    found: set[tuple[str, str]] = set()
    for source in Path(meraki.api.batch.__file__).parent.glob("*.py"):
        for helper in source.read_text(encoding="utf-8").split("    def ")[1:]:
            match = _HELPER.search(helper)
            if match:
                resource = re.sub(r"\{\w+\}", "{}", match["resource"])
                found.add((resource, match["operation"]))
    return found


def test_the_sdk_still_has_batch_helpers_to_compare_with() -> None:
    helpers = sdk_batchable()
    assert len(helpers) > 200
    assert ("/networks/{}/devices/claim", "claim") in helpers


def test_every_pair_the_sandbox_batches_is_an_sdk_batch_helper() -> None:
    helpers = sdk_batchable()
    ours = {(re.sub(r"\{\w+\}", "{}", r), op) for r, op in BATCHABLE}
    assert ours - helpers == set()


def test_what_netkeep_sends_direct_has_no_batch_helper() -> None:
    helpers = sdk_batchable()
    for kind in DIRECT_KINDS:
        head = "/networks/{}/appliance/" + (
            kind
            if kind.startswith("security") or kind == "contentFiltering"
            else f"firewall/{kind}"
        )
        assert (head, "update") not in helpers, kind
    assert ("/networks/{}/appliance/vpn/siteToSiteVpn", "update") in helpers
