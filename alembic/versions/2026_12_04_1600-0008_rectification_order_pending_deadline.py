"""rectification_order: a pending deadline (期限待定)

An order whose deadline falls in a year without working-day calendar data is issued with ``deadline`` NULL;
``pending_from`` and ``pending_workdays`` say how to date it once the year is imported
(``add_workdays(pending_from, pending_workdays)``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rectification_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("pending_workdays", sa.Integer(), nullable=True))
        batch_op.alter_column("deadline", existing_type=sa.Date(), nullable=True)


def downgrade() -> None:
    # the older schema cannot hold an order without a deadline, and guessing one is what 0008 exists to avoid
    pending = op.get_bind().execute(
        sa.text("SELECT count(*) FROM rectification_order WHERE deadline IS NULL")
    )
    if pending.scalar_one():
        raise RuntimeError(
            "rectification orders with a pending deadline (期限待定) exist: import the calendar year and run the "
            "deadlines flow to date them before downgrading below 0008"
        )
    with op.batch_alter_table("rectification_order", schema=None) as batch_op:
        batch_op.alter_column("deadline", existing_type=sa.Date(), nullable=False)
        batch_op.drop_column("pending_workdays")
        batch_op.drop_column("pending_from")
