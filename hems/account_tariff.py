"""The home's tariff product from the tariff its Octopus account is on (docs/service.md, "The
consumer's Octopus account").

An Octopus product code names the product family and its launch date
(``AGILE-24-10-01``, ``INTELLI-VAR-22-10-14``); the family says which of our typed products
(:mod:`hems.domain.tariffs`) prices the home the same way. The account gives the product, not
its rates: a home already on that product keeps its rates (the consumer may have entered their
own); a home moving to it takes the product's default rates, and the refresh says so. A family
we do not model (Tracker's daily price, a gas tariff) is refused by name and the home keeps
its tariff.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter

from adapters.tariffs.octopus_account import Agreement
from hems.domain.tariffs import Tariff

FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^AGILE-(?!OUTGOING)"), "agile"),
    (re.compile(r"^INTELLI-"), "intelligent_octopus_go"),
    (re.compile(r"^GO-"), "octopus_go"),
    (re.compile(r"^COSY-"), "cosy_octopus"),
    (re.compile(r"^FLUX-(?!EXPORT)"), "flux"),
    (re.compile(r"^(VAR|OE-VAR|LOYAL-VAR|FIX|OE-FIX|LOYAL-FIX|[A-Z]*-FIX-?\d*M?)-"), "flat"),
)
"""Import product code patterns and the product pricing each (first match wins)."""
TWO_RATE = "economy_7"
"""A two-rate meter (``E-2R-``) on a flat product's code is Economy 7."""

_TARIFF: TypeAdapter[Any] = TypeAdapter(Tariff)


class UnknownProductError(ValueError):
    """The account's tariff is not one of the products the planner models."""


def product_for(agreement: Agreement) -> str:
    """Our product code for an import agreement.

    Raises:
        UnknownProductError: its product family is not modelled (the message names it).
    """
    for pattern, product in FAMILIES:
        if pattern.match(agreement.product_code):
            if agreement.registers == 2 and product == "flat":
                return TWO_RATE
            return product
    raise UnknownProductError(
        f"the account's tariff {agreement.tariff_code} (product {agreement.product_code}) is "
        "not one the planner models (Agile, Intelligent Octopus Go, Octopus Go, Cosy, Flux, "
        "flexible or fixed, Economy 7); the home keeps its tariff"
    )


def tariff_from_account(
    agreement: Agreement, current: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The home's tariff (as JSON) for the account's import ``agreement``, and whether it
    changed product: the current tariff when its product is the same, else the product's
    defaults (with the current standing charge, until the consumer enters the new one).

    Raises:
        UnknownProductError: as :func:`product_for`.
    """
    product = product_for(agreement)
    if current.get("product") == product:
        return current, False
    fresh: dict[str, Any] = {"product": product}
    if "standing_charge_gbp_per_day" in current:
        fresh["standing_charge_gbp_per_day"] = current["standing_charge_gbp_per_day"]
    return _TARIFF.dump_python(_TARIFF.validate_python(fresh), mode="json"), True
