"""The dashboard budget shared by every netkeep process on PostgreSQL (`dashboard.budgets`)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class DashboardBudget(SQLModel, table=True):
    """One organization's request slots: the next free one and a 429's pause (epoch seconds).

    Times are the database server's clock (`statement_timestamp()`), so processes on machines
    whose clocks disagree still share one schedule.
    """

    __tablename__ = "dashboard_budget"

    organization_id: str = Field(primary_key=True, max_length=40)
    next_at: float = 0.0
    paused_until: float = 0.0
