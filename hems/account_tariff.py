"""The home's tariff product from the tariff its Octopus account is on (docs/service.md, "The
consumer's Octopus account").

An Octopus product code names the product family and its launch date
(``AGILE-24-10-01``, ``INTELLI-VAR-22-10-14``); the family says which of our typed products
(:mod:`hems.domain.tariffs`) prices the home the same way. The account gives the product; its
rates come from the tariff's published unit rates and standing charge (:func:`with_rates`):
the day's distinct unit rates, lowest first, are the product's bands (flat: one; Go and
Intelligent Go: off-peak, peak; Cosy: cosy, standard, peak; Flux: night, day, peak import),
and the export meter's tariff's its export bands (one; Flux's three). Economy 7's are its
night and day registers' rates; the hours of its night stay the product's, as Octopus does
not publish the meter's. Where they do not fit (a count that is not the product's, a
register's rate not published, an Economy 7 night dearer than its day, Agile's market
prices) the home's rates for that product stay, or its defaults, and the refresh says so.
A family we do not model (Tracker's daily price, a gas tariff) is refused by name and the
home keeps its tariff.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter

from adapters.tariffs.octopus_account import Agreement, TariffRates
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


BANDS: dict[str, tuple[str, ...]] = {
    "flat": ("import_gbp_per_kwh",),
    "octopus_go": ("off_peak_gbp_per_kwh", "peak_gbp_per_kwh"),
    "intelligent_octopus_go": ("off_peak_gbp_per_kwh", "peak_gbp_per_kwh"),
    "cosy_octopus": ("cosy_gbp_per_kwh", "standard_gbp_per_kwh", "peak_gbp_per_kwh"),
    "flux": ("import_night_gbp_per_kwh", "import_day_gbp_per_kwh", "import_peak_gbp_per_kwh"),
    TWO_RATE: ("night_gbp_per_kwh", "day_gbp_per_kwh"),
}
"""Each product's import rate fields, lowest rate first (Economy 7's: night register's, day
register's, as :func:`~adapters.tariffs.octopus_account.fetch_tariff_rates` gives them)."""
EXPORT_BANDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("flat", "octopus_go", "intelligent_octopus_go", "cosy_octopus", TWO_RATE),
        ("export_gbp_per_kwh",),
    ),
    "flux": ("export_night_gbp_per_kwh", "export_day_gbp_per_kwh", "export_peak_gbp_per_kwh"),
}
"""Each product's export rate fields, lowest rate first (Agile's export is the market's)."""


def with_rates(
    tariff: dict[str, Any], rates: TariffRates, *, export: bool = False
) -> tuple[dict[str, Any], str | None]:
    """``tariff`` with the published standing charge and, where their count fits the
    product's import (or ``export``) bands, unit rates; and a note when the unit rates could
    not be used."""
    out = dict(tariff)
    if rates.standing_charge_gbp_per_day is not None:
        out["standing_charge_gbp_per_day"] = rates.standing_charge_gbp_per_day
    fields = (EXPORT_BANDS if export else BANDS).get(str(tariff.get("product")), ())
    note = None
    published = rates.unit_rates_gbp_per_kwh
    if fields and len(fields) == len(published):
        note = None if export else _night_above_day(out, published)
        if note is None:
            out.update(zip(fields, published, strict=True))
    elif fields:
        note = (
            f"{len(published)} published {'export' if export else 'unit'} "
            f"rates do not fit {tariff.get('product')}'s {len(fields)}; its rates are kept"
        )
    try:
        return _TARIFF.dump_python(_TARIFF.validate_python(out), mode="json"), note
    except ValueError as exc:
        return tariff, f"the published rates are out of range, not used: {str(exc)[:120]}"


def _night_above_day(tariff: dict[str, Any], published: tuple[float, ...]) -> str | None:
    """Why Economy 7's published ``(night, day)`` rates are not used, when the night's is the
    dearer: the product's point is a cheap night, so such a listing is a mislabelled or swapped
    register, and taking it would move the home's flexible load into the dear hours."""
    if tariff.get("product") != TWO_RATE or len(published) != 2 or published[0] <= published[1]:
        return None
    night_p, day_p = (round(rate * 100, 2) for rate in published)
    return (
        f"the published night rate ({night_p} p/kWh) is above the day rate ({day_p} p/kWh), "
        "not Economy 7's cheap night; the home's rates are kept"
    )
