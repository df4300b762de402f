"""API token names unique ignoring case, in the database as well as in the code

Revision ID: 0010_token_name_lower
Revises: 0009
Create Date: 2026-12-06 06:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_token_name_lower"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("uq_api_token_name_lower", "api_token", [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_api_token_name_lower", table_name="api_token")
