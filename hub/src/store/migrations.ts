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
];
