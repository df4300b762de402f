"""Tables of provisioning: jobs, their journal of steps, and the snapshot taken before writing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from core.timeutil import UtcDateTime, utcnow

OPEN_ROLLBACK_SQL = "kind = 'rollback' AND status IN ('pending', 'running')"


class ProvisioningJob(SQLModel, table=True):
    """One apply (or rollback) of a sheet to one network; its plan and its outcome."""

    __tablename__ = "provisioning_job"
    __table_args__ = (
        # One unfinished rollback per job: two racing rollbacks cannot both be journalled.
        Index(
            "uq_provisioning_job_open_rollback",
            "rollback_of",
            unique=True,
            postgresql_where=text(OPEN_ROLLBACK_SQL),
            sqlite_where=text(OPEN_ROLLBACK_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    status: str = Field(max_length=20, index=True)
    organization_id: str = Field(max_length=40)
    network_id: str | None = Field(default=None, max_length=40)
    network_name: str = Field(max_length=200)
    site_plan: str = Field(max_length=20)
    sheet_kind: str = Field(max_length=20)
    sheet_digest: str = Field(max_length=64)
    rollback_of: int | None = Field(default=None, foreign_key="provisioning_job.id")
    rollout: str | None = Field(default=None, max_length=40, index=True)
    prune: bool = False
    sections: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    desired: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    changes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    estimate: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    verify_diff: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    not_restorable: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    error: str | None = Field(default=None, max_length=2000)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )


class JobStep(SQLModel, table=True):
    """A journal row: a direct call, an action batch or the verification; committed as it goes."""

    __tablename__ = "provisioning_step"
    __table_args__ = (UniqueConstraint("job_id", "number", name="uq_provisioning_step_job_number"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="provisioning_job.id", index=True)
    number: int
    action: str = Field(max_length=80)
    resources: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    batch: bool = False
    synchronous: bool = True
    operations: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    request_id: str | None = Field(default=None, max_length=80)
    answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """A direct write's answer (the resource as stored, secrets fingerprinted): its read-back."""
    status: str = Field(max_length=20)
    error: str | None = Field(default=None, max_length=2000)
    started_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )


class ResourceSnapshot(SQLModel, table=True):
    """A touched resource as it was before the job's first write; secrets redacted."""

    __tablename__ = "provisioning_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="provisioning_job.id", index=True)
    resource: str = Field(max_length=200)
    existed: bool
    body: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    extra: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
