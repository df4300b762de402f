"""The provisioning API over the sandbox: validate, plan, apply, show, rollback, roles, secrets."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from jobs.catalogue import JobContext, run_rollout
from sandbox.server import SandboxServer
from tests.conftest import bearer
from tests.service.helpers import seed_demo_inventory
from tests.service.test_provisioning_apply import approved_survey
from tests.unit.provisioning.sheets import EXAMPLE_ENV, EXAMPLES

API = "/api/v1"


@pytest.fixture(autouse=True)
def _stock(session: Session) -> None:
    """The example sheets' units are the demo's stock (the inventory is checked at plan time)."""
    seed_demo_inventory(session)


def _files(name: str, text: str | None = None) -> dict[str, tuple[str, bytes, str]]:
    body = text if text is not None else (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")
    return {"file": (f"{name}.yaml", body.encode("utf-8"), "application/x-yaml")}


def _wireless_with_literal_secrets() -> str:
    text = (EXAMPLES / "wireless.yaml").read_text(encoding="utf-8")
    text = text.replace("{env: AOBA_RADIUS_SECRET}", EXAMPLE_ENV["AOBA_RADIUS_SECRET"])
    text = text.replace("env:AOBA_DEVICE_PSK", EXAMPLE_ENV["AOBA_DEVICE_PSK"])
    return text.replace("{env: AOBA_GUEST_PSK}", EXAMPLE_ENV["AOBA_GUEST_PSK"])


def test_plan_apply_show_rollback_over_http(
    app_client: TestClient,
    tokens: dict[str, str],
    sandbox: SandboxServer,
    session: Session,
    tmp_path: Path,
) -> None:
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url)
    app_client.app.state.provisioning_dashboard = MerakiProvisioning(  # type: ignore[attr-defined]
        sdk, organization_id="537758"
    )
    viewer, field = bearer(tokens["viewer"]), bearer(tokens["field"])
    wireless = _wireless_with_literal_secrets()

    ok = app_client.post(
        f"{API}/sheets/validate", files=_files("wireless", wireless), headers=field
    )
    assert ok.status_code == 200 and ok.json()["kind"] == "settings"
    bad = app_client.post(
        f"{API}/sheets/validate", files=_files("bad", "format: netkeep-sheet/1\n"), headers=field
    )
    assert bad.status_code == 422 and bad.json()["problems"]

    peek = app_client.post(f"{API}/plans", files=_files("wireless", wireless), headers=viewer)
    assert peek.status_code == 403  # a viewer never plans (no dashboard reads, no PSK oracle)
    plan = app_client.post(f"{API}/plans", files=_files("wireless", wireless), headers=field)
    assert plan.status_code == 200, plan.text
    assert plan.json()["estimate"]["calls"] == 10

    refused = app_client.post(f"{API}/jobs", files=_files("wireless", wireless), headers=viewer)
    assert refused.status_code == 403
    withheld = app_client.post(f"{API}/jobs", files=_files("wireless", wireless), headers=field)
    assert withheld.status_code == 409, withheld.text  # no approved survey for the site yet
    assert "あおばクリニック" in withheld.json()["message"]
    approved_survey(session, tmp_path)
    applied = app_client.post(f"{API}/jobs", files=_files("wireless", wireless), headers=field)
    assert applied.status_code == 201, applied.text
    job = applied.json()
    assert job["status"] == "done" and job["journal"][-1]["action"] == "verify"

    again = app_client.post(f"{API}/plans", files=_files("wireless", wireless), headers=field)
    assert again.status_code == 200 and again.json()["changes"] == []
    assert set(again.json()["secrets"].values()) == {"unchanged since netkeep set it"}

    shown = app_client.get(f"{API}/jobs/{job['id']}", headers=viewer)
    assert shown.status_code == 200 and len(shown.json()["journal"]) == len(job["journal"])
    back = app_client.post(f"{API}/jobs/{job['id']}/rollback", headers=bearer(tokens["noc"]))
    assert back.status_code == 201, back.text
    assert back.json()["rollback_of"] == job["id"]

    texts = [r.text for r in (ok, plan, applied, again, shown, back)]
    texts.append(app_client.get(f"{API}/jobs", headers=viewer).text)
    for secret in EXAMPLE_ENV.values():
        assert all(secret not in t for t in texts)


def test_rollout_over_http(
    app_client: TestClient, tokens: dict[str, str], sandbox: SandboxServer
) -> None:
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url)
    app_client.app.state.provisioning_dashboard = MerakiProvisioning(  # type: ignore[attr-defined]
        sdk, organization_id="537758"
    )
    utm = (EXAMPLES / "utm.yaml").read_text(encoding="utf-8")
    router = (EXAMPLES / "router.yaml").read_text(encoding="utf-8")
    files = [
        ("files", ("utm.yaml", utm.encode("utf-8"), "application/x-yaml")),
        ("files", ("router.yaml", router.encode("utf-8"), "application/x-yaml")),
    ]
    viewer, field = bearer(tokens["viewer"]), bearer(tokens["field"])
    assert app_client.post(f"{API}/rollouts", files=files, headers=viewer).status_code == 403
    bad = [*files, ("files", ("bad.yaml", b"format: netkeep-sheet/1\n", "application/x-yaml"))]
    refused = app_client.post(f"{API}/rollouts", files=bad, headers=field)
    assert refused.status_code == 422 and "bad.yaml" in refused.text
    done = app_client.post(f"{API}/rollouts", files=files, headers=field)
    assert done.status_code == 201, done.text
    out = done.json()
    assert out["status"] == "done" and len(out["jobs"]) == 2
    assert out["estimate"]["calls"] < out["one_sheet_at_a_time"]
    assert done.headers["location"] == f"{API}/rollouts/{out['rollout']}"
    shown = app_client.get(f"{API}/rollouts/{out['rollout']}", headers=viewer)
    assert [j["id"] for j in shown.json()["jobs"]] == [j["id"] for j in out["jobs"]]
    # read back later, the rollout shows what it was estimated at and what it spent
    assert shown.json()["estimate"] == out["estimate"]
    assert shown.json()["one_sheet_at_a_time"] == out["one_sheet_at_a_time"]
    assert shown.json()["calls"]["calls"] == out["calls"]["calls"] > 0
    assert app_client.get(f"{API}/rollouts/R-none", headers=viewer).status_code == 404
    again = app_client.post(f"{API}/rollouts", files=files, headers=field)
    assert again.status_code == 200 and again.json()["status"] == "nothing to do"
    statuses = app_client.get("/openapi.json").json()["paths"][f"{API}/rollouts"]["post"]
    assert {"200", "201", "202"} <= set(statuses["responses"])


def test_rollout_in_the_background(
    app_client: TestClient, tokens: dict[str, str], sandbox: SandboxServer, session: Session
) -> None:
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url)
    dash = MerakiProvisioning(sdk, organization_id="537758")
    app_client.app.state.provisioning_dashboard = dash  # type: ignore[attr-defined]
    files = [
        ("files", (f"{n}.yaml", (EXAMPLES / f"{n}.yaml").read_bytes(), "application/x-yaml"))
        for n in ("utm", "router")
    ]
    field, viewer = bearer(tokens["field"]), bearer(tokens["viewer"])
    accepted = app_client.post(f"{API}/rollouts?wait=false", files=files, headers=field)
    assert accepted.status_code == 202, accepted.text
    out = accepted.json()
    assert out["status"] == "pending" and len(out["jobs"]) == 2
    assert accepted.headers["location"] == f"{API}/rollouts/{out['rollout']}"
    app = app_client.app
    if app.state.engine.dialect.name == "postgresql":  # type: ignore[attr-defined]
        # queued for `netkeep worker`: run the job as a worker would (tests/service/test_workers)
        payload = _queued_rollout(app.state.engine, out["rollout"])  # type: ignore[attr-defined]
        ctx = JobContext(
            settings=app.state.settings,  # type: ignore[attr-defined]
            engine=app.state.engine,  # type: ignore[attr-defined]
            session_factory=lambda: nullcontext(session),
        )
        assert run_rollout(ctx, payload, dashboards={"537758": dash}) == {
            "rollout": out["rollout"],
            "done": True,
        }
    # on SQLite the test client runs the in-process job before it returns: the rollout has finished
    shown = app_client.get(accepted.headers["location"], headers=viewer).json()
    assert shown["status"] == "done", shown
    assert shown["estimate"] == out["estimate"] and shown["estimate"]["calls"] > 0
    assert shown["calls"]["calls"] > 0


def _queued_rollout(engine: Engine, rollout: str) -> dict[str, Any]:
    """The one procrastinate job of the rollout (taken out of the queue), sheets sealed in it."""
    with engine.begin() as connection:
        rows = connection.execute(
            text(
                "DELETE FROM procrastinate_jobs WHERE lock = :lock "
                "RETURNING task_name, status, queueing_lock, args"
            ),
            {"lock": f"rollout:{rollout}"},
        ).all()
    assert [(r.task_name, r.status, r.queueing_lock) for r in rows] == [
        ("provisioning.rollout", "todo", f"rollout:{rollout}")
    ]
    payload: dict[str, Any] = rows[0].args["payload"]
    assert payload["rollout"] == rollout and len(payload["sheets"]) == 2
    assert "さくら商事" not in json.dumps(payload, ensure_ascii=False)  # the sheets are sealed
    return payload


def test_a_unit_the_inventory_refuses_is_422_with_its_place_and_nothing_is_sent(
    app_client: TestClient, tokens: dict[str, str], sandbox: SandboxServer
) -> None:
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url)
    app_client.app.state.provisioning_dashboard = MerakiProvisioning(  # type: ignore[attr-defined]
        sdk, organization_id="537758"
    )
    router = (EXAMPLES / "router.yaml").read_text(encoding="utf-8")
    elsewhere = router.replace("Q2KY-BBBB-0001", "Q2KY-BBBB-0003")  # deployed at 大阪支店
    field = bearer(tokens["field"])
    sandbox.admin.reset_counters()
    for route in ("plans", "jobs"):
        refused = app_client.post(
            f"{API}/{route}", files=_files("router", elsewhere), headers=field
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["problems"] == [
            {
                "location": "router.yaml: devices[0].serial",
                "message": "serial Q2KY-BBBB-0003 is deployed at 大阪支店 (なにわ物産株式会社, "
                "network N_demo_osaka), not at みどり設計 事務所; a unit is provisioned only from "
                "stock or at the site it is deployed at",
            }
        ]
    files = [("files", ("router.yaml", elsewhere.encode("utf-8"), "application/x-yaml"))]
    refused = app_client.post(f"{API}/rollouts", files=files, headers=field)
    assert refused.status_code == 422
    assert [p["location"] for p in refused.json()["problems"]] == ["router.yaml: devices[0].serial"]
    assert sandbox.admin.counters()["operations"] == {}  # no dashboard call at all
