"""Evidence import benchmark (issue 13): where the time of ``services.import_evidence`` goes, on SQLite and
PostgreSQL, on the exchange platform's export of :mod:`bench.national` (1,069,332 rows at scale 1.0).

    python -m bench.evidence [--scale 1.0] [--repeat 3] [--skip-pg] [--skip-sqlite] [--against REV]

Each repeat works on fresh copies of one generated database and measures, side by side:

1. **import**: the whole use case (permission, reading and checking the file, summing, the write, audit), in
   rows of the file per second;
2. **read**: :func:`govflow.lifecycle.evidence.read_evidence` alone (Python: the same on both databases);
3. **write**: the file's sums (already read) put on record the way the import does it — ``executemany`` on
   SQLite, each row checked by the table's three foreign keys (``project``, ``catalog_item``, ``department``);
   on PostgreSQL ``COPY`` straight into ``delivery_evidence`` (the import's path when its keys are new), whose
   new rows the triggers of migration 0015 check against their parents set-based, once per statement (one
   anti-join over the statement's new rows, instead of the foreign keys' probe per row);
4. PostgreSQL only, **write without FK checks**: the same statement with ``session_replication_role = replica``
   (a superuser's switch, for this measurement only: govflow never turns its checks off), which skips the
   triggers. The difference is what the set-based parent checks cost;
5. PostgreSQL only, **import, per-row FK checks (schema 0014)**: the same import on a copy where migration
   0015's triggers are dropped and the three foreign keys put back, as before it — the design it replaced,
   measured in the same run; printed with the ratio of the import's time to it. (What else changed since
   0014, e.g. ``last_delivery`` raised by one statement, is in both and does not show in that ratio.)

6. with ``--against REV``, **import at REV**: the import of an earlier revision of govflow (a git commit, e.g.
   ``d69a633``, main on the morning of 2026-12-05), checked out into a temporary worktree and run in a process
   of its own, on a copy migrated down to that revision's schema — the import as it was, against the import as
   it is, on the same data in the same run (the two alternate in order from one repeat to the next).

Printed per backend: the median and range of each, and the ratios to the import in the same repeat.
Results: ``bench/results/evidence-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from alembic.script import ScriptDirectory

from bench import national
from bench.databases import Database, PgServer, SqliteFiles
from bench.governance import Databases, evidence_totals, new_app, references
from bench.timing import load_average, stopwatch
from govflow.lifecycle import evidence, services
from govflow.models.db import make_engine
from govflow.models.migrate import downgrade, make_config

_COLUMNS = "project_id, catalog_item_id, consumer_id, day, records"
PER_ROW = "import, per-row FK checks (schema 0014)"


def _per_row_fks(db: Database) -> None:
    """PostgreSQL: ``delivery_evidence``'s parents checked as before migration 0015 — its triggers and functions
    dropped, the three foreign keys (names and columns from the migration) added again. ``alembic_version`` stays
    at the head, so govflow works on the copy as on any other."""
    parents = ScriptDirectory.from_config(make_config()).get_revision("0015").module.PARENTS
    with psycopg.connect(db.dbapi_target) as conn:
        for _name, _column, parent in parents:
            conn.execute(f"DROP TRIGGER govflow_evidence_parent_truncate ON {parent}".encode())
            conn.execute(f"DROP TRIGGER govflow_evidence_parent ON {parent}".encode())
        conn.execute(b"DROP FUNCTION govflow_evidence_parent_truncated()")
        conn.execute(b"DROP FUNCTION govflow_evidence_parent_in_use()")
        for event in ("insert", "update"):
            conn.execute(f"DROP TRIGGER govflow_evidence_parents_{event} ON delivery_evidence".encode())
        conn.execute(b"DROP FUNCTION govflow_evidence_check_parents()")
        for name, column, parent in parents:
            conn.execute(
                f"ALTER TABLE delivery_evidence ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
                f"REFERENCES {parent} (id)".encode()
            )


def _sums(db: Database, path: Path) -> tuple[list[tuple[Any, ...]], float]:
    """The file's rows as the import writes them, and how long reading the file took."""
    refs = references(db)
    with stopwatch() as t:
        batch = evidence.read_evidence(path, refs, national.AS_OF)
    batch.raise_for_errors()
    # the unique index's order (item, consumer, day), as the import writes them
    rows = [(refs.item_project[i], i, c, d, n) for (i, c, d), n in sorted(batch.totals.items())]
    return rows, t.wall


def _write(db: Database, rows: list[tuple[Any, ...]], *, checks: bool = True) -> float:
    """The sums written as the import writes them; seconds."""
    if db.backend == "sqlite":
        conn = sqlite3.connect(db.name, isolation_level=None, timeout=30)
        try:
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                conn.execute(f"PRAGMA {pragma}")
            with stopwatch() as t:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    f"INSERT INTO delivery_evidence ({_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (catalog_item_id, consumer_id, day) DO NOTHING",
                    rows,
                )
                conn.execute("COMMIT")
        finally:
            conn.close()
        return t.wall
    with psycopg.connect(db.dbapi_target) as pg, stopwatch() as t:
        with pg.cursor() as cur:
            if not checks:
                cur.execute("SET LOCAL session_replication_role = replica")
            with cur.copy(f"COPY delivery_evidence ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        pg.commit()
    return t.wall


def _import(db: Database, path: Path, summary: national.NationalSummary) -> float:
    app = new_app(db)
    try:
        with stopwatch() as t:
            keys = services.import_evidence(app, path, None)
        if keys != summary.import_keys or evidence_totals(app)[0] != summary.evidence_rows_total:
            raise AssertionError(f"import wrote {keys} keys, expected {summary.import_keys}")
    finally:
        app.engine.dispose()
    return t.wall


#: the import in a process of the earlier revision's code (its tree first on ``sys.path``)
_EARLIER_IMPORT = """
import json, sys, time
from pathlib import Path
from bench.databases import Database
from bench.governance import new_app
from govflow.lifecycle import services
backend, url, name, path = sys.argv[1:5]
app = new_app(Database(backend, url, name))
t = time.perf_counter()
keys = services.import_evidence(app, Path(path), None)
print(json.dumps({"keys": keys, "seconds": time.perf_counter() - t}))
"""


@dataclass(frozen=True)
class Earlier:
    """An earlier revision of govflow checked out for ``--against``: its tree and its schema's head."""

    rev: str
    tree: Path
    head: str

    @classmethod
    def checkout(cls, rev: str, workdir: Path) -> Earlier:
        repo = Path(__file__).resolve().parents[1]
        tree = workdir / f"govflow-{rev}"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), rev], check=True)
        head = cls._run(tree, "from govflow.models.db import SCHEMA_HEAD; print(SCHEMA_HEAD)").strip()
        return cls(rev, tree, head)

    def remove(self) -> None:
        repo = Path(__file__).resolve().parents[1]
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(self.tree)], check=True)

    @staticmethod
    def _run(tree: Path, code: str, *args: str) -> str:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        done = subprocess.run(
            [sys.executable, "-c", code, *args], cwd=tree, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"the code of {tree.name} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def import_seconds(self, db: Database, path: Path, summary: national.NationalSummary) -> float:
        """Migrate ``db`` down to this revision's schema (with today's migrations), then import with its code."""
        engine = make_engine(db.url)
        try:
            downgrade(engine, self.head)
        finally:
            engine.dispose()
        out = json.loads(
            self._run(self.tree, _EARLIER_IMPORT, db.backend, db.url, db.name, str(path)).splitlines()[-1]
        )
        if out["keys"] != summary.import_keys:
            raise AssertionError(
                f"{self.rev}: import wrote {out['keys']} keys, expected {summary.import_keys}"
            )
        return float(out["seconds"])


def run_backend(
    dbs: Databases, scale: float, repeat: int, workdir: Path, earlier: Earlier | None = None
) -> dict[str, Any]:
    base = dbs.create("evidence")
    try:
        app = new_app(base)
        services.init_db(app)
        app.engine.dispose()
        summary = national.generate(base, workdir, scale=scale)
        _settle(base)
        path = Path(summary.import_file)
        rows_n = summary.import_rows
        measured: dict[str, list[float]] = {"import": [], "read": [], "write": []}
        if dbs.backend == "postgresql":
            measured["write without FK checks"] = []
            measured[PER_ROW] = []
        then = f"import at {earlier.rev}" if earlier is not None else ""
        if earlier is not None:
            measured[then] = []
        for k in range(repeat):
            # the import as it is, and (--against) as it was, in turns first
            for which in ("import", then) if k % 2 == 0 else (then, "import"):
                if not which:
                    continue
                copy = dbs.copy(base, f"e{k}")
                try:
                    if which == "import":
                        measured["import"].append(_import(copy, path, summary))
                    elif earlier is not None:
                        measured[then].append(earlier.import_seconds(copy, path, summary))
                finally:
                    dbs.drop(copy)
            if PER_ROW in measured:
                copy = dbs.copy(base, f"f{k}")
                try:
                    _per_row_fks(copy)
                    measured[PER_ROW].append(_import(copy, path, summary))
                finally:
                    dbs.drop(copy)
            rows, read_s = _sums(base, path)
            measured["read"].append(read_s)
            for name, checks in (("write", True), ("write without FK checks", False)):
                if name not in measured:
                    continue
                copy = dbs.copy(base, f"w{k}")
                try:
                    measured[name].append(_write(copy, rows, checks=checks))
                finally:
                    dbs.drop(copy)
            del rows
            print(
                f"{dbs.backend} repeat {k + 1}: "
                + ", ".join(f"{name} {v[-1]:.2f} s" for name, v in measured.items()),
                flush=True,
            )
    finally:
        dbs.drop(base)
    out: dict[str, Any] = {"summary": asdict(summary), "seconds": measured}
    imp = measured["import"]
    print(f"\n{dbs.backend}: {rows_n:,} rows → {summary.import_keys:,} keys, {repeat} repeats")
    for name, values in measured.items():
        share = [v / i for v, i in zip(values, imp, strict=True)]
        print(
            f"  {name:<40} {statistics.median(values):6.2f} s ({min(values):.2f}–{max(values):.2f}) "
            f"{rows_n / statistics.median(values):>10,.0f} rows/s   × import time: "
            f"{statistics.median(share):.2f} ({min(share):.2f}–{max(share):.2f})"
        )
    if "write without FK checks" in measured:
        fk = [w - n for w, n in zip(measured["write"], measured["write without FK checks"], strict=True)]
        out["fk_check_seconds"] = fk
        print(
            f"  the parent checks (set-based, migration 0015): {statistics.median(fk):.2f} s ({min(fk):.2f}–{max(fk):.2f}) of "
            f"the import's {statistics.median(imp):.2f} s"
        )
    if then:
        gain = [e / i for e, i in zip(measured[then], imp, strict=True)]
        out["speed_up_against"] = {"rev": then.removeprefix("import at "), "ratios": gain}
        print(
            f"  the import against the {then}: {statistics.median(gain):.2f}× the rows/s "
            f"({min(gain):.2f}–{max(gain):.2f}, one ratio per repeat)"
        )
    if PER_ROW in measured:
        ratio = [i / f for i, f in zip(imp, measured[PER_ROW], strict=True)]
        out["import_over_per_row_fk_import"] = ratio
        print(
            f"  import / {PER_ROW}: {statistics.median(ratio):.2f} ({min(ratio):.2f}–{max(ratio):.2f}) "
            f"of the time, {1 / statistics.median(ratio):.2f}× the rows/s"
        )
    return out


def _settle(db: Database) -> None:
    """A freshly loaded PostgreSQL database brought to a running system's state (statistics, visibility map)."""
    if db.backend == "postgresql":
        with psycopg.connect(db.dbapi_target, autocommit=True) as conn:
            conn.execute(b"VACUUM (ANALYZE)")
            conn.execute(b"CHECKPOINT")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.evidence", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0: 20,000 projects, a 1.07M-row file")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument(
        "--against",
        metavar="REV",
        help="also import with govflow at git revision REV (e.g. d69a633), side by side on the same copies",
    )
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"scale": args.scale, "repeat": args.repeat, "load_before": load_average()}
    with tempfile.TemporaryDirectory(prefix="govflow-bench-evidence-") as d:
        workdir = Path(d)
        earlier = Earlier.checkout(args.against, workdir) if args.against else None
        try:
            if not args.skip_sqlite:
                out["sqlite"] = run_backend(SqliteFiles(workdir), args.scale, args.repeat, workdir, earlier)
            if not args.skip_pg:
                pg = PgServer()
                why = pg.unreachable()
                if why:
                    print(f"\npostgresql: skipped ({why})")
                else:
                    out["postgresql"] = run_backend(pg, args.scale, args.repeat, workdir, earlier)
        finally:
            if earlier is not None:
                earlier.remove()
    out["load_after"] = load_average()
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    path = results / f"evidence-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
