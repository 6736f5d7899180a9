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


def test_every_error_is_given_at_its_field_at_once():
    """Issue 28: a form with a missing value and an out-of-range one said only the first; the
    consumer then met the second after correcting it."""
    form = forms.values_from(Preferences(), NOW)
    form.update(dep_mon_on="on", dep_mon_target="", reserve="150", carbon="-5", comfort_max="40")
    prefs, errors = forms.parse(form, NOW)
    assert prefs is None
    assert errors == {
        "dep_mon_target": "Monday's charge target is missing.",
        "reserve": "The battery reserve must be at most 90%.",
        "carbon": "The cost-versus-carbon setting must be at least 0.",
        "comfort_max": "The maximum indoor temperature must be at most 30 °C.",
    }


def test_joining_octopus_saving_sessions_for_me_survives_a_save_of_the_form():
    chosen = Preferences(octopus_join_saving_sessions=True)
    form = forms.values_from(chosen, NOW)
    assert form["octopus_join"] == "on"
    prefs, errors = forms.parse(form, NOW)
    assert errors == {}
    assert prefs is not None
    assert prefs.octopus_join_saving_sessions
    del form["octopus_join"]  # the box unticked
    prefs, _ = forms.parse(form, NOW)
    assert prefs is not None
    assert not prefs.octopus_join_saving_sessions
