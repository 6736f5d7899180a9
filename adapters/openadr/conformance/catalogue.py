"""Every conformance case, in the order a run takes them."""

from __future__ import annotations

from adapters.openadr.conformance import (
    cases_events,
    cases_push,
    cases_registration,
    cases_reports,
    cases_rules,
    cases_security,
)
from adapters.openadr.conformance.case import Case

ALL_CASES: tuple[Case, ...] = (
    *cases_registration.CASES,
    *cases_reports.CASES,
    *cases_events.CASES,
    *cases_rules.CASES,
    *cases_security.CASES,
    *cases_push.CASES,
)


def select(case_ids: list[str] | None) -> tuple[Case, ...]:
    """The cases named (all when None or empty); ValueError naming an unknown id."""
    if not case_ids:
        return ALL_CASES
    by_id = {case.case_id: case for case in ALL_CASES}
    unknown = [case_id for case_id in case_ids if case_id not in by_id]
    if unknown:
        raise ValueError(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(by_id)}")
    return tuple(by_id[case_id] for case_id in case_ids)
