"""Bearer-token authentication and per-home access.

The dependencies are coroutines (a token look-up is remembered a few seconds, see
:class:`hems.principals.PrincipalCache`), so running them on the event loop costs less than a hop
to the thread pool; the chain is kept short (bearer -> principal -> home) because FastAPI
resolves every dependency on every request.

Tokens are random (256 bits) and stored hashed. An admin token sees every home; a home token
sees only its own home: any other home answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hems.service import CemService
from hems.serving.dependencies import Service
from hems.serving.params import HomeIdPath
from hems.serving.rate_limits import AuthGuard, TooManyRequestsError, client_address
from hems.storage.store import Principal
from hems.usecases.access import actor, cached_principal

__all__ = ["Admin", "CurrentPrincipal", "HomeId", "Service", "actor"]

_bearer = HTTPBearer(auto_error=False, description="A home or admin token: `Bearer hems_...`")


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The token's owner (401 for a missing, unknown or revoked token). The service is read
    from the app directly rather than through a dependency: each dependency costs every
    request its resolution."""
    service: CemService = request.app.state.service
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    guard: AuthGuard = request.app.state.auth_guard
    client = client_address(request.client)
    try:  # throttled: docs/service.md, Security
        guard.check(client, credentials.credentials)
        principal = cached_principal(service, credentials.credentials)
        if principal is None:
            guard.failed(client)
        else:
            guard.succeeded(client, credentials.credentials)
            guard.take_request(principal.token_id)
    except TooManyRequestsError as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            exc.message,
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from None
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin token required")
    return principal


Admin = Annotated[Principal, Depends(require_admin)]


async def home_access(home_id: HomeIdPath, principal: CurrentPrincipal) -> int:
    """The path's home, if the token may see it (404 otherwise)."""
    if not principal.is_admin and principal.home_id != home_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"home {home_id} not found")
    return home_id


HomeId = Annotated[int, Depends(home_access)]
