"""Which unit a sheet may provision at a site (docs/sheets.md, "Units and the inventory")."""

from __future__ import annotations

import pytest

from inventory.domain import DeviceStatus, SiteTarget, UnitRecord, placement_problem

D = DeviceStatus
SITE = SiteTarget(site="本社", customer="A社", network_ids=frozenset({"N_1"}))


def unit(status: DeviceStatus, **kw: object) -> UnitRecord:
    fields: dict[str, object] = {"serial": "Q2FY-AAAA-0001", "model": "MX67", "status": status}
    return UnitRecord(**(fields | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "record",
    [
        unit(D.IN_STOCK),
        unit(D.IN_STOCK, contract="C-1", contract_customer="A社"),
        unit(D.DEPLOYED, customer="A社", site="本社"),  # re-apply: same site, no network yet
        unit(D.DEPLOYED, customer="A社", site="東京", network_id="N_1"),  # same network
    ],
)
def test_accepted(record: UnitRecord) -> None:
    assert placement_problem("Q2FY-AAAA-0001", "MX67", record, SITE) is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (None, "serial Q2FY-AAAA-0001 is not in the inventory; add it first "
               "(netkeep inventory import FILE --commit)"),
        (unit(D.IN_STOCK, model="MX68"), "serial Q2FY-AAAA-0001 is a MX68 in the inventory, "
                                          "not a MX67"),
        (unit(D.DEPLOYED, customer="B社", site="本社", network_id="N_1"),
         "serial Q2FY-AAAA-0001 is deployed at 本社 (B社, network N_1), not at 本社; a unit is "
         "provisioned only from stock or at the site it is deployed at"),
        (unit(D.DEPLOYED, customer="A社", site="本社", network_id="N_2"),
         "serial Q2FY-AAAA-0001 is deployed at 本社 (A社, network N_2), not at 本社; a unit is "
         "provisioned only from stock or at the site it is deployed at"),
        (unit(D.DEPLOYED, customer="A社", site="支店"),
         "serial Q2FY-AAAA-0001 is deployed at 支店 (A社), not at 本社; a unit is provisioned "
         "only from stock or at the site it is deployed at"),
        (unit(D.RESERVED), "serial Q2FY-AAAA-0001 is reserved; only a unit in stock or already "
                           "deployed at this site can be provisioned"),
        (unit(D.RESERVED, held_by="RMA-000007"),
         "serial Q2FY-AAAA-0001 is reserved as the replacement of RMA-000007; only a unit in "
         "stock or already deployed at this site can be provisioned"),
        (unit(D.IN_TRANSIT, held_by="RMA-000007"),
         "serial Q2FY-AAAA-0001 is shipped (on its way to a customer) as the replacement of "
         "RMA-000007; only a unit in stock or already deployed at this site can be provisioned"),
        (unit(D.RETURNED), "serial Q2FY-AAAA-0001 is returned and not yet back in stock; only a "
                           "unit in stock or already deployed at this site can be provisioned"),
        (unit(D.REFURBISHED), "serial Q2FY-AAAA-0001 is refurbished and not yet back in stock; "
                              "only a unit in stock or already deployed at this site can be "
                              "provisioned"),
        (unit(D.IN_STOCK, contract="C-9", contract_customer="B社"),
         "serial Q2FY-AAAA-0001 is on contract C-9 of B社, not of A社"),
    ],
)  # fmt: skip
def test_refused(record: UnitRecord | None, message: str) -> None:
    assert placement_problem("Q2FY-AAAA-0001", "MX67", record, SITE) == message


def test_a_sheet_without_a_customer_accepts_any_customers_unit_at_its_site() -> None:
    anyone = SiteTarget(site="本社")
    assert (
        placement_problem(
            "Q2FY-AAAA-0001", "MX67", unit(D.DEPLOYED, customer="B社", site="本社"), anyone
        )
        is None
    )
    stock = unit(D.IN_STOCK, contract="C-9", contract_customer="B社")
    assert placement_problem("Q2FY-AAAA-0001", "MX67", stock, anyone) is None
