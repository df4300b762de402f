"""The acts on an RMA's page without a browser: reserve, release, record the swap, book the
pickup — each shown only when the state allows it, a refusal next to its field (422) or as the
error page (409), a double submit doing one thing, a missing CSRF token doing nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from inventory import service as inventory
from sandbox.server import SandboxServer
from tests.service.rma_builders import FAILED, SPARE, build_world, open_and_decide, shipped_rma
from tests.web.logistics_world import actions, reserved_rma, status_of

ACT_FORM = re.compile(r'<form method="post" action="/ui/logistics/rmas/(\d+)/(\w+)"')


def acts_on(html: str) -> set[str]:
    return {act for _, act in ACT_FORM.findall(html)}


def form_key_of(html: str, act: str) -> str:
    """The form key of the act's own form (each form has its own)."""
    form = re.search(rf'id="act-{act}".*?</form>', html, re.S)
    assert form, f"the page has no {act} form"
    key = re.search(r'name="form_key" value="([^"]+)"', form.group(0))
    assert key
    return key.group(1)


def test_reserve_is_offered_when_a_replacement_is_needed_and_sent_twice_reserves_once(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    build_world(session, tmp_path)
    rma = open_and_decide(session)
    session.commit()
    client = web_client("logistics")
    url = f"/ui/logistics/rmas/{rma.id}"
    page = client.get(url)
    assert acts_on(page.text) == {"reserve"}  # nothing is out yet: no swap, no pickup
    form = {"serial": "", "form_key": form_key_of(page.text, "reserve")}
    first = client.post(f"{url}/reserve", data=form, follow_redirects=False)
    second = client.post(f"{url}/reserve", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"] == f"{url}?done=reserve"
    assert actions(session, "rma.replacement_reserved") == 1
    assert status_of(session, rma.id or 0) == "replacement_reserved"
    shown = client.get(first.headers["location"])
    assert "代替機を引き当てました。" in shown.text and SPARE in shown.text
    assert acts_on(shown.text) == {"reserve", "release"}


def test_release_needs_a_reason_next_to_its_field_then_gives_the_unit_back(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    rma = reserved_rma(session, tmp_path)
    client = web_client("logistics")
    url = f"/ui/logistics/rmas/{rma.id}"
    form = {"reason": "  ", "form_key": form_key_of(client.get(url).text, "release")}
    refused = client.post(f"{url}/release", data=form)
    assert refused.status_code == 422
    assert 'id="f-reason-problems"' in refused.text and "a reason is required" in refused.text
    assert status_of(session, rma.id or 0) == "replacement_reserved"
    # the same key, fixed: the refused post left no claim behind
    done = client.post(f"{url}/release", data=form | {"reason": "箱が破損"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{url}?done=release"
    assert status_of(session, rma.id or 0) == "replacement_needed"
    assert actions(session, "rma.replacement_needed") == 2  # the decision, then the release


def test_the_swap_is_recorded_once_and_pickup_then_stays_offered(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    session.commit()
    client = web_client("logistics")
    url = f"/ui/logistics/rmas/{rma.id}"
    page = client.get(url)
    assert acts_on(page.text) == {"swap", "pickup"}
    # no update_dashboard box ticked: the records only
    form = {
        "swapped_by": "provider",
        "swapped_by_name": "",
        "form_key": form_key_of(page.text, "swap"),
    }
    first = client.post(f"{url}/swap", data=form, follow_redirects=False)
    second = client.post(f"{url}/swap", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"] == f"{url}?done=swap"
    assert actions(session, "rma.swapped") == 1
    assert status_of(session, rma.id or 0) == "swapped"
    after = client.get(url)
    assert acts_on(after.text) == {"pickup"}  # swapped once: the swap is no longer offered


def test_a_customer_swap_without_a_name_comes_back_next_to_the_name(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    session.commit()
    client = web_client("logistics")
    url = f"/ui/logistics/rmas/{rma.id}"
    form = {"swapped_by": "customer", "form_key": form_key_of(client.get(url).text, "swap")}
    refused = client.post(f"{url}/swap", data=form)
    assert refused.status_code == 422
    assert 'id="f-swapped_by_name-problems"' in refused.text
    assert '<option value="customer" selected>' in refused.text  # what was chosen stays
    assert status_of(session, rma.id or 0) == "shipped" and actions(session, "rma.swapped") == 0


def test_the_pickup_is_booked_and_a_missing_courier_is_shown_by_its_field(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    session.commit()
    client = web_client("logistics")
    url = f"/ui/logistics/rmas/{rma.id}"
    key = form_key_of(client.get(url).text, "pickup")
    form = {"pickup_date": "2026-06-01", "courier": "", "tracking_number": "", "form_key": key}
    refused = client.post(f"{url}/pickup", data=form)
    assert refused.status_code == 422 and 'id="f-courier-problems"' in refused.text
    bad_date = client.post(f"{url}/pickup", data=form | {"pickup_date": "6/1", "courier": "x"})
    assert bad_date.status_code == 422 and 'id="f-pickup_date-problems"' in bad_date.text
    fixed = form | {"courier": "佐川急便", "tracking_number": "5555"}
    first = client.post(f"{url}/pickup", data=fixed, follow_redirects=False)
    second = client.post(f"{url}/pickup", data=fixed, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert actions(session, "rma.pickup_requested") == 1
    assert status_of(session, rma.id or 0) == "pickup_requested"
    assert acts_on(client.get(url).text) == set()  # collected next: nothing left to do here


def test_an_act_the_state_does_not_allow_is_refused_and_changes_nothing(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    rma = reserved_rma(session, tmp_path)
    client = web_client("logistics")
    url = f"/ui/logistics/rmas/{rma.id}"
    page = client.get(url)
    assert "pickup" not in acts_on(page.text)
    # a stale page or a hand-made post: the service refuses the move
    form = {"pickup_date": "2026-06-01", "courier": "佐川急便", "form_key": "k" * 20}
    refused = client.post(f"{url}/pickup", data=form)
    assert refused.status_code == 409
    assert status_of(session, rma.id or 0) == "replacement_reserved"
    assert actions(session, "rma.pickup_requested") == 0
    # the key was not used up: nothing was done with it
    retry = client.post(f"{url}/pickup", data=form)
    assert retry.status_code == 409


def test_an_act_without_its_csrf_token_changes_nothing(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    rma = reserved_rma(session, tmp_path)
    client = web_client("logistics")
    url = f"/ui/logistics/rmas/{rma.id}"
    form = {"reason": "x", "form_key": form_key_of(client.get(url).text, "release")}
    assert client.post(f"{url}/release", data=form, csrf=False).status_code == 403
    assert status_of(session, rma.id or 0) == "replacement_reserved"


def test_other_roles_may_not_act(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    rma = reserved_rma(session, tmp_path)
    for role in ("noc", "field", "viewer", "customer"):
        answer = web_client(role).post(
            f"/ui/logistics/rmas/{rma.id}/release", data={"reason": "x", "form_key": "k" * 20}
        )
        assert answer.status_code == 403, role
    assert status_of(session, rma.id or 0) == "replacement_reserved"


def test_the_swap_on_the_dashboard_goes_through_the_sdk_and_a_failure_frees_the_form(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any], sandbox: SandboxServer
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    failed = inventory.get_device(session=session, serial=FAILED)
    failed.network_id = "N_demo_osaka"  # the dashboard has it elsewhere: the swap must refuse
    session.add(failed)
    session.commit()
    client = web_client("logistics")
    url = f"/ui/logistics/rmas/{rma.id}"
    form = {
        "swapped_by": "provider",
        "update_dashboard": "1",
        "form_key": form_key_of(client.get(url).text, "swap"),
    }
    refused = client.post(f"{url}/swap", data=form)
    assert refused.status_code >= 400 and "N_demo_osaka" in refused.text
    assert status_of(session, rma.id or 0) == "shipped"
    assert actions(session, "rma.swap_failed") == 1
    sdk = sandbox.dashboard_api()
    tokyo = {d["serial"] for d in sdk.networks.getNetworkDevices("N_demo_tokyo")}
    assert FAILED in tokyo and SPARE not in tokyo
    failed = inventory.get_device(session=session, serial=FAILED)
    failed.network_id = "N_demo_tokyo"  # corrected: the same form goes through
    session.add(failed)
    session.commit()
    done = client.post(f"{url}/swap", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"{url}?done=swap"
    assert status_of(session, rma.id or 0) == "swapped"
    tokyo = {d["serial"] for d in sdk.networks.getNetworkDevices("N_demo_tokyo")}
    assert SPARE in tokyo and FAILED not in tokyo
