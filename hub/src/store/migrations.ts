/** Append-only: never edit an entry that has shipped, add a new one. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    branch TEXT NOT NULL,
    credential_hash TEXT,
    revoked INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'never-seen',
    last_seen TEXT,
    reported_json TEXT,
    desired_json TEXT,
    desired_revision INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
  );
  CREATE TABLE model_versions (
    model_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    manifest_json TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    parent_version INTEGER,
    pinned INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (model_type, version)
  );
  CREATE TABLE artifacts (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE device_events (
    event_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    type TEXT NOT NULL,
    model_type TEXT,
    version INTEGER,
    at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    data_json TEXT NOT NULL
  );
  CREATE INDEX device_events_device ON device_events (device_id, at);
  `,
  `
  CREATE TABLE enrolment_tokens (
    token_hash TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    branch TEXT NOT NULL,
    device_id TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    used_by TEXT
  );
  CREATE TABLE device_health (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    at TEXT NOT NULL,
    telemetry_json TEXT NOT NULL
  );
  CREATE INDEX device_health_device ON device_health (device_id, id);
  CREATE TABLE signing_keys (
    key_id TEXT PRIMARY KEY,
    public_key_pem TEXT NOT NULL,
    certificate_json TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  CREATE TABLE rollouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    previous_version INTEGER,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    canary_json TEXT NOT NULL,
    control_json TEXT NOT NULL,
    config_json TEXT NOT NULL,
    figures_json TEXT,
    started_at TEXT NOT NULL,
    observe_until TEXT,
    ended_at TEXT
  );
  CREATE TABLE hub_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    model_type TEXT,
    version INTEGER,
    data_json TEXT NOT NULL
  );
  CREATE TABLE members (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    branch TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE member_photos (
    sha256 TEXT NOT NULL,
    member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (member_id, sha256)
  );
  CREATE TABLE face_samples (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    member_id TEXT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    score REAL NOT NULL,
    model_version INTEGER,
    at TEXT NOT NULL
  );
  CREATE INDEX face_samples_member ON face_samples (member_id, at);
  CREATE TABLE laundry_tasks (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    branch TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    ai_result TEXT NOT NULL,
    ai_confidence REAL NOT NULL,
    model_version INTEGER,
    created_at TEXT NOT NULL,
    final_result TEXT,
    corrected INTEGER,
    correction_reason TEXT,
    confirmed_at TEXT
  );
  CREATE INDEX laundry_tasks_confirmed ON laundry_tasks (confirmed_at);
  `,
  `
  ALTER TABLE artifacts ADD COLUMN kind TEXT NOT NULL DEFAULT 'model';
  `,
  `
  CREATE TABLE training_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_type TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    stage TEXT,
    reason TEXT,
    seed INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    candidate_version INTEGER,
    report_sha256 TEXT
  );
  CREATE UNIQUE INDEX training_runs_one_open ON training_runs (model_type) WHERE status IN ('running', 'held');
  CREATE TABLE training_stages (
    run_id INTEGER NOT NULL REFERENCES training_runs (id),
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    seconds REAL,
    output_json TEXT,
    error TEXT,
    PRIMARY KEY (run_id, stage)
  );
  CREATE TABLE training_progress (
    run_id INTEGER NOT NULL REFERENCES training_runs (id),
    epoch INTEGER NOT NULL,
    loss REAL NOT NULL,
    accuracy REAL,
    val_accuracy REAL,
    at TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
  );
  `,
];
