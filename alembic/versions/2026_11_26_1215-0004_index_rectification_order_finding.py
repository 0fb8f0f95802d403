"""index rectification order finding

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 12:07:35.631310
"""

from collections.abc import Sequence

import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

import govflow.models.types  # noqa: F401  (Money, UTCDateTime are rendered as govflow.models.types.*)

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rectification_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rectification_order_finding_id"), ["finding_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rectification_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rectification_order_finding_id"))
