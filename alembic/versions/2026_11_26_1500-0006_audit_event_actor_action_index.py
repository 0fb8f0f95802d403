"""audit_event (actor, action, occurred_at): counting a user's recent failed sign-ins

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 15:00:00
"""

from collections.abc import Sequence

import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

import govflow.models.types  # noqa: F401  (Money, UTCDateTime are rendered as govflow.models.types.*)

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_event_actor_action_occurred_at", ["actor", "action", "occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_actor_action_occurred_at")
