"""Governance tables: order steps, cut recommendations, policy versions, flow runs; order and finding columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:42:57.662169
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

import govflow.models.types

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("started_at", govflow.models.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", govflow.models.types.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("prefect_flow_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_run")),
    )
    with op.batch_alter_table("flow_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flow_run_flow"), ["flow"], unique=False)

    op.create_table(
        "policy_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_at", govflow.models.types.UTCDateTime(), nullable=False),
        sa.Column("activated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_version")),
        sa.UniqueConstraint("version", name=op.f("uq_policy_version_version")),
    )
    op.create_table(
        "cut_recommendation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("percent", govflow.models.types.Money(), nullable=False),
        sa.Column("base_budget", govflow.models.types.Money(), nullable=False),
        sa.Column("amount", govflow.models.types.Money(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", govflow.models.types.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decision_reason", sa.String(), nullable=True),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_cut_recommendation_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cut_recommendation")),
        sa.UniqueConstraint("project_id", "period", name=op.f("uq_cut_recommendation_project_id_period")),
    )
    with op.batch_alter_table("cut_recommendation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cut_recommendation_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cut_recommendation_status"), ["status"], unique=False)

    op.create_table(
        "order_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("at", govflow.models.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["rectification_order.id"], name=op.f("fk_order_step_order_id_rectification_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_step")),
        sa.UniqueConstraint("key", name=op.f("uq_order_step_key")),
    )
    with op.batch_alter_table("order_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_step_order_id"), ["order_id"], unique=False)

    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_reason", sa.String(), nullable=True))

    with op.batch_alter_table("rectification_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_version", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("original_deadline", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("overdue_since", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("closed_late", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("closed_reason", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("rectification_order", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("closed_reason")
        batch_op.drop_column("closed_late")
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("overdue_since")
        batch_op.drop_column("original_deadline")
        batch_op.drop_column("policy_version")

    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_column("closed_reason")

    with op.batch_alter_table("order_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_step_order_id"))

    op.drop_table("order_step")
    with op.batch_alter_table("cut_recommendation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cut_recommendation_status"))
        batch_op.drop_index(batch_op.f("ix_cut_recommendation_project_id"))

    op.drop_table("cut_recommendation")
    op.drop_table("policy_version")
    with op.batch_alter_table("flow_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_run_flow"))

    op.drop_table("flow_run")
