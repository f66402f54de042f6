"""Layers: per built image, each layer's key, slot, digest, size and build
seconds, so that a preview can say what a replace will cost.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _table() -> sa.Table:
    # The table as the model declares it (new here, so that is its first shape).
    from pulumi_mlenv.workspace import _tables

    return _tables.Base.metadata.tables["mlenv_layers"]


def upgrade() -> None:
    _table().create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    _table().drop(op.get_bind(), checkfirst=True)
