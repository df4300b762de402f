"""Migration 0019_portal: the VPN reports taken before it learn which customers they hold (from
their site lists), so the portal finds them; tokens keep working without a customer
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from core import migrate
from core.db import make_engine
from tests.service.test_migration_rma_units import _database

BEFORE = "0018_monitoring_links"
NOW = "'2026-12-01 03:00:00+00:00'"


def _report(report_id: int, customers: list[str | None]) -> str:
    sites: list[dict[str, object]] = [
        {"network_id": f"N_{report_id}_{i}", "name": "site", "customer": c, "peers": []}
        for i, c in enumerate(customers)
    ]
    body = json.dumps(sites, ensure_ascii=False).replace("'", "''")
    return (
        "INSERT INTO vpn_report (id, organization_id, taken_at, site_count, peer_count,"
        " peers_down, wan_ip_changes, sites, actor) VALUES "
        f"({report_id}, 'org', {NOW}, {len(sites)}, 0, 0, 0, '{body}', 'noc')"
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_earlier_reports_are_found_by_their_customers(kind: str, tmp_path: Path) -> None:
    with _database(kind, tmp_path) as url:
        migrate.upgrade(url, BEFORE)
        engine = make_engine(url)
        with engine.begin() as db:
            db.execute(text(_report(1, ["株式会社あさひ物産", "有限会社ひかり工務店", None])))
            db.execute(text(_report(2, ["有限会社ひかり工務店", "有限会社ひかり工務店"])))
            db.execute(text(_report(3, [None])))
        migrate.upgrade(url, "head")
        with engine.connect() as db:
            rows = db.execute(
                text("SELECT report_id, customer FROM vpn_report_customer ORDER BY 1, 2")
            ).all()
            tokens = db.execute(text("SELECT count(*) FROM api_token WHERE customer IS NULL"))
            assert tokens.scalar() == 0  # the column is there (and no token was made)
        engine.dispose()
    assert sorted(tuple(r) for r in rows) == sorted(
        [(1, "株式会社あさひ物産"), (1, "有限会社ひかり工務店"), (2, "有限会社ひかり工務店")]
    )
