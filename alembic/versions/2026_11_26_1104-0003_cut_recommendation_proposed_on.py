"""cut recommendation proposed_on

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:04:44.131641
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

import govflow.models.types  # noqa: F401  (Money, UTCDateTime are rendered as govflow.models.types.*)

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cut_recommendation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposed_on", sa.Date(), nullable=True))
    # rows made before this column existed were proposed no later than their last refresh
    op.execute("UPDATE cut_recommendation SET proposed_on = as_of WHERE proposed_on IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("cut_recommendation", schema=None) as batch_op:
        batch_op.drop_column("proposed_on")
