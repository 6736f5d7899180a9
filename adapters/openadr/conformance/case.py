"""A conformance case: its id, the 2.0b rules it covers, what it checks, and how it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.openadr.conformance.context import CaseContext

ANY_VTN = ""
"""``Case.self_only`` for a case that runs against any VTN (``--vtn URL`` too)."""


@dataclass(frozen=True, slots=True)
class Case:
    """One test case.

    Attributes:
        case_id: short stable id (the tracelog's file name, the JUnit testcase name).
        rules: the OpenADR 2.0b test harness rule numbers (or harness habits) it covers.
        checks: what it checks, one sentence (the docs and the HTML summary show it).
        run: drives the VEN and raises ``CaseFailedError`` when it does not conform.
        self_only: why it cannot run against a real VTN (skipped with this reason under
            ``--vtn``); :data:`ANY_VTN` when it can.
    """

    case_id: str
    rules: tuple[str, ...]
    checks: str
    run: Callable[[CaseContext], Awaitable[None]]
    self_only: str = ANY_VTN


OPERATOR_EVENT = (
    "needs the VTN to send events on cue; the runner drives them only on its own reference"
    " VTN (--self)"
)
MISBEHAVING_VTN = "needs a VTN that misbehaves on purpose (only the reference VTN, --self)"
