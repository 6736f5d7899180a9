"""Link, show and unlink a home's Octopus account (docs/service.md, "The consumer's Octopus
account"). Linking checks the key with Octopus once, stores it encrypted and refreshes the home
(:mod:`hems.account_refresh`). The key is never answered, logged or audited: only its last 4
characters are shown, so the consumer can tell which key is linked."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

from pydantic import BaseModel, Field

from adapters.errors import FetchError, ParseError
from adapters.tariffs.octopus_account import ACCOUNT_NUMBER, AccountRefusedError, fetch_account
from hems.account_refresh import refresh_home_async
from hems.account_secrets import AccountSecrets
from hems.service import CemService
from hems.storage.octopus_accounts import StoredAccountLink
from hems.usecases.errors import InvalidInputError

API_KEY = re.compile(r"^[A-Za-z0-9_\-]{8,200}$")
"""An Octopus API key's characters (``sk_live_`` and 24 letters and digits today)."""


class SecretsNotConfiguredError(RuntimeError):
    """The service has no key file to encrypt the consumers' keys with: linking is refused."""


class OctopusUnavailableError(RuntimeError):
    """Octopus could not be reached, or answered something else than an account."""


class AccountLinkRequest(BaseModel):
    """The consumer's Octopus account number (``A-1B2C3D4E``) and API key (from the Octopus
    dashboard's developer settings); ``follow_tariff``: set the home's tariff from the
    account's (checked daily). Both are checked in the operation, not here, so a 422 never
    echoes them (a key pasted in the wrong field included)."""

    account_number: str = Field(examples=["A-1B2C3D4E"])
    api_key: str = Field(description="write-only: never answered")
    follow_tariff: bool = True


class AccountLinkPublic(BaseModel):
    """A home's link as the consumer sees it (never the key)."""

    account_number: str
    api_key_last4: str = Field(description="the key's last 4 characters")
    follow_tariff: bool
    linked_at: datetime
    refreshed_at: datetime | None
    refresh_status: str | None = Field(description="ok, or what the last refresh could not do")
    import_tariff_code: str | None = Field(description="the import meter's tariff in force")
    export_tariff_code: str | None = Field(description="the export meter's tariff in force")


def public(link: StoredAccountLink) -> AccountLinkPublic:
    """The link without its key."""
    return AccountLinkPublic(
        account_number=link.account_number,
        api_key_last4=link.api_key_last4,
        follow_tariff=link.follow_tariff,
        linked_at=link.linked_at,
        refreshed_at=link.refreshed_at,
        refresh_status=link.refresh_status,
        import_tariff_code=link.import_tariff_code,
        export_tariff_code=link.export_tariff_code,
    )


def account_link(service: CemService, home_id: int) -> AccountLinkPublic | None:
    """The home's link, or None."""
    link = service.store.octopus_account(home_id)
    return None if link is None else public(link)


async def link_account(
    service: CemService, home_id: int, request: AccountLinkRequest, actor: str
) -> AccountLinkPublic:
    """Check the key with Octopus, store the link (replacing one) and refresh the home.

    Raises:
        InvalidInputError: a malformed number or key, a key Octopus refused, an account
            Octopus does not know (422; the key is never the echoed value).
        SecretsNotConfiguredError: no ``account_secrets_key_file``.
        OctopusUnavailableError: Octopus down or answering nonsense.
    """
    number, key = request.account_number.strip().upper(), request.api_key.strip()
    if not ACCOUNT_NUMBER.match(number):
        message = "an Octopus account number is A- and 8 characters 0-9/A-F, e.g. A-1B2C3D4E"
        raise InvalidInputError(("body", "account_number"), message, None)  # a key pasted?
    if not API_KEY.match(key):
        message = "an Octopus API key is 8-200 letters, digits, _ or - (e.g. sk_live_...)"
        raise InvalidInputError(("body", "api_key"), message, None)
    secrets = AccountSecrets(service.settings.account_secrets_key_file)
    if not secrets.available:
        raise SecretsNotConfiguredError(
            "this service cannot keep Octopus keys: its operator has configured no "
            "account_secrets_key_file"
        )
    base = service.settings.octopus_api_url
    try:
        await asyncio.to_thread(fetch_account, number, key, base_url=base)
    except AccountRefusedError:
        message = "the key was refused by Octopus for this account"
        raise InvalidInputError(("body", "api_key"), message, None) from None
    except FetchError as exc:
        if exc.status_code == 404:
            message = "Octopus knows no such account"
            raise InvalidInputError(("body", "account_number"), message, number) from None
        raise OctopusUnavailableError(f"Octopus could not be reached: {exc.reason}") from None
    except ParseError as exc:
        raise OctopusUnavailableError(f"Octopus answered unexpectedly: {exc.reason}") from None
    link = StoredAccountLink(
        home_id=home_id,
        account_number=number,
        api_key_encrypted=secrets.encrypt(key),
        api_key_last4=key[-4:],
        follow_tariff=request.follow_tariff,
        linked_at=service.clock.now(),
        refreshed_at=None,
        refresh_status=None,
        import_tariff_code=None,
        export_tariff_code=None,
    )
    await asyncio.to_thread(service.store.link_octopus_account, link, actor)
    await refresh_home_async(service, home_id)
    stored = service.store.octopus_account(home_id)
    return public(stored if stored is not None else link)


async def refresh_account(service: CemService, home_id: int) -> AccountLinkPublic | None:
    """Refresh the home from its account now; None when no account is linked."""
    if service.store.octopus_account(home_id) is None:
        return None
    await refresh_home_async(service, home_id)
    return account_link(service, home_id)


def unlink_account(service: CemService, home_id: int, actor: str) -> bool:
    """Delete the link and its key (the imported consumption stays, as the meter's would, and
    ages out with the telemetry); False when none was linked."""
    return service.store.unlink_octopus_account(home_id, service.clock.now(), actor)
