"""Intelligent Octopus Go's granted slots fetched for the demo home from the fake GraphQL API
on 127.0.0.1: the half-hours a planned dispatch touches become the home's smart-charge slots,
priced at the off-peak rate, and the re-plan moves import into them; bump charges, the
23:30-05:30 window and the 6-hour daily allowance are honoured; a home without a link keeps
its given slots; a failed fetch keeps the last known slots and says so in the log, keyless."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from adapters.tariffs.octopus_dispatches import MAX_DISPATCHES, AccountDispatches, Dispatch
from hems.domain.tariffs import IntelligentOctopusGo
from hems.iog_dispatches import (
    ALLOWANCE_HALF_HOURS,
    MAX_SLOTS,
    IogDispatchesJob,
    granted_slots,
)
from hems.octopus_jobs import OctopusLink
from hems.storage.octopus_accounts import StoredAccountLink
from hems.tariff_prices import tariff_prices
from optimiser import TimeGrid
from tests.adapters.conftest import FAST
from tests.adapters.tariffs.fake_octopus_graphql import (
    ACCOUNT,
    API_KEY,
    DEVICE,
    FakeOctopus,
    fake_octopus,
)
from tests.hems.conftest import MONDAY_5PM
from tests.hems.web.conftest import sign_in

LINK = OctopusLink(ACCOUNT, API_KEY)
T = MONDAY_5PM  # 17:00 UTC (= UK time in winter)


def _at(hours: float) -> datetime:
    return T + timedelta(hours=hours)


def _dispatch(start: datetime, end: datetime, source: str = "smart-charge") -> Dispatch:
    return Dispatch(start=start, end=end, source=source, energy_kwh=5.0)


def _got(*planned: Dispatch, completed: tuple[Dispatch, ...] = ()) -> AccountDispatches:
    return AccountDispatches(planned=planned, completed=completed, rejected=())


def _planned(*spans: tuple[datetime, datetime, str]) -> list[dict]:
    """The car's ``flexPlannedDispatches`` for ``spans`` (start, end, type)."""
    return [
        {"start": a.isoformat(), "end": b.isoformat(), "type": kind, "energyAddedKwh": "4.0"}
        for a, b, kind in spans
    ]


def test_a_dispatch_grants_every_half_hour_it_touches():
    got = _got(_dispatch(_at(2) + timedelta(minutes=10), _at(2) + timedelta(minutes=40)))
    assert granted_slots(got, T) == (_at(2), _at(2.5))


def test_bump_charges_the_night_window_and_the_past_grant_nothing():
    got = _got(
        _dispatch(_at(1), _at(2), source="bump-charge"),
        _dispatch(_at(7), _at(9)),  # 00:00-02:00: off-peak anyway
        _dispatch(_at(-3), _at(-1)),  # over
        _dispatch(_at(-0.25), _at(0.25)),  # 16:45-17:15: the current half-hour still counts
    )
    assert granted_slots(got, T) == (T,)


def test_at_most_six_hours_a_day_midday_to_midday_completed_ones_first():
    completed = (_dispatch(_at(-4), _at(-1)),)  # 13:00-16:00 today: 6 half-hours used
    planned = _dispatch(T, _at(5))  # 17:00-22:00: 10 half-hours, 6 left
    slots = granted_slots(_got(planned, completed=completed), T)
    assert slots == tuple(_at(h / 2) for h in range(ALLOWANCE_HALF_HOURS - 6))
    tomorrow = _dispatch(_at(20), _at(21))  # 13:00 tomorrow: a new allowance day
    assert granted_slots(_got(planned, tomorrow, completed=completed), T)[-2:] == (
        _at(20),
        _at(20.5),
    )


def test_overlapping_dispatches_grant_a_half_hour_once():
    overlapping = [_dispatch(_at(1), _at(2)), _dispatch(_at(1.5), _at(2.5))]
    assert granted_slots(_got(*overlapping), T) == (_at(1), _at(1.5), _at(2))
    # the most an answer may hold, each a day long, one after another: 24,000 half-hours
    many = [_dispatch(_at(24 * i), _at(24 * i + 24)) for i in range(MAX_DISPATCHES)]
    started = time.perf_counter()
    slots = granted_slots(_got(*many), T)
    assert time.perf_counter() - started < 2.0
    assert len(slots) == len(set(slots)) == MAX_SLOTS


def _set_iog(demo, slots: tuple[datetime, ...] = ()) -> IntelligentOctopusGo:
    tariff = IntelligentOctopusGo(smart_charge_slots_utc=slots)
    store = demo.runtime.service.store
    store.set_home_tariff(demo.home_id, tariff.model_dump(mode="json"), demo.clock.now(), "test")
    return tariff


def _job(demo, fake: FakeOctopus, links=None) -> IogDispatchesJob:
    links = [(demo.home_id, LINK)] if links is None else links
    return IogDispatchesJob(
        demo.runtime.service,
        lambda: links,
        url=fake.url,
        backend_url=fake.backend_url,
        policy=FAST,
    )


def _import(client, demo):
    store = demo.runtime.service.store
    return store.latest_plan(demo.home_id).schedule["grid_import_kw"]


def test_granted_slots_are_priced_off_peak_and_the_plan_moves_load_into_them(client, demo):
    _set_iog(demo)
    service = demo.runtime.service
    client.portal.call(service.replan_and_dispatch, demo.home_id, "test")
    before = _import(client, demo)
    granted = (before.index >= _at(2)) & (before.index < _at(3.5))  # 19:00-20:30
    with fake_octopus() as fake:
        fake.planned[DEVICE] = _planned((_at(2), _at(3) + timedelta(minutes=5), "SMART"))
        job = _job(demo, fake)
        [report] = client.portal.call(job.run)
        assert report.error is None
        assert report.changed
        assert report.slots == (_at(2), _at(2.5), _at(3))
        tariff = service.store.home(demo.home_id).tariff
        assert tariff.smart_charge_slots_utc == report.slots
        after = _import(client, demo)  # re-planned on the change
        assert after[granted].sum() > before[granted].sum() + 3.0

        [again] = client.portal.call(job.run)  # the same slots: no write, no re-plan
        assert not again.changed
        assert fake.tokens == ["tok-1"]
        assert fake.cookies == []  # the shared connection pool keeps no cookie
        job.close()

    grid = TimeGrid(start_utc=T, n_steps=8, step_minutes=30)
    market = np.zeros(8)
    imp, _ = tariff_prices(tariff, grid, market, market)
    assert list(imp) == [0.245] * 4 + [0.075] * 3 + [0.245]


def test_a_home_without_a_link_keeps_its_given_slots(client, demo):
    given = _set_iog(demo, (_at(1), _at(1.5)))
    with fake_octopus() as fake:
        fake.planned[DEVICE] = _planned((_at(4), _at(5), "SMART"))
        assert client.portal.call(_job(demo, fake, links=[]).run) == []
        assert fake.requests == []
    assert demo.runtime.service.store.home(demo.home_id).tariff == given


def test_a_home_erased_since_the_links_were_read_is_passed_over(client, demo):
    _set_iog(demo)
    with fake_octopus() as fake:
        fake.planned[DEVICE] = _planned((_at(2), _at(3), "SMART"))
        links = [(demo.home_id + 1000, LINK), (demo.home_id, LINK)]
        [report] = client.portal.call(_job(demo, fake, links=links).run)
    assert report.home_id == demo.home_id
    assert report.changed


def test_a_home_not_on_iog_is_not_fetched(client, demo):
    with fake_octopus() as fake:
        assert client.portal.call(_job(demo, fake).run) == []
        assert fake.requests == []


@pytest.mark.parametrize(
    ("script", "key", "says"),
    [
        ([], "sk_live_wrong", "OctopusAuthError"),
        ([(200, b"{not json")], API_KEY, "ParseError"),
        ([(503, b"")] * 3, API_KEY, "FetchError"),
    ],
)
def test_a_failed_fetch_keeps_the_last_slots_and_says_so(client, demo, caplog, script, key, says):
    _set_iog(demo)
    with fake_octopus() as fake:
        fake.planned[DEVICE] = _planned((_at(2), _at(3), "SMART"))
        link = OctopusLink(ACCOUNT, key)
        job = _job(demo, fake, links=[(demo.home_id, link)])
        if script:
            job.fetch_home(demo.home_id, link)  # a token, and the slots stored
            fake.script += script
        kept = demo.runtime.service.store.home(demo.home_id).tariff
        with caplog.at_level(logging.INFO, logger="hems.iog_dispatches"):
            [report] = client.portal.call(job.run)
    assert report.error is not None
    assert report.error.startswith(says)
    assert not report.changed
    assert demo.runtime.service.store.home(demo.home_id).tariff == kept
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"kept the last known {len(kept.smart_charge_slots_utc)} smart-charge slots" in warning
    assert key not in caplog.text


def test_a_car_plan_octopus_cannot_give_keeps_the_last_slots(client, demo, caplog):
    _set_iog(demo)
    with fake_octopus() as fake:
        fake.planned[DEVICE] = _planned((_at(2), _at(3), "SMART"), (_at(4), _at(5), "BOOST"))
        job = _job(demo, fake)
        [report] = client.portal.call(job.run)
        assert report.slots == (_at(2), _at(2.5))  # the boost is not off-peak
        del fake.planned[DEVICE]  # Octopus answers KT-CT-4340 for the car's plan
        with caplog.at_level(logging.INFO, logger="hems.iog_dispatches"):
            [report] = client.portal.call(job.run)
        job.close()
    assert report.error == "Octopus could not give the car's planned dispatches (KT-CT-4340)"
    assert not report.changed
    assert report.slots == (_at(2), _at(2.5))
    assert "kept the last known 2 smart-charge slots" in caplog.text


def test_hostile_dispatches_are_left_out_and_the_rest_granted(client, demo):
    _set_iog(demo)
    with fake_octopus() as fake:
        fake.planned[DEVICE] = _planned((_at(2), _at(2.5), "SMART"))
        fake.planned[DEVICE] += [
            {"start": _at(4).isoformat(), "end": _at(3).isoformat()},
            {
                "start": _at(4).isoformat(),
                "end": _at(5).isoformat(),
                "energyAddedKwh": float("nan"),
            },
            {"start": "tomorrow", "end": _at(5).isoformat()},
        ]
        [report] = client.portal.call(_job(demo, fake).run)
    assert report.slots == (_at(2),)
    assert set(report.rejected) == {"planned[1]", "planned[2]", "planned[3]"}
    assert report.rejected["planned[1]"] == "Octopus sent nonsense: ends before it starts"


def test_the_account_page_shows_the_granted_slots_in_uk_time(client, demo):
    store = demo.runtime.service.store
    link = StoredAccountLink(
        home_id=demo.home_id,
        account_number=ACCOUNT,
        api_key_encrypted="not-a-real-token",
        api_key_last4="9876",
        follow_tariff=True,
        linked_at=T,
        refreshed_at=None,
        refresh_status=None,
        import_tariff_code="E-1R-INTELLI-VAR-24-10-29-C",
        export_tariff_code=None,
    )
    store.link_octopus_account(link, "test")
    sign_in(client, demo.home_token)
    url = f"/app/homes/{demo.home_id}/octopus-account"
    assert 'id="granted-slots"' not in client.get(url).text  # not on IOG

    _set_iog(demo)
    assert "has granted (the whole home" in client.get(url).text
    assert "none now." in client.get(url).text
    summer = datetime(2026, 7, 13, 12, 0, tzinfo=UTC)  # BST: shown an hour later than UTC
    _set_iog(demo, (_at(2), _at(2.5), _at(3), _at(20), summer))
    page = client.get(url).text
    assert "Mon 13:00-13:30, Mon 19:00-20:30, Tue 13:00-13:30." in page
