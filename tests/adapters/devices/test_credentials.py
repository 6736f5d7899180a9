"""Device secrets kept as salted scrypt hashes: the right secret verifies, a wrong one does
not, the same secret hashes differently each time (salted), and what is not a hash is told
apart from one (a secret in clear is never taken for its hash)."""

from __future__ import annotations

import pytest

from adapters.devices.credentials import hash_secret, is_secret_hash, verify_secret
from adapters.devices.ocpp.settings import hash_password
from adapters.devices.s2 import hash_token

SECRET = "a-long-charger-secret-01"


def test_the_right_secret_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_secret(SECRET)
    assert SECRET not in stored
    assert stored.startswith("scrypt$14$8$1$")
    assert verify_secret(SECRET, stored)
    assert not verify_secret("a-long-charger-secret-02", stored)
    assert not verify_secret("", stored)


def test_each_hash_has_its_own_salt() -> None:
    first, second = hash_secret(SECRET), hash_secret(SECRET)
    assert first != second
    assert verify_secret(SECRET, first)
    assert verify_secret(SECRET, second)


@pytest.mark.parametrize(
    "value",
    [
        SECRET,
        "",
        "scrypt$14$8$1$not base64!$AAAAAAAAAAAAAAAAAAAAAA==",
        "scrypt$30$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==",  # 2**30: too costly
        "bcrypt$14$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==",
    ],
)
def test_what_is_not_a_hash_is_refused(value: str) -> None:
    assert not is_secret_hash(value)
    with pytest.raises(ValueError, match="scrypt secret hash"):
        verify_secret(SECRET, value)


@pytest.mark.parametrize("password", ["short", "x" * 41])
def test_a_charger_password_out_of_bounds_is_refused(password: str) -> None:
    with pytest.raises(ValueError, match="16-40 characters"):
        hash_password(password)


@pytest.mark.parametrize("token", ["short", "x" * 257])
def test_an_s2_token_out_of_bounds_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="16-256 characters"):
        hash_token(token)
