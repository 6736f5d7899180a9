"""A setpoint's kind, mode and status in columns of their own (they were encoded in strings:
a ``ramp:`` prefix of the reason for a ramp step, ``+follow`` / ``+store`` suffixes for the
mode a battery was sent in, ``last_error == "superseded"`` for a setpoint replaced before it
was sent). Existing rows are moved: the prefix and suffixes leave the reason.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RAMP_PREFIX = "ramp:"
FOLLOW_TAG = "+follow"
STORE_TAG = "+store"

setpoints = sa.table(
    "setpoints",
    sa.column("reason", sa.String()),
    sa.column("applied_at", sa.DateTime()),
    sa.column("last_error", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("follow_site", sa.Boolean()),
    sa.column("store_surplus", sa.Boolean()),
    sa.column("status", sa.String()),
)


def _enum(*values: str) -> sa.Enum:
    return sa.Enum(*values, native_enum=False, create_constraint=False, length=16)


def upgrade() -> None:
    with op.batch_alter_table("setpoints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                _enum("decision", "ramp_step"),
                server_default="decision",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("follow_site", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("store_surplus", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "status",
                _enum("pending", "sent", "failed", "superseded"),
                server_default="pending",
                nullable=False,
            )
        )
    t = setpoints
    op.execute(
        t.update()
        .where(t.c.reason.like(f"{RAMP_PREFIX}%"))
        .values(kind="ramp_step", reason=sa.func.substr(t.c.reason, len(RAMP_PREFIX) + 1))
    )
    op.execute(t.update().where(t.c.reason.contains(FOLLOW_TAG)).values(follow_site=True))
    op.execute(t.update().where(t.c.reason.contains(STORE_TAG)).values(store_surplus=True))
    op.execute(
        t.update()
        .where(t.c.reason.contains(FOLLOW_TAG) | t.c.reason.contains(STORE_TAG))
        .values(reason=sa.func.replace(sa.func.replace(t.c.reason, FOLLOW_TAG, ""), STORE_TAG, ""))
    )
    op.execute(t.update().where(t.c.applied_at.is_not(None)).values(status="sent"))
    op.execute(
        t.update()
        .where(t.c.applied_at.is_(None), t.c.last_error == "superseded")
        .values(status="superseded", last_error="")
    )
    op.execute(
        t.update()
        .where(t.c.applied_at.is_(None), t.c.last_error != "", t.c.status == "pending")
        .values(status="failed")
    )


def downgrade() -> None:
    t = setpoints
    op.execute(
        t.update()
        .where(t.c.follow_site.is_(True))
        .values(reason=sa.func.substr(t.c.reason + FOLLOW_TAG, 1, 64))
    )
    op.execute(
        t.update()
        .where(t.c.store_surplus.is_(True))
        .values(reason=sa.func.substr(t.c.reason + STORE_TAG, 1, 64))
    )
    op.execute(
        t.update()
        .where(t.c.kind == "ramp_step")
        .values(reason=sa.func.substr(RAMP_PREFIX + t.c.reason, 1, 64))
    )
    op.execute(t.update().where(t.c.status == "superseded").values(last_error="superseded"))
    with op.batch_alter_table("setpoints", schema=None) as batch_op:
        batch_op.drop_column("status")
        batch_op.drop_column("store_surplus")
        batch_op.drop_column("follow_site")
        batch_op.drop_column("kind")
