"""Secrets never reach the log: a token used, mistyped, created or signed in with appears in no
log record of the service, whatever the level (ETSI EN 303 645 provision 5.4)."""

from __future__ import annotations

import logging

from tests.hems.web.conftest import sign_in


def test_tokens_appear_in_no_log_record(client, demo, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "hems_" + "x" * 43
    client.get(f"/homes/{demo.home_id}/plan", headers=demo.auth())
    client.get(f"/homes/{demo.home_id}/plan", headers=demo.auth(wrong))
    client.put(
        f"/homes/{demo.home_id}/preferences",
        headers=demo.auth(),
        json=client.get(f"/homes/{demo.home_id}/preferences", headers=demo.auth()).json(),
    )
    created = client.post(f"/homes/{demo.home_id}/tokens", headers=demo.auth(demo.admin_token))
    sign_in(client, demo.home_token)
    sign_in(client, wrong)
    assert created.status_code == 201
    secrets = [demo.home_token, demo.admin_token, wrong, created.json()["token"]]
    assert caplog.records, "the requests logged nothing: this test would prove nothing"
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in logged
        assert secret[5:20] not in logged  # not a part of one either
