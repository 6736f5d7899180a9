"""The consumers' Octopus API keys encrypted at rest (Fernet: AES-128-CBC with an HMAC-SHA256,
from the ``cryptography`` package) with a key the operator keeps in a file
(``account_secrets_key_file``), apart from the database: a copy of the database alone does
not give the keys away. No key file configured, no account can be linked (there is no
default key). The plain key lives only in memory, for the request that uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from pydantic import AfterValidator, FilePath


class SecretsUnavailableError(RuntimeError):
    """No key file is configured (or it is not a Fernet key), or a stored key cannot be
    decrypted with the configured one (the key file was replaced)."""


class AccountSecrets:
    """Encrypts and decrypts the consumers' API keys with the operator's Fernet key."""

    def __init__(self, key_file: Path | None) -> None:
        self._fernet: Fernet | None = None
        self._problem = "no account_secrets_key_file is configured"
        if key_file is not None:
            try:
                self._fernet = Fernet(key_file.read_bytes().strip())
            except (OSError, ValueError):
                self._problem = f"{key_file} does not hold a Fernet key (44 base64 characters)"

    @property
    def available(self) -> bool:
        """Whether keys can be stored and read."""
        return self._fernet is not None

    def _key(self) -> Fernet:
        if self._fernet is None:
            raise SecretsUnavailableError(self._problem)
        return self._fernet

    def encrypt(self, secret: str) -> str:
        """The secret encrypted, as text for the database."""
        return self._key().encrypt(secret.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The secret back.

        Raises:
            SecretsUnavailableError: no key, or the token was made with another key.
        """
        try:
            return self._key().decrypt(token.encode("ascii")).decode()
        except InvalidToken:
            raise SecretsUnavailableError(
                "a stored key cannot be decrypted with the configured key file (replaced?)"
            ) from None


def _fernet_key_file(path: Path) -> Path:
    if not AccountSecrets(path).available:
        raise ValueError("must hold a Fernet key (44 characters of url-safe base64)")
    return path


def _octopus_url(url: str) -> str:
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname == "127.0.0.1"  # a test's fake
    if not parts.hostname or (parts.scheme != "https" and not loopback):
        raise ValueError("must be an https:// URL with a host (consumers' keys cross it)")
    return url.rstrip("/")


FernetKeyFile = Annotated[FilePath, AfterValidator(_fernet_key_file)]
"""The ``account_secrets_key_file`` setting: an existing file holding a Fernet key."""
OctopusUrl = Annotated[str, AfterValidator(_octopus_url)]
"""The ``octopus_api_url`` setting: https (http only to 127.0.0.1), no trailing slash."""
