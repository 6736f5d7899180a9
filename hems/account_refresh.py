"""Refresh a home from the consumer's own Octopus account (docs/service.md, "The consumer's
Octopus account"): daily, and when the account is linked.

A refresh reads the account with the consumer's key (decrypted for the call only), and

* when the consumer chose to follow it, sets the home's tariff from the import agreement in
  force with that tariff's published unit rates (Economy 7's day and night) and standing
  charge (:mod:`hems.account_tariff`); a product we do not model is reported and the home keeps its
  tariff; a changed tariff re-plans the home;
* imports the import meter's half-hourly consumption since the last imported half-hour (the
  last :data:`~hems.measured_load.HISTORY_DAYS` days at first) as the home's
  :data:`~hems.measured_load.ACCOUNT_IMPORT` telemetry, which the load forecast uses for the
  half-hours its own meter did not measure.

Every failure (the key refused, Octopus down or answering nonsense, no key file) ends as the
link's status line and a warning, never an exception out of the scheduler's job; no message
carries the key.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pandas as pd

from adapters.errors import AdapterError, FetchError, ParseError
from adapters.http import DEFAULT_POLICY, RetryPolicy
from adapters.tariffs.octopus_account import (
    Account,
    AccountRefusedError,
    Agreement,
    MeterPoint,
    fetch_account,
    fetch_consumption,
    fetch_tariff_rates,
)
from hems.account_secrets import AccountSecrets, SecretsUnavailableError
from hems.account_tariff import (
    EXPORT_BANDS,
    TWO_RATE,
    UnknownProductError,
    tariff_from_account,
    with_rates,
)
from hems.iog_dispatches import IogDispatchesJob
from hems.measured_load import ACCOUNT_IMPORT, HISTORY_DAYS, SLOT_MINUTES
from hems.octopus_jobs import OctopusLink
from hems.octopus_sessions import OctopusSessionsJob
from hems.service import CemService
from hems.storage.octopus_accounts import LINKS, StoredAccountLink
from hems.storage.store import Store
from hems.storage.tables import TelemetryRow

log = logging.getLogger(__name__)

ACTOR = "octopus account"
LINKS_MAX_AGE_S = 60.0
REFUSED = "Octopus refused the key: link the account again with a current key"


class LinkedHomes:
    """Which homes have a linked account, for :class:`~hems.measured_load.MeteredMarket` at
    every plan: read for all homes in one query, again after a link or unlink in this process
    or after :data:`LINKS_MAX_AGE_S` (another replica's), not one query a home a plan."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._homes: frozenset[int] = frozenset()
        self._read_at = -math.inf
        self._version = -1

    def __call__(self, home_id: int) -> bool:
        version = self.store.version(LINKS, 0)
        if version != self._version or time.monotonic() - self._read_at > LINKS_MAX_AGE_S:
            self._version, self._read_at = version, time.monotonic()
            self._homes = frozenset(self.store.octopus_account_homes())
        return home_id in self._homes


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What one refresh did.

    Attributes:
        status: ``ok`` or what went wrong or was left undone, for the consumer.
        tariff_changed: the home's tariff was set to another product.
        slots_imported: half-hours of consumption stored.
        reached: the account was read (the status then says what was done or left undone).
    """

    status: str
    tariff_changed: bool = False
    slots_imported: int = 0
    reached: bool = False


def refresh_home(
    service: CemService,
    home_id: int,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    client: httpx.Client | None = None,
) -> Refreshed:
    """Refresh one home from its account (blocking: run it in a thread); the outcome is also
    stored as the link's status."""
    link = service.store.octopus_account(home_id)
    if link is None:
        return Refreshed("not linked")
    now = service.clock.now()
    codes: tuple[str | None, str | None] = (None, None)
    try:
        key = AccountSecrets(service.settings.account_secrets_key_file).decrypt(
            link.api_key_encrypted
        )
        base = service.settings.octopus_api_url
        account = fetch_account(
            link.account_number, key, base_url=base, policy=policy, client=client
        )
        codes = _codes(account, now)
        done = _apply(service, link, account, key, policy, client)
    except AccountRefusedError:
        done = Refreshed(REFUSED)
    except FetchError as exc:
        done = Refreshed(f"Octopus could not be reached: {exc.reason}")
    except ParseError as exc:
        done = Refreshed(f"Octopus answered something unexpected: {exc.reason}")
    except (AdapterError, SecretsUnavailableError, ValueError) as exc:
        done = Refreshed(f"not refreshed: {exc}")
    if done.status != "ok":  # a failure warns; a tariff changed or not followed informs
        level = logging.INFO if done.reached else logging.WARNING
        log.log(level, "home %s: Octopus account refresh: %s", home_id, done.status)
    service.store.note_octopus_refresh(home_id, now, done.status, codes)
    return done


def _codes(account: Account, now: datetime) -> tuple[str | None, str | None]:
    out: list[str | None] = []
    for export in (False, True):
        point = account.meter_point(export=export)
        agreement = None if point is None else point.agreement_at(now)
        out.append(None if agreement is None else agreement.tariff_code)
    return out[0], out[1]


def _apply(
    service: CemService,
    link: StoredAccountLink,
    account: Account,
    key: str,
    policy: RetryPolicy,
    client: httpx.Client | None,
) -> Refreshed:
    notes: list[str] = []
    changed = False
    point = account.meter_point(export=False)
    if point is None:
        return Refreshed("the account has no electricity import meter point")
    now = service.clock.now()
    agreement = point.agreement_at(now)
    if link.follow_tariff and agreement is None:
        notes.append("no tariff agreement is in force on the import meter; tariff kept")
    elif link.follow_tariff and agreement is not None:
        exported = account.meter_point(export=True)
        agreements = (agreement, None if exported is None else exported.agreement_at(now))
        changed = _follow(service, link.home_id, agreements, key, notes, (policy, client))
    imported = _import_consumption(service, link.home_id, point, key, policy, client)
    status = "; ".join(notes) if notes else "ok"
    return Refreshed(status, tariff_changed=changed, slots_imported=imported, reached=True)


def _follow(
    service: CemService,
    home_id: int,
    agreements: tuple[Agreement, Agreement | None],
    key: str,
    notes: list[str],
    http: tuple[RetryPolicy, httpx.Client | None],
) -> bool:
    """Set the home's tariff from the import agreement with its published rates, and the
    export agreement's; whether it changed (what could not be done is added to ``notes``)."""
    now = service.clock.now()
    current = service.store.home(home_id).tariff.model_dump(mode="json")
    try:
        tariff, _moved = tariff_from_account(agreements[0], current)
    except UnknownProductError as exc:
        notes.append(str(exc))
        return False
    for agreement, export in ((agreements[0], False), (agreements[1], True)):
        if agreement is None or (export and tariff["product"] not in EXPORT_BANDS):
            continue
        if agreement.registers == 2 and (export or tariff["product"] != TWO_RATE):
            notes.append("a two-rate meter's rates are not read; the home's are kept")
            continue
        try:
            rates = fetch_tariff_rates(
                agreement,
                key,
                now,
                base_url=service.settings.octopus_api_url,
                policy=http[0],
                client=http[1],
                with_standing_charge=not export,
            )
        except AdapterError as exc:
            notes.append(f"the tariff's published rates were not read ({exc}); rates kept")
            continue
        tariff, note = with_rates(tariff, rates, export=export)
        notes.extend([note] if note else [])
    if tariff == current:
        return False
    service.store.set_home_tariff(home_id, tariff, now, ACTOR)
    if tariff["product"] == current.get("product"):
        notes.append(f"{tariff['product']} rates updated from the account's tariff")
    else:
        notes.append(f"tariff set to {tariff['product']} with the account's tariff's rates")
    return True


def _import_consumption(
    service: CemService,
    home_id: int,
    point: MeterPoint,
    key: str,
    policy: RetryPolicy,
    client: httpx.Client | None,
) -> int:
    """Store the half-hours since the last imported one (each meter of the point: a replaced
    meter's serial has the older half-hours); returns how many."""
    now, slot = service.clock.now(), f"{SLOT_MINUTES}min"
    start = pd.Timestamp(now - timedelta(days=HISTORY_DAYS)).ceil(slot).to_pydatetime()
    stored = service.store.telemetry_powers(home_id, ACCOUNT_IMPORT, start)
    if stored:
        start = stored[-1][0] + timedelta(minutes=SLOT_MINUTES)
    end = pd.Timestamp(now).floor(slot).to_pydatetime()
    if start >= end:
        return 0
    kwh = pd.Series(dtype=float)
    for serial in point.serial_numbers:
        got = fetch_consumption(
            point.mpan,
            serial,
            key,
            start,
            end,
            base_url=service.settings.octopus_api_url,
            policy=policy,
            client=client,
        )
        kwh = got if kwh.empty else kwh.combine_first(got)
    kwh = kwh[(kwh.index >= start) & (kwh.index < end)]
    rows = [
        TelemetryRow(
            device_name=ACCOUNT_IMPORT,
            at=at.to_pydatetime(),
            online=True,
            power_kw=float(value) * 60 / SLOT_MINUTES,
        )
        for at, value in zip(pd.DatetimeIndex(kwh.index), kwh.to_numpy(), strict=True)
    ]
    if rows:
        service.store.add_telemetry(home_id, rows)
    return len(rows)


_REFRESHING: dict[int, asyncio.Lock] = {}
"""One refresh of a home at a time in this process (the daily job and the API's), so two never
import the same half-hours."""


async def refresh_home_async(service: CemService, home_id: int) -> Refreshed:
    """:func:`refresh_home` off the event loop, re-planning the home when its tariff changed."""
    async with _REFRESHING.setdefault(home_id, asyncio.Lock()):
        done = await asyncio.to_thread(refresh_home, service, home_id)
    if done.tariff_changed:
        service.replan_soon(home_id, "tariff from the Octopus account")
    return done


def octopus_links(service: CemService) -> list[tuple[int, OctopusLink]]:
    """The linked homes with their account number and key, for the Saving Sessions job
    (:mod:`hems.octopus_sessions`); a key that cannot be decrypted is logged and left out."""
    secrets = AccountSecrets(service.settings.account_secrets_key_file)
    out = []
    for home_id in service.store.octopus_account_homes():
        link = service.store.octopus_account(home_id)
        if link is None:
            continue
        try:
            key = secrets.decrypt(link.api_key_encrypted)
        except SecretsUnavailableError as exc:
            log.warning("home %s: Octopus account key not usable: %s", home_id, exc)
            continue
        out.append((home_id, OctopusLink(account_number=link.account_number, api_key=key)))
    return out


def saving_sessions_job(service: CemService) -> OctopusSessionsJob:
    """The ``octopus_sessions`` job over the stored links, on the configured Octopus API (its
    token) and backend API (Saving Sessions)."""
    settings = service.settings
    return OctopusSessionsJob(
        service,
        lambda: octopus_links(service),
        url=f"{settings.octopus_api_url}/graphql/",
        backend_url=f"{settings.octopus_backend_api_url}/graphql/",
    )


def dispatches_job(service: CemService) -> IogDispatchesJob:
    """The ``octopus_dispatches`` job (Intelligent Octopus Go's granted slots,
    :mod:`hems.iog_dispatches`) over the stored links, on the configured Octopus API."""
    url = f"{service.settings.octopus_api_url}/graphql/"
    return IogDispatchesJob(service, lambda: octopus_links(service), url=url)


async def refresh_all(service: CemService) -> None:
    """The daily job: every linked home this replica runs, one after another."""
    for home_id in service.store.octopus_account_homes():
        if service.runs(home_id):
            await refresh_home_async(service, home_id)
