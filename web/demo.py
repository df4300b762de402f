"""The demo's web accounts: one per staff role and one for a sample customer, each with a fresh
password every time `netkeep demo` runs (printed once in its tour)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlmodel import Session

from core.audit import Actor
from core.auth import Role
from web import accounts
from web.models import CUSTOMER_ROLE

DEMO_CUSTOMER = "株式会社さくら商事"
DEMO_ACCOUNTS: tuple[tuple[str, str, str | None], ...] = (
    *((f"demo-{role.value}", role.value, None) for role in Role),
    ("demo-sakura", CUSTOMER_ROLE, DEMO_CUSTOMER),
)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    name: str
    role: str
    customer: str | None
    password: str


def demo_accounts(*, session: Session, actor: Actor) -> list[DemoAccount]:
    """Create the demo accounts, or give the existing ones a new password."""
    made: list[DemoAccount] = []
    for name, role, customer in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        if accounts.find_account(session=session, name=name) is None:
            accounts.create_account(
                session=session,
                actor=actor,
                name=name,
                password=password,
                role=role,
                customer=customer,
            )
        else:
            accounts.set_password(session=session, actor=actor, name=name, password=password)
        made.append(DemoAccount(name, role, customer, password))
    return made


def tour_lines(api_url: str, made: list[DemoAccount]) -> str:
    """The tour's block about the pages: where, and who may sign in with what."""
    if not made:
        return ""
    rows = "".join(
        f"  {a.role:<10} {a.name:<16} {a.password}"
        + (f"   ({a.customer})" if a.customer else "")
        + "\n"
        for a in made
    )
    return (
        f"Web pages / 画面: {api_url}/ui/   (passwords shown once / パスワードは一度だけ表示)\n"
        f"{rows}"
    )
