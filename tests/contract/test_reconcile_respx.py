"""Exact dashboard paths for reconciliation: paging over Link headers, and failures."""

from pathlib import Path

import httpx
import pytest
import respx
from sqlmodel import Session

from core.errors import DashboardError
from dashboard.meraki import MerakiDashboard
from inventory import reconcile, service
from tests.service.helpers import ACTOR, T0, import_csv, write_csv

BASE = "https://api.meraki.com/api/v1"
INVENTORY = f"{BASE}/organizations/777/inventory/devices"


def dashboard() -> MerakiDashboard:
    # patience 1 s: a 503 waits 0.5–0.6 s, the next wait (1–1.2 s) would pass the deadline
    return MerakiDashboard(
        api_key="k" * 40, base_url=BASE, maximum_retries=2, retry_wait=0, patience_seconds=1.0
    )


def inventory_pages(router: respx.MockRouter) -> respx.Route:
    page1 = [
        {
            "serial": "Q2FY-AAAA-0001",
            "model": "MX67",
            "mac": "e0:55:3d:10:00:01",
            "networkId": "N_1",
        },
        {
            "serial": "Q2FY-ZZZZ-0099",
            "model": "MX67",
            "mac": "e0:55:3d:10:00:99",
            "networkId": None,
        },
    ]
    page2 = [{"serial": "Q9XX-UNKN-0001", "model": "MS120-8", "mac": None, "networkId": None}]

    def respond(request: httpx.Request) -> httpx.Response:
        if "startingAfter" in str(request.url):
            return httpx.Response(200, json=page2)
        link = f"<{INVENTORY}?perPage=2&startingAfter=Q2FY-ZZZZ-0099>; rel=next"
        return httpx.Response(200, json=page1, headers={"Link": link})

    return router.get(INVENTORY).mock(side_effect=respond)


@pytest.fixture
def local(session: Session, tmp_path: Path) -> Session:
    body = (
        "Q2FY-AAAA-0001,MX67,,deployed,,,,,,N_OLD,,\n"
        "Q2KY-BBBB-0003,MX68,,deployed,,,,,,N_2,,\n"
        "Q2FY-AAAA-0002,MX67,,in_stock,,,,,,,,\n"
    )
    import_csv(session, write_csv(tmp_path, body))
    return session


def test_all_pages_are_compared(local: Session) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = inventory_pages(router)
        router.route().mock(return_value=httpx.Response(404, json={"errors": ["not mocked"]}))
        report = reconcile.reconcile(
            session=local, dashboard=dashboard(), organization_id="777", actor=ACTOR, now=T0
        )
    assert route.call_count == 2
    assert report.dashboard_count == 3
    assert [d["serial"] for d in report.only_in_dashboard] == ["Q2FY-ZZZZ-0099", "Q9XX-UNKN-0001"]
    assert report.only_in_netkeep == [
        {"serial": "Q2KY-BBBB-0003", "model": "MX68", "status": "deployed"}
    ]
    assert report.network_mismatch == [
        {"serial": "Q2FY-AAAA-0001", "netkeep": "N_OLD", "dashboard": "N_1"}
    ]
    assert not report.in_sync and report.imported == []


def test_apply_imports_known_models_only(local: Session) -> None:
    with respx.mock(assert_all_called=False) as router:
        inventory_pages(router)
        router.route().mock(return_value=httpx.Response(404, json={"errors": ["not mocked"]}))
        report = reconcile.reconcile(
            session=local,
            dashboard=dashboard(),
            organization_id="777",
            actor=ACTOR,
            now=T0,
            apply=True,
        )
    assert report.imported == ["Q2FY-ZZZZ-0099"]
    assert report.unknown_models == ["Q9XX-UNKN-0001 (MS120-8)"]
    device = service.get_device(session=local, serial="Q2FY-ZZZZ-0099")
    assert (device.status, device.mac) == ("in_stock", "e0:55:3d:10:00:99")
    owner = service.current_owner(session=local, device=device)
    assert owner is not None and owner.kind.value == "provider"


def test_dashboard_refusal_becomes_dashboard_error(local: Session) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(INVENTORY).mock(return_value=httpx.Response(403, json={"errors": ["Forbidden"]}))
        router.route().mock(return_value=httpx.Response(404, json={"errors": ["not mocked"]}))
        with pytest.raises(DashboardError) as info:
            reconcile.reconcile(
                session=local, dashboard=dashboard(), organization_id="777", actor=ACTOR, now=T0
            )
    assert info.value.details["status"] == 403
    assert "k" * 40 not in str(info.value.to_dict())


def test_server_errors_are_retried_then_surface(local: Session) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.get(INVENTORY).mock(
            return_value=httpx.Response(503, json={"errors": ["busy"]})
        )
        router.route().mock(return_value=httpx.Response(404, json={"errors": ["not mocked"]}))
        with pytest.raises(DashboardError):
            reconcile.reconcile(
                session=local, dashboard=dashboard(), organization_id="777", actor=ACTOR, now=T0
            )
    assert route.call_count == 2
