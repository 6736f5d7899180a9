"""The consumer's own pauses named as the cause of the wishes they leave unmet.

The optimiser explains a miss from what it sees: a heat pump held off by a pause (a
:class:`hems.problem_builder.PauseRule`, which it does not know about) looks like a choice of
the plan, so after a consumer paused the heat pump the app blamed the prices, the import limit
or a DSR request for the cold house (issue 28). :func:`with_pause_causes` rewrites the cause
of each miss of a paused device that starts before its pause ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from hems.cohort.coordination import SHARE_EVENT_ID
from optimiser import Plan, Violation, Wish

UK = ZoneInfo("Europe/London")
PAUSABLE_WISHES = (Wish.COMFORT, Wish.HOT_WATER, Wish.EV_TARGET)


def pause_cause(asset: str, until_utc: datetime) -> str:
    """The cause in words: ``you paused Heat pump until 19:00``."""
    return f"you paused {asset} until {until_utc.astimezone(UK):%H:%M}"


def _with_cause(v: Violation, cause: str) -> Violation:
    """``v`` whose message (``<what>, <when>: <why>.``) gives ``cause`` as its why."""
    head = v.message.split(": ", 1)[0]
    return replace(v, message=f"{head}: {cause}.")


def with_pause_causes(plan: Plan, paused_until: Mapping[str, datetime] | None) -> Plan:
    """``plan`` with the misses of paused devices that start during their pause explained by
    the pause (an unmet wish of a device the consumer stopped is the consumer's choice)."""
    if not paused_until:
        return plan
    violations = tuple(
        _with_cause(v, pause_cause(v.asset, paused_until[v.asset]))
        if v.asset in paused_until
        and v.wish in PAUSABLE_WISHES
        and v.start_utc < paused_until[v.asset]
        else v
        for v in plan.violations
    )
    return replace(plan, violations=violations)


COHORT_CAUSE = "the cohort import limit the operator set (this home's share of it)"
"""What a home's cohort share is called where the optimiser names its DSR request."""


def with_cohort_causes(plan: Plan) -> Plan:
    """``plan`` whose causes name the operator's cohort import limit where the optimiser names
    the home's share of it as a DSR request (:data:`hems.cohort.coordination.SHARE_EVENT_ID`):
    the consumer did not accept a DSR event, the operator limited the cohort."""
    named = f"DSR request {SHARE_EVENT_ID}"
    if not any(named in v.message for v in plan.violations):
        return plan
    violations = tuple(
        replace(v, message=v.message.replace(named, COHORT_CAUSE)) for v in plan.violations
    )
    return replace(plan, violations=violations)
