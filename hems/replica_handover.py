"""A change asked of a replica that does not run the home (docs/service.md, "Replicas").

The change is stored either way and the re-plan is asked of the home's owner through its lease
(:meth:`hems.storage.leases.LeaseRecords.ask_replan`). When a live replica holds the lease,
the owner re-plans within one lease round: the caller is told so (:class:`HandedToOwnerError`, the
API's 202) rather than refused. When no replica holds it (every replica that could run it is
gone, or it is not claimed yet), nothing will plan it until one claims it: that stays a
:class:`PlanningUnavailableError` (503, try again).
"""

from __future__ import annotations

from hems.planner_pool import PlanningUnavailableError


class HandedToOwnerError(PlanningUnavailableError):
    """The change is stored and the replica that runs the home re-plans it within
    ``within_s``. A :class:`PlanningUnavailableError`, so a caller that carries on without a
    plan (answers stand, planned later) treats it the same; the API answers 202 with it."""

    def __init__(self, home_id: int, replica_id: str, within_s: float) -> None:
        self.home_id = home_id
        self.replica_id = replica_id
        self.within_s = within_s
        super().__init__(
            f"home {home_id} is run by replica {replica_id}: the change is stored and the home "
            f"re-plans there within {within_s:g} s"
        )


def handover(home_id: int, owner: str | None, within_s: float) -> PlanningUnavailableError:
    """What to raise once the re-plan was asked of ``owner`` (None: no replica holds the
    home's lease): :class:`HandedToOwnerError`, or a plain 503 naming when to try again."""
    if owner is None:
        return PlanningUnavailableError(
            f"no replica runs home {home_id} now (its lease is free or ran out): the change "
            f"is stored and the home is planned when a replica claims it; "
            f"try again in {within_s:g} s"
        )
    return HandedToOwnerError(home_id, owner, within_s)


OPT_OUT = "opt-out of "
ANSWERS_CHANGED = "DSR answer changed: "
PUSH_MISSED = "VTN push missed: "


def opt_out_reason(event_id: str) -> str:
    """The re-plan reason of a consumer's opt-out; the owner reads the event back from it
    (:func:`answered_events`) to tell the VTN."""
    return f"{OPT_OUT}{event_id}"


def answers_reason(changed: list[tuple[str, str]]) -> str:
    """The re-plan reason of re-decided answers, (VTN event id, response) each."""
    return ANSWERS_CHANGED + ", ".join(f"{event_id} {response}" for event_id, response in changed)


def answered_events(reasons: str) -> list[str]:
    """The events whose answer a forwarded re-plan request says changed (the reasons of
    :func:`opt_out_reason` and :func:`answers_reason`, joined with ", " by
    :meth:`~hems.storage.leases.LeaseRecords.ask_replan`), in order, once each: the owner
    sends their answers as stored through its VEN, since the replica that took the change
    has no VEN for the home. An event id holding ", " is not read back (ids are the VTN's
    tokens)."""
    found: list[str] = []
    in_answers = False
    for token in reasons.split(", "):
        if token.startswith(OPT_OUT):
            found.append(token.removeprefix(OPT_OUT))
            in_answers = False
        elif token.startswith(ANSWERS_CHANGED):
            token, in_answers = token.removeprefix(ANSWERS_CHANGED), True
            found.append(token.rsplit(" ", 1)[0])
        elif in_answers and token.endswith((" optIn", " optOut")):
            found.append(token.rsplit(" ", 1)[0])
        else:
            in_answers = False
    return list(dict.fromkeys(found))


def push_missed_reason(service: str) -> str:
    """What a replica asks of a home's owner when the VTN pushed ``service`` (an OpenADR
    service name, e.g. ``EiEvent``) to it for a home it does not run (:mod:`hems.ven_push`):
    the owner's VEN fetches what was pushed (:meth:`hems.vens.VenFleet.resync`)."""
    return f"{PUSH_MISSED}{service}"


def split_pushes_missed(reasons: str) -> tuple[list[str], str]:
    """The services pushed to another replica (:func:`push_missed_reason`), once each, and the
    other reasons (the re-plan asked, empty for none), from reasons joined with ", "."""
    missed: list[str] = []
    rest: list[str] = []
    for token in reasons.split(", "):
        if token.startswith(PUSH_MISSED):
            missed.append(token.removeprefix(PUSH_MISSED))
        elif token:
            rest.append(token)
    return list(dict.fromkeys(missed)), ", ".join(rest)
