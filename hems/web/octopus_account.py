"""The consumer's Octopus account page under ``/app/homes/{home_id}/octopus-account``: link the
account (number and API key; the key field is never filled back or shown, only its last 4
characters), see what the last refresh found, refresh now or unlink
(:mod:`hems.usecases.octopus_account`, as the API does)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hems.account_secrets import AccountSecrets
from hems.domain.tariffs import IntelligentOctopusGo
from hems.serving.dependencies import Service
from hems.usecases import homes
from hems.usecases import octopus_account as uc
from hems.usecases.errors import InvalidInputError
from hems.web.routes import Form, SignedIn, User, page

UK = ZoneInfo("Europe/London")
router = APIRouter(prefix="/app", include_in_schema=False)
PATH = "/homes/{home_id}/octopus-account"


def back(user: SignedIn) -> RedirectResponse:
    return RedirectResponse(f"/app/homes/{user.home_id}/octopus-account", status.HTTP_303_SEE_OTHER)


@router.get(PATH, response_class=HTMLResponse)
async def account_page(request: Request, user: User, service: Service) -> Response:
    link = uc.account_link(service, user.home_id)
    can_link = AccountSecrets(service.settings.account_secrets_key_file).available
    tariff = homes.home(service, user.home_id).tariff
    granted = None  # Intelligent Octopus Go's slots (hems.iog_dispatches), UK time
    if isinstance(tariff, IntelligentOctopusGo):
        granted = [(a.astimezone(UK), b.astimezone(UK)) for a, b in tariff.smart_charge_spans_utc()]
    return page(
        request, "octopus_account.html", user, link=link, can_link=can_link, granted=granted
    )


@router.post(PATH)
async def link_account(user: User, form: Form, service: Service) -> RedirectResponse:
    body = uc.AccountLinkRequest(
        account_number=form.get("account_number", "")[:40],
        api_key=form.get("api_key", ""),
        follow_tariff=form.get("follow_tariff") == "on",
    )
    try:
        link = await uc.link_account(service, user.home_id, body, user.actor)
    except InvalidInputError as exc:
        user.flash("error", f"Not linked: {exc.message}.")
        return back(user)
    except (uc.SecretsNotConfiguredError, uc.OctopusUnavailableError) as exc:
        user.flash("error", f"Not linked: {exc}.")
        return back(user)
    user.flash("ok", f"Account {link.account_number} linked: {link.refresh_status}.")
    return back(user)


@router.post(f"{PATH}/refresh")
async def refresh_account(user: User, _form: Form, service: Service) -> RedirectResponse:
    link = await uc.refresh_account(service, user.home_id)
    if link is None:
        user.flash("error", "No Octopus account is linked.")
    else:
        user.flash("ok", f"Refreshed: {link.refresh_status}.")
    return back(user)


@router.post(f"{PATH}/unlink")
async def unlink_account(user: User, _form: Form, service: Service) -> RedirectResponse:
    if uc.unlink_account(service, user.home_id, user.actor):
        user.flash("ok", "Unlinked: the key is deleted; your tariff stays as it is.")
    else:
        user.flash("error", "No Octopus account is linked.")
    return back(user)
