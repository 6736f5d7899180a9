"""The consumer's own Octopus account (:mod:`hems.usecases.octopus_account`): link it with its
API key so the home's tariff follows the account and its half-hourly consumption feeds the load
forecast; the key is write-only."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from hems.api.auth import CurrentPrincipal, HomeId, Service, actor
from hems.api.errors import BODY, HOME, invalid, responses
from hems.usecases import octopus_account as uc
from hems.usecases.errors import InvalidInputError

router = APIRouter(tags=["consumer"])
PATH = "/homes/{home_id}/octopus-account"


def _not_linked() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "no Octopus account is linked to this home")


@router.get(PATH, response_model=uc.AccountLinkPublic, responses=responses(HOME))
def get_account(home_id: HomeId, service: Service) -> uc.AccountLinkPublic:
    """The linked account: its number, the key's last 4 characters, whether the tariff follows
    it, and what the last refresh found (404 when none is linked)."""
    link = uc.account_link(service, home_id)
    if link is None:
        raise _not_linked()
    return link


@router.put(PATH, response_model=uc.AccountLinkPublic, responses=responses(HOME, BODY, 502, 503))
async def put_account(
    home_id: HomeId, body: uc.AccountLinkRequest, service: Service, principal: CurrentPrincipal
) -> uc.AccountLinkPublic:
    """Link (or re-link) the account: the key is checked with Octopus once (refused: 422 on
    ``api_key``), stored encrypted, and the home refreshed at once (tariff, consumption).
    503 when the service has no key file to encrypt keys with; 502 when Octopus cannot be
    reached."""
    try:
        return await uc.link_account(service, home_id, body, actor(principal))
    except InvalidInputError as exc:
        raise invalid(exc.loc, exc.message, exc.value) from None
    except uc.SecretsNotConfiguredError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    except uc.OctopusUnavailableError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None


@router.post(f"{PATH}/refresh", response_model=uc.AccountLinkPublic, responses=responses(HOME))
async def refresh_account(home_id: HomeId, service: Service) -> uc.AccountLinkPublic:
    """Refresh the home from its account now (as the daily job does); the outcome is in
    ``refresh_status``."""
    link = await uc.refresh_account(service, home_id)
    if link is None:
        raise _not_linked()
    return link


@router.delete(PATH, status_code=status.HTTP_204_NO_CONTENT, responses=responses(HOME))
def delete_account(home_id: HomeId, service: Service, principal: CurrentPrincipal) -> Response:
    """Unlink the account and delete its key; the home keeps its tariff and the consumption
    already imported (404 when none was linked)."""
    if not uc.unlink_account(service, home_id, actor(principal)):
        raise _not_linked()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
