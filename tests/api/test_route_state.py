"""The suite's reuse of FastAPI's per-route state (tests/route_state.py) across its apps."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from tests import route_state

router = APIRouter()


def who() -> str:
    return "real"


@router.get("/who")
def read_who(name: str = Depends(who), times: int = 1) -> dict[str, object]:
    return {"name": name, "times": times}


def app_with(prefix: str = "/v1", **include: object) -> FastAPI:
    app = FastAPI()
    app.include_router(router, prefix=prefix, **include)  # type: ignore[arg-type]
    return app


def test_a_later_app_with_the_same_routes_reuses_their_state_and_answers_the_same() -> None:
    route_state.install()  # idempotent: the suite's conftest installed it already
    with TestClient(app_with()) as first:
        assert first.get("/v1/who", params={"times": 2}).json() == {"name": "real", "times": 2}
    before = route_state.stats()
    with TestClient(app_with()) as second:
        assert second.get("/v1/who", params={"times": 3}).json() == {"name": "real", "times": 3}
        assert second.get("/v1/who", params={"times": "x"}).status_code == 422  # validation kept
    after = route_state.stats()
    assert after["reused"] > before["reused"]
    assert after["built"] == before["built"]


def test_other_include_options_build_their_own_state() -> None:
    with TestClient(app_with()) as plain:
        assert plain.get("/v1/who").status_code == 200
    before = route_state.stats()
    with TestClient(app_with(prefix="/v2")) as other:
        assert other.get("/v2/who").json() == {"name": "real", "times": 1}
        assert other.get("/v1/who").status_code == 404
    assert route_state.stats()["built"] > before["built"]


def test_an_app_with_dependency_overrides_gets_them() -> None:
    with TestClient(app_with()) as plain:
        assert plain.get("/v1/who").json()["name"] == "real"
    overridden = app_with()
    overridden.dependency_overrides[who] = lambda: "override"
    with TestClient(overridden) as client:
        assert client.get("/v1/who").json()["name"] == "override"
    with TestClient(app_with()) as again:  # the override stayed with its own app
        assert again.get("/v1/who").json()["name"] == "real"
