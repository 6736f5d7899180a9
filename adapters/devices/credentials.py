"""Device credentials kept as salted hashes: a charger's basic-auth password, an S2 resource
manager's bearer token.

The CEM only has to *verify* what a device presents, never to send it, so it keeps no device
secret in clear: not in the database, not in its settings objects. A secret is hashed with
scrypt (``hashlib``, standard library; memory-hard, so a stolen table is slow to brute-force)
under a random 16-byte salt, and the hash carries its own parameters so they can be raised
later without breaking stored hashes::

    scrypt$<log2 n>$<r>$<p>$<salt, base64>$<key, base64>

Verifying derives the key again and compares it in constant time (:func:`hmac.compare_digest`).
It costs ~50-150 ms of CPU on purpose: call it off the event loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets

SCRYPT_LOG2_N = 14
"""CPU/memory cost: n = 2**14 with r = 8 takes 16 MiB and ~50-150 ms per hash here."""
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_MAX_MEMORY_BYTES = 64 * 2**20
_HASH = re.compile(
    r"^scrypt\$(?P<log_n>[0-9]{1,2})\$(?P<r>[0-9]{1,2})\$(?P<p>[0-9]{1,2})"
    r"\$(?P<salt>[A-Za-z0-9+/=]{16,64})\$(?P<key>[A-Za-z0-9+/=]{16,128})$"
)


def hash_secret(secret: str) -> str:
    """The salted scrypt hash of ``secret``, to keep instead of it."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _derive(secret, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        (
            "scrypt",
            str(SCRYPT_LOG2_N),
            str(SCRYPT_R),
            str(SCRYPT_P),
            base64.b64encode(salt).decode(),
            base64.b64encode(key).decode(),
        )
    )


def is_secret_hash(value: str) -> bool:
    """Whether ``value`` is a hash made by :func:`hash_secret` (well formed, parameters in
    range), as opposed to a secret in clear."""
    try:
        _parse(value)
    except ValueError:
        return False
    return True


def verify_secret(secret: str, secret_hash: str) -> bool:
    """Whether ``secret`` is the one ``secret_hash`` was made from (constant-time comparison).
    ValueError when ``secret_hash`` is not such a hash."""
    log_n, r, p, salt, key = _parse(secret_hash)
    return hmac.compare_digest(_derive(secret, salt, log_n, r, p), key)


def _derive(secret: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode(),
        salt=salt,
        n=2**log_n,
        r=r,
        p=p,
        dklen=_KEY_BYTES,
        maxmem=_MAX_MEMORY_BYTES,
    )


def _parse(value: str) -> tuple[int, int, int, bytes, bytes]:
    match = _HASH.match(value)
    if match is None:
        raise ValueError("not a scrypt secret hash (scrypt$<log2 n>$<r>$<p>$<salt>$<key>)")
    log_n, r, p = int(match["log_n"]), int(match["r"]), int(match["p"])
    if not (10 <= log_n <= 20 and 1 <= r <= 16 and 1 <= p <= 4):
        raise ValueError("scrypt secret hash: parameters out of range")
    if 128 * r * 2**log_n > _MAX_MEMORY_BYTES // 2:
        raise ValueError("scrypt secret hash: parameters need too much memory")
    try:
        salt = base64.b64decode(match["salt"], validate=True)
        key = base64.b64decode(match["key"], validate=True)
    except binascii.Error as exc:
        raise ValueError("scrypt secret hash: salt or key is not base64") from exc
    return log_n, r, p, salt, key


class _RedactAuthorization(logging.Filter):
    """Blanks the value of an ``Authorization`` header in a record (websockets logs each
    header of a handshake at DEBUG as ``"< %s: %s", name, value``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 2 and str(args[0]).lower() == "authorization":
            record.args = (args[0], "[redacted]", *args[2:])
        return True


def handshake_logger() -> logging.Logger:
    """The logger to give a WebSocket server that devices authenticate to (``serve(...,
    logger=...)``): ``websockets.server.devices``, configured like websockets' own, with each
    handshake's ``Authorization`` header (a password or a token) redacted from its DEBUG lines."""
    logger = logging.getLogger("websockets.server.devices")
    if not any(isinstance(f, _RedactAuthorization) for f in logger.filters):
        logger.addFilter(_RedactAuthorization())
    return logger
