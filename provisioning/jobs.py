"""Background rollouts: a rollout journalled by the API runs, or resumes, in a worker.

The job carries the uploaded sheets sealed under the installation key (a sheet may hold a
pre-shared key in clear, and the queue keeps a job's arguments in the database) and reads them
again as the upload was read: no ``env:``, ``secret:NAME`` from netkeep's store. Running the job
is resuming the rollout from its journal, so a first run and a run after a killed worker are
the same code: steps done are skipped, a step that was maybe sent is looked up.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlmodel import Session

from core.audit import Actor
from core.db import begin_write
from core.errors import Problem, ValidationFailed
from core.timeutil import utcnow
from provisioning.apply import claim_jobs, unfinished_jobs
from provisioning.ports import ProvisioningDashboard
from provisioning.rollout import RolloutOutcome, RolloutSite, resume_rollout
from provisioning.service import ProvisioningOptions
from provisioning.sheet_io import EXCEL_SUFFIXES, YAML_SUFFIXES, load_all, load_sheet
from provisioning.sheet_model import Sheet

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

SecretLookup = Callable[[str, str], str | None]


@dataclass(frozen=True, slots=True)
class SheetUpload:
    """An uploaded sheet as it came: its file name and its bytes."""

    name: str
    content: bytes


def read_uploaded(
    file: SheetUpload, secrets: SecretLookup, organizations: Collection[str] | None = None
) -> Sheet:
    """Validate a sheet sent over the network (no ``env:``; named secrets from the store;
    `site.organizationId` one of `organizations`)."""
    name = Path(file.name or "sheet.yaml").name
    suffix = Path(name).suffix.lower()
    if suffix not in YAML_SUFFIXES | EXCEL_SUFFIXES:
        raise ValidationFailed([Problem(f"{suffix or 'no suffix'} is not a sheet", name)])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(file.content)
        return load_sheet(path, allow_env=False, secrets=secrets, organizations=organizations)


def read_all_uploaded(
    files: Iterable[SheetUpload],
    secrets: SecretLookup,
    organizations: Collection[str] | None = None,
) -> list[Sheet]:
    """Every sheet, or every problem of every sheet at once (each with its file name)."""
    return load_all(
        (Path(f.name).name, partial(read_uploaded, f, secrets, organizations)) for f in files
    )


def rollout_payload(
    *,
    rollout: str,
    files: Sequence[SheetUpload],
    organizations: Sequence[str],
    actor: Actor,
    cipher: Fernet,
) -> dict[str, Any]:
    """The background job's arguments: the rollout, who started it, the sheets sealed, each
    with the organization it goes to (a resume groups the jobs as the first run did)."""
    return {
        "rollout": rollout,
        "actor": {"name": actor.name, "role": actor.role},
        "sheets": [
            {
                "name": Path(f.name).name,
                "organization": organization,
                "sealed": cipher.encrypt(f.content).decode("ascii"),
            }
            for f, organization in zip(files, organizations, strict=True)
        ],
    }


def payload_sheets(payload: Mapping[str, Any], cipher: Fernet) -> list[SheetUpload]:
    return [
        SheetUpload(name=str(s["name"]), content=cipher.decrypt(str(s["sealed"]).encode("ascii")))
        for s in payload["sheets"]
    ]


def payload_organizations(payload: Mapping[str, Any], configured: str) -> list[str]:
    """Each sealed sheet's organization (a job queued before they were recorded: the
    configured one, where every sheet went then)."""
    return [str(s.get("organization") or configured) for s in payload["sheets"]]


def payload_actor(payload: Mapping[str, Any]) -> Actor:
    who = payload["actor"]
    return Actor(name=str(who["name"]), role=str(who["role"]), request_id=str(payload["rollout"]))


def run_background_rollout(
    *,
    session: Session,
    rollout: str,
    sheets: Sequence[Sheet],
    organizations: Sequence[str],
    dashboards: Mapping[str, ProvisioningDashboard],
    actor: Actor,
    options: ProvisioningOptions,
) -> RolloutOutcome:
    """Run the rollout's unfinished jobs from their journal (its first run or a resume), each
    sheet on its organization's dashboard.

    Its jobs are claimed first (`provisioning.apply.claim_jobs`): while another process runs
    them (a worker only slow to send its heartbeat, `netkeep apply --rollout R`) this is a
    Conflict (`ClaimHeld`) and nothing is sent.
    """
    begin_write(session)  # SQLite: never a read snapshot to upgrade between its steps
    ids = unfinished_jobs(session=session, rollout=rollout)
    with claim_jobs(session=session, job_ids=ids, what=f"rollout {rollout}"):
        return resume_rollout(
            session=session,
            rollout=rollout,
            sites=[
                RolloutSite(dashboards[org], sheet)
                for sheet, org in zip(sheets, organizations, strict=True)
            ],
            actor=actor,
            clock=utcnow,
            options=options,
            jobs_in_full=False,  # a worker tells whether it is done, not the jobs' plans
        )


class RolloutQueue(Protocol):
    """Where `POST /rollouts?wait=false` sends a journalled rollout (`jobs.queue_for`)."""

    def defer_rollout(
        self,
        payload: Mapping[str, Any],
        *,
        after_response: Callable[[Callable[[], None]], None],
        dashboards: Mapping[str, ProvisioningDashboard] | None = None,
    ) -> int | None:
        """Queue the rollout: a job for a worker, or a run in this process after the answer."""
