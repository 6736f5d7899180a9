"""The consumer's DSR programme page under ``/app/homes/{home_id}/programme``: whether the home
is enrolled with the DSR provider, withdrawn, or cancelled by the provider, and the buttons to
withdraw it or enrol it again (:mod:`hems.usecases.enrolment`, as the API does)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hems.serving.dependencies import Service
from hems.usecases import enrolment
from hems.web.routes import Form, SignedIn, User, page

router = APIRouter(prefix="/app", include_in_schema=False)


def back(user: SignedIn) -> RedirectResponse:
    return RedirectResponse(f"/app/homes/{user.home_id}/programme", status.HTTP_303_SEE_OTHER)


@router.get("/homes/{home_id}/programme", response_class=HTMLResponse)
async def programme_page(request: Request, user: User, service: Service) -> Response:
    return page(
        request, "programme.html", user, enrolment=enrolment.enrolment(service, user.home_id)
    )


@router.post("/homes/{home_id}/programme/withdraw")
async def withdraw(user: User, form: Form, service: Service) -> RedirectResponse:
    if form.get("confirm") != "yes":
        user.flash("error", "Nothing changed: tick the box to confirm.")
        return back(user)
    enrolment.withdraw(service, user.home_id, user.actor)
    user.flash("ok", "Your home is withdrawn from the DSR programme.")
    return back(user)


@router.post("/homes/{home_id}/programme/enrol")
async def enrol(user: User, _form: Form, service: Service) -> RedirectResponse:
    enrolment.enrol(service, user.home_id, user.actor)
    user.flash("ok", "Your home is enrolled again; it registers with your DSR provider.")
    return back(user)
