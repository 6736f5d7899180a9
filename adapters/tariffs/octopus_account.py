"""A consumer's own Octopus Energy account, read with their API key: the tariffs their meters
are on and the half-hourly consumption their smart meter recorded.

Endpoints (https://developer.octopus.energy/docs/api/), HTTP basic auth with the API key as
the user name and an empty password:

* ``/v1/accounts/{number}/``: ``properties``, each with ``electricity_meter_points``
  (``mpan``, ``is_export``, ``meters`` of ``serial_number``, ``agreements`` of
  ``tariff_code``, ``valid_from``, ``valid_to``: null while open-ended) and ``moved_out_at``
  (null while the consumer lives there);
* ``/v1/electricity-meter-points/{mpan}/meters/{serial}/consumption/`` with ``period_from``,
  ``period_to``, ``page_size`` and ``order_by=period``: ``results`` of ``consumption`` [kWh],
  ``interval_start``, ``interval_end`` (ISO with the UK offset), paginated like every
  listing (``next``).

A tariff code is ``E-1R-{product}-{region}`` (``E-2R-`` for two-rate meters such as
Economy 7, whose rates are listed as ``day-unit-rates`` and ``night-unit-rates`` where a
single-rate tariff has ``standard-unit-rates``); the product code sits between. The payloads
are read defensively: a missing field, a wrong type, a non-finite or negative consumption, a
page of more results than asked for or over :data:`MAX_PAGE_BYTES`, a listing whose pages
loop or lead to another host, all raise :class:`~adapters.errors.ParseError` naming the
problem; the key was refused (401/403) raises :class:`AccountRefusedError`. The key never
enters a message, a URL or a log line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pandas as pd

from adapters.errors import FetchError, ParseError
from adapters.http import DEFAULT_POLICY, USER_AGENT, RetryPolicy, get_json
from adapters.tariffs.octopus import BASE_URL, GSP_REGIONS, fetch_pages

SOURCE = "octopus account"
ACCOUNT_NUMBER = re.compile(r"^A-[0-9A-F]{8}$")
"""An Octopus account number, e.g. ``A-1B2C3D4E``."""
TARIFF_CODE = re.compile(
    r"^E-(?P<registers>[12])R-(?P<product>[A-Z0-9][A-Z0-9-]*)-(?P<region>[A-P])$"
)
SLOT = timedelta(minutes=30)
PAGE_SIZE = 1500
"""Results asked for per consumption page (a month of half-hours is 1,488)."""
MAX_PAGES = 10
MAX_PAGE_BYTES = 2 * 1024 * 1024
"""A page of 1,500 half-hours is ~170 kB, an account a few kB [bytes]."""
MAX_KWH_PER_SLOT = 50.0
"""More than this in half an hour (100 kW on average) is not a home's meter [kWh]."""


class AccountRefusedError(FetchError):
    """Octopus refused the key for this account (HTTP 401 or 403): a wrong key, a key of
    another account, or a wrong account number."""


@dataclass(frozen=True, slots=True)
class Agreement:
    """A meter point's tariff over ``[valid_from_utc, valid_to_utc)`` (open-ended when None).

    Attributes:
        tariff_code: e.g. ``E-1R-AGILE-24-10-01-C``.
        product_code: the product within it, e.g. ``AGILE-24-10-01``.
        region: the GSP group letter.
        registers: 1 for single-rate meters, 2 for two-rate (Economy 7 style).
    """

    tariff_code: str
    product_code: str
    region: str
    registers: int
    valid_from_utc: datetime
    valid_to_utc: datetime | None

    def in_force(self, moment_utc: datetime) -> bool:
        """Whether the agreement covers ``moment_utc``."""
        return self.valid_from_utc <= moment_utc and (
            self.valid_to_utc is None or moment_utc < self.valid_to_utc
        )


@dataclass(frozen=True, slots=True)
class MeterPoint:
    """One electricity meter point of the account's current property.

    Attributes:
        mpan: the meter point's administration number (13 digits).
        is_export: whether it measures export (a separate MPAN from the import one).
        serial_numbers: its meters' serials (the consumption is per meter).
        agreements: its tariffs, oldest first.
    """

    mpan: str
    is_export: bool
    serial_numbers: tuple[str, ...]
    agreements: tuple[Agreement, ...]

    def agreement_at(self, moment_utc: datetime) -> Agreement | None:
        """The agreement in force at ``moment_utc``, if any."""
        return next((a for a in self.agreements if a.in_force(moment_utc)), None)


@dataclass(frozen=True, slots=True)
class Account:
    """The account's electricity meter points at the property the consumer lives in."""

    number: str
    meter_points: tuple[MeterPoint, ...]

    def meter_point(self, *, export: bool) -> MeterPoint | None:
        """The import (or export) meter point, the first listed when several are."""
        return next((m for m in self.meter_points if m.is_export == export), None)


def parse_tariff_code(code: str, valid_from: object, valid_to: object) -> Agreement:
    """An agreement from its tariff code and validity (pure).

    Raises:
        ParseError: the code is not an electricity tariff code or a time is not ISO.
    """
    match = TARIFF_CODE.match(code)
    if match is None or match["region"] not in GSP_REGIONS:
        raise ParseError(SOURCE, f"not an electricity tariff code: {code[:60]!r}")
    start = _time(valid_from, "valid_from")
    if start is None:
        raise ParseError(SOURCE, f"agreement {code!r} has no valid_from")
    return Agreement(
        tariff_code=code,
        product_code=match["product"],
        region=match["region"],
        registers=int(match["registers"]),
        valid_from_utc=start,
        valid_to_utc=_time(valid_to, "valid_to"),
    )


def _time(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(SOURCE, f"{name} is a {type(value).__name__}, not an ISO time")
    try:
        stamp = pd.Timestamp(value)
    except ValueError as exc:
        raise ParseError(SOURCE, f"{name} {value[:40]!r} is not an ISO time") from exc
    if stamp.tzinfo is None or pd.isna(stamp):
        raise ParseError(SOURCE, f"{name} {value[:40]!r} has no UTC offset")
    return stamp.tz_convert("UTC").to_pydatetime()


def _list(item: dict[str, Any], key: str) -> list[Any]:
    value = item.get(key, [])
    if not isinstance(value, list):
        raise ParseError(SOURCE, f"{key!r} is a {type(value).__name__}, not a list")
    return value


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(SOURCE, f"{what} is a {type(value).__name__}, not an object")
    return value


def _meter_point(raw: object) -> MeterPoint:
    point = _object(raw, "a meter point")
    mpan = point.get("mpan")
    if not isinstance(mpan, str) or not mpan.isdigit():
        raise ParseError(SOURCE, "a meter point has no numeric 'mpan'")
    serials = []
    for meter in _list(point, "meters"):
        serial = _object(meter, "a meter").get("serial_number")
        if isinstance(serial, str) and serial.strip():
            serials.append(serial.strip())
    agreements = []
    for raw_agreement in _list(point, "agreements"):
        agreement = _object(raw_agreement, "an agreement")
        code = agreement.get("tariff_code")
        if not isinstance(code, str):
            raise ParseError(SOURCE, f"an agreement of meter point {mpan} has no tariff_code")
        agreements.append(
            parse_tariff_code(code, agreement.get("valid_from"), agreement.get("valid_to"))
        )
    return MeterPoint(
        mpan=mpan,
        is_export=point.get("is_export") is True,
        serial_numbers=tuple(serials),
        agreements=tuple(sorted(agreements, key=lambda a: a.valid_from_utc)),
    )


def parse_account(payload: object) -> Account:
    """The account's electricity meter points at its current property (pure): the properties
    moved out of are left out; when every property is, the newest one is kept.

    Raises:
        ParseError: the payload lacks the documented fields or has them of the wrong type.
    """
    account = _object(payload, "the account")
    number = account.get("number")
    if not isinstance(number, str):
        raise ParseError(SOURCE, "the account has no 'number'")
    properties = [_object(p, "a property") for p in _list(account, "properties")]
    if not properties:
        raise ParseError(SOURCE, f"account {number[:20]!r} lists no property")
    current = [p for p in properties if p.get("moved_out_at") is None] or properties[-1:]
    points = tuple(
        _meter_point(raw) for prop in current for raw in _list(prop, "electricity_meter_points")
    )
    return Account(number=number, meter_points=points)


def parse_consumption(pages: list[dict[str, Any]]) -> pd.Series:
    """Half-hourly consumption [kWh] indexed by each half-hour's start (UTC), sorted, from
    consumption pages (pure). Empty when the meter has sent nothing for the period.

    Raises:
        ParseError: a result lacks its fields, is not half an hour long, or its consumption is
            not a finite number in ``[0, MAX_KWH_PER_SLOT]``.
    """
    values: dict[datetime, float] = {}
    for page in pages:
        results = page.get("results")
        if not isinstance(results, list):
            raise ParseError(SOURCE, "a consumption page has no 'results' list")
        if len(results) > PAGE_SIZE:
            raise ParseError(SOURCE, f"a page of {len(results)} results, {PAGE_SIZE} asked for")
        for raw in results:
            item = _object(raw, "a consumption result")
            start = _time(item.get("interval_start"), "interval_start")
            end = _time(item.get("interval_end"), "interval_end")
            if start is None or end is None or end - start != SLOT or start.timestamp() % 1800:
                raise ParseError(SOURCE, "a consumption result is not one half-hour")
            kwh = item.get("consumption")
            if not isinstance(kwh, int | float) or isinstance(kwh, bool) or not math.isfinite(kwh):
                raise ParseError(SOURCE, f"consumption at {start.isoformat()} is not a number")
            if not 0.0 <= kwh <= MAX_KWH_PER_SLOT:
                raise ParseError(
                    SOURCE, f"consumption at {start.isoformat()} of {kwh} kWh is out of range"
                )
            values[start] = float(kwh)
    index = pd.DatetimeIndex(sorted(values), tz="UTC") if values else pd.DatetimeIndex([], tz="UTC")
    return pd.Series([values[t] for t in index.to_pydatetime()], index=index, dtype=float)


def _client(api_key: str, client: httpx.Client | None) -> httpx.Client:
    if client is not None:
        return client
    return httpx.Client(auth=(api_key, ""), headers={"User-Agent": USER_AGENT})


def _refused(exc: FetchError) -> FetchError:
    if exc.status_code in (401, 403):
        return AccountRefusedError(SOURCE, "the API key was refused", status_code=exc.status_code)
    return exc


@contextmanager
def _session(api_key: str, client: httpx.Client | None) -> Iterator[httpx.Client]:
    """A client with the key (``client`` when given, else one closed at the end); errors of
    the calls made with it said as this source's, a refused key as :class:`AccountRefusedError`."""
    http = _client(api_key, client)
    try:
        yield http
    except ParseError as exc:
        raise ParseError(SOURCE, exc.reason) from None
    except FetchError as exc:
        raise _refused(exc) from None
    finally:
        if http is not client:
            http.close()


def fetch_account(
    account_number: str,
    api_key: str,
    *,
    base_url: str = BASE_URL,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
) -> Account:
    """The account's meter points and tariffs.

    Raises:
        ValueError: ``account_number`` is not ``A-`` and 8 hex digits.
        AccountRefusedError: Octopus refused the key (401/403).
        FetchError: Octopus could not be reached or kept failing (5xx, 429, 404, ...).
        ParseError: it answered something else than an account.
    """
    if not ACCOUNT_NUMBER.match(account_number):
        raise ValueError("an Octopus account number is A- and 8 characters 0-9/A-F")
    with _session(api_key, client) as http:
        payload = get_json(
            f"{base_url}/accounts/{account_number}/",
            source=SOURCE,
            policy=policy,
            client=http,
            max_bytes=MAX_PAGE_BYTES,
        )
    return parse_account(payload)


def fetch_consumption(
    mpan: str,
    serial_number: str,
    api_key: str,
    start_utc: datetime,
    end_utc: datetime,
    *,
    base_url: str = BASE_URL,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
    max_pages: int = MAX_PAGES,
) -> pd.Series:
    """One meter's half-hourly consumption [kWh] over ``[start_utc, end_utc)``, oldest first.

    Raises:
        AccountRefusedError: Octopus refused the key (401/403).
        FetchError: Octopus could not be reached, kept failing, or sent over ``max_pages``.
        ParseError: a page is not a consumption page, or its pages loop.
    """
    if not mpan.isdigit() or not re.fullmatch(r"[A-Za-z0-9]+", serial_number):
        raise ValueError("the MPAN is digits and the meter serial letters and digits")
    params: dict[str, str | int | float] = {
        "period_from": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "period_to": end_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "page_size": PAGE_SIZE,
        "order_by": "period",
    }
    url = f"{base_url}/electricity-meter-points/{mpan}/meters/{serial_number}/consumption/"
    with _session(api_key, client) as http:
        pages = fetch_pages(
            url,
            params=params,
            policy=policy,
            client=http,
            max_pages=max_pages,
            max_bytes=MAX_PAGE_BYTES,
        )
    return parse_consumption(pages)


@dataclass(frozen=True, slots=True)
class TariffRates:
    """An agreement's prices around a moment, VAT included.

    Attributes:
        unit_rates_gbp_per_kwh: the distinct unit rates in force over the next day, lowest
            first (one for a flat tariff, two for Go, three for Cosy and Flux's bands; empty
            for Agile's 48 is not asked); for a two-rate agreement (Economy 7) its night and
            day rates in force at the moment, in that order, or empty when either is not
            published [GBP/kWh].
        standing_charge_gbp_per_day: the standing charge in force [GBP/day], if published.
    """

    unit_rates_gbp_per_kwh: tuple[float, ...]
    standing_charge_gbp_per_day: float | None


def fetch_tariff_rates(
    agreement: Agreement,
    api_key: str,
    moment_utc: datetime,
    *,
    base_url: str = BASE_URL,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
    with_standing_charge: bool = True,
) -> TariffRates:
    """The agreement's unit rates over the day from ``moment_utc`` (a two-rate agreement's
    from its night and day registers' own listings, as it has no standard rate) and its
    standing charge (not asked for an export tariff: it has none), from the product's public
    endpoints (asked with the same client).

    Raises:
        AccountRefusedError, FetchError, ParseError: as :func:`fetch_consumption`.
    """
    tariff = f"{base_url}/products/{agreement.product_code}/electricity-tariffs/"
    tariff += f"{agreement.tariff_code}/"
    day: dict[str, str | int | float] = {
        "period_from": moment_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "period_to": (moment_utc + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    listings = ("night", "day") if agreement.registers == 2 else ("standard",)
    with _session(api_key, client) as http:
        units = [
            fetch_pages(
                f"{tariff}{listing}-unit-rates/",
                params=day,
                policy=policy,
                client=http,
                max_pages=3,
                max_bytes=MAX_PAGE_BYTES,
            )
            for listing in listings
        ]
        standing = []
        if with_standing_charge:
            standing = fetch_pages(
                f"{tariff}standing-charges/",
                policy=policy,
                client=http,
                max_pages=3,
                max_bytes=MAX_PAGE_BYTES,
            )
    if agreement.registers == 2:
        return parse_two_rates(units[0], units[1], standing, moment_utc)
    return parse_tariff_rates(units[0], standing, moment_utc)


def parse_two_rates(
    night: list[dict[str, Any]],
    day: list[dict[str, Any]],
    standing: list[dict[str, Any]],
    moment_utc: datetime,
) -> TariffRates:
    """A two-rate agreement's night and day unit rates and standing charge in force at
    ``moment_utc`` (pure); no unit rates when either register's is not published then.

    Raises:
        ParseError: as :func:`parse_tariff_rates`.
    """
    rates = (_in_force(night, moment_utc), _in_force(day, moment_utc))
    charge = _in_force(standing, moment_utc)
    if rates[0] is None or rates[1] is None:
        return TariffRates((), charge)
    return TariffRates((round(rates[0], 6), round(rates[1], 6)), charge)


def _in_force(pages: list[dict[str, Any]], moment_utc: datetime) -> float | None:
    """The value [GBP] of the listing's item valid at ``moment_utc`` (the last listed, when
    several are), if any."""
    value = None
    for item in _results_of(pages):
        start = _time(item.get("valid_from"), "valid_from")
        end = _time(item.get("valid_to"), "valid_to")
        if start is not None and start <= moment_utc and (end is None or moment_utc < end):
            value = _pence(item) / 100
    return value


def parse_tariff_rates(
    units: list[dict[str, Any]], standing: list[dict[str, Any]], moment_utc: datetime
) -> TariffRates:
    """The distinct unit rates and the standing charge in force at ``moment_utc`` (pure).

    Raises:
        ParseError: a page or result lacks its fields or a value is not a finite number.
    """
    rates = sorted({round(_pence(r) / 100, 6) for r in _results_of(units)})
    return TariffRates(tuple(rates), _in_force(standing, moment_utc))


def _results_of(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in pages:
        results = page.get("results")
        if not isinstance(results, list) or len(results) > PAGE_SIZE:
            raise ParseError(SOURCE, "a rates page has no 'results' list of a sane length")
        out.extend(_object(r, "a rate") for r in results)
    return out


def _pence(item: dict[str, Any]) -> float:
    value = item.get("value_inc_vat")
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ParseError(SOURCE, "a rate has no finite 'value_inc_vat'")
    return float(value)
