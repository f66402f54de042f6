"""The schema as pulumi-mlenv made it before migrations: images, versions,
compute targets. A workspace made then is stamped with this revision when
first opened by a newer pulumi-mlenv, then upgraded.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlenv_images",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("env_hash", sa.String(128), nullable=False),
        sa.Column("registry", sa.String(255), nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.String(64), nullable=False),
        sa.Column("base_image", sa.String(512), nullable=True),
        sa.Column("base_digest", sa.String(128), nullable=True),
        sa.Column("dockerfile", sa.Text(), nullable=False),
        sa.Column("lock", sa.JSON(), nullable=False),
        sa.Column("build_seconds", sa.Float(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_mlenv_images_env_hash", "mlenv_images", ["env_hash"])
    op.create_index("ix_mlenv_images_digest", "mlenv_images", ["digest"])
    op.create_table(
        "mlenv_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("env_hash", sa.String(128), nullable=False),
        sa.Column("image", sa.String(1024), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("environment_variables", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_mlenv_versions_name_version"),
    )
    op.create_index("ix_mlenv_versions_name", "mlenv_versions", ["name"])
    op.create_index("ix_mlenv_versions_env_hash", "mlenv_versions", ["env_hash"])
    op.create_table(
        "mlenv_compute_targets",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("url", sa.String(1024), nullable=True),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mlenv_compute_targets")
    op.drop_table("mlenv_versions")
    op.drop_table("mlenv_images")
