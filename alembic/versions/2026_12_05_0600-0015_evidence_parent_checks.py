"""delivery_evidence's parents checked once per statement on PostgreSQL, not once per row (issue 13)

The three foreign keys of ``delivery_evidence`` (project, catalog_item, department) checked each inserted row
with its own probe of the parent's index: 4.5 of the 10.7 s of a national evidence import (250,941 rows). On
PostgreSQL they are replaced by checks with the same integrity:

* statement-level ``AFTER INSERT`` and ``AFTER UPDATE`` triggers on ``delivery_evidence`` that look up every
  new row's parents in one anti-join over the statement's new rows (``REFERENCING NEW TABLE``) and raise
  ``foreign_key_violation`` (23503) naming the first row without one, in the words of PostgreSQL's own error;
* row-level ``BEFORE DELETE OR UPDATE OF id`` triggers on the three parents that raise 23503 while evidence
  references the row (the foreign keys' ``NO ACTION``), and ``AFTER TRUNCATE`` ones that raise it while any
  evidence is left after the statement.

What the foreign keys' row locks did against a concurrent delete of a parent, an advisory lock does: the evidence
check holds it shared, a parent's delete exclusive, so the two wait for each other; the check then looks in a
statement of its own, which under READ COMMITTED sees a parent deleted by the transaction it waited for (and a
delete sees the evidence of the insert it waited for). Under REPEATABLE READ or SERIALIZABLE a statement could not
see that, so there both triggers refuse to run (govflow uses READ COMMITTED only).

SQLite keeps its foreign keys (they cost little there): this migration does nothing on SQLite. The models keep
their ``foreign_key=``; ``govflow.models.migrate.include_object`` tells the schema comparison not to look for
these three on PostgreSQL.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 06:00:00
"""

from collections.abc import Sequence

import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the advisory lock between evidence writes (shared) and parent deletes (exclusive): zlib.crc32 of
#: b"govflow.delivery_evidence.parents"
LOCK_KEY = 1118212335
#: (constraint, column, parent table) — the names of migration 0001's foreign keys, kept by the checks' errors
PARENTS = (
    ("fk_delivery_evidence_project_id_project", "project_id", "project"),
    ("fk_delivery_evidence_catalog_item_id_catalog_item", "catalog_item_id", "catalog_item"),
    ("fk_delivery_evidence_consumer_id_department", "consumer_id", "department"),
)
_READ_COMMITTED_ONLY = """
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'delivery_evidence''s parent checks need READ COMMITTED (this transaction is %)',
            current_setting('transaction_isolation')
            USING ERRCODE = 'feature_not_supported';
    END IF;"""

CHECK_NEW_ROWS = f"""
CREATE FUNCTION govflow_evidence_check_parents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN{_READ_COMMITTED_ONLY}
    PERFORM pg_advisory_xact_lock_shared({LOCK_KEY});
    -- a statement of its own, after the lock: it sees what the delete this waited for committed
    SELECT n.project_id, n.catalog_item_id, n.consumer_id,
           n.project_id IS NOT NULL AND p.id IS NULL AS no_project,
           n.catalog_item_id IS NOT NULL AND c.id IS NULL AS no_item
      INTO bad
      FROM govflow_new_evidence n
      LEFT JOIN project p ON p.id = n.project_id
      LEFT JOIN catalog_item c ON c.id = n.catalog_item_id
      LEFT JOIN department d ON d.id = n.consumer_id
     WHERE (n.project_id IS NOT NULL AND p.id IS NULL)
        OR (n.catalog_item_id IS NOT NULL AND c.id IS NULL)
        OR (n.consumer_id IS NOT NULL AND d.id IS NULL)
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF bad.no_project THEN
        RAISE EXCEPTION 'insert or update on table "delivery_evidence" violates foreign key constraint "{PARENTS[0][0]}"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{PARENTS[0][0]}',
                  TABLE = 'delivery_evidence', SCHEMA = TG_TABLE_SCHEMA,
                  DETAIL = format('Key (project_id)=(%s) is not present in table "project".', bad.project_id);
    ELSIF bad.no_item THEN
        RAISE EXCEPTION 'insert or update on table "delivery_evidence" violates foreign key constraint "{PARENTS[1][0]}"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{PARENTS[1][0]}',
                  TABLE = 'delivery_evidence', SCHEMA = TG_TABLE_SCHEMA,
                  DETAIL = format('Key (catalog_item_id)=(%s) is not present in table "catalog_item".',
                                  bad.catalog_item_id);
    ELSE
        RAISE EXCEPTION 'insert or update on table "delivery_evidence" violates foreign key constraint "{PARENTS[2][0]}"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{PARENTS[2][0]}',
                  TABLE = 'delivery_evidence', SCHEMA = TG_TABLE_SCHEMA,
                  DETAIL = format('Key (consumer_id)=(%s) is not present in table "department".', bad.consumer_id);
    END IF;
END
$$
"""

#: TG_ARGV: the referencing column of delivery_evidence, the constraint's name
CHECK_PARENT_GONE = f"""
CREATE FUNCTION govflow_evidence_parent_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    referenced boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
        RETURN NEW;
    END IF;{_READ_COMMITTED_ONLY}
    PERFORM pg_advisory_xact_lock({LOCK_KEY});
    -- a statement of its own, after the lock: it sees the evidence of the insert this waited for
    EXECUTE format('SELECT EXISTS (SELECT FROM delivery_evidence WHERE %I = $1)', TG_ARGV[0])
        INTO referenced USING OLD.id;
    IF referenced THEN
        RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint "%" on table "delivery_evidence"',
                TG_TABLE_NAME, TG_ARGV[1]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[1],
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA,
                  DETAIL = format('Key (id)=(%s) is still referenced from table "delivery_evidence".', OLD.id);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$
"""

#: a parent's TRUNCATE (foreign keys refuse it unless the referencing table goes in the same statement): after the
#: statement, so that truncating delivery_evidence with it passes; TRUNCATE ... CASCADE does not reach
#: delivery_evidence any more, so it fails while evidence is on record
CHECK_TRUNCATE = """
CREATE FUNCTION govflow_evidence_parent_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM delivery_evidence) THEN
        RAISE EXCEPTION 'cannot truncate table "%": delivery_evidence references it', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA,
                  HINT = 'Truncate table "delivery_evidence" at the same time.';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _column, _parent in PARENTS:
        op.drop_constraint(name, "delivery_evidence", type_="foreignkey")
    op.execute(CHECK_NEW_ROWS)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER govflow_evidence_parents_{event.lower()} AFTER {event} ON delivery_evidence "
            "REFERENCING NEW TABLE AS govflow_new_evidence "
            "FOR EACH STATEMENT EXECUTE FUNCTION govflow_evidence_check_parents()"
        )
    op.execute(CHECK_PARENT_GONE)
    for name, column, parent in PARENTS:
        op.execute(
            f"CREATE TRIGGER govflow_evidence_parent BEFORE DELETE OR UPDATE OF id ON {parent} "
            f"FOR EACH ROW EXECUTE FUNCTION govflow_evidence_parent_in_use('{column}', '{name}')"
        )
    op.execute(CHECK_TRUNCATE)
    for _name, _column, parent in PARENTS:
        op.execute(
            f"CREATE TRIGGER govflow_evidence_parent_truncate AFTER TRUNCATE ON {parent} "
            "FOR EACH STATEMENT EXECUTE FUNCTION govflow_evidence_parent_truncated()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for _name, _column, parent in PARENTS:
        op.execute(f"DROP TRIGGER govflow_evidence_parent_truncate ON {parent}")
        op.execute(f"DROP TRIGGER govflow_evidence_parent ON {parent}")
    op.execute("DROP FUNCTION govflow_evidence_parent_truncated()")
    op.execute("DROP FUNCTION govflow_evidence_parent_in_use()")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER govflow_evidence_parents_{event} ON delivery_evidence")
    op.execute("DROP FUNCTION govflow_evidence_check_parents()")
    for name, column, parent in PARENTS:
        op.create_foreign_key(name, "delivery_evidence", parent, [column], ["id"])
