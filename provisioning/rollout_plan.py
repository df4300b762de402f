"""Planning a rollout: its sheets, each with the organization it goes to, planned side by side
(one network list per organization), every unit checked against the inventory first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlmodel import Session

from core.errors import Problem, ValidationFailed
from core.heap import bulk_run
from provisioning.plan import SitePlan, make_plan
from provisioning.ports import ProvisioningDashboard
from provisioning.service import ProvisioningOptions
from provisioning.sheet_model import Sheet
from provisioning.units import UnitPlacement, check_units

PLANNING_THREADS = 16
"""Organizations planned at once (each paced by its own budget; the process's IP cap holds)."""


@dataclass
class RolloutSite:
    """One sheet of a rollout, the dashboard (organization) it goes to, and its plan."""

    dashboard: ProvisioningDashboard
    sheet: Sheet
    plan: SitePlan | None = None
    source: str = ""
    """The sheet's file name, for the places problems are reported at."""


def check_rollout_units(*, session: Session, sites: Sequence[RolloutSite]) -> list[UnitPlacement]:
    """Every sheet's serials against the inventory; every refusal of every sheet at once."""
    placements: list[UnitPlacement] = []
    problems: list[Problem] = []
    for index, site in enumerate(sites):
        try:
            placements.append(
                check_units(
                    session=session, sheet=site.sheet, source=site.source or f"sheet {index + 1}"
                )
            )
        except ValidationFailed as refused:
            problems += refused.problems
    listed: dict[str, int] = {}
    for index, site in enumerate(sites):
        for number, device in enumerate(site.sheet.devices or []):
            if device.serial in listed and listed[device.serial] != index:
                problems.append(
                    Problem(
                        f"serial {device.serial} is also listed by sheet "
                        f"{listed[device.serial] + 1}; a unit goes to one site",
                        f"{site.source or f'sheet {index + 1}'}: devices[{number}].serial",
                    )
                )
            listed.setdefault(device.serial, index)
    if problems:
        raise ValidationFailed(
            problems,
            f"{len(problems)} unit(s) cannot be provisioned as the inventory holds them; "
            "nothing was sent",
        )
    return placements


@bulk_run()
def plan_rollout(
    sites: Sequence[RolloutSite], options: ProvisioningOptions, session: Session | None = None
) -> list[SitePlan]:
    """Plan every sheet, one network list per organization (the organizations side by side);
    two sheets for one network refused.

    With `session`, every sheet's serials are checked against the inventory first (before
    any dashboard call), and each plan carries what the check decided.
    """
    seen: dict[tuple[str, str], int] = {}
    problems: list[Problem] = []
    for index, site in enumerate(sites):
        key = (site.dashboard.organization_id, site.sheet.site.name)
        if key in seen:
            problems.append(
                Problem(
                    f"network {key[1]!r} of organization {key[0]} is also set by sheet "
                    f"{seen[key] + 1}; a rollout applies one sheet per network",
                    f"sheet {index + 1}: site.name",
                )
            )
        seen.setdefault(key, index)
    if problems:
        raise ValidationFailed(problems, "the rollout names a network twice; nothing was sent")
    placements: list[UnitPlacement | None] = [None] * len(sites)
    if session is not None:
        placements = list(check_rollout_units(session=session, sites=sites))
        session.commit()  # it only read: no transaction held across the dashboard's plan reads
    by_org: dict[str, list[int]] = defaultdict(list)
    for index, site in enumerate(sites):
        by_org[site.dashboard.organization_id].append(index)

    def plan_organization(indexes: list[int]) -> None:
        networks = sites[indexes[0]].dashboard.list_networks()
        for index in indexes:
            site = sites[index]
            site.plan = make_plan(
                dashboard=site.dashboard,
                sheet=site.sheet,
                secret_key=options.secret_key,
                rate=options.rate,
                poll_seconds=options.poll_seconds,
                networks=networks,
                secret_record=options.secret_record,
            )
            site.plan.units = placements[index]

    # Each organization's reads at its own budget, side by side (the first error is raised).
    groups = list(by_org.values())
    if len(groups) > 1:
        with ThreadPoolExecutor(min(len(groups), PLANNING_THREADS)) as pool:
            list(pool.map(plan_organization, groups))
    else:
        for group in groups:
            plan_organization(group)
    plans = []
    for site in sites:
        assert site.plan is not None
        plans.append(site.plan)
    return plans
