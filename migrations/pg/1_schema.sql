-- consensus on PostgreSQL, schema version 1. Applied by postgres-migrations (under its advisory lock)
-- into the schema the store URL names (default "consensus"); never edit this file once released:
-- add 2_….sql instead (an edited migration is refused at start).

-- The head of the one global hash chain: every append locks this row, so entries get their seq and
-- hash in commit order and the exported log verifies like a file-store log.
CREATE TABLE head (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO head (seq, hash) VALUES (0, repeat('0', 64));

-- The log of record: each daemon entry as the sealed line the file store would write, byte for byte.
-- epic_seq numbers an epic's entries (epic '' = entries about no epic): UNIQUE (epic_id, epic_seq)
-- fences two daemons deciding about one epic at once.
CREATE TABLE entries (
  seq bigint PRIMARY KEY,
  epic_id text NOT NULL,
  epic_seq bigint NOT NULL,
  decision text NOT NULL,
  input text,
  line text NOT NULL,
  -- agents' raw lines chained into this entry's hash (a log moved in from a folder); NULL: none
  foreign_text text,
  hash text NOT NULL,
  -- "<key id>:<HMAC of hash>" once sealed lines carry a MAC (keys come from a file, never a table)
  mac text,
  -- the daemon (or command) that committed it, and whether its effects (notices, publish, launch) ran
  writer uuid,
  effects_done boolean NOT NULL DEFAULT false,
  committed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (epic_id, epic_seq)
);
CREATE INDEX entries_effects_pending ON entries (writer, seq) WHERE NOT effects_done;
CREATE INDEX entries_input ON entries (input) WHERE input IS NOT NULL;

-- Each epic's state after its last entry (what status reads), and its per-epic sequence.
CREATE TABLE epics (
  epic_id text PRIMARY KEY,
  epic_seq bigint NOT NULL,
  last_seq bigint NOT NULL,
  state jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Processed-input marks (kind 'p') and used message ids ('m'); written with the entry that uses them.
CREATE TABLE marks (
  kind char(1) NOT NULL,
  mark text NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (kind, mark)
);

-- Accepted artifacts' bytes, content-addressed (the same size cap as the file store: the config's max_file_bytes).
CREATE TABLE blobs (
  sha256 text PRIMARY KEY,
  bytes bytea NOT NULL
);

-- What publish() published: archive/<epic>/<iteration>/<file> in a bridged folder.
CREATE TABLE published (
  id bigserial UNIQUE,
  epic_id text NOT NULL,
  iteration int NOT NULL,
  file text NOT NULL,
  sha256 text NOT NULL REFERENCES blobs,
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (epic_id, iteration, file)
);

-- Notices for a role's inbox (messages/inbox/<role>/<name> in a bridged folder).
CREATE TABLE notices (
  id bigserial UNIQUE,
  role text NOT NULL,
  name text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (role, name)
);

-- Inputs waiting for a daemon: files a bridge mirrored (kind 'file': path, bytes, mtime), and
-- person commands with their results (kind 'command': the requests of the file store). A daemon
-- claims them with FOR UPDATE SKIP LOCKED; the processed mark in the log, not done_at, is what makes
-- an input count once.
CREATE TABLE inputs (
  id bigserial PRIMARY KEY,
  -- once per content: "<path>@<sha256>" for files, a request id for commands
  key text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('file', 'command')),
  path text,
  bytes bytea,
  mtime timestamptz,
  -- what kept the bridge from reading the file whole (a link out of its root, over the size cap): an Issue
  problem jsonb,
  command jsonb,
  -- who sent it: the bridge's host, or the person (OS user) who ran the command
  source text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  claimed_by uuid,
  claimed_at timestamptz,
  -- decided "not yet" (an artifact for a later stage): left until its epic's stage changes
  deferred boolean NOT NULL DEFAULT false,
  done_at timestamptz,
  result jsonb
);
CREATE INDEX inputs_pending ON inputs (id) WHERE done_at IS NULL;

-- Daemons (and commands that write directly) alive on this store: each refreshes heartbeat_at; one
-- whose heartbeat is older than its stale_ms is dead, and its claims and pending effects are taken over.
CREATE TABLE writers (
  id uuid PRIMARY KEY,
  kind text NOT NULL,
  command text,
  host text NOT NULL,
  pid int NOT NULL,
  metrics text,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  stale_ms int NOT NULL
);

-- A snapshot of the view (epics, the runner's jobs, the config version) at seq: recovery folds the
-- entries after it. The latest is kept.
CREATE TABLE snapshots (
  seq bigint PRIMARY KEY,
  view jsonb NOT NULL,
  taken_at timestamptz NOT NULL DEFAULT now()
);

-- The rules in force (consensus.yaml's text and its SHA-256), one row; changed only by a person's
-- command (migrate seeds it; `consensus config apply` will replace it), never by a daemon.
CREATE TABLE rules (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  version text NOT NULL,
  text text NOT NULL,
  applied_by text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
