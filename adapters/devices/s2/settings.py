"""What the CEM needs to know about its S2 resource managers and its own socket.

S2 (EN 50491-12-2) defines the messages between a CEM and a resource manager (RM), not how
they find or trust each other. Over WebSocket (s2-ws-json) the RM connects to the CEM; S2
Connect (the pairing specification) ends in a bearer access token on the WebSocket upgrade,
over TLS. This CEM takes that last step with tokens paired out of band: each RM connects to
``ws[s]://host:port/<rm_id>`` with ``Authorization: Bearer <token>``; with
``TlsServerSettings.client_ca_file`` it must also present a client certificate whose common
name is its ``rm_id``. Any other RM is refused at the WebSocket handshake. The CEM only
verifies a token, so it keeps only its salted hash (:func:`hash_token`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from adapters.devices.credentials import hash_secret, is_secret_hash
from adapters.devices.ws_server import TlsServerSettings as TlsServerSettings

TOKEN_MIN_CHARS = 16
TOKEN_MAX_CHARS = 256
_RM_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def hash_token(token: str) -> str:
    """The salted hash an RM's settings keep of its bearer token; ValueError when the token
    does not have 16-256 characters."""
    if not (TOKEN_MIN_CHARS <= len(token) <= TOKEN_MAX_CHARS):
        raise ValueError(f"an S2 token must have {TOKEN_MIN_CHARS}-{TOKEN_MAX_CHARS} characters")
    return hash_secret(token)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceManagerSettings:
    """One paired resource manager.

    Attributes:
        rm_id: the last segment of the URL it connects to (1-64 of ``A-Z a-z 0-9 _ . : -``).
        token_hash: the salted hash of its bearer token (:func:`hash_token`), else None
            (unauthenticated: a bench only).
        resource_id: the ``resource_id`` its ResourceManagerDetails must carry, else None
            (any). A different resource behind a paired RM's URL is refused.
    """

    rm_id: str
    token_hash: str | None = field(default=None, repr=False)
    resource_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if not _RM_ID.fullmatch(self.rm_id):
            raise ValueError(f"rm_id {self.rm_id!r}: 1-64 of A-Z a-z 0-9 _ . : -")
        if self.token_hash is not None and not is_secret_hash(self.token_hash):
            raise ValueError(
                f"resource manager {self.rm_id}: token_hash is not a hash (use hash_token)"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class CemSettings:
    """The CEM's S2 socket and its resource managers.

    Attributes:
        host: the address to listen on.
        port: the port (0: any free port, read it from ``S2Cem.port``).
        resource_managers: the paired RMs.
        tls: TLS settings (wss://), else plain ws://.
        response_timeout_s: how long the RM may take to answer a message with its
            ReceptionStatus, or an instruction with its status [s].
        stale_after_s: an RM that sent nothing for longer is reported unavailable [s].
        max_message_bytes: a larger WebSocket message closes the connection (1009).
        max_invalid_messages: this many invalid messages in a row close the connection
            (1008); each one before is answered with a ReceptionStatus and dropped.
    """

    host: str = "127.0.0.1"
    port: int = 8110
    resource_managers: tuple[ResourceManagerSettings, ...] = ()
    tls: TlsServerSettings | None = None
    response_timeout_s: float = 5.0
    stale_after_s: float = 60.0
    max_message_bytes: int = 1024 * 1024
    max_invalid_messages: int = 20

    def __post_init__(self) -> None:
        ids = [rm.rm_id for rm in self.resource_managers]
        if len(set(ids)) != len(ids):
            raise ValueError("each rm_id may be paired once")
        if self.response_timeout_s <= 0 or self.stale_after_s <= 0:
            raise ValueError("response_timeout_s and stale_after_s must be > 0")
        if self.max_message_bytes < 4096 or self.max_invalid_messages < 1:
            raise ValueError("max_message_bytes must be >= 4096, max_invalid_messages >= 1")
