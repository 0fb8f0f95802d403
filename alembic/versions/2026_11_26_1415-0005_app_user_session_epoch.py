"""app_user.session_epoch: a deactivation ends every session for good

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 14:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

import govflow.models.types  # noqa: F401  (Money, UTCDateTime are rendered as govflow.models.types.*)

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
