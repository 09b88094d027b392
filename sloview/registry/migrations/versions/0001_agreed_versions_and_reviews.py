"""Agreed SLO versions and their reviews.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create both tables."""
    op.create_table(
        "slo_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("service", sa.String(200), nullable=False, server_default=""),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("agreed_by", sa.String(200), nullable=False),
        sa.Column("agreed_at", sa.String(40), nullable=False),
        sa.Column("rationale", sa.Text, nullable=False, server_default=""),
        sa.Column("data_fingerprint", sa.String(80), nullable=False, server_default=""),
        sa.Column("data_start", sa.String(40), nullable=True),
        sa.Column("data_end", sa.String(40), nullable=True),
        sa.Column("figures", sa.Text, nullable=False, server_default="{}"),
        sa.UniqueConstraint("name", "version", name="uq_slo_versions_name_version"),
    )
    op.create_table(
        "slo_reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("reviewed_at", sa.String(40), nullable=False),
        sa.Column("reviewed_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("source", sa.String(500), nullable=False, server_default=""),
        sa.Column("data_fingerprint", sa.String(80), nullable=False, server_default=""),
        sa.Column("period_start", sa.String(40), nullable=True),
        sa.Column("period_end", sa.String(40), nullable=True),
        sa.Column("good", sa.Float, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sa.Column("attainment", sa.Float, nullable=True),
        sa.Column("ci_low", sa.Float, nullable=True),
        sa.Column("ci_high", sa.Float, nullable=True),
        sa.Column("target", sa.Float, nullable=False),
        sa.Column("met", sa.Boolean, nullable=True),
        sa.Column("budget_remaining", sa.Float, nullable=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("suggested_threshold_ms", sa.Float, nullable=True),
        sa.Column("suggested_target", sa.Float, nullable=True),
        sa.Column("why", sa.Text, nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("slo_reviews")
    op.drop_table("slo_versions")
