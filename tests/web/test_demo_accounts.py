"""`netkeep demo` makes one web account per staff role and one for a sample customer, prints the
/ui/ address with their passwords, and gives them new passwords when run again."""

from __future__ import annotations

from pathlib import Path

from core.db import get_engine, session_scope
from core.errors import AuthenticationFailed
from netkeep.demo import load_demo, tour
from web import accounts


def test_the_demo_accounts_sign_in_with_the_printed_passwords(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = load_demo(url)
    roles = sorted(a.role for a in first.web_accounts)
    assert roles == ["admin", "customer", "field", "logistics", "noc", "viewer"]
    [customer] = [a for a in first.web_accounts if a.role == "customer"]
    assert customer.customer == "株式会社さくら商事"  # a customer with contracts in the demo
    text = tour(
        token=first.admin_token,
        api_url="http://127.0.0.1:8000",
        sandbox_url=None,
        web_accounts=first.web_accounts,
    )
    assert "http://127.0.0.1:8000/ui/" in text
    for account in first.web_accounts:
        assert account.name in text and account.password in text
    second = load_demo(url)
    with session_scope(get_engine(url)) as session:
        for old, new in zip(first.web_accounts, second.web_accounts, strict=True):
            assert accounts.verify_password(session=session, name=new.name, password=new.password)
            try:
                accounts.verify_password(session=session, name=old.name, password=old.password)
            except AuthenticationFailed:
                continue
            raise AssertionError(f"{old.name}'s first password still works")
