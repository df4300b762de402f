"""The starting model catalogue: sample list prices (yen, tax excluded) for an admin to edit."""

from __future__ import annotations

from sqlmodel import Session

from core.audit import Actor
from inventory.domain import ProductType
from inventory.models import CatalogueModel
from inventory.service import upsert_catalogue_model

A, W = ProductType.APPLIANCE, ProductType.WIRELESS

# (model, product type, list price, successor, end of sale, description); successors first.
DEFAULT_CATALOGUE: tuple[tuple[str, ProductType, int, str | None, bool, str], ...] = (
    ("MX67", A, 128_000, None, False, "小規模拠点向けUTM / small-branch security appliance"),
    ("MX68", A, 178_000, None, False, "PoE付きUTM / security appliance with PoE"),
    ("MX75", A, 298_000, None, False, "中規模拠点向けUTM / mid-size security appliance"),
    ("MX85", A, 468_000, None, False, "大規模拠点向けUTM / large-branch security appliance"),
    ("MX64", A, 98_000, "MX67", True, "販売終了 / end of sale, succeeded by MX67"),
    ("MX65", A, 118_000, "MX68", True, "販売終了 / end of sale, succeeded by MX68"),
    ("Z4", A, 88_000, None, False, "テレワーカーゲートウェイ / teleworker gateway"),
    ("Z3", A, 68_000, "Z4", True, "販売終了 / end of sale, succeeded by Z4"),
    ("MR36", W, 118_000, None, False, "Wi-Fi 6 屋内AP / Wi-Fi 6 indoor AP"),
    ("MR44", W, 168_000, None, False, "Wi-Fi 6 屋内AP / Wi-Fi 6 indoor AP"),
    ("MR46", W, 198_000, None, False, "Wi-Fi 6 高密度AP / Wi-Fi 6 high-density AP"),
    ("MR57", W, 268_000, None, False, "Wi-Fi 6E 高密度AP / Wi-Fi 6E high-density AP"),
    ("MR33", W, 88_000, "MR36", True, "販売終了 / end of sale, succeeded by MR36"),
    ("MR42", W, 128_000, "MR44", True, "販売終了 / end of sale, succeeded by MR44"),
    ("MR56", W, 228_000, "MR57", True, "販売終了 / end of sale, succeeded by MR57"),
)


def seed_catalogue(*, session: Session, actor: Actor) -> int:
    """Add the default models that are missing; never overwrite an admin's edit."""
    added = 0
    for model, ptype, price, successor, eos, description in DEFAULT_CATALOGUE:
        if session.get(CatalogueModel, model) is not None:
            continue
        upsert_catalogue_model(
            session=session,
            actor=actor,
            model=model,
            product_type=ptype,
            list_price_yen=price,
            successor=successor,
            end_of_sale=eos,
            description=description,
        )
        session.flush()
        added += 1
    return added
