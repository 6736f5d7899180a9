"""The OpenAPI schema is true: schemathesis fuzzes every operation (data that fits the schema
and data that does not) with an admin token and with the home's token, and every answer must be
a documented status code, in the declared content type, matching the declared body, never a
5xx. A failure is a bug in the code or the schema, not noise to filter.

Bounded for the suite: ``HEMS_FUZZ_EXAMPLES`` examples per operation (default 5), plus the
boundary cases of schemathesis's coverage phase: ~3,200 requests, ~30 s on 2 cores. For a
longer run raise it: ``HEMS_FUZZ_EXAMPLES=200 pytest -s tests/hems/api/test_openapi_fuzz.py``
(``-s`` prints the tally of requests and status classes at the end).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hems.app import create_app
from tests.hems.conftest import make_demo

EXAMPLES = int(os.environ.get("HEMS_FUZZ_EXAMPLES", "5"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
TALLY: Counter[str] = Counter()

pytestmark = [
    pytest.mark.slow,
    # Hypothesis warns while it prints a failing example with a big body; as an error it would
    # hide the failure it reports
    pytest.mark.filterwarnings(
        "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
    ),
]


def _load_schema() -> schemathesis.BaseSchema:
    """The app's OpenAPI document (it does not depend on the data: a throwaway runtime)."""
    with tempfile.TemporaryDirectory() as tmp:
        runtime = make_demo(Path(tmp)).runtime
        try:
            document = create_app(runtime.settings, runtime, run_scheduler=False).openapi()
        finally:
            runtime.service.close()
    return schemathesis.openapi.from_dict(document)


schema = _load_schema()


@pytest.fixture
def app(demo) -> Iterator[FastAPI]:
    """A fresh demo home per operation, so one operation's deletes do not starve the next;
    schemathesis runs its lifespan on first use, stopped here."""
    # no per-token rate limit: thousands of requests a minute are the point here
    settings = demo.runtime.settings.model_copy(update={"api_requests_per_minute": 0})
    yield create_app(settings, demo.runtime, run_scheduler=False)
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module", autouse=True)
def _tally() -> Iterator[None]:
    yield
    print(f"\nfuzzed: {dict(sorted(TALLY.items()))}")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_is_documented_and_no_input_is_a_server_error(case, demo, app):
    calls = [demo.admin_token, demo.home_token]
    for token in calls:
        _call(case, app, token)
    if "home_id" in (case.path_parameters or {}):
        # and on the demo home itself, where a random id would stop at the 404
        case.path_parameters["home_id"] = demo.home_id
        _call(case, app, demo.home_token)


def _call(case: schemathesis.Case, app: FastAPI, token: str) -> None:
    TALLY["requests"] += 1
    try:
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"},
            checks=CHECKS,
            app=app,
            # POST events re-plans before it answers; an event far beyond the home's limits
            # runs the solver to its time limit (20 s here), past schemathesis's 10 s default
            timeout=60,
        )
    except Exception:
        TALLY["failed checks"] += 1
        raise
    TALLY[f"{response.status_code // 100}xx"] += 1
