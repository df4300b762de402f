"""portal: customer-bound API tokens, and which customers each VPN report holds

Revision ID: 0019_portal
Revises: 0018_monitoring_links
Create Date: 2026-12-06 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_portal"
down_revision: str | None = "0018_monitoring_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_token", sa.Column("customer", sa.String(120), nullable=True))
    op.create_table(
        "vpn_report_customer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("vpn_report.id"), nullable=False),
        sa.Column("customer", sa.String(120), nullable=False),
        sa.UniqueConstraint("report_id", "customer", name="uq_vpn_report_customer"),
    )
    op.create_index(
        "ix_vpn_report_customer_customer", "vpn_report_customer", ["customer", "report_id"]
    )
    _backfill()


def _backfill() -> None:
    """The customers of the reports taken before this revision, read from their site lists."""
    bind = op.get_bind()
    reports = sa.table("vpn_report", sa.column("id", sa.Integer), sa.column("sites", sa.JSON))
    target = sa.table(
        "vpn_report_customer",
        sa.column("report_id", sa.Integer),
        sa.column("customer", sa.String),
    )
    rows = []
    for report_id, sites in bind.execute(sa.select(reports.c.id, reports.c.sites)):
        names = {
            str(s["customer"]) for s in sites or [] if isinstance(s, dict) and s.get("customer")
        }
        rows += [{"report_id": report_id, "customer": name[:120]} for name in sorted(names)]
    if rows:
        op.bulk_insert(target, rows)


def downgrade() -> None:
    op.drop_index("ix_vpn_report_customer_customer", table_name="vpn_report_customer")
    op.drop_table("vpn_report_customer")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("customer")
