"""project_tally: how many projects are in each phase, kept by triggers on project

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 06:00:00

The project list's total (the API and the CLI page through 20,000 projects) counted every project on each
request: about 1 ms of PostgreSQL's CPU, which limited the list to half the request rate of a token check. A
total for every project, or for one phase, is now a sum over this table's rows (one per phase).

The triggers keep it in the writing transaction, whoever writes ``project`` (the application, a bulk load, an
operator's SQL): on PostgreSQL, statement-level triggers with transition tables for inserts and deletes (a
portfolio load of 20,000 projects makes one upsert per phase, not one per project) and a row-level trigger for a
phase that changes (lifecycle events move one project at a time); on SQLite, row-level triggers. A phase change
updates its two rows in phase order, so two projects moving in opposite directions cannot deadlock.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may render sqlmodel.sql.sqltypes.* types)
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: every phase govflow knows (govflow.states.phases.Phase, written out: a migration does not import the
#: application), so that the rows a phase change locks exist before any transaction needs them
PHASES = (
    "draft",
    "proposal_submitted",
    "proposal_review",
    "proposal_approved",
    "feasibility_review",
    "feasibility_approved",
    "design_review",
    "construction",
    "acceptance_review",
    "operation",
    "retired",
    "rectification",
    "rejected",
    "withdrawn",
)

_PG_UP = [
    """
CREATE FUNCTION govflow_project_tally_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_tally AS t (phase, n)
    SELECT phase, count(*) FROM govflow_added GROUP BY phase ORDER BY phase
    ON CONFLICT (phase) DO UPDATE SET n = t.n + excluded.n;
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION govflow_project_tally_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE project_tally AS t SET n = t.n - r.k
      FROM (SELECT phase, count(*) AS k FROM govflow_removed GROUP BY phase) AS r
     WHERE t.phase = r.phase;
    RETURN NULL;
END $$
""",
    # the two rows in phase order: every transaction locks them in the same order
    """
CREATE FUNCTION govflow_project_tally_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_tally (phase, n) VALUES (NEW.phase, 0) ON CONFLICT (phase) DO NOTHING;
    UPDATE project_tally SET n = n + CASE WHEN phase = NEW.phase THEN 1 ELSE -1 END
     WHERE phase = least(OLD.phase, NEW.phase);
    UPDATE project_tally SET n = n + CASE WHEN phase = NEW.phase THEN 1 ELSE -1 END
     WHERE phase = greatest(OLD.phase, NEW.phase);
    RETURN NULL;
END $$
""",
    """
CREATE FUNCTION govflow_project_tally_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE project_tally SET n = 0;
    RETURN NULL;
END $$
""",
    "CREATE TRIGGER project_tally_added AFTER INSERT ON project REFERENCING NEW TABLE AS govflow_added "
    "FOR EACH STATEMENT EXECUTE FUNCTION govflow_project_tally_added()",
    "CREATE TRIGGER project_tally_removed AFTER DELETE ON project REFERENCING OLD TABLE AS govflow_removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION govflow_project_tally_removed()",
    "CREATE TRIGGER project_tally_moved AFTER UPDATE OF phase ON project FOR EACH ROW "
    "WHEN (OLD.phase IS DISTINCT FROM NEW.phase) EXECUTE FUNCTION govflow_project_tally_moved()",
    "CREATE TRIGGER project_tally_emptied AFTER TRUNCATE ON project "
    "FOR EACH STATEMENT EXECUTE FUNCTION govflow_project_tally_emptied()",
]
_PG_DOWN = [
    "DROP TRIGGER project_tally_emptied ON project",
    "DROP TRIGGER project_tally_moved ON project",
    "DROP TRIGGER project_tally_removed ON project",
    "DROP TRIGGER project_tally_added ON project",
    "DROP FUNCTION govflow_project_tally_emptied()",
    "DROP FUNCTION govflow_project_tally_moved()",
    "DROP FUNCTION govflow_project_tally_removed()",
    "DROP FUNCTION govflow_project_tally_added()",
]
_SQLITE_UP = [
    """
CREATE TRIGGER project_tally_added AFTER INSERT ON project BEGIN
    INSERT OR IGNORE INTO project_tally (phase, n) VALUES (NEW.phase, 0);
    UPDATE project_tally SET n = n + 1 WHERE phase = NEW.phase;
END
""",
    """
CREATE TRIGGER project_tally_removed AFTER DELETE ON project BEGIN
    UPDATE project_tally SET n = n - 1 WHERE phase = OLD.phase;
END
""",
    """
CREATE TRIGGER project_tally_moved AFTER UPDATE OF phase ON project WHEN OLD.phase IS NOT NEW.phase BEGIN
    INSERT OR IGNORE INTO project_tally (phase, n) VALUES (NEW.phase, 0);
    UPDATE project_tally SET n = n - 1 WHERE phase = OLD.phase;
    UPDATE project_tally SET n = n + 1 WHERE phase = NEW.phase;
END
""",
]
_SQLITE_DOWN = [
    "DROP TRIGGER project_tally_moved",
    "DROP TRIGGER project_tally_removed",
    "DROP TRIGGER project_tally_added",
]


def upgrade() -> None:
    op.create_table(
        "project_tally",
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("phase", name=op.f("pk_project_tally")),
    )
    tally = sa.table("project_tally", sa.column("phase", sa.String()), sa.column("n", sa.Integer()))
    op.bulk_insert(tally, [{"phase": phase, "n": 0} for phase in PHASES])
    # what the projects already there say (govflow.models.tally.DERIVE_SQL, written out)
    op.execute(
        "UPDATE project_tally SET n = (SELECT count(*) FROM project WHERE project.phase = project_tally.phase)"
    )
    op.execute(
        "INSERT INTO project_tally (phase, n) SELECT phase, count(*) FROM project "
        "WHERE phase NOT IN (SELECT phase FROM project_tally) GROUP BY phase"
    )
    dialect = op.get_bind().dialect.name
    for statement in _PG_UP if dialect == "postgresql" else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _PG_DOWN if dialect == "postgresql" else _SQLITE_DOWN:
        op.execute(statement)
    op.drop_table("project_tally")
