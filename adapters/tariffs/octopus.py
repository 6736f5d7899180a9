"""Octopus Energy's public REST API (no key needed): products, Agile import and Agile Outgoing
unit rates per region, standing charges.

Endpoints (https://developer.octopus.energy/docs/api/); the listings are paginated Django-REST
style (``{"count", "next", "previous", "results"}``, ``next`` an absolute URL or null):

* ``/v1/products/`` : products (``code``, ``direction`` IMPORT/EXPORT, ``full_name``, ...);
* ``/v1/products/{product}/``: the product with ``single_register_electricity_tariffs``
  (``{"_C": {"direct_debit_monthly": {"code", "standing_charge_inc_vat", ...}}}``);
* ``/v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/`` with
  ``period_from`` / ``period_to``: ``results`` of ``value_exc_vat``, ``value_inc_vat`` [p/kWh],
  ``valid_from``, ``valid_to`` (ISO UTC; ``valid_to`` null when open-ended), newest first;
* ``.../standing-charges/``: the same shape, values in p/day.

A single-register electricity tariff code is ``E-1R-{product}-{region}``, the region being the
GSP group letter (A-P without I and O; C is London). Agile Outgoing is a product with direction
EXPORT and the same tariff code pattern.

Each source is a trio: ``fetch_*`` (HTTP), ``read_*`` (a saved JSON payload), ``parse_*`` (pure).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pandas as pd

from adapters.errors import FetchError, ParseError
from adapters.http import DEFAULT_POLICY, MAX_BODY_BYTES, RetryPolicy, get_json
from adapters.slots import as_utc_index, intervals_on_grid
from kernel.timegrid import TimeGrid, grid_index

BASE_URL = "https://api.octopus.energy/v1"
SOURCE = "octopus"
GSP_REGIONS = frozenset("ABCDEFGHJKLMNP")
MAX_PAGES = 20
IMPORT_PRICE = "import_price_gbp_per_kwh"
EXPORT_PRICE = "export_price_gbp_per_kwh"


@dataclass(frozen=True, slots=True)
class Product:
    """One Octopus product as listed by ``/v1/products/``.

    Attributes:
        code: product code, e.g. ``AGILE-24-10-01``.
        direction: ``IMPORT`` or ``EXPORT``.
        full_name: the product's name.
        is_variable: whether its rates vary.
        available_from_utc: first day it can be chosen.
        available_to_utc: last day, or None when still on sale.
    """

    code: str
    direction: str
    full_name: str
    is_variable: bool
    available_from_utc: datetime | None
    available_to_utc: datetime | None


@dataclass(frozen=True, slots=True)
class StandingCharge:
    """A standing charge valid over ``[valid_from_utc, valid_to_utc)`` (open-ended when None).

    Attributes:
        gbp_per_day: the charge [GBP/day], VAT as chosen when parsing.
    """

    valid_from_utc: datetime
    valid_to_utc: datetime | None
    gbp_per_day: float


@dataclass(frozen=True, slots=True)
class RegionalTariff:
    """One electricity tariff of a product in one region, from the product's detail.

    Attributes:
        region: GSP group letter.
        payment: e.g. ``direct_debit_monthly`` or ``prepay``.
        code: tariff code for the unit-rate and standing-charge endpoints.
        standing_charge_gbp_per_day: current standing charge [GBP/day], if listed.
        unit_rate_gbp_per_kwh: current flat unit rate [GBP/kWh] (None for Agile: it varies).
    """

    region: str
    payment: str
    code: str
    standing_charge_gbp_per_day: float | None
    unit_rate_gbp_per_kwh: float | None


def tariff_code(product_code: str, region: str) -> str:
    """Single-register electricity tariff code for ``product_code`` in GSP region ``region``.

    Raises:
        ValueError: ``region`` is not a GSP group letter.
    """
    letter = region.strip().lstrip("_").upper()
    if letter not in GSP_REGIONS:
        raise ValueError(
            f"region must be one GSP group letter of {sorted(GSP_REGIONS)}, got {region!r}"
        )
    return f"E-1R-{product_code}-{letter}"


def unit_rates_url(product_code: str, tariff: str) -> str:
    """URL of the standard unit rates of one tariff."""
    return f"{BASE_URL}/products/{product_code}/electricity-tariffs/{tariff}/standard-unit-rates/"


def standing_charges_url(product_code: str, tariff: str) -> str:
    """URL of the standing charges of one tariff."""
    return f"{BASE_URL}/products/{product_code}/electricity-tariffs/{tariff}/standing-charges/"


# ---------------------------------------------------------------------------------- fetching


def fetch_pages(
    url: str,
    *,
    params: dict[str, str | int | float] | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
    max_pages: int = MAX_PAGES,
    max_bytes: int = MAX_BODY_BYTES,
) -> list[dict[str, Any]]:
    """Every page of a paginated Octopus listing, following ``next`` up to ``max_pages`` (each
    page at most ``max_bytes``).

    Raises:
        FetchError: a page could not be fetched, or the listing has more than ``max_pages``.
        ParseError: a page is not a JSON object, or a ``next`` leads back to an earlier page
            or to another host.
    """
    pages: list[dict[str, Any]] = []
    next_url: str | None = url
    next_params = params
    seen: set[str] = set()
    while next_url is not None:
        if len(pages) == max_pages:
            raise FetchError(SOURCE, f"more than {max_pages} pages at {url}")
        if next_url in seen:
            raise ParseError(SOURCE, f"the pages of {url} loop back to an earlier page")
        if _origin(next_url) != _origin(url):  # a key in the client must not go elsewhere
            raise ParseError(SOURCE, f"a 'next' page of {url} is on another host")
        seen.add(next_url)
        page = get_json(
            next_url,
            source=SOURCE,
            params=next_params,
            policy=policy,
            client=client,
            max_bytes=max_bytes,
        )
        if not isinstance(page, dict):
            raise ParseError(SOURCE, f"page is a {type(page).__name__}, not an object")
        pages.append(page)
        nxt = page.get("next")
        next_url = nxt if isinstance(nxt, str) and nxt else None
        next_params = None  # the next URL carries its own query
    return pages


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _period_params(grid: TimeGrid) -> dict[str, str | int | float]:
    index = grid_index(grid)
    end = index[-1] + pd.Timedelta(minutes=grid.step_minutes)
    return {
        "period_from": index[0].strftime("%Y-%m-%dT%H:%MZ"),
        "period_to": end.strftime("%Y-%m-%dT%H:%MZ"),
        "page_size": 1500,
    }


def fetch_products(
    *, policy: RetryPolicy = DEFAULT_POLICY, client: httpx.Client | None = None
) -> list[Product]:
    """Every product Octopus currently lists."""
    return parse_products(fetch_pages(f"{BASE_URL}/products/", policy=policy, client=client))


def fetch_product_tariffs(
    product_code: str,
    *,
    include_vat: bool = True,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
) -> list[RegionalTariff]:
    """The electricity tariffs of one product in every region (``/v1/products/{code}/``)."""
    payload = get_json(
        f"{BASE_URL}/products/{product_code}/", source=SOURCE, policy=policy, client=client
    )
    return parse_product_tariffs(payload, include_vat=include_vat)


def fetch_unit_rates(
    product_code: str,
    region: str,
    grid: TimeGrid,
    *,
    name: str = IMPORT_PRICE,
    include_vat: bool = True,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
) -> pd.Series:
    """Unit rates of ``product_code`` in ``region`` on ``grid`` [GBP/kWh]; NaN where not yet
    published (Agile publishes the next day around 16:00 UK time)."""
    tariff = tariff_code(product_code, region)
    pages = fetch_pages(
        unit_rates_url(product_code, tariff),
        params=_period_params(grid),
        policy=policy,
        client=client,
    )
    return parse_unit_rates(pages, grid, name=name, include_vat=include_vat)


def fetch_agile_import(product_code: str, region: str, grid: TimeGrid, **kwargs: Any) -> pd.Series:
    """Agile import prices on ``grid``, named ``import_price_gbp_per_kwh`` [GBP/kWh]."""
    return fetch_unit_rates(product_code, region, grid, name=IMPORT_PRICE, **kwargs)


def fetch_agile_outgoing(
    product_code: str, region: str, grid: TimeGrid, **kwargs: Any
) -> pd.Series:
    """Agile Outgoing export prices on ``grid``, named ``export_price_gbp_per_kwh`` [GBP/kWh].
    Export prices carry no VAT, so ``include_vat`` makes no difference."""
    return fetch_unit_rates(product_code, region, grid, name=EXPORT_PRICE, **kwargs)


def fetch_standing_charges(
    product_code: str,
    region: str,
    *,
    include_vat: bool = True,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
) -> list[StandingCharge]:
    """Standing charges of ``product_code`` in ``region``, newest first."""
    tariff = tariff_code(product_code, region)
    pages = fetch_pages(standing_charges_url(product_code, tariff), policy=policy, client=client)
    return parse_standing_charges(pages, include_vat=include_vat)


# ---------------------------------------------------------------------------------- reading


def _load_pages(path: Path) -> list[dict[str, Any]]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ParseError(SOURCE, f"{path} is not JSON: {exc}") from exc
    return payload if isinstance(payload, list) else [payload]


def read_unit_rates(
    path: Path, grid: TimeGrid, *, name: str = IMPORT_PRICE, include_vat: bool = True
) -> pd.Series:
    """Unit rates from a saved API response (one page, or a JSON list of pages)."""
    return parse_unit_rates(_load_pages(path), grid, name=name, include_vat=include_vat)


def read_products(path: Path) -> list[Product]:
    """Products from a saved ``/v1/products/`` response."""
    return parse_products(_load_pages(path))


def read_product_tariffs(path: Path, *, include_vat: bool = True) -> list[RegionalTariff]:
    """Regional tariffs from a saved ``/v1/products/{code}/`` response."""
    pages = _load_pages(path)
    return parse_product_tariffs(pages[0], include_vat=include_vat)


def read_standing_charges(path: Path, *, include_vat: bool = True) -> list[StandingCharge]:
    """Standing charges from a saved API response."""
    return parse_standing_charges(_load_pages(path), include_vat=include_vat)


# ---------------------------------------------------------------------------------- parsing


def _results(pages: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]]:
    pages_list = [pages] if isinstance(pages, dict) else pages
    out: list[dict[str, Any]] = []
    for page in pages_list:
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise ParseError(SOURCE, "page has no 'results' list")
        for item in page["results"]:
            if not isinstance(item, dict):
                raise ParseError(SOURCE, "a result is not an object")
            out.append(item)
    return out


def _optional_time(value: object) -> datetime | None:
    if value is None:
        return None
    return pd.Timestamp(str(value)).tz_convert("UTC").to_pydatetime()


def _value_pence(item: dict[str, Any], include_vat: bool) -> float:
    key = "value_inc_vat" if include_vat else "value_exc_vat"
    value = item.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ParseError(SOURCE, f"result has no numeric {key!r}: {item!r}")
    return float(value)


def _intervals(
    results: list[dict[str, Any]],
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    try:
        starts = as_utc_index([r["valid_from"] for r in results])
        ends = as_utc_index([r.get("valid_to") for r in results])
    except (KeyError, ValueError, TypeError) as exc:
        raise ParseError(SOURCE, f"bad valid_from / valid_to: {exc}") from exc
    if starts.hasnans:
        raise ParseError(SOURCE, "a result has no valid_from")
    return starts, ends


def parse_unit_rates(
    pages: list[dict[str, Any]] | dict[str, Any],
    grid: TimeGrid,
    *,
    name: str = IMPORT_PRICE,
    include_vat: bool = True,
) -> pd.Series:
    """Unit rates on ``grid`` [GBP/kWh] from one or more API pages (pure).

    An empty ``results`` list is not an error: it gives an all-NaN series (nothing published for
    the period), which the caller treats like any unpublished slot.

    Raises:
        ParseError: a page or result lacks the documented keys.
    """
    results = _results(pages)
    if not results:
        return pd.Series(np.nan, index=grid_index(grid), name=name)
    starts, ends = _intervals(results)
    values = np.array([_value_pence(r, include_vat) for r in results]) / 100.0
    return intervals_on_grid(starts, ends, values, grid, name=name)


def parse_standing_charges(
    pages: list[dict[str, Any]] | dict[str, Any], *, include_vat: bool = True
) -> list[StandingCharge]:
    """Standing charges [GBP/day], newest first (pure).

    Raises:
        ParseError: a page or result lacks the documented keys, or there is none.
    """
    results = _results(pages)
    if not results:
        raise ParseError(SOURCE, "no standing charge in the response")
    starts, ends = _intervals(results)
    charges = [
        StandingCharge(
            valid_from_utc=start.to_pydatetime(),
            valid_to_utc=None if pd.isna(end) else end.to_pydatetime(),
            gbp_per_day=_value_pence(r, include_vat) / 100.0,
        )
        for r, start, end in zip(results, starts, ends, strict=True)
    ]
    return sorted(charges, key=lambda c: c.valid_from_utc, reverse=True)


def standing_charge_at(charges: list[StandingCharge], moment_utc: datetime) -> float:
    """The standing charge [GBP/day] in force at ``moment_utc``.

    Raises:
        LookupError: none is in force then.
    """
    for charge in charges:
        if charge.valid_from_utc <= moment_utc and (
            charge.valid_to_utc is None or moment_utc < charge.valid_to_utc
        ):
            return charge.gbp_per_day
    raise LookupError(f"no standing charge in force at {moment_utc.isoformat()}")


def parse_products(pages: list[dict[str, Any]] | dict[str, Any]) -> list[Product]:
    """Products from ``/v1/products/`` pages (pure).

    Raises:
        ParseError: a page or product lacks ``code``, ``direction`` or ``full_name``.
    """
    products = []
    for item in _results(pages):
        try:
            products.append(
                Product(
                    code=str(item["code"]),
                    direction=str(item["direction"]),
                    full_name=str(item["full_name"]),
                    is_variable=bool(item.get("is_variable", False)),
                    available_from_utc=_optional_time(item.get("available_from")),
                    available_to_utc=_optional_time(item.get("available_to")),
                )
            )
        except KeyError as exc:
            raise ParseError(SOURCE, f"product without {exc}") from exc
    return products


def parse_product_tariffs(payload: Any, *, include_vat: bool = True) -> list[RegionalTariff]:
    """Single-register electricity tariffs from a product's detail (pure): one per region and
    payment method, sorted by region.

    Raises:
        ParseError: no ``single_register_electricity_tariffs`` object, or a tariff without code.
    """
    if not isinstance(payload, dict) or not isinstance(
        payload.get("single_register_electricity_tariffs"), dict
    ):
        raise ParseError(SOURCE, "product has no 'single_register_electricity_tariffs' object")
    suffix = "inc_vat" if include_vat else "exc_vat"

    def pounds(value: object) -> float | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value) / 100.0
        return None

    out = []
    for region, by_payment in payload["single_register_electricity_tariffs"].items():
        if not isinstance(by_payment, dict):
            raise ParseError(SOURCE, f"region {region!r} is not an object")
        for payment, tariff in by_payment.items():
            if not isinstance(tariff, dict) or not isinstance(tariff.get("code"), str):
                raise ParseError(SOURCE, f"tariff {region}/{payment} has no code")
            out.append(
                RegionalTariff(
                    region=str(region).lstrip("_"),
                    payment=str(payment),
                    code=tariff["code"],
                    standing_charge_gbp_per_day=pounds(tariff.get(f"standing_charge_{suffix}")),
                    unit_rate_gbp_per_kwh=pounds(tariff.get(f"standard_unit_rate_{suffix}")),
                )
            )
    return sorted(out, key=lambda t: (t.region, t.payment))


def agile_products(products: list[Product], *, direction: str = "IMPORT") -> list[Product]:
    """Agile products of ``direction`` (Agile Outgoing is direction EXPORT), newest first."""
    chosen = [p for p in products if p.code.startswith("AGILE") and p.direction == direction]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(chosen, key=lambda p: p.available_from_utc or oldest, reverse=True)
