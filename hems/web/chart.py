"""The plan chart of a home: the plan's series (:func:`hems.web.views.chart_data`) with the
spans it shades, the DSR events and the consumer's overrides in the plan's horizon, so the
reader sees why the plan bends there (issue 28). Each span is also listed in words beside the
chart, which is how the page says it without the script."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hems.service import CemService
from hems.usecases import events, homes, plans, preferences
from hems.usecases.records import EventPublic, OverridePublic
from hems.web import views, words

OVERRIDE_NOUNS = {"ev_boost": "EV boost", "pause_device": "Pause"}
"""The overrides the chart shades; an opt-out of an event is shown on the event's own span."""


def _span(start: datetime, end: datetime, first: datetime, last: datetime) -> tuple[str, str]:
    fmt = "%Y-%m-%d %H:%M"
    return views.local(max(start, first)).strftime(fmt), views.local(min(end, last)).strftime(fmt)


def shading(
    listed: Sequence[EventPublic],
    overrides: Sequence[OverridePublic],
    first: datetime,
    last: datetime,
) -> list[dict[str, str]]:
    """The spans to shade between ``first`` and ``last`` (the plan's horizon): each DSR event
    not cancelled, then each override in force; in UK local time as the chart's axis."""
    out: list[dict[str, str]] = []
    for e in listed:
        if e.status == "cancelled" or e.end <= first or e.start >= last:
            continue
        x0, x1 = _span(e.start, e.end, first, last)
        part = "" if e.response == "optIn" else " (not taking part)"
        label = f"DSR event: {words.event_title(e)}{part}"
        out.append({"kind": "event", "label": label, "x0": x0, "x1": x1})
    for o in overrides:
        noun = OVERRIDE_NOUNS.get(o.kind)
        if noun is None or o.expires_at <= first or o.created_at >= last:
            continue
        x0, x1 = _span(o.created_at, o.expires_at, first, last)
        target = f" {o.target}" if o.target and o.kind != "ev_boost" else ""
        label = f"{noun}{target} until {views.fmt_time(o.expires_at)}"
        out.append({"kind": "override", "label": label, "x0": x0, "x1": x1})
    return out


def chart_for(service: CemService, home_id: int) -> dict[str, Any] | None:
    """The chart of the home's latest plan, or None before its first plan."""
    plan = plans.latest_plan(service, home_id)
    if plan is None:
        return None
    chart = views.chart_data(
        plan,
        homes.home(service, home_id),
        preferences.preferences(service, home_id),
        service.clock.now(),
    )
    starts = [datetime.fromisoformat(s["slot_start"]) for s in plan.slots]
    if starts:
        step = starts[1] - starts[0] if len(starts) > 1 else timedelta(minutes=30)
        chart["shading"] = shading(
            events.events(service, home_id),
            preferences.active_overrides(service, home_id),
            starts[0],
            starts[-1] + step,
        )
    else:
        chart["shading"] = []
    return chart
