"""The consumer's own Octopus account through the API, against a fake Octopus on 127.0.0.1:
linking checks the key, the key is encrypted and never answered or logged, the tariff follows
the account, and the half-hourly consumption reaches the load forecast."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import text

from forecasts.base_load import expected_base_load
from hems.account_refresh import (
    LinkedHomes,
    octopus_links,
    refresh_home,
    refresh_home_async,
    saving_sessions_job,
)
from hems.app import create_app
from hems.measured_load import ACCOUNT_IMPORT, measured_history_kwh
from hems.octopus_jobs import OctopusLink
from hems.runtime import Runtime, build_runtime
from hems.settings import Settings, SettingsError, load_settings
from optimiser import TimeGrid
from tests.adapters.conftest import FAST, fixture_json
from tests.adapters.tariffs.fake_octopus import FakeOctopus, fake_octopus, json_answer
from tests.hems.web.conftest import csrf_of, sign_in

from .test_device_runtime import home_spec

KEY = "sk_live_Abc123SECRETxyz9876"
NUMBER = "A-1B2C3D4E"
MPAN, SERIAL = "2000012345678", "21L4381234"
ACCOUNT_PATH = f"/accounts/{NUMBER}/"


def evening_peak_kwh(t: datetime) -> float:
    """The home's half-hourly import: 0.5 kWh in the evening peak, 0.1 kWh otherwise."""
    return 0.5 if 17 <= t.hour < 20 else 0.1


def account_on(product_code: str, export_code: str = "AGILE-OUTGOING-19-05-13") -> dict[str, Any]:
    payload = copy.deepcopy(fixture_json(f"octopus/account_{NUMBER}.json"))
    points = payload["properties"][1]["electricity_meter_points"]
    points[0]["agreements"][1]["tariff_code"] = f"E-1R-{product_code}-C"
    points[1]["agreements"][0]["tariff_code"] = f"E-1R-{export_code}-C"
    return payload


@dataclass
class Env:
    client: TestClient
    runtime: Runtime
    octopus: FakeOctopus
    home_id: int
    headers: dict[str, str]

    @property
    def url(self) -> str:
        return f"/homes/{self.home_id}/octopus-account"

    def link(self, key: str = KEY, **body: Any) -> Any:
        payload = {"account_number": NUMBER, "api_key": key, **body}
        return self.client.put(self.url, json=payload, headers=self.headers)

    def tariff(self) -> dict[str, Any]:
        answer = self.client.get(f"/homes/{self.home_id}", headers=self.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["tariff"])


@pytest.fixture
def env(tmp_path) -> Iterator[Env]:
    key_file = tmp_path / "accounts.key"
    key_file.write_bytes(Fernet.generate_key())
    with fake_octopus(KEY) as octopus:
        octopus.serve_json(ACCOUNT_PATH, account_on("AGILE-24-10-01"))
        octopus.serve_rates("AGILE-24-10-01", [12.5, 30.1, -1.2], standing_pence=47.838)
        octopus.serve_consumption(MPAN, SERIAL, evening_peak_kwh)
        settings = Settings(
            state_dir=tmp_path,
            planner_processes=0,
            replan_delay_s=0.0,
            horizon_hours=6,
            account_secrets_key_file=key_file,
            octopus_api_url=octopus.base_url,
        )
        runtime = build_runtime(settings)
        admin = {"Authorization": f"Bearer {runtime.new_tokens['admin']}"}
        with TestClient(create_app(settings, runtime, run_scheduler=False)) as client:
            spec = home_spec().model_dump(mode="json")
            created = client.post("/homes", json=spec, headers=admin)
            assert created.status_code == 201, created.text
            headers = {"Authorization": f"Bearer {created.json()['token']}"}
            yield Env(client, runtime, octopus, created.json()["id"], headers)
        runtime.service.close()


def test_linking_checks_the_key_and_answers_only_its_last_4_characters(env, caplog):
    caplog.set_level(logging.DEBUG)
    answer = env.link()
    assert answer.status_code == 200, answer.text
    link = answer.json()
    assert link["api_key_last4"] == "9876"
    assert link["import_tariff_code"] == "E-1R-AGILE-24-10-01-C"
    assert link["export_tariff_code"] == "E-1R-AGILE-OUTGOING-19-05-13-C"
    assert link["refresh_status"] == "agile rates updated from the account's tariff"
    again = env.client.post(f"{env.url}/refresh", headers=env.headers)
    assert again.json()["refresh_status"] == "ok"  # nothing new
    shown = env.client.get(env.url, headers=env.headers)
    exported = env.client.get(f"/homes/{env.home_id}/export", headers=env.headers)
    assert exported.json()["octopus_account"]["api_key_last4"] == "9876"
    for text_ in (answer.text, shown.text, exported.text, again.text, caplog.text):
        assert KEY not in text_
        assert "SECRET" not in text_
    assert "api_key_encrypted" not in exported.text


def test_the_key_is_stored_encrypted_with_the_key_file(env):
    assert env.link().status_code == 200
    with env.runtime.service.store.session() as s:
        stored = s.execute(text("SELECT api_key_encrypted FROM octopus_accounts")).scalar_one()
    assert "SECRET" not in stored
    key_file = env.runtime.service.settings.account_secrets_key_file
    assert Fernet(key_file.read_bytes()).decrypt(stored.encode()).decode() == KEY


def test_a_refused_key_is_a_422_on_the_key_that_does_not_echo_it(env, caplog):
    caplog.set_level(logging.DEBUG)
    answer = env.link(key="sk_live_WrongKey00000000")
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", "api_key"]
    assert "refused" in error["msg"]
    assert "WrongKey" not in answer.text
    assert "WrongKey" not in caplog.text
    assert env.client.get(env.url, headers=env.headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"account_number": "B-12"}, "account_number"),
        ({"account_number": "sk_live_PastedInTheWrongField"}, "account_number"),
        ({"api_key": "short"}, "api_key"),
        ({"api_key": "sk_live_has spaces and; more"}, "api_key"),
        ({"follow_tariff": "maybe"}, "follow_tariff"),
    ],
)
def test_bad_input_is_a_422_per_field_and_never_echoes_a_key(env, body, field):
    answer = env.client.put(
        env.url, json={"account_number": NUMBER, "api_key": KEY, **body}, headers=env.headers
    )
    assert answer.status_code == 422
    assert [e["loc"][-1] for e in answer.json()["detail"]] == [field]
    assert "has spaces" not in answer.text
    assert "PastedInTheWrongField" not in answer.text
    assert env.octopus.requests == []


def test_an_unknown_account_is_a_422_on_its_number(env):
    env.octopus.routes.pop(ACCOUNT_PATH)
    answer = env.link()
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "account_number"]


def test_no_key_file_no_link(env):
    service = env.runtime.service
    service.settings = service.settings.model_copy(update={"account_secrets_key_file": None})
    answer = env.link()
    assert answer.status_code == 503
    assert "account_secrets_key_file" in answer.json()["detail"]
    assert service.store.octopus_account(env.home_id) is None


def test_the_home_s_tariff_follows_the_account(env):
    assert env.tariff()["product"] == "agile"
    assert env.link().status_code == 200
    assert env.tariff()["standing_charge_gbp_per_day"] == pytest.approx(0.47838)
    env.octopus.serve_json(ACCOUNT_PATH, account_on("INTELLI-VAR-22-10-14"))
    env.octopus.serve_rates("INTELLI-VAR-22-10-14", [27.69, 7.0, 27.69], standing_pence=53.2)
    answer = env.client.post(f"{env.url}/refresh", headers=env.headers)
    assert answer.status_code == 200
    assert answer.json()["import_tariff_code"] == "E-1R-INTELLI-VAR-22-10-14-C"
    assert "intelligent_octopus_go" in answer.json()["refresh_status"]
    tariff = env.tariff()
    assert tariff["product"] == "intelligent_octopus_go"
    assert tariff["off_peak_gbp_per_kwh"] == pytest.approx(0.07)
    assert tariff["peak_gbp_per_kwh"] == pytest.approx(0.2769)
    assert tariff["standing_charge_gbp_per_day"] == pytest.approx(0.532)
    audit = env.runtime.service.store.audit(env.home_id)
    assert any(a["action"] == "home.tariff" for a in audit)
    assert KEY not in str(audit)


def test_an_unmodelled_product_is_named_and_the_tariff_kept(env):
    env.octopus.serve_json(ACCOUNT_PATH, account_on("SILVER-24-12-31"))
    answer = env.link()
    assert answer.status_code == 200
    assert "SILVER-24-12-31" in answer.json()["refresh_status"]
    assert env.tariff()["product"] == "agile"


def test_not_following_keeps_the_tariff(env):
    env.octopus.serve_json(ACCOUNT_PATH, account_on("COSY-22-12-08"))
    assert env.link(follow_tariff=False).json()["refresh_status"] == "ok"
    assert env.tariff()["product"] == "agile"


def test_consumption_is_imported_once_and_plans_use_it(env):
    store, service = env.runtime.service.store, env.runtime.service
    assert env.link().status_code == 200
    now = service.clock.now()
    rows = store.telemetry_powers(env.home_id, ACCOUNT_IMPORT, now - timedelta(days=31))
    assert len(rows) >= 30 * 48 - 1
    assert rows[-1][0] > now - timedelta(hours=1)
    refresh_home(service, env.home_id, policy=FAST)  # nothing new yet: nothing doubled
    assert len(store.telemetry_powers(env.home_id, ACCOUNT_IMPORT, rows[0][0])) == len(rows)
    history = measured_history_kwh(store, env.home_id, now)
    assert history is not None
    assert history.max() == pytest.approx(0.5)
    assert history.min() == pytest.approx(0.1)
    grid = TimeGrid(start_utc=rows[-1][0] + timedelta(minutes=30), step_minutes=30, n_steps=48)
    home = store.home(env.home_id)
    planned = service.market.series(grid, home)["base_load_kw"].to_numpy()
    expected = expected_base_load(history, grid, now).to_numpy()
    assert planned == pytest.approx(expected)
    assert planned.max() > 2 * planned.min()  # the evening peak learnt from the meter


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (json_answer({"detail": "down"}, 503), "could not be reached"),
        ((200, b'{"next": null, "results": [{"consumption": NaN}]}'), "unexpected"),
    ],
)
def test_octopus_failing_at_refresh_is_a_status_not_a_crash(env, answer, status):
    assert env.link().status_code == 200
    consumption = f"/electricity-meter-points/{MPAN}/meters/{SERIAL}/consumption/"
    env.octopus.routes[consumption] = lambda _q: answer
    store = env.runtime.service.store
    with store.write_transaction() as s:  # so the refresh asks for the month again
        s.execute(text("DELETE FROM telemetry"))
    done = refresh_home(env.runtime.service, env.home_id, policy=FAST)
    assert status in done.status
    assert status in env.client.get(env.url, headers=env.headers).json()["refresh_status"]


def test_a_key_refused_later_asks_for_a_new_link(env, caplog):
    caplog.set_level(logging.INFO, logger="hems.account_refresh")
    assert env.link().status_code == 200  # the rates updated: said, not warned
    mine = [r for r in caplog.records if r.name == "hems.account_refresh"]
    assert mine
    assert all(r.levelno == logging.INFO for r in mine)
    env.octopus.api_key = "sk_live_RotatedKey1111"
    done = refresh_home(env.runtime.service, env.home_id, policy=FAST)
    assert "link the account again" in done.status
    assert not done.reached
    assert any("link the account again" in r.getMessage() for r in caplog.records)
    assert "RotatedKey" not in caplog.text


def test_unlinking_deletes_the_key_and_keeps_the_tariff(env):
    env.octopus.serve_json(ACCOUNT_PATH, account_on("GO-VAR-22-10-14"))
    assert env.link().status_code == 200
    assert env.tariff()["product"] == "octopus_go"
    assert env.client.delete(env.url, headers=env.headers).status_code == 204
    assert env.client.get(env.url, headers=env.headers).status_code == 404
    assert env.client.delete(env.url, headers=env.headers).status_code == 404
    assert env.tariff()["product"] == "octopus_go"
    with env.runtime.service.store.session() as s:
        assert s.execute(text("SELECT count(*) FROM octopus_accounts")).scalar_one() == 0


def test_another_home_s_token_cannot_see_or_link(env):
    admin = {"Authorization": f"Bearer {env.runtime.new_tokens['admin']}"}
    spec = home_spec().model_copy(update={"cem_serial": "CEM-OTHER"}).model_dump(mode="json")
    other = env.client.post("/homes", json=spec, headers=admin).json()
    headers = {"Authorization": f"Bearer {other['token']}"}
    assert env.link().status_code == 200
    assert env.client.get(env.url, headers=headers).status_code == 404
    put = env.client.put(env.url, json={"account_number": NUMBER, "api_key": KEY}, headers=headers)
    assert put.status_code == 404


def test_settings_refuse_a_plain_http_octopus_or_a_key_file_without_a_key(tmp_path):
    with pytest.raises(SettingsError, match="octopus_api_url"):
        load_settings(state_dir=tmp_path, octopus_api_url="http://api.octopus.energy/v1")
    bad = tmp_path / "not-a-key"
    bad.write_text("hunter2")
    with pytest.raises(SettingsError, match="account_secrets_key_file"):
        load_settings(state_dir=tmp_path, account_secrets_key_file=bad)
    assert load_settings(state_dir=tmp_path, octopus_api_url="http://127.0.0.1:9/v1")


def test_the_saving_sessions_job_reads_the_stored_links(env):
    service = env.runtime.service
    assert octopus_links(service) == []
    assert env.link().status_code == 200
    assert octopus_links(service) == [(env.home_id, OctopusLink(NUMBER, KEY))]
    assert KEY not in repr(octopus_links(service))
    assert saving_sessions_job(service)._url == f"{env.octopus.base_url}/graphql/"


def test_the_web_page_links_refreshes_and_unlinks_without_showing_the_key(env, caplog):
    caplog.set_level(logging.DEBUG)
    token = env.headers["Authorization"].removeprefix("Bearer ")
    sign_in(env.client, token)
    url = f"/app/homes/{env.home_id}/octopus-account"
    page = env.client.get(url)
    assert page.status_code == 200
    assert "Link your account" in page.text
    form = {"csrf": csrf_of(page.text), "account_number": NUMBER, "follow_tariff": "on"}
    refused = env.client.post(url, data={**form, "api_key": "sk_live_WrongKey00000000"})
    assert "Not linked: the key was refused by Octopus" in refused.text
    linked = env.client.post(url, data={**form, "api_key": KEY})
    assert f"Account {NUMBER} linked: agile rates updated" in linked.text
    assert "API key ending <strong>9876</strong>" in linked.text
    assert "E-1R-AGILE-24-10-01-C" in linked.text
    env.octopus.serve_json(ACCOUNT_PATH, account_on("COSY-22-12-08"))
    refreshed = env.client.post(f"{url}/refresh", data={"csrf": csrf_of(linked.text)})
    assert "cosy_octopus" in refreshed.text
    assert env.tariff()["product"] == "cosy_octopus"
    unlinked = env.client.post(f"{url}/unlink", data={"csrf": csrf_of(refreshed.text)})
    assert "Unlinked" in unlinked.text
    assert "Link your account" in unlinked.text
    for text_ in (refused.text, linked.text, refreshed.text, unlinked.text, caplog.text):
        assert "SECRET" not in text_
        assert "WrongKey" not in text_


def test_the_web_page_says_when_keys_cannot_be_kept(env):
    service = env.runtime.service
    service.settings = service.settings.model_copy(update={"account_secrets_key_file": None})
    sign_in(env.client, env.headers["Authorization"].removeprefix("Bearer "))
    page = env.client.get(f"/app/homes/{env.home_id}/octopus-account")
    assert "cannot keep Octopus keys" in page.text
    assert 'name="api_key"' not in page.text


def test_which_homes_are_linked_is_one_query_for_all_homes_until_a_link_changes(env):
    store = env.runtime.service.store
    reads: list[int] = []

    class Counted:  # this LinkedHomes' reads only (the service's own plans read theirs)
        def version(self, kind: str, home_id: int) -> int:
            return store.version(kind, home_id)

        def octopus_account_homes(self) -> list[int]:
            reads.append(1)
            return store.octopus_account_homes()

    linked = LinkedHomes(Counted())  # type: ignore[arg-type]
    assert not any(linked(h) for h in range(1, 200))
    assert len(reads) == 1
    assert env.link().status_code == 200
    assert linked(env.home_id)
    assert len(reads) == 2
    assert env.client.delete(env.url, headers=env.headers).status_code == 204
    assert not linked(env.home_id)


def test_rates_that_do_not_fit_the_product_or_are_missing_keep_its_rates(env):
    env.octopus.serve_json(ACCOUNT_PATH, account_on("COSY-22-12-08"))
    env.octopus.serve_rates("COSY-22-12-08", [12.65, 25.81], standing_pence=50.0)  # 2, not 3
    status = env.link().json()["refresh_status"]
    assert "2 published unit rates do not fit cosy_octopus's 3" in status
    tariff = env.tariff()
    assert tariff["product"] == "cosy_octopus"
    assert tariff["cosy_gbp_per_kwh"] == pytest.approx(0.1265)  # the product's default
    assert tariff["standing_charge_gbp_per_day"] == pytest.approx(0.5)
    env.octopus.serve_json(ACCOUNT_PATH, account_on("FLUX-IMPORT-23-02-14"))  # rates not served
    status = env.client.post(f"{env.url}/refresh", headers=env.headers).json()["refresh_status"]
    assert "published rates were not read" in status
    assert env.tariff()["product"] == "flux"


def test_absurd_published_rates_are_not_used(env):
    env.octopus.serve_json(ACCOUNT_PATH, account_on("VAR-22-11-01"))
    env.octopus.serve_rates("VAR-22-11-01", [9999.0], standing_pence=50.0)
    status = env.link().json()["refresh_status"]
    assert "out of range" in status
    assert env.tariff()["import_gbp_per_kwh"] == pytest.approx(0.245)


def test_two_refreshes_at_once_import_each_half_hour_once(env):
    assert env.link().status_code == 200
    store, service = env.runtime.service.store, env.runtime.service
    with store.write_transaction() as s:
        s.execute(text("DELETE FROM telemetry"))

    async def both() -> None:
        await asyncio.gather(
            refresh_home_async(service, env.home_id), refresh_home_async(service, env.home_id)
        )

    env.client.portal.call(both)
    rows = store.telemetry_powers(env.home_id, ACCOUNT_IMPORT, service.clock.now() - timedelta(31))
    assert len(rows) == len({at for at, _ in rows}) >= 30 * 48 - 1


def test_erasing_the_home_erases_its_link(env):
    assert env.link().status_code == 200
    admin = {"Authorization": f"Bearer {env.runtime.new_tokens['admin']}"}
    assert env.client.delete(f"/homes/{env.home_id}", headers=admin).status_code == 204
    with env.runtime.service.store.session() as s:
        assert s.execute(text("SELECT count(*) FROM octopus_accounts")).scalar_one() == 0


def test_a_flat_tariff_takes_its_import_rate_and_the_export_tariff_s_rate(env):
    env.octopus.serve_json(ACCOUNT_PATH, account_on("VAR-22-11-01", "OUTGOING-FIX-12M-19-05-13"))
    env.octopus.serve_rates("VAR-22-11-01", [24.86], standing_pence=51.37)
    env.octopus.serve_rates("OUTGOING-FIX-12M-19-05-13", [15.0], standing_pence=0.0)
    link = env.link().json()
    assert link["refresh_status"] == "tariff set to flat with the account's tariff's rates"
    assert link["export_tariff_code"] == "E-1R-OUTGOING-FIX-12M-19-05-13-C"
    tariff = env.tariff()
    assert tariff["import_gbp_per_kwh"] == pytest.approx(0.2486)
    assert tariff["export_gbp_per_kwh"] == pytest.approx(0.15)
    assert tariff["standing_charge_gbp_per_day"] == pytest.approx(0.5137)  # the import's
    asked = [path for path, _q, _a in env.octopus.requests]
    assert not any("OUTGOING" in p and "standing-charges" in p for p in asked)


def two_rate_account(product_code: str) -> dict[str, Any]:
    """The account with its import meter on ``product_code``'s two-rate (``E-2R-``) tariff."""
    payload = account_on(product_code, "OUTGOING-FIX-12M-19-05-13")
    agreement = payload["properties"][1]["electricity_meter_points"][0]["agreements"][1]
    agreement["tariff_code"] = f"E-2R-{product_code}-C"
    return payload


def economy_7_at_night_23_to_6(env: Env) -> None:
    """The home on Economy 7 with its meter's night hours (not the product's default)."""
    tariff = {"product": "economy_7", "night_start": "23:00", "night_end": "06:00"}
    tariff |= {"day_gbp_per_kwh": 0.31, "night_gbp_per_kwh": 0.14}
    service = env.runtime.service
    service.store.set_home_tariff(env.home_id, tariff, service.clock.now(), "test")


def test_economy_7_s_day_and_night_bands_follow_the_account(env):
    economy_7_at_night_23_to_6(env)
    env.octopus.serve_json(ACCOUNT_PATH, two_rate_account("VAR-22-11-01"))
    env.octopus.serve_two_rates("VAR-22-11-01", day_pence=28.5, night_pence=12.1, standing=52.0)
    env.octopus.serve_rates("OUTGOING-FIX-12M-19-05-13", [15.0], standing_pence=0.0)
    link = env.link().json()
    assert link["import_tariff_code"] == "E-2R-VAR-22-11-01-C"
    assert link["refresh_status"] == "economy_7 rates updated from the account's tariff"
    tariff = env.tariff()
    assert tariff["day_gbp_per_kwh"] == pytest.approx(0.285)
    assert tariff["night_gbp_per_kwh"] == pytest.approx(0.121)
    assert tariff["standing_charge_gbp_per_day"] == pytest.approx(0.52)
    assert tariff["export_gbp_per_kwh"] == pytest.approx(0.15)
    assert (tariff["night_start"], tariff["night_end"]) == ("23:00:00", "06:00:00")  # the home's


@pytest.mark.parametrize(
    ("day_pence", "night_pence", "status"),
    [
        (9999.0, 12.1, "out of range"),
        (28.5, None, "0 published unit rates do not fit economy_7's 2"),
        (12.1, 28.5, "night rate (28.5 p/kWh) is above the day rate (12.1 p/kWh)"),
    ],
)
def test_absurd_or_missing_economy_7_rates_keep_the_home_s(env, day_pence, night_pence, status):
    economy_7_at_night_23_to_6(env)
    env.octopus.serve_json(ACCOUNT_PATH, two_rate_account("VAR-22-11-01"))
    env.octopus.serve_two_rates("VAR-22-11-01", day_pence, night_pence, standing=52.0)
    env.octopus.serve_rates("OUTGOING-FIX-12M-19-05-13", [15.0], standing_pence=0.0)
    assert status in env.link().json()["refresh_status"]
    tariff = env.tariff()
    assert tariff["product"] == "economy_7"
    assert tariff["day_gbp_per_kwh"] == pytest.approx(0.31)
    assert tariff["night_gbp_per_kwh"] == pytest.approx(0.14)


def test_a_two_rate_meter_not_on_economy_7_keeps_the_home_s_rates(env):
    env.octopus.serve_json(ACCOUNT_PATH, two_rate_account("GO-VAR-22-10-14"))
    status = env.link().json()["refresh_status"]
    assert "a two-rate meter's rates are not read" in status
    assert env.tariff()["product"] == "octopus_go"
