"""Governance benchmark (issue 4): the nightly flows and the evidence import on a national-scale portfolio.

    ./scripts/bench.sh governance [--scale 1.0] [--skip-pg] [--pg-url URL] [--sample 500] [--profile-sweep FILE]

On SQLite (a temp file) and on PostgreSQL (throwaway ``govflow_bench_<hex>`` databases, skipped with a note when
the server does not answer), each measured next to baselines run in the same process at the same time:

1. **generate** the portfolio of :mod:`bench.national` (20,000 projects, 300,000 agreement items, about
   4,900,000 evidence rows) straight into a migrated database; the exchange platform's export of the last 14
   days (about 1,070,000 raw rows) is written as CSV;
2. **evidence import**: ``services.import_evidence`` of that file (the whole use case: permission, reading,
   checking, summing, upsert, audit) in rows of the file per second, against the floor of *plain batched
   inserts in one transaction*: the same file already resolved to ids and summed (outside the clock), written
   with one ``executemany`` of a plain ``INSERT`` into a copy of the same database. Both end with the same
   ``delivery_evidence`` (checked). Target ≥ 200,000 rows/s;
3. **sweep**: ``govflow.governance.sweep.run_sweep(app, as_of)`` over the whole portfolio against (a) a naive baseline
   that checks one project at a time through the ORM (and writes its findings and outbox messages the same
   way), timed on a sample of projects and extrapolated linearly to every swept project, and (b) one
   hand-written SQL (one query for the delivery and expiry rules, one for agreement items outside their
   item's authorized scope: every rule the sweep checks) computing the same broken obligations. The three sets
   of finding keys must match.
   Targets: ≥ 40× the naive baseline, within 2× of the hand-written query;
4. **run all**: ``govflow run all --as-of D`` (sweep → deadlines → cuts → dispatch through Prefect, with its
   temporary local server) in a child process on a fresh copy: wall time and peak RSS (``RUSAGE_CHILDREN`` of
   a small process that starts it: the largest process of its tree). Targets on SQLite: ≤ 60 s, ≤ 1.5 GiB.

Wall-clock rates on a shared machine are noisy; the CPU seconds of this process are recorded too (on SQLite
they include the database's work, on PostgreSQL they do not). Results: a table with MET / NOT MET per target,
and ``bench/results/governance-<timestamp>.json``. ``--scale 0.1`` for quick iterations (targets are for 1.0).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg
import sqlalchemy
from sqlalchemy import text
from sqlmodel import Session, col, select

from bench import national
from bench.databases import DEFAULT_PG_ADMIN_URL, Database, PgServer, SqliteFiles, libpq_uri
from bench.timing import Timing, load_average, stopwatch
from govflow.lifecycle import evidence, services
from govflow.lifecycle.services import App
from govflow.models.db import make_engine, unit_of_work
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    CatalogAuthorization,
    CatalogItem,
    DeliveryEvidence,
    Department,
    Finding,
    FlowRun,
    OutboxMessage,
    Project,
)
from govflow.settings import Settings
from govflow.states.phases import SWEPT_PHASES, Phase
from govflow.states.sharing import FREQUENCY_DAYS, Frequency

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]
TARGET_IMPORT_ROWS_PER_S = 200_000.0
TARGET_VS_NAIVE = 40.0
TARGET_VS_HAND = 2.0
TARGET_ALL_S = 60.0
TARGET_ALL_RSS = 1.5 * 2**30

SWEPT = sorted(p.value for p in SWEPT_PHASES)
RULE_MISSED, RULE_STALE, RULE_EXPIRED = "MILESTONE_MISSED", "DELIVERY_STALE", "AGREEMENT_EXPIRED"
RULE_SCOPE = "AGREEMENT_OUT_OF_SCOPE"


def say(text_: str = "") -> None:
    print(text_, flush=True)


def new_app(db: Database, at: date = national.AS_OF) -> App:
    """An App whose clock reads ``at`` 18:00 Beijing time (10:00 UTC): the import accepts days up to ``at``."""
    moment = datetime.combine(at, time(10, 0), tzinfo=UTC)
    return App(Settings(database_url=db.url), make_engine(db.url), clock=lambda: moment)


def finding_key(project: str, rule: str, agreement: str, catalog: str, consumer: str, period: Any) -> str:
    day = period if isinstance(period, str) else period.isoformat()
    return f"{project}/{rule}/{agreement}/{catalog}/{consumer}/{day}"


# ---------------------------------------------------------------------------------------------- results


@dataclass
class ImportResult:
    rows: int
    keys: int
    seconds: float
    cpu_seconds: float
    floor_seconds: float
    floor_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def floor_rate(self) -> float:
        return self.rows / self.floor_seconds


@dataclass
class SweepMeasure:
    findings: int
    by_rule: dict[str, int]
    seconds: float
    cpu_seconds: float
    hand_seconds: float
    hand_cpu_seconds: float
    naive_sample: int
    naive_sample_seconds: float
    swept_projects: int
    #: the sample's time × swept projects / sample (extrapolated linearly)
    naive_seconds: float
    sets_match: bool


@dataclass
class RunAllResult:
    via: str
    seconds: float
    #: each flow as govflow recorded it (``all`` is the whole run without interpreter start-up and Prefect's
    #: temporary server)
    flows: dict[str, float]
    max_rss_bytes: int
    counts: dict[str, Any]

    @property
    def flow_seconds(self) -> float | None:
        return self.flows.get("all")


@dataclass
class BackendResult:
    backend: str
    version: str
    generate_seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    evidence_import: ImportResult | None = None
    sweep: SweepMeasure | None = None
    run_all: RunAllResult | None = None
    #: the same run without Prefect (the same service functions on the same chunks): Prefect's share of the time
    run_all_direct: RunAllResult | None = None
    skipped: str | None = None


class Databases(Protocol):
    backend: str

    def create(self, label: str = ...) -> Database: ...

    def copy(self, source: Database, label: str) -> Database: ...

    def drop(self, db: Database) -> None: ...


# ---------------------------------------------------------------------------------------------- 2. import


def measure_import(base: Database, floor: Database, summary: national.NationalSummary) -> ImportResult:
    """The importer on ``base``, plain inserts of the same rows on ``floor`` (a copy of ``base``)."""
    path = Path(summary.import_file)
    app = new_app(base)
    try:
        before = evidence_totals(app)
        with stopwatch() as t:
            keys = services.import_evidence(app, path, None)
        after = evidence_totals(app)
    finally:
        app.engine.dispose()
    expected = (summary.evidence_rows_total, before[1] + summary.import_records)
    if after != expected or keys != summary.import_keys:
        raise AssertionError(
            f"import: evidence {after}, {keys} keys written; expected {expected}, {summary.import_keys}"
        )
    floor_t = plain_inserts(floor, path)
    app = new_app(floor)
    try:
        if evidence_totals(app) != expected:
            raise AssertionError("the plain-insert floor did not end with the same evidence")
    finally:
        app.engine.dispose()
    return ImportResult(summary.import_rows, keys, t.wall, t.cpu, floor_t.wall, floor_t.cpu)


def evidence_totals(app: App) -> tuple[int, int]:
    with unit_of_work(app.engine, write=False) as s:
        n, total = s.execute(text("SELECT count(*), coalesce(sum(records), 0) FROM delivery_evidence")).one()
    return int(n), int(total)


def references(db: Database) -> evidence.References:
    """What an evidence file may name in ``db``, read as the import reads it (outside any clock)."""
    app = new_app(db)
    try:
        with unit_of_work(app.engine, write=False) as s:
            return evidence.References.load(s)
    finally:
        app.engine.dispose()


_PLAIN = "INSERT INTO delivery_evidence (project_id, catalog_item_id, consumer_id, day, records) VALUES "


def plain_inserts(db: Database, path: Path) -> Timing:
    """The floor: the file resolved and summed outside the clock, then plain batched inserts in one transaction
    through the DBAPI (rows in the order the file first names them)."""
    refs = references(db)
    batch = evidence.read_evidence(path, refs, national.AS_OF)
    batch.raise_for_errors()
    rows = [(refs.item_project[i], i, c, d, n) for (i, c, d), n in batch.totals.items()]
    del batch, refs
    if db.backend == "sqlite":
        conn = sqlite3.connect(db.name, isolation_level=None, timeout=30)
        try:
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
                conn.execute(f"PRAGMA {pragma}")
            with stopwatch() as t:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(_PLAIN + "(?, ?, ?, ?, ?)", rows)
                conn.execute("COMMIT")
        finally:
            conn.close()
        return t
    with psycopg.connect(libpq_uri(db.url)) as pg, stopwatch() as t:
        with pg.cursor() as cur:  # psycopg 3 pipelines executemany
            cur.executemany(_PLAIN + "(%s, %s, %s, %s::date, %s)", rows)
        pg.commit()
    return t


# ---------------------------------------------------------------------------------------------- 3. sweep

_HAND_SQL = """
WITH swept AS (
    SELECT id, code, phase FROM project WHERE phase IN ({swept})
),
items AS (
    SELECT p.code AS project, p.phase, a.code AS agreement, c.code AS catalog, d.code AS consumer, ai.due,
           COALESCE(ai.update_frequency, c.update_frequency) AS frequency,
           (SELECT e.day FROM delivery_evidence e
             WHERE e.catalog_item_id = ai.catalog_item_id AND e.consumer_id = ai.consumer_id
               AND e.day <= :as_of AND e.records > 0
             ORDER BY e.day DESC LIMIT 1) AS last_day
      FROM agreement_item ai
      JOIN agreement a ON a.id = ai.agreement_id
      JOIN swept p ON p.id = a.project_id
      JOIN catalog_item c ON c.id = ai.catalog_item_id
      JOIN department d ON d.id = ai.consumer_id
     WHERE ai.due < :as_of OR p.phase = 'operation'
)
SELECT project, 'MILESTONE_MISSED', agreement, catalog, consumer, due
  FROM items WHERE due < :as_of AND last_day IS NULL
UNION ALL
SELECT project, 'DELIVERY_STALE', agreement, catalog, consumer, last_day
  FROM items WHERE phase = 'operation' AND last_day < CASE frequency {cutoffs} END
UNION ALL
SELECT p.code, 'AGREEMENT_EXPIRED', a.code, '-', '-', a.term_end
  FROM agreement a JOIN swept p ON p.id = a.project_id
 WHERE a.term_end < :as_of
"""


#: agreement items in force that promise a conditional or secret (and shareable) catalog item to a department
#: outside its authorized scope: not its provider, not authorized on it, and the item not open to every
#: department (a secret one never is). A statement of its own: its period is a word, not a day.
_HAND_SCOPE_SQL = """
SELECT p.code, 'AGREEMENT_OUT_OF_SCOPE', a.code, c.code, d.code, 'scope'
  FROM agreement_item ai
  JOIN agreement a ON a.id = ai.agreement_id
  JOIN project p ON p.id = a.project_id
  JOIN catalog_item c ON c.id = ai.catalog_item_id
  JOIN department d ON d.id = ai.consumer_id
 WHERE p.phase IN ({swept})
   AND (a.terminated_on IS NULL OR a.terminated_on >= :as_of)
   AND (c.share_type = 'conditional' OR (c.secrecy = 'secret' AND c.share_type <> 'none'))
   AND ai.consumer_id <> c.provider_id
   AND NOT (c.all_departments AND c.secrecy <> 'secret')
   AND NOT EXISTS (SELECT 1 FROM catalog_authorization x
                    WHERE x.catalog_item_id = ai.catalog_item_id AND x.department_id = ai.consumer_id)
"""


def hand_sql(app: App, as_of: date) -> tuple[set[str], Timing]:
    """Every broken obligation, written by hand: one statement for the delivery and expiry rules (the last
    delivery found by walking the unique index backwards from ``as_of``, as an experienced hand would write
    it) and one for the agreement items outside their catalog item's authorized scope — every rule the sweep
    checks, so that the two do the same work."""
    params: dict[str, Any] = {"as_of": as_of}
    cutoffs = []
    for n, (frequency, days) in enumerate(FREQUENCY_DAYS.items()):
        params[f"c{n}"] = as_of - timedelta(days=days)
        cutoffs.append(f"WHEN '{frequency.value}' THEN :c{n}")
    swept = ", ".join(f"'{p}'" for p in SWEPT)
    sql = _HAND_SQL.format(swept=swept, cutoffs=" ".join(cutoffs))
    with unit_of_work(app.engine, write=False) as s, stopwatch() as t:
        keys = {finding_key(*row) for row in s.execute(text(sql), params)}
        keys |= {finding_key(*row) for row in s.execute(text(_HAND_SCOPE_SQL.format(swept=swept)), params)}
    return keys, t


def opened_keys(app: App, as_of: date) -> dict[str, str]:
    """key → rule of the findings a sweep for ``as_of`` opened."""
    f = Finding.__table__.c  # type: ignore[attr-defined]
    with unit_of_work(app.engine, write=False) as s:
        return {str(k): str(r) for k, r in s.execute(select(f.key, f.rule).where(f.opened_on == as_of))}


def naive_sweep(app: App, as_of: date, project_ids: Sequence[int]) -> tuple[set[str], Timing]:
    """One project at a time through the ORM, one transaction each: its agreements, their items, each item's
    catalog entry, consumer and evidence rows; a finding (and its outbox message) for each broken obligation
    not recorded yet. What a first, straightforward implementation of SPEC §4.1 looks like."""
    found: set[str] = set()
    with stopwatch() as t:
        for pid in project_ids:
            with Session(app.engine) as s:
                found |= _naive_project(s, pid, as_of)
                s.commit()
    return found, t


def _naive_project(s: Session, pid: int, as_of: date) -> set[str]:
    project = s.get(Project, pid)
    if project is None or project.phase not in SWEPT:
        return set()
    broken: list[tuple[str, str, str, Any, dict[str, Any]]] = []  # (key, rule, subject, period, evidence)
    for agreement in s.exec(select(Agreement).where(col(Agreement.project_id) == pid)).all():
        if agreement.term_end is not None and agreement.term_end < as_of:
            key = finding_key(project.code, RULE_EXPIRED, agreement.code, "-", "-", agreement.term_end)
            broken.append(
                (key, RULE_EXPIRED, agreement.code, agreement.term_end, {"term_end": str(agreement.term_end)})
            )
        for item in s.exec(
            select(AgreementItem).where(col(AgreementItem.agreement_id) == agreement.id)
        ).all():
            catalog = s.get(CatalogItem, item.catalog_item_id)
            consumer = s.get(Department, item.consumer_id)
            assert catalog is not None and consumer is not None
            if _naive_out_of_scope(s, agreement, item, catalog, as_of):
                key = finding_key(
                    project.code, RULE_SCOPE, agreement.code, catalog.code, consumer.code, "scope"
                )
                subject = f"{agreement.code}/{catalog.code}/{consumer.code}"
                broken.append((key, RULE_SCOPE, subject, "scope", {"secrecy": catalog.secrecy}))
            rows = s.exec(
                select(DeliveryEvidence).where(
                    col(DeliveryEvidence.catalog_item_id) == item.catalog_item_id,
                    col(DeliveryEvidence.consumer_id) == item.consumer_id,
                    col(DeliveryEvidence.day) <= as_of,
                )
            ).all()
            last = max((r.day for r in rows if r.records > 0), default=None)
            subject = f"{agreement.code}/{catalog.code}/{consumer.code}"
            if last is None:
                if item.due is not None and item.due < as_of:
                    key = finding_key(
                        project.code, RULE_MISSED, agreement.code, catalog.code, consumer.code, item.due
                    )
                    broken.append((key, RULE_MISSED, subject, item.due, {"due": str(item.due)}))
                continue
            frequency = Frequency(item.update_frequency or catalog.update_frequency)
            if project.phase == Phase.OPERATION.value and (as_of - last).days > FREQUENCY_DAYS[frequency]:
                key = finding_key(project.code, RULE_STALE, agreement.code, catalog.code, consumer.code, last)
                broken.append((key, RULE_STALE, subject, last, {"last_day": str(last)}))
    for key, rule, subject, period, ev in broken:
        if s.exec(select(Finding).where(col(Finding.key) == key)).first() is None:
            s.add(
                Finding(
                    key=key,
                    project_id=pid,
                    rule=rule,
                    subject=subject,
                    period=str(period),
                    clause=_NAIVE_CLAUSE.get(rule, "733号文 第十一条"),
                    evidence=ev,
                    opened_on=as_of,
                )
            )
            s.add(
                OutboxMessage(
                    key=f"naive/{key}",
                    topic="finding.opened",
                    project_code=project.code,
                    recipients_role="department",
                    payload={"finding": key},
                )
            )
    return {b[0] for b in broken}


_NAIVE_CLAUSE = {RULE_EXPIRED: "733号文 第八条", RULE_SCOPE: "733号文 第二条第三款"}


def _naive_out_of_scope(
    s: Session, agreement: Agreement, item: AgreementItem, catalog: CatalogItem, as_of: date
) -> bool:
    """An agreement item in force promising a conditional or secret item outside its authorized scope."""
    if agreement.terminated_on is not None and agreement.terminated_on < as_of:
        return False
    secret = catalog.secrecy == "secret"
    restricted = catalog.share_type == "conditional" or (secret and catalog.share_type != "none")
    if not restricted or item.consumer_id == catalog.provider_id or (catalog.all_departments and not secret):
        return False
    authorized = s.exec(
        select(CatalogAuthorization).where(
            col(CatalogAuthorization.catalog_item_id) == item.catalog_item_id,
            col(CatalogAuthorization.department_id) == item.consumer_id,
        )
    ).first()
    return authorized is None


def swept_ids(app: App) -> list[int]:
    p = Project.__table__.c  # type: ignore[attr-defined]
    with unit_of_work(app.engine, write=False) as s:
        return [int(i) for i in s.execute(select(p.id).where(p.phase.in_(SWEPT)).order_by(p.id)).scalars()]


def measure_sweep(
    sweep_db: Database, naive_db: Database, sample_size: int, seed: int, profile: Path | None, backend: str
) -> SweepMeasure:
    from govflow.governance.sweep import run_sweep

    as_of = national.AS_OF
    app = new_app(sweep_db)
    try:
        hand, hand_t = hand_sql(app, as_of)
        say(f"{backend}: hand-written SQL: {len(hand):,} broken obligations in {hand_t.wall:.2f} s")
        profiler = cProfile.Profile() if profile is not None else None
        with stopwatch() as t:
            if profiler is not None:
                profiler.enable()
            result = run_sweep(app, as_of)
            if profiler is not None:
                profiler.disable()
        if profiler is not None and profile is not None:
            write_profile(profiler, profile, backend)
        opened = opened_keys(app, as_of)
        say(
            f"{backend}: run_sweep: {result.opened:,} findings opened in {t.wall:.2f} s ({result.opened_by_rule})"
        )
        ids = swept_ids(app)
    finally:
        app.engine.dispose()
    sample = sorted(random.Random(seed).sample(ids, min(sample_size, len(ids))))
    app = new_app(naive_db)
    try:
        naive, naive_t = naive_sweep(app, as_of, sample)
    finally:
        app.engine.dispose()
    codes = _codes_of(naive_db, sample)
    hand_in_sample = {k for k in hand if k.split("/", 1)[0] in codes}
    match = set(opened) == hand and naive == hand_in_sample
    if not match:
        raise AssertionError(
            f"sets differ: run_sweep−hand {sorted(set(opened) - hand)[:5]}, hand−run_sweep "
            f"{sorted(hand - set(opened))[:5]}, naive△hand(sample) {sorted(naive ^ hand_in_sample)[:5]}"
        )
    extrapolated = naive_t.wall * len(ids) / len(sample)
    say(
        f"{backend}: naive ORM: {len(sample)} of {len(ids):,} swept projects in {naive_t.wall:.2f} s → "
        f"{extrapolated:,.0f} s for all (extrapolated linearly); the three sets of findings match"
    )
    by_rule: dict[str, int] = {}
    for rule in opened.values():
        by_rule[rule] = by_rule.get(rule, 0) + 1
    return SweepMeasure(
        findings=len(opened),
        by_rule=by_rule,
        seconds=t.wall,
        cpu_seconds=t.cpu,
        hand_seconds=hand_t.wall,
        hand_cpu_seconds=hand_t.cpu,
        naive_sample=len(sample),
        naive_sample_seconds=naive_t.wall,
        swept_projects=len(ids),
        naive_seconds=extrapolated,
        sets_match=match,
    )


def _codes_of(db: Database, ids: Sequence[int]) -> set[str]:
    app = new_app(db)
    p = Project.__table__.c  # type: ignore[attr-defined]
    try:
        with unit_of_work(app.engine, write=False) as s:
            return {str(c) for c in s.execute(select(p.code).where(p.id.in_(list(ids)))).scalars()}
    finally:
        app.engine.dispose()


def write_profile(profiler: cProfile.Profile, path: Path, backend: str) -> None:
    target = path.with_name(f"{path.stem}-{backend}{path.suffix or '.prof'}")
    profiler.dump_stats(str(target))
    say(
        f"{backend}: run_sweep profile written to {target}; its measured time includes the profiler's "
        "overhead (compare ratios without --profile-sweep). Top 20:"
    )
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(20)


# ---------------------------------------------------------------------------------------------- 4. run all


#: run by a small interpreter between this process and ``govflow``: it starts the command and reports the peak
#: RSS of the command's process tree (``RUSAGE_CHILDREN``). Measured from here directly, the figure would start at
#: this process's own size: Linux carries a process's peak RSS across ``fork`` and ``exec``.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def measure_run_all(db: Database, workdir: Path, *, no_prefect: bool) -> RunAllResult:
    """``govflow run all --as-of D --json`` in a child process: wall time and peak RSS (of the largest process
    of its tree: the command itself, or Prefect's temporary server)."""
    prefect_home = workdir / "prefect"
    prefect_home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "GOVFLOW_DATABASE_URL": db.url,
        "PREFECT_HOME": str(prefect_home),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    govflow = [
        str(Path(sys.executable).with_name("govflow")),
        "run",
        "all",
        "--as-of",
        national.AS_OF.isoformat(),
    ]
    govflow += ["--json", *(["--no-prefect"] if no_prefect else [])]
    out_path, err_path, rss_path = workdir / "run-all.out", workdir / "run-all.err", workdir / "run-all.rss"
    with out_path.open("wb") as out, err_path.open("wb") as err, stopwatch() as t:
        code = subprocess.call(
            [sys.executable, "-c", _MEASURE, str(rss_path), *govflow],
            stdout=out,
            stderr=err,
            env=env,
            cwd=workdir,
        )
    if code != 0:
        tail = err_path.read_text(errors="replace")[-3000:]
        raise AssertionError(f"govflow run all failed ({code}): {tail}")
    result = json.loads(out_path.read_text())
    counts = {
        flow: {k: v for k, v in res.items() if k not in ("flow", "as_of")}
        for flow, res in result["results"].items()
    }
    return RunAllResult(
        via="govflow run all --no-prefect"
        if no_prefect
        else "govflow run all (Prefect flows/governance.run_all)",
        seconds=t.wall,
        flows=_flow_seconds(db),
        max_rss_bytes=int(rss_path.read_text()) * 1024,  # kilobytes on Linux
        counts=counts,
    )


def _flow_seconds(db: Database) -> dict[str, float]:
    """Seconds of each flow of the run (``all`` and the four inside it) as govflow's ``flow_run`` records them."""
    app = new_app(db)
    r = FlowRun.__table__.c  # type: ignore[attr-defined]
    try:
        with unit_of_work(app.engine, write=False) as s:
            rows = s.execute(select(r.flow, r.started_at, r.finished_at).order_by(r.id)).all()
    finally:
        app.engine.dispose()
    return {str(flow): float((end - start).total_seconds()) for flow, start, end in rows if end is not None}


# ---------------------------------------------------------------------------------------------- per backend


@contextmanager
def databases(dbs: Databases) -> Iterator[list[Database]]:
    """Databases created inside are dropped afterwards."""
    created: list[Database] = []
    try:
        yield created
    finally:
        for db in created:
            dbs.drop(db)


def run_backend(dbs: Databases, version: str, args: argparse.Namespace, workdir: Path) -> BackendResult:
    result = BackendResult(dbs.backend, version)
    name = dbs.backend
    with databases(dbs) as created:
        base = dbs.create("base")
        created.append(base)
        app = new_app(base)
        services.init_db(app)
        app.engine.dispose()
        with stopwatch() as t:
            summary = national.generate(base, workdir, scale=args.scale, seed=args.seed)
        result.generate_seconds = t.wall
        result.summary = asdict(summary)
        say(
            f"{name}: generated {summary.projects:,} projects ({summary.swept_projects:,} swept), "
            f"{summary.agreement_items:,} agreement items, {summary.evidence_rows:,} evidence rows in "
            f"{t.wall:.1f} s; import file {summary.import_rows:,} rows → {summary.import_keys:,} keys"
        )
        floor = dbs.copy(base, "floor")
        created.append(floor)

        say(f"{name}: evidence import of {summary.import_rows:,} rows …")
        result.evidence_import = imp = measure_import(base, floor, summary)
        say(
            f"{name}: import {imp.rate:,.0f} rows/s ({imp.seconds:.2f} s, CPU {imp.cpu_seconds:.2f} s); plain "
            f"inserts {imp.floor_rate:,.0f} rows/s ({imp.floor_seconds:.2f} s)"
        )
        # base now holds the whole portfolio; so does floor (its findings-free copy serves the naive sweep)
        sweep_db = dbs.copy(base, "sweep")
        all_db = dbs.copy(base, "all")
        created += [sweep_db, all_db]
        if not args.no_prefect:
            direct_db = dbs.copy(base, "direct")
            created.append(direct_db)
        result.sweep = measure_sweep(sweep_db, floor, args.sample, args.seed, args.profile_sweep, name)

        no_prefect = args.no_prefect or not _flows_available(name)
        say(f"{name}: govflow run all --as-of {national.AS_OF}{' --no-prefect' if no_prefect else ''} …")
        result.run_all = run = measure_run_all(all_db, workdir, no_prefect=no_prefect)
        say(
            f"{name}: run all {run.seconds:.1f} s (the flow itself {_s(run.flow_seconds)}), "
            f"peak RSS {run.max_rss_bytes / 2**20:,.0f} MiB"
        )
        if not args.no_prefect:
            result.run_all_direct = direct = measure_run_all(direct_db, workdir, no_prefect=True)
            say(f"{name}: run all --no-prefect {direct.seconds:.1f} s (for Prefect's share of the time)")
    return result


def _flows_available(backend: str) -> bool:
    """Whether the Prefect flows (``flows/governance.py``) import; if not, ``run all`` is measured through the
    same service functions in sequence (``--no-prefect``) and the report says so. Checked in a child process:
    importing Prefect here would change this process (its size, its logging) for nothing."""
    check = subprocess.run(
        [sys.executable, "-c", "import govflow.flows.governance"], cwd=ROOT, capture_output=True, text=True
    )
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["?"])[-1]
        say(f"{backend}: flows/governance.py does not import ({last}); measuring --no-prefect")
        return False
    return True


def _s(v: float | None) -> str:
    return "?" if v is None else f"{v:.1f} s"


# ---------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Verdict:
    what: str
    target: str
    value: str
    met: bool


def verdicts(r: BackendResult) -> list[Verdict]:
    out = []
    if r.evidence_import:
        imp = r.evidence_import
        out.append(
            Verdict(
                "evidence import",
                f"≥ {TARGET_IMPORT_ROWS_PER_S:,.0f} rows/s",
                f"{imp.rate:,.0f} rows/s ({imp.rate / imp.floor_rate:.2f}× plain inserts)",
                imp.rate >= TARGET_IMPORT_ROWS_PER_S,
            )
        )
    if r.sweep:
        sw = r.sweep
        vs_naive, vs_hand = sw.naive_seconds / sw.seconds, sw.seconds / sw.hand_seconds
        out.append(
            Verdict(
                "sweep vs naive ORM",
                f"≥ {TARGET_VS_NAIVE:.0f}× faster",
                f"{vs_naive:,.0f}× ({sw.seconds:.2f} s vs {sw.naive_seconds:,.0f} s extrapolated)",
                vs_naive >= TARGET_VS_NAIVE,
            )
        )
        out.append(
            Verdict(
                "sweep vs hand-written SQL",
                f"≤ {TARGET_VS_HAND:.0f}× its time",
                f"{vs_hand:.2f}× ({sw.seconds:.2f} s vs {sw.hand_seconds:.2f} s)",
                vs_hand <= TARGET_VS_HAND,
            )
        )
    if r.run_all and r.backend == "sqlite":
        run = r.run_all
        out.append(
            Verdict(
                "run all: wall time",
                f"≤ {TARGET_ALL_S:.0f} s",
                f"{run.seconds:.1f} s",
                run.seconds <= TARGET_ALL_S,
            )
        )
        out.append(
            Verdict(
                "run all: peak RSS",
                f"≤ {TARGET_ALL_RSS / 2**30:.1f} GiB",
                f"{run.max_rss_bytes / 2**20:,.0f} MiB",
                run.max_rss_bytes <= TARGET_ALL_RSS,
            )
        )
    return out


def report(results: Sequence[BackendResult], scale: float) -> dict[str, list[dict[str, Any]]]:
    say()
    table: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        say(f"== {r.backend} ({r.version})")
        if r.skipped:
            say(f"   skipped: {r.skipped}")
            continue
        if r.evidence_import:
            imp = r.evidence_import
            say(
                f"   evidence import   {imp.rows:>10,} rows {imp.seconds:>7.2f} s {imp.rate:>10,.0f} rows/s "
                f"(CPU {imp.cpu_seconds:.2f} s, {imp.rows / imp.cpu_seconds:,.0f} rows/CPU-s)"
            )
            say(
                f"   plain inserts     {imp.rows:>10,} rows {imp.floor_seconds:>7.2f} s {imp.floor_rate:>10,.0f} rows/s "
                f"({imp.keys:,} summed rows inserted, {imp.keys / imp.floor_seconds:,.0f}/s; "
                f"importer ÷ floor {imp.rate / imp.floor_rate:.2f}×)"
            )
        if r.sweep:
            sw = r.sweep
            say(
                f"   run_sweep         {sw.findings:>10,} findings {sw.seconds:>7.2f} s (CPU {sw.cpu_seconds:.2f} s) "
                f"{sw.by_rule}"
            )
            say(f"   hand-written SQL  {sw.hand_seconds:>7.2f} s (CPU {sw.hand_cpu_seconds:.2f} s)")
            say(
                f"   naive ORM         {sw.naive_sample} projects {sw.naive_sample_seconds:.2f} s → "
                f"{sw.naive_seconds:,.0f} s for {sw.swept_projects:,} (extrapolated linearly)"
            )
        if r.run_all:
            run = r.run_all
            say(
                f"   run all           {run.seconds:>7.1f} s wall (flow {_s(run.flow_seconds)}), peak RSS "
                f"{run.max_rss_bytes / 2**20:,.0f} MiB via {run.via}"
            )
            say(
                "      seconds per flow: "
                + ", ".join(f"{k} {v:.1f}" for k, v in run.flows.items() if k != "all")
            )
            for flow, counts in run.counts.items():
                shown = {k: v for k, v in counts.items() if v and not isinstance(v, dict | list)}
                say(f"      {flow}: {shown}")
        if r.run_all_direct:
            direct = r.run_all_direct
            say(
                f"   run all, no Prefect {direct.seconds:>5.1f} s wall (flow {_s(direct.flow_seconds)}), peak RSS "
                f"{direct.max_rss_bytes / 2**20:,.0f} MiB — the same chunks and service calls (not a target)"
            )
        rows = verdicts(r)
        table[r.backend] = [asdict(v) for v in rows]
        say(f"   {'target':<28}{'goal':<18}{'verdict':<10}value")
        for v in rows:
            say(f"   {v.what:<28}{v.target:<18}{'MET' if v.met else 'NOT MET':<10}{v.value}")
    if scale != 1.0:
        say(f"\nnote: --scale {scale:g}; the targets are set for the national scale (1.0)")
    return table


def save(
    results: Sequence[BackendResult],
    table: dict[str, Any],
    args: argparse.Namespace,
    started: datetime,
    load: tuple[float | None, float | None],
) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"governance-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out = {
        "benchmark": "governance",
        "started": started.isoformat(),
        "seconds": (datetime.now(UTC) - started).total_seconds(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1m": {"start": load[0], "end": load[1]},
            "python": platform.python_version(),
            "sqlalchemy": sqlalchemy.__version__,
            "sqlite": sqlite3.sqlite_version,
        },
        "backends": [
            {
                **asdict(r),
                "derived": {
                    "import_rows_per_s": r.evidence_import.rate if r.evidence_import else None,
                    "plain_insert_rows_per_s": r.evidence_import.floor_rate if r.evidence_import else None,
                    "sweep_vs_naive": r.sweep.naive_seconds / r.sweep.seconds if r.sweep else None,
                    "sweep_vs_hand": r.sweep.seconds / r.sweep.hand_seconds if r.sweep else None,
                },
            }
            for r in results
        ],
        "targets": table,
    }
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.governance", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="portfolio size (1.0: 20,000 projects)")
    ap.add_argument("--skip-pg", action="store_true", help="SQLite only")
    ap.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument(
        "--pg-url",
        default=os.environ.get("GOVFLOW_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL),
        help="admin database used to create and drop the throwaway databases (default: $GOVFLOW_BENCH_PG_URL or %(default)s)",
    )
    ap.add_argument(
        "--sample", type=int, default=500, help="projects the naive baseline checks (default 500)"
    )
    ap.add_argument("--seed", type=int, default=733)
    ap.add_argument(
        "--no-prefect", action="store_true", help="run all without Prefect (govflow run all --no-prefect)"
    )
    ap.add_argument(
        "--profile-sweep",
        type=Path,
        default=None,
        metavar="FILE",
        help="run_sweep under cProfile, FILE-<backend>.prof",
    )
    return ap.parse_args(argv)


def pg_version(admin_url: str) -> str:
    with psycopg.connect(libpq_uri(admin_url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def _fmt(v: float | None) -> str:
    return "?" if v is None else f"{v:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started, load_before = datetime.now(UTC), load_average()
    say(
        f"govflow governance benchmark · scale {args.scale:g} · {platform.platform()} · {os.cpu_count()} CPUs · "
        f"Python {platform.python_version()} · load average {_fmt(load_before)}"
    )
    if load_before is not None and load_before > 1.0:
        say("note: the machine is busy (1-minute load average > 1): wall-clock rates will be noisy")
    results: list[BackendResult] = []
    with tempfile.TemporaryDirectory(prefix="govflow-governance-") as tmp:
        workdir = Path(tmp)
        if args.skip_sqlite:
            results.append(BackendResult("sqlite", "–", skipped="--skip-sqlite"))
        else:
            results.append(
                run_backend(
                    SqliteFiles(workdir), f"SQLite {sqlite3.sqlite_version}, temp file", args, workdir
                )
            )
        results.append(postgres(args, workdir))
    table = report(results, args.scale)
    load_after = load_average()
    say(f"load average (1 min): {_fmt(load_before)} at start, {_fmt(load_after)} at end")
    say(f"results: {save(results, table, args, started, (load_before, load_after))}")
    return 0


def postgres(args: argparse.Namespace, workdir: Path) -> BackendResult:
    if args.skip_pg:
        return BackendResult("postgresql", "–", skipped="--skip-pg")
    server = PgServer(args.pg_url)
    problem = server.unreachable()
    if problem is not None:
        say(f"postgresql: SKIPPED — not reachable at {server.where}: {problem}")
        return BackendResult("postgresql", server.where, skipped=f"not reachable: {problem}")
    return run_backend(server, f"PostgreSQL {pg_version(args.pg_url)}, {server.where}", args, workdir)


if __name__ == "__main__":
    sys.exit(main())
