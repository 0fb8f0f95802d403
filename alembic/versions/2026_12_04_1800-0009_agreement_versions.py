"""agreement: versions (renewed), audited (733号文 第八条 共享期限); opinion: conditions (第九条)

``agreement.version`` counts the agreement's versions (1 as signed); ``agreement.terminated_on`` is the day a
terminated agreement ended. ``agreement_version`` keeps each change with the terms before and after it.
``opinion.conditions`` holds the conditions of an ``agree_with_changes`` opinion and the lead's answer to each.
``agreement_item.due_effective`` is the next working day when the agreed due date is a day off (民法典 第二百零三条).
``review.against_approval``: the review's conclusion is against approval (第十条第一款).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

from govflow.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("terminated_on", sa.Date(), nullable=True))
    with op.batch_alter_table("agreement_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_effective", sa.Date(), nullable=True))
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("against_approval", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("opinion", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("conditions", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    op.create_table(
        "agreement_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreement.id"], name=op.f("fk_agreement_version_agreement_id_agreement")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_version")),
        sa.UniqueConstraint(
            "agreement_id", "version", name=op.f("uq_agreement_version_agreement_id_version")
        ),
    )
    with op.batch_alter_table("agreement_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreement_version_agreement_id"), ["agreement_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agreement_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_version_agreement_id"))
    op.drop_table("agreement_version")
    with op.batch_alter_table("opinion", schema=None) as batch_op:
        batch_op.drop_column("conditions")
    with op.batch_alter_table("agreement_item", schema=None) as batch_op:
        batch_op.drop_column("due_effective")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_column("against_approval")
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.drop_column("terminated_on")
        batch_op.drop_column("version")
