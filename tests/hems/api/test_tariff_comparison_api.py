"""GET /homes/{id}/tariff-comparison (issue 27): computed in the background, 202 until done,
then the table; the home's own token or an admin's, no other home's."""

from __future__ import annotations

import time

from hems.demo import demo_home_spec
from hems.usecases.tariff_comparison import TariffComparisons


def test_the_comparison_is_computing_then_the_table_of_bills(client, demo) -> None:
    comparisons = TariffComparisons(days=1)
    client.app.state.tariff_comparisons = comparisons
    url = f"/homes/{demo.home_id}/tariff-comparison"
    assert client.get(url).status_code == 401
    try:
        first = client.get(url, headers=demo.auth())
        assert first.status_code == 202, first.text
        assert first.json()["status"] == "computing"
        assert first.headers["Retry-After"] == "30"
        deadline = time.monotonic() + 300
        while True:
            answer = client.get(url, headers=demo.auth(demo.admin_token))
            if answer.status_code != 202 or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "finished", body
        products = [row["product"] for row in body["tariffs"]]
        assert sorted(products) == sorted(
            [
                "agile",
                "flat",
                "octopus_go",
                "intelligent_octopus_go",
                "cosy_octopus",
                "flux",
                "economy_7",
            ]
        )
        totals = [row["planner_total_gbp"] for row in body["tariffs"]]
        assert totals == sorted(totals)
        # kept: the same answer without a new computation
        again = client.get(url, headers=demo.auth())
        assert again.json()["started_utc"] == body["started_utc"]
    finally:
        comparisons.stop()


def test_another_home_token_cannot_see_it(client, demo) -> None:
    spec = demo_home_spec("OTHER-7").model_dump(mode="json")
    other = client.post("/homes", json=spec, headers=demo.auth(demo.admin_token)).json()
    r = client.get(f"/homes/{other['id']}/tariff-comparison", headers=demo.auth())
    assert r.status_code == 404
