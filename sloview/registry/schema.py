"""The registry's tables: every agreed version of an SLO, and every review of one.

A version is immutable once written: the spec, its service, who agreed it, when and why, the
data it was decided on (fingerprint and span) and the figures the room saw. A name's versions
are numbered from 1; (name, version) is unique, so two writers can never both write version n.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

versions = sa.Table(
    "slo_versions",
    metadata,
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

reviews = sa.Table(
    "slo_reviews",
    metadata,
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
