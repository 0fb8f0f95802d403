"""last_delivery: the last day with records of each (catalog item, consumer), kept with the evidence

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "last_delivery",
        sa.Column("catalog_item_id", sa.Integer(), nullable=False),
        sa.Column("consumer_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["catalog_item_id"],
            ["catalog_item.id"],
            name=op.f("fk_last_delivery_catalog_item_id_catalog_item"),
        ),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["department.id"], name=op.f("fk_last_delivery_consumer_id_department")
        ),
        sa.PrimaryKeyConstraint("catalog_item_id", "consumer_id", name=op.f("pk_last_delivery")),
        sqlite_with_rowid=False,  # SQLite: one b-tree, the key's (the chart searches it once per item)
    )
    # what the evidence already on record says (govflow.models.deliveries.recompute, written out: a migration
    # does not import the application)
    op.execute(
        "INSERT INTO last_delivery (catalog_item_id, consumer_id, day) "
        "SELECT catalog_item_id, consumer_id, max(day) FROM delivery_evidence WHERE records > 0 "
        "GROUP BY catalog_item_id, consumer_id"
    )


def downgrade() -> None:
    op.drop_table("last_delivery")
