"""flow_run: a run is a lease (holder, heartbeat) and one running row per flow and day

``holder`` (``host:pid:process start``) and ``heartbeat_at`` say who runs it and that it is alive; the partial
unique index ``uq_flow_run_running`` lets only one row of a flow and ``as_of`` be ``running`` at a time, so a second
run of the same flow for the same day is refused by the database itself. Rows left ``running`` by older versions
have no holder to ask; they are marked ``crashed`` here (a run cannot outlive the upgrade that stops it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

from govflow.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.execute(
        "UPDATE flow_run SET status = 'crashed', error = 'left running before the 0010 upgrade' "
        "WHERE status = 'running'"
    )
    with op.batch_alter_table("flow_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))
    op.create_index(
        "uq_flow_run_running",
        "flow_run",
        ["flow", "as_of"],
        unique=True,
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )


def downgrade() -> None:
    op.drop_index("uq_flow_run_running", table_name="flow_run")
    op.execute("UPDATE flow_run SET status = 'failed' WHERE status = 'crashed'")
    with op.batch_alter_table("flow_run", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("holder")
