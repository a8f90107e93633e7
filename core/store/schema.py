"""The store's schema: its tables, its version and the ordered migrations that bring a store made by an
earlier version up to date without dropping anything. One schema and one list of migrations serve both
databases: SQLite keeps the version in `PRAGMA user_version`, PostgreSQL in the `store_version` table
(core/store/postgres.py turns the DDL into PostgreSQL's)."""
from __future__ import annotations

import sqlite3

from core.errors import Refusal

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    heartbeat_at REAL,
    worker_pid INTEGER,
    worker_host TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    epoch INTEGER NOT NULL DEFAULT 0,
    epochs INTEGER NOT NULL DEFAULT 0,
    batch INTEGER NOT NULL DEFAULT 0,
    steps INTEGER NOT NULL DEFAULT 0,
    progress REAL NOT NULL DEFAULT 0,
    eta_seconds REAL,
    param_count INTEGER,
    test_loss REAL,
    test_accuracy REAL,
    train_seconds REAL,
    error TEXT,
    traceback TEXT,
    tags TEXT NOT NULL DEFAULT '',
    attempt INTEGER NOT NULL DEFAULT 0,   -- claims so far; each claim's number fences its writes
    attempt_note TEXT,                    -- why an earlier attempt was lost, when it was
    threads INTEGER,                      -- CPU threads the worker's TensorFlow trained it with
    owner TEXT NOT NULL DEFAULT '',       -- the account that queued it ('' on a laptop, or from the CLI)
    kind TEXT NOT NULL DEFAULT 'trained'  -- trained by Train Lab, tracked, or evaluated (core/domain/statuses.py)
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,          -- 'batch' (within an epoch) or 'epoch' (epoch end)
    step INTEGER NOT NULL,       -- global batch count since training began
    epoch REAL NOT NULL,         -- fractional epochs done, the x-axis of the curves
    elapsed REAL NOT NULL,       -- seconds since training began
    name TEXT NOT NULL,          -- loss, accuracy, val_loss, val_accuracy, ...
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, step);
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,          -- the SweepSpec as JSON
    created_at REAL NOT NULL,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
    role TEXT NOT NULL,          -- 'trial' (part of the search) or 'retrain' (best setting, retrained)
    params TEXT NOT NULL,        -- the hyperparameter values the run stands for, as JSON
    stopped_at INTEGER           -- the epoch successive halving stopped the trial at, if it did
);
CREATE INDEX IF NOT EXISTS sweep_runs_sweep ON sweep_runs(sweep_id);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,          -- 'teacher' or 'student'
    password_hash TEXT NOT NULL, -- argon2id, with its salt and parameters (argon2-cffi's encoding)
    created_at REAL NOT NULL,
    failed_sign_ins INTEGER NOT NULL DEFAULT 0,  -- wrong passwords in a row
    retry_after REAL             -- no sign-in attempt for this user is checked before this time
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, -- SHA-256 of the browser's cookie: a copy of the store signs nobody in
    "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS class_settings (
    key TEXT PRIMARY KEY,        -- a field of core.domain.class_rules.ClassRules
    value TEXT NOT NULL          -- its value as JSON
);
CREATE TABLE IF NOT EXISTS cluster_nodes (
    node_id TEXT PRIMARY KEY,    -- a Ray node of the cluster (TRAINLAB_EXECUTOR=ray), alive when last seen
    hostname TEXT NOT NULL,
    cpus REAL NOT NULL,
    gpus REAL NOT NULL,
    seen_at REAL NOT NULL        -- when the dispatcher last looked at the cluster (core/store/cluster.py)
);
CREATE TABLE IF NOT EXISTS reporters (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,  -- a tracked run (core/store/tracked.py)
    client_key TEXT NOT NULL UNIQUE, -- the reporter's own name for its fit call: a retried start finds its run
    last_seq INTEGER NOT NULL DEFAULT 0,  -- the last report stored: one sent again is not stored twice
    points INTEGER NOT NULL DEFAULT 0,    -- points stored so far (bounded per run)
    said_end INTEGER NOT NULL DEFAULT 0,  -- 1 once the reporter said how fit ended
    offline_seconds REAL NOT NULL DEFAULT 0,  -- how long it could not reach the store, in all
    names TEXT NOT NULL DEFAULT '[]',     -- the run's metric names so far (bounded per run)
    layers TEXT NOT NULL DEFAULT '[]'     -- the model's layer table as JSON
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,   -- SHA-256 of a student's API key for their own scripts: a copy reports as nobody
    "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label TEXT NOT NULL,         -- what its owner called it ("laptop")
    hint TEXT NOT NULL,          -- its first characters, to tell keys apart on the page
    created_at REAL NOT NULL,
    last_used_at REAL,
    revoked_at REAL              -- set when revoked: the key acts for nobody from then on
);
CREATE TABLE IF NOT EXISTS model_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- a student's own model file, checked: Settings.models_dir/<id>.keras
    owner TEXT NOT NULL,         -- who added it ('' for the operator)
    name TEXT NOT NULL,          -- its name, unique per owner ("tess / my-cnn" on the pages)
    created_at REAL NOT NULL,
    params INTEGER NOT NULL,
    input_shape TEXT NOT NULL,   -- JSON, without the batch axis
    classes INTEGER NOT NULL,
    layers TEXT NOT NULL,        -- the layer table as JSON
    shared INTEGER NOT NULL DEFAULT 0,  -- 1: a teacher shared it with the class
    UNIQUE (owner, name)
);
CREATE TABLE IF NOT EXISTS run_modes (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    choice TEXT NOT NULL         -- JSON: the mode it trained with, XLA's measured speed-up, how it was chosen
);
CREATE TABLE IF NOT EXISTS mode_measurements (
    shape_key TEXT PRIMARY KEY,  -- model, input, batch, optimizer, threads and machine (core/domain/training_modes.py)
    same_result INTEGER NOT NULL, -- 1: a faster mode trained to Keras' default's loss; 0: none (failed or differed)
    keras_seconds REAL NOT NULL, -- Keras' default's timed step, in seconds
    xla_seconds REAL,            -- version 9's only candidate, XLA (its rows are measured again)
    keras_start REAL NOT NULL,   -- Keras' default's start (tracing) beyond its steps
    xla_start REAL,
    measured_at REAL NOT NULL,
    run_id INTEGER,              -- the run that measured it (its page says so; later runs name it)
    modes TEXT                   -- JSON, from version 10: {mode: [step, start]} of each candidate that matched
);
CREATE TABLE IF NOT EXISTS sweep_retrains (
    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    dataset TEXT NOT NULL,       -- a sweep started with retrain_epochs asks one retrain per dataset
    settled INTEGER NOT NULL DEFAULT 0,  -- 1 once the dispatcher queued it (run_id) or could not (note)
    run_id INTEGER,
    note TEXT,
    PRIMARY KEY (sweep_id, dataset)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,         -- account name, '' for the operator (laptop or the server's CLI)
    action TEXT NOT NULL,        -- cancel, delete, relabel, retrain, ...
    target TEXT NOT NULL,        -- e.g. 'run 12', 'sweep 3', 'user ana'
    detail TEXT NOT NULL DEFAULT ''
);
"""


def _columns(conn, table: str) -> set[str]:
    """The column names of `table`, in either database."""
    if isinstance(conn, sqlite3.Connection):
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    return {row[0] for row in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = ?", (table,))}


def _add_tags_column(conn) -> None:
    """Version 1: runs get tags (stores made before had none)."""
    if "tags" not in _columns(conn, "runs"):
        conn.execute("ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT ''")


def _add_attempt_columns(conn) -> None:
    """Version 2: a run counts its attempts (the fencing token of each claim) and keeps why an earlier one was lost."""
    columns = _columns(conn, "runs")
    if "attempt" not in columns:
        conn.execute("ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0")
    if "attempt_note" not in columns:
        conn.execute("ALTER TABLE runs ADD COLUMN attempt_note TEXT")


def _add_threads_column(conn) -> None:
    """Version 3: a run records the CPU threads it trained with (its share of the machine)."""
    if "threads" not in _columns(conn, "runs"):
        conn.execute("ALTER TABLE runs ADD COLUMN threads INTEGER")


def _add_owners(conn) -> None:
    """Version 4: runs and sweeps record who queued them (classroom mode); earlier ones belong to nobody."""
    for table in ("runs", "sweeps"):
        if "owner" not in _columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
    conn.execute("CREATE INDEX IF NOT EXISTS runs_owner ON runs(owner, status)")


def _add_cluster_nodes(conn) -> None:
    """Version 5: the Ray dispatcher's snapshot of the cluster's nodes. SCHEMA's CREATE TABLE IF NOT EXISTS,
    which every opening runs before migrating, makes the table; there is nothing to alter."""


def _add_kind_column(conn) -> None:
    """Version 6: a run has a kind: trained by Train Lab's workers, or tracked (it trains outside and reports)."""
    if "kind" not in _columns(conn, "runs"):
        conn.execute("ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'trained'")


def _add_reporters(conn) -> None:
    """Version 7: tracked runs' reporters (a student's own script reporting in), students' API keys and their
    model files. SCHEMA's CREATE TABLE IF NOT EXISTS makes the tables; there is nothing to alter."""


def _add_model_sharing(conn) -> None:
    """Version 8: a teacher may share a model file with the class."""
    if "shared" not in _columns(conn, "model_files"):
        conn.execute("ALTER TABLE model_files ADD COLUMN shared INTEGER NOT NULL DEFAULT 0")


def _add_training_modes(conn) -> None:
    """Version 9: the training mode each run trained with, `auto`'s measurements per model shape, and the
    retrains sweeps ask to be queued when their search ends. SCHEMA's CREATE TABLE IF NOT EXISTS makes the
    tables; there is nothing to alter."""


def _add_spe_measurements(conn) -> None:
    """Version 10: `auto` measures modes with steps_per_execution (`spe`, `xla_spe`), kept as JSON per mode."""
    if "modes" not in _columns(conn, "mode_measurements"):
        conn.execute("ALTER TABLE mode_measurements ADD COLUMN modes TEXT")


# Ordered schema changes: MIGRATIONS[k] brings a store from version k to k + 1. Version 0 is a store
# made before versions were recorded. Each step adds, never drops, and checks what is there first.
MIGRATIONS = (_add_tags_column, _add_attempt_columns, _add_threads_column, _add_owners, _add_cluster_nodes,
              _add_kind_column, _add_reporters, _add_model_sharing, _add_training_modes, _add_spe_measurements)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Refusal, RuntimeError):
    """A store this code cannot use; the message says why and what to do."""


class StoreBusy(StoreError):
    """Another process held the store's write lock for longer than this one waits (a backup tool, a long
    transaction), or a PostgreSQL restart cut a write off: a fault outside any run, to wait out or retry."""


# PostgreSQL: one lock for everything that changes the schema, so processes starting at once take turns.
_SCHEMA_LOCK = 0x7472616E6C6162  # "tranlab"


def schema_version(conn) -> int:
    """The store's schema version."""
    if isinstance(conn, sqlite3.Connection):
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    row = conn.execute("SELECT version FROM store_version").fetchone()
    return int(row[0]) if row else 0


def _set_version(conn, version: int) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.execute(f"PRAGMA user_version = {int(version)}")
    else:
        conn.execute("UPDATE store_version SET version=?", (version,))


def _begin(conn) -> None:
    """A transaction that holds the schema's lock until it ends."""
    if isinstance(conn, sqlite3.Connection):
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))


def create(conn) -> None:
    """Make the tables a new store lacks (a no-op on an existing one). A new PostgreSQL store starts at
    SCHEMA_VERSION, since its tables are made with every column the migrations would add."""
    if isinstance(conn, sqlite3.Connection):
        conn.executescript(SCHEMA)
        return
    from core.store.postgres import translate_schema

    _begin(conn)
    try:
        conn.executescript(translate_schema(SCHEMA))
        conn.execute("CREATE TABLE IF NOT EXISTS store_version (version INTEGER NOT NULL)")
        if conn.execute("SELECT version FROM store_version").fetchone() is None:
            conn.execute("INSERT INTO store_version (version) VALUES (?)", (SCHEMA_VERSION,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn, where: str = "") -> None:
    """Bring the store to SCHEMA_VERSION, one step per transaction (processes opening it at once
    take turns: a step another process already made is skipped). `where` names the store in messages."""
    while (version := schema_version(conn)) < SCHEMA_VERSION:
        _begin(conn)
        try:
            if schema_version(conn) == version:
                MIGRATIONS[version](conn)
                _set_version(conn, version + 1)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    if version > SCHEMA_VERSION:
        if not where and isinstance(conn, sqlite3.Connection):
            where = conn.execute("PRAGMA database_list").fetchone()[2]
        raise StoreError(f"store: {where} has schema version {version}, newer than this Train Lab's "
                         f"{SCHEMA_VERSION}; update Train Lab")
