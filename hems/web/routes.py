"""The consumer web app's pages under ``/app``. Every page of a home lives under
``/app/homes/{home_id}``; a session opens only its own home's pages (any other home answers 404,
as the API does). Pages and actions call the service's operations (:mod:`hems.usecases`), the
same the API calls, so validation, auditing and re-planning are exactly the API's."""

from __future__ import annotations

import contextlib
import json
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hems.domain.preferences import OverrideKind, OverrideRequest
from hems.planner_pool import PlanningUnavailableError
from hems.replica_handover import HandedToOwnerError
from hems.service import CemService
from hems.serving.dependencies import Service
from hems.serving.params import EventIdPath, HomeIdPath, OverrideIdPath
from hems.serving.rate_limits import AuthGuard, TooManyRequestsError, client_address
from hems.storage.store import ConflictError, NotFoundError, Principal
from hems.usecases import events, homes, plans, preferences
from hems.usecases.access import actor, principal_of, token_in_force
from hems.usecases.errors import InvalidInputError
from hems.web import forms, views, words
from hems.web.chart import chart_for
from hems.web.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SessionStore,
    WebSession,
    same_secret,
)
from hems.web.static import PLOTLY_URL

router = APIRouter(prefix="/app", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(plotly_url=PLOTLY_URL, **words.TEMPLATE_GLOBALS)

HISTORY_DAYS = 92
"""The history page's reach: savings are recomputed from every plan in the period (a year of
plans is ~17,000 plans), so the page shows three months."""
LOGIN_NOTES = {
    "expired": "Your session has ended. Sign in again.",
    "signed-out": "You have signed out.",
    "deleted": "Your home's data has been deleted.",
}


class WebError(Exception):
    """An error page (not JSON) for the app's routes."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class LoginRequiredError(Exception):
    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


def sessions_of(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.web_sessions
    return store


Sessions = Annotated[SessionStore, Depends(sessions_of)]


@dataclass
class SignedIn:
    session_id: str
    session: WebSession
    sessions: SessionStore

    @property
    def home_id(self) -> int:
        return self.session.home_id

    @property
    def actor(self) -> str:
        """How the audit log names the session's home token."""
        return actor(Principal(self.session.token_id, "home", self.session.home_id))

    def flash(self, kind: str, message: str) -> None:
        """A message for the next page, kept with the session (the page may be served by
        another process, or after a restart)."""
        self.session.flash.append((kind, message))
        self.sessions.set_flash(self.session_id, self.session.flash)


async def signed_in(
    request: Request, home_id: HomeIdPath, service: Service, sessions: Sessions
) -> SignedIn:
    """The session for this home's pages: sign in first; another home's pages are 404."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    session = sessions.get(session_id, service.clock.now())
    if session is None:
        raise LoginRequiredError("expired" if session_id else "")
    if not token_in_force(service, session.token_id):
        sessions.delete(session_id)
        raise LoginRequiredError("expired")
    if session.home_id != home_id:
        raise WebError(status.HTTP_404_NOT_FOUND, "There is no such page.")
    return SignedIn(session_id, session, sessions)


User = Annotated[SignedIn, Depends(signed_in)]


def _same_origin(request: Request) -> bool:
    """False only for a POST that says it comes from another origin (the CSRF token is the
    real check; browsers without an Origin, or with "null", rely on it alone)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return True
    parsed = urlparse(origin)
    return f"{parsed.scheme}://{parsed.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


async def checked_form(request: Request, user: User) -> dict[str, str]:
    """A POSTed form whose CSRF token is the session's, from this origin (403 otherwise)."""
    form = await request.form()
    if not _same_origin(request) or not same_secret(str(form.get("csrf", "")), user.session.csrf):
        raise WebError(
            status.HTTP_403_FORBIDDEN,
            "This form did not come from this page or has expired. Reload the page and try again.",
        )
    return {k: str(v) for k, v in form.items()}


Form = Annotated[dict[str, str], Depends(checked_form)]


def page(
    request: Request, name: str, user: SignedIn | None, status_code: int = 200, **ctx: Any
) -> Response:
    service: CemService = request.app.state.service
    context: dict[str, Any] = {"user": user, "csrf": user.session.csrf if user else "", **ctx}
    if user is not None:
        context["home_id"] = user.home_id
        context["home_name"] = homes.home(service, user.home_id).name
        context["flashes"], user.session.flash[:] = list(user.session.flash), []
        if context["flashes"]:
            user.sessions.set_flash(user.session_id, [])
        context["poll_ms"] = request.app.state.web_poll_ms
        context["live"] = plans.live_state(service, user.home_id)
    response: Response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return response


def _back(user: SignedIn, where: str = "") -> RedirectResponse:
    return RedirectResponse(f"/app/homes/{user.home_id}{where}", status.HTTP_303_SEE_OTHER)


def _cookie_args(request: Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": "/app",
    }


# -- sign in and out -------------------------------------------------------------------------
@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
async def app_root(request: Request, service: Service, sessions: Sessions) -> Response:
    session = sessions.get(request.cookies.get(SESSION_COOKIE), service.clock.now())
    if session is None:
        return RedirectResponse("/app/login", status.HTTP_303_SEE_OTHER)
    return RedirectResponse(f"/app/homes/{session.home_id}", status.HTTP_303_SEE_OTHER)


def _login_page(
    request: Request, note: str = "", error: str = "", status_code: int = 200
) -> Response:
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or forms_token()
    response = page(request, "login.html", None, status_code, note=note, error=error, csrf=csrf)
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, max_age=3600, **_cookie_args(request))
    return response


def forms_token() -> str:
    return secrets.token_urlsafe(32)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, reason: str = "") -> Response:
    return _login_page(request, note=LOGIN_NOTES.get(reason, ""))


@router.post("/login")
async def login(request: Request, service: Service, sessions: Sessions) -> Response:
    form = await request.form()
    if not _same_origin(request) or not same_secret(
        str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE)
    ):
        return _login_page(
            request, error="The sign-in form had expired. Please try again.", status_code=403
        )
    token = str(form.get("token", "")).strip()
    guard: AuthGuard = request.app.state.auth_guard
    client = client_address(request.client)
    try:  # throttled like the API's bearer tokens: docs/webapp.md, Security
        guard.check(client, token)
    except TooManyRequestsError as exc:
        minutes = math.ceil(exc.retry_after_s / 60)
        response = _login_page(
            request,
            error=f"Too many failed sign-ins. Try again in {minutes} minute"
            + ("s." if minutes > 1 else "."),
            status_code=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    principal = principal_of(service, token)
    if token and principal is None:
        guard.failed(client)
    elif token:
        guard.succeeded(client, token)
    if principal is None or principal.home_id is None:
        return _login_page(
            request, error="That token was not recognised as a home's token.", status_code=401
        )
    session_id, _session = sessions.create(
        principal.home_id, principal.token_id, service.clock.now()
    )
    response = RedirectResponse(f"/app/homes/{principal.home_id}", status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(sessions.absolute.total_seconds()),
        **_cookie_args(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, **_cookie_args(request))
    return response


@router.post("/homes/{home_id}/logout")
async def logout(request: Request, user: User, _form: Form, sessions: Sessions) -> RedirectResponse:
    sessions.delete(user.session_id)
    response = RedirectResponse("/app/login?reason=signed-out", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, **_cookie_args(request))
    return response


# -- today -----------------------------------------------------------------------------------
@router.get("/homes/{home_id}", response_class=HTMLResponse)
async def today(request: Request, user: User, service: Service) -> Response:
    spec = homes.home(service, user.home_id)
    devices = homes.device_statuses(service, user.home_id)
    overrides = preferences.active_overrides(service, user.home_id)
    now = service.clock.now()
    chart = chart_for(service, user.home_id)
    upcoming = [
        e for e in events.events(service, user.home_id) if e.end > now and e.status != "cancelled"
    ]
    return page(
        request,
        "today.html",
        user,
        chart=chart,
        devices=devices,
        overrides=overrides,
        events=upcoming,
        ev_names=[d.name for d in spec.devices if d.kind.value == "ev_charger"],
        device_names=[d.name for d in spec.devices],
        fmt_time=views.fmt_time,
    )


@router.get("/homes/{home_id}/plan.json")
async def plan_json(user: User, service: Service) -> Response:
    chart = chart_for(service, user.home_id)
    if chart is None:
        return JSONResponse({"plan_id": None}, headers={"Cache-Control": "no-store"})
    return JSONResponse(chart, headers={"Cache-Control": "no-store"})


@router.get("/homes/{home_id}/live.json")
async def live(user: User, service: Service) -> Response:
    """What changed: the latest plan's id, and a fingerprint of the events and overrides.
    The pages poll it and redraw when something differs."""
    return JSONResponse(
        plans.live_state(service, user.home_id), headers={"Cache-Control": "no-store"}
    )


# -- overrides -------------------------------------------------------------------------------
@router.post("/homes/{home_id}/overrides")
async def add_override(user: User, form: Form, service: Service) -> RedirectResponse:
    action = form.get("action", "")
    try:
        minutes = int(form.get("minutes", "120"))
    except ValueError:
        minutes = 0
    try:
        if action == "boost":
            body = OverrideRequest(
                kind=OverrideKind.EV_BOOST, target=form.get("target", ""), duration_minutes=minutes
            )
        elif action == "pause":
            body = OverrideRequest(
                kind=OverrideKind.PAUSE_DEVICE,
                target=form.get("target", ""),
                duration_minutes=minutes,
            )
        else:
            raise WebError(status.HTTP_400_BAD_REQUEST, "Unknown action.")
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        user.flash("error", f"Not done: {_first_error(exc)}")
        return _back(user)
    try:
        done = await preferences.add_override(service, user.home_id, body, user.actor)
    except InvalidInputError as exc:  # a check against the store (no such device)
        user.flash("error", f"Not done: {_input_error(exc)}")
        return _back(user)
    except HandedToOwnerError as exc:  # stored; the replica that runs the home re-plans
        user.flash("ok", f"Done: {exc}.")
        return _back(user)
    except (PlanningUnavailableError, ConflictError) as exc:  # planning down; car unplugged
        user.flash("error", f"Not done: {exc}")
        return _back(user)
    until = views.fmt_time(done.expires_at)
    if action == "boost":
        user.flash("ok", f"Boost on: the EV charges at full power now, until {until}.")
    else:
        user.flash("ok", f"{body.target} is paused until {until}.")
    return _back(user)


def _input_error(exc: InvalidInputError) -> str:
    """An operation's refusal as the page says it: the field, then why."""
    loc = ".".join(str(p) for p in exc.loc if p != "body")
    return f"{loc}: {exc.message}" if loc else exc.message


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(p) for p in first["loc"] if p != "body")
        return f"{loc}: {first['msg']}" if loc else str(first["msg"])
    return str(exc)


@router.post("/homes/{home_id}/overrides/{override_id}/cancel")
async def cancel_override(
    user: User, _form: Form, override_id: OverrideIdPath, service: Service
) -> RedirectResponse:
    try:
        preferences.cancel_override(service, user.home_id, override_id, user.actor)
    except NotFoundError:
        user.flash("error", "That override had already ended.")
        return _back(user)
    user.flash("ok", "Override cancelled: the plan is back in charge.")
    return _back(user)


# -- preferences -----------------------------------------------------------------------------
@router.get("/homes/{home_id}/preferences", response_class=HTMLResponse)
async def preferences_form(request: Request, user: User, service: Service) -> Response:
    prefs = preferences.preferences(service, user.home_id)
    return _prefs_page(request, user, forms.values_from(prefs, service.clock.now()), {})


def _prefs_page(
    request: Request, user: SignedIn, values: dict[str, str], errors: dict[str, str]
) -> Response:
    return page(
        request,
        "preferences.html",
        user,
        422 if errors else 200,
        v=values,
        errors=errors,
        days=forms.DAY_NAMES,
        comfort_rows=forms.rows(values, "comfort", forms.COMFORT_ROWS),
        opt_out_rows=forms.rows(values, "optout", forms.OPT_OUT_ROWS),
    )


@router.post("/homes/{home_id}/preferences")
async def save_preferences(request: Request, user: User, form: Form, service: Service) -> Response:
    prefs, errors = forms.parse(form, service.clock.now())
    if prefs is None:
        return _prefs_page(request, user, form, errors)
    try:
        await preferences.set_preferences(service, user.home_id, prefs, user.actor)
    except InvalidInputError as exc:
        return _prefs_page(request, user, form, {"": _input_error(exc)})
    user.flash("ok", "Preferences saved. The home is re-planning; the chart updates when done.")
    return _back(user)


# -- events ----------------------------------------------------------------------------------
@router.get("/homes/{home_id}/events", response_class=HTMLResponse)
async def events_page(request: Request, user: User, service: Service) -> Response:
    now = service.clock.now()

    def plans_for(e: Any) -> list[Any]:
        until = min(e.end, now + timedelta(seconds=1))
        return plans.plans_between(service, user.home_id, e.start - timedelta(days=2), until)

    listed = events.events(service, user.home_id)
    return page(
        request,
        "events.html",
        user,
        phases=views.event_views(
            listed, plans_for, now, lambda e: events.measured_effect(service, user.home_id, e)
        ),
        consent=preferences.preferences(service, user.home_id).dsr_consent,
    )


@router.post("/homes/{home_id}/events/{event_id}/opt-out")
async def opt_out(
    user: User, _form: Form, event_id: EventIdPath, service: Service
) -> RedirectResponse:
    """Opt out through an override kept until the event ends, so a modified event delivered
    later is refused too (it records and re-plans)."""
    try:
        await events.opt_out_until_event_ends(service, user.home_id, event_id, user.actor)
    except NotFoundError:
        raise WebError(status.HTTP_404_NOT_FOUND, "There is no such event.") from None
    except HandedToOwnerError as exc:  # stored; the replica that runs the home re-plans
        user.flash("ok", f"Opted out: {exc}.")
        return _back(user, "/events")
    except PlanningUnavailableError as exc:
        user.flash("error", f"Not done: {exc}")
        return _back(user, "/events")
    user.flash("ok", words.opted_out(events.event(service, user.home_id, event_id)))
    return _back(user, "/events")


# -- history ---------------------------------------------------------------------------------
@router.get("/homes/{home_id}/history", response_class=HTMLResponse)
async def history_page(request: Request, user: User, service: Service) -> Response:
    days = plans.savings(service, user.home_id, days=HISTORY_DAYS)
    recent = plans.history(service, user.home_id, hours=24)
    return page(
        request,
        "history.html",
        user,
        days=list(reversed(days))[:31],
        months=views.by_month(days),
        total_savings=sum(d.savings_gbp for d in days),
        total_carbon=sum(d.baseline_carbon_kg - d.carbon_kg for d in days),
        recent=list(reversed(recent.plans))[:20],
        fmt_time=views.fmt_time,
    )


# -- your data -------------------------------------------------------------------------------
@router.get("/homes/{home_id}/data", response_class=HTMLResponse)
async def data_page(request: Request, user: User) -> Response:
    return page(request, "data.html", user)


@router.get("/homes/{home_id}/export.json")
async def export(user: User, service: Service) -> Response:
    data = homes.export_home(service, user.home_id, user.actor)
    return Response(
        json.dumps(data, indent=1, default=str),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="home-{user.home_id}-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/homes/{home_id}/delete")
async def delete(
    request: Request, user: User, form: Form, service: Service, sessions: Sessions
) -> Response:
    if form.get("confirm") != "yes":
        user.flash("error", "Nothing deleted: tick the box to confirm.")
        return _back(user, "/data")
    with contextlib.suppress(NotFoundError):  # deleted meanwhile (another tab): the same end
        homes.delete_home(service, user.home_id, user.actor)
    sessions.end_home(user.home_id)
    response = RedirectResponse("/app/login?reason=deleted", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, **_cookie_args(request))
    return response
