"""OpenADR conformance runs over REST (admin): start one, read its verdicts, its JUnit XML,
its HTML summary and each case's tracelog (:mod:`hems.usecases.conformance`; the cases are in
docs/openadr.md, "Conformance runner")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from hems.api.auth import Admin
from hems.api.errors import ADMIN, BODY, invalid, responses
from hems.conformance import MAX_DURATION_S, RunRequest
from hems.storage.database import ConflictError
from hems.usecases.conformance import ConformanceRun, ConformanceRuns
from hems.usecases.errors import InvalidInputError

router = APIRouter(tags=["conformance"])
PREFIX = "/admin/conformance/runs"
Printable = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
RunIdPath = Annotated[
    str, Path(pattern=r"^[0-9a-f]{12}$", description="The run's id, as POST returned it")
]
CaseIdPath = Annotated[
    str,
    Path(
        pattern=r"^[a-z0-9_]{1,64}(\.log)?$",
        description="A case's id (``.log`` may follow, as the HTML summary links it)",
    ),
]


class ConformanceRunIn(BaseModel):
    """What to run: ``self`` against the runner's own reference VTN, ``vtn`` against the
    service's VTN (the ``vtn_url`` setting) with its TLS and signature settings. No other URL:
    the service's client certificate is not lent to addresses an API caller names."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["self", "vtn"] = "self"
    cases: list[Printable] = Field(default_factory=list, max_length=64)
    max_duration_s: float = Field(MAX_DURATION_S, ge=10.0, le=MAX_DURATION_S)
    manufacturer: Printable = "CEM-conformance"
    serial_number: Printable = "CONFORMANCE-0001"


class ConformanceCaseOut(BaseModel):
    case_id: str
    rules: list[str]
    checks: str
    outcome: Literal["passed", "failed", "error", "skipped"]
    message: str
    duration_s: float
    tracelog: str | None = Field(description="The case's tracelog (GET it), if it has one")


class ConformanceRunOut(BaseModel):
    id: str
    mode: Literal["self", "vtn"]
    status: Literal["running", "finished", "crashed"]
    started_utc: datetime
    finished_utc: datetime | None
    problem: str | None = Field(description="Why a crashed run crashed")
    counts: dict[str, int] | None = Field(description="Cases by outcome, once finished")
    cases: list[ConformanceCaseOut]
    junit: str | None = Field(description="The JUnit XML (GET it), once finished")
    summary_html: str | None


def _runs(request: Request) -> ConformanceRuns:
    runs: ConformanceRuns = request.app.state.conformance_runs
    return runs


def _out(run: ConformanceRun) -> ConformanceRunOut:
    summary: dict[str, Any] = run.summary() or {}
    base = f"{PREFIX}/{run.run_id}"
    cases = [
        ConformanceCaseOut(
            case_id=c["case_id"],
            rules=c["rules"],
            checks=c["checks"],
            outcome=c["outcome"],
            message=c["message"],
            duration_s=c["duration_s"],
            tracelog=f"{base}/tracelogs/{c['case_id']}" if c["tracelog"] else None,
        )
        for c in summary.get("cases", [])
    ]
    return ConformanceRunOut(
        id=run.run_id,
        mode="vtn" if run.mode == "vtn" else "self",
        status=run.status,
        started_utc=run.started_utc,
        finished_utc=run.finished_utc,
        problem=run.problem,
        counts=summary.get("counts"),
        cases=cases,
        junit=f"{base}/junit.xml" if summary else None,
        summary_html=f"{base}/summary.html" if summary else None,
    )


@router.post(
    PREFIX,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ConformanceRunOut,
    responses=responses(ADMIN, BODY, 409),
)
def start_run(body: ConformanceRunIn, request: Request, _principal: Admin) -> ConformanceRunOut:
    """Start a conformance run in the background (one at a time: 409 while one runs; bounded
    by ``max_duration_s``). Poll GET on its id until ``status`` is not ``running``."""
    run_request = RunRequest(
        mode=body.mode,
        cases=tuple(body.cases),
        manufacturer=body.manufacturer,
        serial_number=body.serial_number,
        max_duration_s=body.max_duration_s,
    )
    try:
        run = _runs(request).start(run_request)
    except InvalidInputError as exc:
        raise invalid(exc.loc, exc.message, exc.value) from None
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _out(run)


@router.get(PREFIX, response_model=list[ConformanceRunOut], responses=responses(ADMIN))
def list_runs(request: Request, _principal: Admin) -> list[ConformanceRunOut]:
    """The last 50 runs, newest first (those finished before a restart too)."""
    return [_out(run) for run in _runs(request).recent()]


@router.get(
    f"{PREFIX}/{{run_id}}", response_model=ConformanceRunOut, responses=responses(ADMIN, 404)
)
def read_run(run_id: RunIdPath, request: Request, _principal: Admin) -> ConformanceRunOut:
    """The run's status and, once finished, each case's verdict and the links to its files."""
    return _out(_runs(request).get(run_id))


def _file_responses(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {}}}, **responses(ADMIN, 404)}


@router.get(
    f"{PREFIX}/{{run_id}}/junit.xml",
    response_class=Response,
    responses=_file_responses("application/xml"),
)
def read_junit(run_id: RunIdPath, request: Request, _principal: Admin) -> Response:
    """The run's JUnit XML (one testcase per case)."""
    path = _runs(request).file(run_id, "junit.xml")
    return Response(path.read_bytes(), media_type="application/xml")


@router.get(
    f"{PREFIX}/{{run_id}}/summary.html",
    response_class=Response,
    responses=_file_responses("text/html"),
)
def read_summary_html(run_id: RunIdPath, request: Request, _principal: Admin) -> Response:
    """The run's summary as a standalone page."""
    path = _runs(request).file(run_id, "summary.html")
    return Response(path.read_bytes(), media_type="text/html; charset=utf-8")


@router.get(
    f"{PREFIX}/{{run_id}}/tracelogs/{{case_id}}",
    response_class=Response,
    responses=_file_responses("text/plain"),
)
def read_tracelog(
    run_id: RunIdPath, case_id: CaseIdPath, request: Request, _principal: Admin
) -> Response:
    """A case's tracelog: every message in and out, timestamped, the XML as on the wire."""
    path = _runs(request).file(run_id, f"tracelogs/{case_id.removesuffix('.log')}.log")
    return Response(path.read_bytes(), media_type="text/plain; charset=utf-8")
