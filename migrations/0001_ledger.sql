-- The ledger: every task and live stream created through the gateway, and the
-- idempotency records of submissions. One text for SQLite and Postgres: times are
-- Unix milliseconds (BIGINT), JSON is TEXT, no dialect-only types.

CREATE TABLE ledger_tasks (
    task_token   TEXT PRIMARY KEY,
    project      TEXT NOT NULL,
    caller       TEXT NOT NULL,
    request_id   TEXT,
    labels       TEXT NOT NULL,
    query        TEXT,
    -- created | started | a Qencode status (queued, encoding, completed, ...)
    state        TEXT NOT NULL,
    -- active | completed | failed: what ListTasks filters on
    phase        TEXT NOT NULL,
    status       TEXT,
    error        TEXT,
    restarted_as TEXT,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    updated_at   BIGINT NOT NULL
);

CREATE INDEX ledger_tasks_newest ON ledger_tasks (project, created_at DESC, task_token DESC);
CREATE INDEX ledger_tasks_phase ON ledger_tasks (phase, project, caller);

-- One row per (project, caller, request id): what the first call asked (its
-- fingerprint), how far it got, who works on it now (a lease), and its response.
CREATE TABLE ledger_requests (
    project     TEXT NOT NULL,
    caller      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- begun | created | starting | done
    step        TEXT NOT NULL,
    task_token  TEXT,
    response    TEXT,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (project, caller, request_id)
);

CREATE INDEX ledger_requests_age ON ledger_requests (created_at);

-- Labels as rows, so both databases filter on them with plain indexed equality.
CREATE TABLE ledger_task_labels (
    task_token TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (task_token, name)
);

CREATE INDEX ledger_task_labels_match ON ledger_task_labels (name, value);
