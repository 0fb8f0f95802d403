"""flow_chunk: the chunks of a distributed run, each its own Prefect flow run on a worker

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

import govflow.models.types

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("prefect_flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("heartbeat_at", govflow.models.types.UTCDateTime(), nullable=True),
        sa.Column("started_at", govflow.models.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", govflow.models.types.UTCDateTime(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["flow_run.id"], name=op.f("fk_flow_chunk_run_id_flow_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_chunk")),
        sa.UniqueConstraint("run_id", "first_id", name=op.f("uq_flow_chunk_run_id_first_id")),
    )
    with op.batch_alter_table("flow_chunk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flow_chunk_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flow_chunk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_chunk_run_id"))
    op.drop_table("flow_chunk")
