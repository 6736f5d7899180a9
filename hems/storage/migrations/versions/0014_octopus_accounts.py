"""A home's link to the consumer's own Octopus account (``PUT /homes/{id}/octopus-account``):
the account number and the API key encrypted at rest.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "octopus_accounts",
        sa.Column(
            "home_id",
            sa.Integer(),
            sa.ForeignKey("homes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("account_number", sa.String(length=16), nullable=False),
        sa.Column("api_key_encrypted", sa.String(length=1000), nullable=False),
        sa.Column("api_key_last4", sa.String(length=4), nullable=False),
        sa.Column("follow_tariff", sa.Boolean(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=True),
        sa.Column("refresh_status", sa.String(length=500), nullable=True),
        sa.Column("import_tariff_code", sa.String(length=64), nullable=True),
        sa.Column("export_tariff_code", sa.String(length=64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("octopus_accounts")
