"""Octopus Saving Sessions fetched for the homes whose consumer linked their Octopus account:
every 30 minutes (:class:`OctopusSessionsJob`) the account's announced sessions are read
through Octopus's GraphQL API (:mod:`adapters.tariffs.octopus_saving_sessions`) and each one
the account has joined becomes a saving session of the home (source ``octopus``, with
Octopus's event id, so a re-fetch adds nothing twice and a session the consumer cancelled here
stays cancelled), baselined and planned like an entered one (:mod:`hems.saving_sessions`).

A session the account has not joined earns nothing, so it is not planned for, unless the
consumer chose ``octopus_join_saving_sessions`` (a preference): then the job joins it through
``joinSavingSessionsEvent`` before it starts and stores it once Octopus confirms (not tried
for an account that has not signed up to Saving Sessions, nor for an event targeted at other
regions than the account's, which Octopus would refuse).

An upcoming session stored from Octopus whose event Octopus lists with other times is moved to
them, its baseline computed again for them, and the home re-plans (the event's id stays; a
move that cannot be taken, e.g. onto another session or past its end, cancels it, saying why:
Octopus pays nothing at the old times). One that Octopus no longer lists in ``events`` is
cancelled and the home re-plans: ``events`` lists past sessions as well as upcoming ones (the Home
Assistant integrations filter it by start time to find the upcoming ones), so an event gone
from it was withdrawn. An answer listing no event at all is not taken as withdrawing any (a
season's list is never empty once a session ran; an empty one is more likely a fault). A
running or ended session is left as it was.

Left out, with the reason in the fetch's report (logged): sessions ended or starting more than
:data:`hems.saving_sessions.MAX_AHEAD` ahead, not on half hours, overlapping one the consumer
entered, or without a baseline yet (tried again at the next fetch); events Octopus sent with
values that make no sense. A failed fetch (the key refused, Octopus down, a malformed answer)
is logged for that home and the others go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta

from adapters.errors import AdapterError
from adapters.tariffs.octopus_graphql import OctopusGraphQL
from adapters.tariffs.octopus_saving_sessions import (
    AccountSessions,
    SavingEvent,
    fetch_saving_sessions,
    join_saving_session,
)
from hems.octopus_jobs import LinkedAccountJob, OctopusLink
from hems.saving_sessions import MAX_AHEAD, session_baseline
from hems.storage.saving_sessions import AlreadyStoredError, OverlapError, StoredSavingSession

log = logging.getLogger(__name__)
ACTOR = "octopus"
INTERVAL = timedelta(minutes=30)


@dataclass
class HomeFetch:
    """What one fetch did for a home: sessions added, moved and cancelled (ids), events joined,
    events left out (event id: why), or the error that stopped the fetch."""

    home_id: int
    added: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class OctopusSessionsJob(LinkedAccountJob[HomeFetch]):
    """The ``octopus_sessions`` job (:class:`hems.octopus_jobs.LinkedAccountJob`)."""

    def replan_reason(self, report: HomeFetch) -> str | None:
        changed = report.added or report.moved or report.cancelled
        return "Octopus saving session fetched" if changed else None

    def fetch_home(self, home_id: int, link: OctopusLink) -> HomeFetch:
        """Fetch, join (when the consumer chose it) and store one home's sessions."""
        report = HomeFetch(home_id)
        client = self.client(home_id, link)
        try:
            got = fetch_saving_sessions(client, link.account_number)
        except AdapterError as exc:
            report.error = f"{type(exc).__name__}: {exc}"
            log.warning("home %s: Octopus saving sessions not fetched: %s", home_id, report.error)
            return report
        for rejected in got.rejected:
            report.skipped[rejected.event_id] = f"Octopus sent nonsense: {rejected.reason}"
        store, now = self.service.store, self.service.clock.now()
        known = store.octopus_event_ids(home_id)
        join = store.preferences(home_id).octopus_join_saving_sessions
        upcoming = {
            s.octopus_event_id: s
            for s in store.saving_sessions(home_id)
            if s.source == "octopus" and s.cancelled_at is None and s.start > now
        }
        for event in got.events:
            if event.event_id in upcoming:
                self._follow_move(home_id, upcoming[event.event_id], event, report)
                continue
            if event.event_id in known or event.end <= now or event.start > now + MAX_AHEAD:
                continue
            why = self._take(home_id, link, client, event, got, join, report)
            if why is not None:
                report.skipped[event.event_id] = why
        self._cancel_withdrawn(home_id, got, report)
        # every run sees the same events again: what was left out is said at debug level
        # (the fetch's report holds it), what changed at info
        changed = report.added or report.joined or report.moved or report.cancelled
        if changed or report.skipped:
            log.log(
                logging.INFO if changed else logging.DEBUG,
                "home %s: Octopus saving sessions: added %s, joined %s, moved %s, cancelled %s, "
                "left out %s",
                home_id,
                report.added,
                report.joined,
                report.moved,
                report.cancelled,
                report.skipped,
            )
        return report

    def _follow_move(
        self, home_id: int, stored: StoredSavingSession, event: SavingEvent, report: HomeFetch
    ) -> None:
        """Move an upcoming stored session to the times Octopus now gives its event (module
        docstring); cancel it, saying why, when the new times cannot be taken."""
        start, end = event.start.astimezone(UTC), event.end.astimezone(UTC)
        if (start, end) == (stored.start, stored.end):
            return
        store, now = self.service.store, self.service.clock.now()
        why: str | None = None
        if any(at.minute % 30 or at.second or at.microsecond for at in (start, end)):
            why = "moved to times not on half hours"
        elif end <= now or start > now + MAX_AHEAD:
            why = "moved to times past or too far ahead"
        elif (found := session_baseline(store, home_id, start, end)) is None:
            why = "moved to times without a baseline"
        else:
            method, baseline = found
            moved = replace(
                stored, start=start, end=end, baseline_kw=baseline, baseline_method=method
            )
            try:
                store.move_saving_session(home_id, stored.id, moved, now, ACTOR)
            except OverlapError as exc:
                why = f"moved onto another session: {exc}"
            else:
                report.moved.append(stored.id)
                return
        store.cancel_saving_session(home_id, stored.id, now, ACTOR)
        report.cancelled.append(stored.id)
        report.skipped[event.event_id] = f"cancelled: {why}"

    def _cancel_withdrawn(self, home_id: int, got: AccountSessions, report: HomeFetch) -> None:
        """Cancel the home's upcoming Octopus sessions that ``events`` no longer lists (module
        docstring); nothing on an answer listing no event."""
        if not got.listed_event_ids:
            return
        store, now = self.service.store, self.service.clock.now()
        for s in store.saving_sessions(home_id):
            if (
                s.source == "octopus"
                and s.cancelled_at is None
                and s.start > now
                and s.octopus_event_id not in got.listed_event_ids
            ):
                store.cancel_saving_session(home_id, s.id, now, ACTOR)
                report.cancelled.append(s.id)

    def _take(
        self,
        home_id: int,
        link: OctopusLink,
        client: OctopusGraphQL,
        event: SavingEvent,
        got: AccountSessions,
        join: bool,
        report: HomeFetch,
    ) -> str | None:
        """Join (if chosen) and store one event; why it was left out, or None."""
        start, end = event.start.astimezone(UTC), event.end.astimezone(UTC)
        if any(at.minute % 30 or at.second or at.microsecond for at in (start, end)):
            return "not on half hours"
        now = self.service.clock.now()
        if event.event_id not in got.joined_event_ids:
            if not join:
                return "not joined (joining for the consumer is off)"
            if not got.has_joined_campaign:  # joining would be refused at every run
                return "not joined: the account has not signed up to Saving Sessions"
            if not event.offered_in(got.region_id):  # Octopus refuses the join (OE-1308)
                return f"not offered in the account's region ({got.region_id or 'not known'})"
            if start <= now:
                return "started before it could be joined"
            try:
                confirmed = join_saving_session(client, link.account_number, event.code)
            except AdapterError as exc:
                return f"joining failed: {exc}"
            if not confirmed:
                return "Octopus did not confirm the join"
            report.joined.append(event.event_id)
        found = session_baseline(self.service.store, home_id, start, end)
        if found is None:
            return "no baseline yet (no metered history or plan covering it)"
        method, baseline = found
        entry = StoredSavingSession(
            id=0,
            home_id=home_id,
            start=start,
            end=end,
            reward_p_per_kwh=round(event.reward_p_per_kwh, 4),
            baseline_kw=baseline,
            baseline_method=method,
            created_at=now,
            cancelled_at=None,
            source="octopus",
            octopus_event_id=event.event_id,
        )
        try:
            stored = self.service.store.add_saving_session(home_id, entry, ACTOR)
        except OverlapError as exc:
            return str(exc)
        except AlreadyStoredError:  # stored by another run meanwhile
            return None
        report.added.append(stored.id)
        return None
