"""Verifications of images (``mlenv image verify``), and the models,
deployments and endpoints of serving.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NEW = ("mlenv_verifications", "mlenv_models", "mlenv_deployments", "mlenv_endpoints")


def _tables() -> list[sa.Table]:
    # The tables as the models declare them (they are new here, so the
    # declaration is their first shape); checkfirst: a workspace opened by a
    # development build that created them on open keeps them as they are.
    from pulumi_mlenv.workspace import _serving_tables, _tables

    del _serving_tables  # imported for its tables on the shared metadata
    return [_tables.Base.metadata.tables[name] for name in _NEW]


def upgrade() -> None:
    bind = op.get_bind()
    for table in _tables():
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_tables()):
        table.drop(bind, checkfirst=True)
