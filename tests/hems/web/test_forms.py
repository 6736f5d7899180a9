"""The preferences form's own checks (the web app's path in for preferences)."""

from __future__ import annotations

from datetime import UTC, datetime

from hems.domain.preferences import Preferences
from hems.web import forms

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def _submit(next_trip_at: str) -> dict[str, str]:
    form = forms.values_from(Preferences(), NOW)
    form.update(next_trip_at=next_trip_at, next_trip_target="80")
    prefs, errors = forms.parse(form, NOW)
    assert (prefs is None) == bool(errors)
    return errors


def test_a_next_trip_must_be_in_the_future_and_within_a_year():
    assert _submit("2026-12-01T07:30") == {}
    assert "in the future" in _submit("1970-01-01T07:30")["next_trip_at"]
    assert "within a year" in _submit("2999-01-01T07:30")["next_trip_at"]
