"""The CEM service as a FastAPI dependency, for the API's routes and the web app's pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hems.service import CemService


async def get_service(request: Request) -> CemService:
    """The service the app was built on (:func:`hems.app.create_app` keeps it on the app)."""
    service: CemService = request.app.state.service
    return service


Service = Annotated[CemService, Depends(get_service)]
