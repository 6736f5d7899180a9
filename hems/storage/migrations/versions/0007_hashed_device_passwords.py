"""A registered charger's password is kept as a salted hash, not in clear: each stored
connection's ``password`` becomes ``password_hash`` (scrypt, the format of
``adapters.devices.credentials``, written out here so that this record never changes).

Downgrade cannot bring a password back: it removes the connection of each device whose
password it hashed (the device is then to be registered again), rather than leave the
charger paired without a password.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import base64
import hashlib
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_devices = sa.table(
    "devices",
    sa.column("id", sa.Integer()),
    sa.column("connection", sa.JSON()),
)


def _scrypt_hash(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$14$8$1${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_devices.c.id, _devices.c.connection)).all()
    for row_id, connection in rows:
        if not isinstance(connection, dict) or connection.get("password") is None:
            continue
        hashed = {k: v for k, v in connection.items() if k != "password"}
        hashed["password_hash"] = _scrypt_hash(str(connection["password"]))
        bind.execute(sa.update(_devices).where(_devices.c.id == row_id).values(connection=hashed))


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_devices.c.id, _devices.c.connection)).all()
    for row_id, connection in rows:
        if isinstance(connection, dict) and connection.get("password_hash") is not None:
            bind.execute(
                sa.update(_devices).where(_devices.c.id == row_id).values(connection=sa.null())
            )
