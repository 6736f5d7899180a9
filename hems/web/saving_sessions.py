"""The consumer's DSR sessions page under ``/app/homes/{home_id}/saving-sessions``: the form
to enter an Octopus Saving Session or a DFS event (UK local times, the reward in pence per
kWh), the sessions with their baseline, planned and earned rewards, and a cancel button
(:mod:`hems.usecases.saving_sessions`, as the API does)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hems.planner_pool import PlanningUnavailableError
from hems.serving.dependencies import Service
from hems.serving.params import SessionIdPath
from hems.storage.store import NotFoundError
from hems.usecases import saving_sessions as uc
from hems.usecases.errors import InvalidInputError
from hems.web.routes import Form, SignedIn, User, page

router = APIRouter(prefix="/app", include_in_schema=False)
UK = ZoneInfo("Europe/London")


def back(user: SignedIn) -> RedirectResponse:
    return RedirectResponse(f"/app/homes/{user.home_id}/saving-sessions", status.HTTP_303_SEE_OTHER)


@router.get("/homes/{home_id}/saving-sessions", response_class=HTMLResponse)
async def sessions_page(request: Request, user: User, service: Service) -> Response:
    listed = uc.sessions(service, user.home_id)
    return page(request, "saving_sessions.html", user, sessions=listed, uk=UK)


def _local(value: str, name: str) -> datetime:
    """A ``datetime-local`` field (UK wall-clock time) as an aware time."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UK)
    except ValueError:
        raise ValueError(f"{name}: enter a date and time") from None


@router.post("/homes/{home_id}/saving-sessions")
async def add_session(user: User, form: Form, service: Service) -> RedirectResponse:
    try:
        body = uc.SavingSessionRequest(
            start=_local(form.get("start", ""), "start"),
            end=_local(form.get("end", ""), "end"),
            reward_p_per_kwh=float(form.get("reward_p_per_kwh", "") or "nan"),
        )
        done = await uc.add_session(service, user.home_id, body, user.actor)
    except InvalidInputError as exc:
        user.flash("error", f"Not entered: {exc.message}")
        return back(user)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        errors = getattr(exc, "errors", None)
        why = errors()[0]["msg"] if callable(errors) else str(exc)
        user.flash("error", f"Not entered: {why}")
        return back(user)
    except PlanningUnavailableError as exc:
        user.flash("error", f"Entered, not yet planned: {exc}")
        return back(user)
    user.flash("ok", f"Session entered ({done.baseline_method} baseline); the home is re-planned.")
    return back(user)


@router.post("/homes/{home_id}/saving-sessions/{session_id}/cancel")
async def cancel_session(
    user: User, _form: Form, session_id: SessionIdPath, service: Service
) -> RedirectResponse:
    try:
        await uc.cancel_session(service, user.home_id, session_id, user.actor)
    except NotFoundError:
        user.flash("error", "There is no such session.")
        return back(user)
    except PlanningUnavailableError as exc:
        user.flash("error", f"Cancelled, not yet re-planned: {exc}")
        return back(user)
    user.flash("ok", "Session cancelled; the home is re-planned.")
    return back(user)
