"""Versions are history: archived instead of deleted, held by stacks, runs
and deployments; images remember when retention deleted them; build leases.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mlenv_versions") as batch:
        batch.add_column(sa.Column("archived_at", sa.String(40), nullable=True))
    with op.batch_alter_table("mlenv_images") as batch:
        batch.add_column(sa.Column("deleted_at", sa.String(40), nullable=True))
    op.create_table(
        "mlenv_holds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(512), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("digest", sa.String(128), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("kind", "holder", "name", "version", name="uq_mlenv_holds"),
    )
    op.create_index("ix_mlenv_holds_name_version", "mlenv_holds", ["name", "version"])
    op.create_index("ix_mlenv_holds_digest", "mlenv_holds", ["digest"])
    op.create_table(
        "mlenv_leases",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("acquired_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mlenv_leases")
    op.drop_table("mlenv_holds")
    with op.batch_alter_table("mlenv_images") as batch:
        batch.drop_column("deleted_at")
    with op.batch_alter_table("mlenv_versions") as batch:
        batch.drop_column("archived_at")
