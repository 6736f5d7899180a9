"""Octopus Saving Sessions through the GraphQL API (:mod:`adapters.tariffs.octopus_graphql`):
the announced events, the ones the account has joined, and joining one.

The shapes (``savingSessions`` on the backend host, :data:`~.octopus_graphql.BACKEND_GRAPHQL_URL`,
as the maintained public clients query it in 2026; docs/service.md names them):

* ``events(includeDev: false) { id code startAt endAt rewardPerKwhInOctoPoints devEvent
  targetRegion { regionId } }``: every announced event (``id`` the event's number, ``code``
  what joining takes, times ISO 8601, ``targetRegion`` the regions it is offered in, empty or
  null: everywhere);
* ``account(accountNumber) { hasJoinedCampaign signedUpMeterPoint { regionId } joinedEvents
  { eventId startAt endAt rewardGivenInOctoPoints } }``: null when the account is not signed
  up; ``signedUpMeterPoint.regionId`` the account's region (Octopus refuses to join an event
  targeted elsewhere, error ``OE-1308``);
* ``joinSavingSessionsEvent(input: {accountNumber, eventCode}) { joinedEventCodes }``, on the
  backend host too.

``customerFlexibilityCampaignEvents(accountNumber, supplyPointIdentifier, campaignSlug)`` on
the first host lists a campaign's events too, but without their reward or whether the account
joined them, so it is not used.

Rewards are in Octoplus points per kWh saved; :data:`OCTOPOINTS_PER_GBP` converts them.
An event whose values make no sense (no id or code, times that do not parse or lack an
offset, an end not after its start, longer than :data:`MAX_EVENT`, a reward not a finite
number in ``(0, MAX_REWARD_POINTS_PER_KWH]``) is left out and said in ``rejected``, so one bad
event does not hide the others; a payload of the wrong shape (or over :data:`MAX_EVENTS`
events) is a :class:`ParseError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.errors import ParseError
from adapters.tariffs.octopus_graphql import SOURCE, OctopusGraphQL

OCTOPOINTS_PER_GBP = 800
"""Octoplus points to pounds: "800 Octopoints = £1" (8 points = 1 p), Octopus's published rate
when points are turned into account credit (octopus.energy/octoplus, "What are Octopoints?")."""
MAX_EVENT = timedelta(hours=24)
MAX_REWARD_POINTS_PER_KWH = 8000.0
"""10 GBP per kWh: above any session run so far (the largest paid a few thousand points)."""
MAX_EVENTS = 1000
"""More announced events than this is not an answer to trust (a season has a few dozen)."""

SESSIONS_QUERY = """query SavingSessions($accountNumber: String!) {
  savingSessions {
    events(includeDev: false) {
      id code startAt endAt rewardPerKwhInOctoPoints devEvent targetRegion { regionId }
    }
    account(accountNumber: $accountNumber) {
      hasJoinedCampaign
      signedUpMeterPoint { regionId }
      joinedEvents { eventId startAt endAt rewardGivenInOctoPoints }
    }
  }
}"""

JOIN_MUTATION = """mutation JoinSavingSession($accountNumber: String!, $eventCode: String!) {
  joinSavingSessionsEvent(input: {accountNumber: $accountNumber, eventCode: $eventCode}) {
    joinedEventCodes
  }
}"""


@dataclass(frozen=True, slots=True, kw_only=True)
class SavingEvent:
    """An announced Saving Session: ``[start, end)`` (aware), its reward per kWh saved."""

    event_id: str
    code: str
    start: datetime
    end: datetime
    reward_points_per_kwh: float
    target_regions: frozenset[str] = frozenset()
    """The regions it is offered in (``regionId``); empty: every region."""

    def offered_in(self, region: str | None) -> bool:
        """Whether an account in ``region`` (None: not known) may join it."""
        return not self.target_regions or region in self.target_regions

    @property
    def reward_p_per_kwh(self) -> float:
        """The reward in pence per kWh (:data:`OCTOPOINTS_PER_GBP`)."""
        return self.reward_points_per_kwh * 100 / OCTOPOINTS_PER_GBP


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    """An event left out, and why."""

    event_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSessions:
    """What ``savingSessions`` says for one account."""

    has_joined_campaign: bool
    joined_event_ids: frozenset[str]
    events: tuple[SavingEvent, ...]
    rejected: tuple[RejectedEvent, ...]
    region_id: str | None = None
    """The account's region (``signedUpMeterPoint.regionId``), when Octopus says it."""
    listed_event_ids: frozenset[str] = frozenset()
    """The id of every entry ``events`` listed, dev and rejected ones included: ``events``
    holds past events as well as upcoming ones, so an event it no longer lists was withdrawn."""


def _event_id(raw: Any) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    text = str(raw).strip()
    return text if text and len(text) <= 64 else None


def _time(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise ValueError("missing")
    at = datetime.fromisoformat(raw)
    if at.utcoffset() is None:
        raise ValueError("no UTC offset")
    return at


def parse_event(raw: Any) -> SavingEvent | RejectedEvent:
    """One ``events`` entry, checked (module docstring)."""
    if not isinstance(raw, dict):
        return RejectedEvent("?", "not an object")
    event_id = _event_id(raw.get("id"))
    if event_id is None:
        return RejectedEvent("?", f"no usable id ({str(raw.get('id'))[:40]})")
    code = raw.get("code")
    if not isinstance(code, str) or not code.strip():
        return RejectedEvent(event_id, "no event code")
    try:
        start, end = _time(raw.get("startAt")), _time(raw.get("endAt"))
    except ValueError as exc:
        return RejectedEvent(event_id, f"start or end is not a time with an offset ({exc})")
    if end <= start:
        return RejectedEvent(event_id, "ends before it starts")
    if end - start > MAX_EVENT:
        return RejectedEvent(event_id, "lasts more than 24 hours")
    points = raw.get("rewardPerKwhInOctoPoints")
    if isinstance(points, bool) or not isinstance(points, int | float):
        return RejectedEvent(event_id, "no reward")
    if not (math.isfinite(points) and 0 < points <= MAX_REWARD_POINTS_PER_KWH):
        return RejectedEvent(event_id, f"reward {points} points/kWh out of range")
    regions = raw.get("targetRegion") or []
    if not isinstance(regions, list):
        return RejectedEvent(event_id, "targetRegion is not a list")
    return SavingEvent(
        event_id=event_id,
        code=code.strip(),
        start=start,
        end=end,
        reward_points_per_kwh=float(points),
        target_regions=frozenset(r for r in map(_region, regions) if r is not None),
    )


def _region(raw: Any) -> str | None:
    """A ``{regionId}``'s id as text (Octopus's are short numbers or letters), or None."""
    found = raw.get("regionId") if isinstance(raw, dict) else None
    if isinstance(found, bool) or not isinstance(found, int | str):
        return None
    text = str(found).strip()
    return text if text and len(text) <= 16 else None


def parse_saving_sessions(data: Any) -> AccountSessions:
    """The ``data`` of :data:`SESSIONS_QUERY`; dev events left out."""
    sessions = data.get("savingSessions") if isinstance(data, dict) else None
    if not isinstance(sessions, dict):
        raise ParseError(SOURCE, "no savingSessions in the answer")
    raw_events = sessions.get("events")
    if not isinstance(raw_events, list):
        raise ParseError(SOURCE, "savingSessions.events is not a list")
    if len(raw_events) > MAX_EVENTS:
        raise ParseError(SOURCE, f"{len(raw_events)} events, more than {MAX_EVENTS}")
    events: list[SavingEvent] = []
    rejected: list[RejectedEvent] = []
    listed = frozenset(
        i for i in (_event_id(r.get("id")) for r in raw_events if isinstance(r, dict)) if i
    )
    for raw in raw_events:
        if isinstance(raw, dict) and raw.get("devEvent") is True:
            continue
        parsed = parse_event(raw)
        if isinstance(parsed, RejectedEvent):
            rejected.append(parsed)
        else:
            events.append(parsed)
    account = sessions.get("account")
    if account is None:  # not signed up to Saving Sessions
        return AccountSessions(
            has_joined_campaign=False,
            joined_event_ids=frozenset(),
            events=tuple(events),
            rejected=tuple(rejected),
            listed_event_ids=listed,
        )
    if not isinstance(account, dict):
        raise ParseError(SOURCE, "savingSessions.account is not an object")
    joined = account.get("joinedEvents") or []
    if not isinstance(joined, list):
        raise ParseError(SOURCE, "joinedEvents is not a list")
    ids = {_event_id(j.get("eventId")) for j in joined if isinstance(j, dict)}
    return AccountSessions(
        has_joined_campaign=account.get("hasJoinedCampaign") is True,
        joined_event_ids=frozenset(i for i in ids if i is not None),
        events=tuple(events),
        rejected=tuple(rejected),
        region_id=_region(account.get("signedUpMeterPoint")),
        listed_event_ids=listed,
    )


def fetch_saving_sessions(client: OctopusGraphQL, account_number: str) -> AccountSessions:
    """The account's Saving Sessions (the errors of :class:`OctopusGraphQL`, ParseError)."""
    data = client.request(SESSIONS_QUERY, {"accountNumber": account_number}, backend=True)
    return parse_saving_sessions(data)


def join_saving_session(client: OctopusGraphQL, account_number: str, event_code: str) -> bool:
    """Join the event ``event_code``; whether Octopus lists it among the joined ones after."""
    variables = {"accountNumber": account_number, "eventCode": event_code}
    data = client.request(JOIN_MUTATION, variables, backend=True)
    got = data.get("joinSavingSessionsEvent")
    codes = got.get("joinedEventCodes") if isinstance(got, dict) else None
    if not isinstance(codes, list):
        raise ParseError(SOURCE, "joinSavingSessionsEvent answered without joinedEventCodes")
    return event_code in codes
