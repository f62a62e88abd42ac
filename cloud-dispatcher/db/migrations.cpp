#include "db/migrations.h"

#include "core/logging.h"

namespace edgelink::dispatcher {
namespace {

// Any fixed number: the lock `db migrate` holds while it works.
constexpr const char* kMigrationLock = "4842710093";

const char* const kV1Core = R"SQL(
-- Edges: one row each, updated from whatever their topics carry (heartbeats fold in here:
-- they are not stored as event rows).
-- Keys are compared bytewise (COLLATE "C"): cheaper index maintenance than a linguistic
-- collation, and ids are identifiers, not prose.
CREATE TABLE edges (
  edge_id               text COLLATE "C" PRIMARY KEY,
  first_seen_at         timestamptz NOT NULL,
  last_seen_at          timestamptz,          -- last response or event from the edge
  last_heartbeat_at     timestamptz,          -- last heartbeat or agent_started
  heartbeat_sent_at     timestamptz,          -- the edge's own clock on that heartbeat
  heartbeat_interval_s  integer,
  uptime_s              double precision,
  frp_running           boolean,
  agent_version         text,
  hostname              text,
  agent_started_at      timestamptz,
  stopped_at            timestamptz,          -- agent_stopping seen
  provisioned_at        timestamptz           -- topic created by `edges add`
);

-- Requests, whoever published them. Correlated with responses by (edge_id, id).
CREATE TABLE requests (
  edge_id          text COLLATE "C" NOT NULL,
  id               text COLLATE "C" NOT NULL,
  id_is_number     boolean NOT NULL DEFAULT false,
  type             text NOT NULL,
  sender           text NOT NULL,
  description      text,
  sent_at          timestamptz NOT NULL,      -- the envelope's timestamp
  seen_at          timestamptz NOT NULL,      -- Kafka's timestamp (capped at ingest time)
  deadline         timestamptz NOT NULL,      -- no answer by then: 'timeout'
  body             jsonb NOT NULL,
  kafka_partition  integer,
  kafka_offset     bigint,
  PRIMARY KEY (edge_id, id)
);
CREATE INDEX requests_sent_at ON requests (sent_at DESC);
CREATE INDEX requests_edge_sent_at ON requests (edge_id, sent_at DESC);
CREATE INDEX requests_id ON requests (id);

-- Responses: append-only; a response may arrive before its request and is joined when it does.
CREATE TABLE responses (
  edge_id          text COLLATE "C" NOT NULL,
  id               text COLLATE "C" NOT NULL,
  sender           text NOT NULL,
  type             text,
  status_code      integer NOT NULL,
  status           text,
  description      text,
  sent_at          timestamptz NOT NULL,
  received_at      timestamptz NOT NULL,
  body             jsonb NOT NULL,
  kafka_partition  integer,
  kafka_offset     bigint,
  PRIMARY KEY (edge_id, id)
);

-- Events other than heartbeats, keyed by their place in Kafka (ids are only unique per sender).
CREATE TABLE events (
  seq              bigserial PRIMARY KEY,
  edge_id          text COLLATE "C" NOT NULL,
  kafka_partition  integer NOT NULL,
  kafka_offset     bigint NOT NULL,
  id               text NOT NULL,
  type             text NOT NULL,
  sender           text NOT NULL,
  description      text,
  sent_at          timestamptz NOT NULL,
  received_at      timestamptz NOT NULL,
  body             jsonb NOT NULL,
  UNIQUE (edge_id, kafka_partition, kafka_offset)
);
CREATE INDEX events_edge_seq ON events (edge_id, seq);

-- Messages that could not be decoded (or that the database refused): kept, never blocking.
CREATE TABLE rejected_messages (
  topic            text NOT NULL,
  kafka_partition  integer NOT NULL,
  kafka_offset     bigint NOT NULL,
  edge_id          text,
  received_at      timestamptz NOT NULL,
  status_code      integer NOT NULL,
  field            text,
  reason           text NOT NULL,
  kind             text,
  message_id       text,
  sender           text,
  type             text,
  payload          bytea NOT NULL,            -- the first 4 KiB
  payload_bytes    integer NOT NULL,
  PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

-- Request state is derived, never stored: ingest only appends.
CREATE VIEW request_status AS
SELECT r.edge_id, r.id, r.id_is_number, r.type, r.sender, r.description, r.sent_at, r.seen_at,
       r.deadline, r.body,
       CASE
         WHEN s.status_code IS NULL THEN
           CASE WHEN r.deadline < now() THEN 'timeout' ELSE 'pending' END
         WHEN s.status_code = 408 THEN 'stale'
         WHEN s.status_code BETWEEN 200 AND 299 THEN 'succeeded'
         ELSE 'failed'
       END AS state,
       COALESCE(s.received_at > r.deadline, false) AS late,
       s.status_code, s.status, s.sender AS answered_by, s.sent_at AS answer_sent_at,
       s.received_at AS answered_at, s.body AS response_body, r.kafka_partition, r.kafka_offset
FROM requests r
LEFT JOIN responses s ON s.edge_id = r.edge_id AND s.id = r.id;
)SQL";

const char* const kV2Sessions = R"SQL(
-- frp sessions. One live (not ended) session per edge; ports held by live sessions only.
CREATE TABLE sessions (
  session_id    bigserial PRIMARY KEY,
  edge_id       text COLLATE "C" NOT NULL,
  request_id    text COLLATE "C" NOT NULL,               -- the start request
  opened_by     text NOT NULL,               -- its sender
  services      jsonb NOT NULL,              -- {"ssh": 31022, ...}
  auto_stop_s   integer,
  state         text NOT NULL CHECK (state IN ('opening', 'active', 'closed', 'failed')),
  requested_at  timestamptz NOT NULL,
  started_at    timestamptz,
  expires_at    timestamptz,
  ended_at      timestamptz,
  end_reason    text,
  end_detail    text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((ended_at IS NULL) = (state IN ('opening', 'active'))),
  UNIQUE (edge_id, request_id)
);
CREATE UNIQUE INDEX sessions_one_live_per_edge ON sessions (edge_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_requested_at ON sessions (requested_at DESC);
CREATE INDEX sessions_live ON sessions (expires_at) WHERE ended_at IS NULL;

-- The ports live sessions hold: the primary key is what keeps a port from two live sessions.
CREATE TABLE session_ports (
  port        integer PRIMARY KEY CHECK (port BETWEEN 1 AND 65535),
  session_id  bigint NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
  service     text NOT NULL
);
CREATE INDEX session_ports_session ON session_ports (session_id);

-- Only a live session may hold ports.
CREATE FUNCTION edgelink_session_port_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM sessions
                 WHERE session_id = NEW.session_id AND ended_at IS NULL) THEN
    RAISE EXCEPTION 'session % is not live: it cannot hold port %', NEW.session_id, NEW.port
      USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER session_ports_live BEFORE INSERT OR UPDATE ON session_ports
  FOR EACH ROW EXECUTE FUNCTION edgelink_session_port_check();

-- Ending a session frees its ports, whoever ends it; every change is notified.
CREATE FUNCTION edgelink_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.ended_at IS NOT NULL THEN
    DELETE FROM session_ports WHERE session_id = NEW.session_id;
  END IF;
  PERFORM pg_notify('edgelink_session', json_build_object(
    'edge_id', NEW.edge_id, 'session_id', NEW.session_id, 'state', NEW.state,
    'end_reason', NEW.end_reason)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER sessions_changed AFTER INSERT OR UPDATE ON sessions
  FOR EACH ROW EXECUTE FUNCTION edgelink_session_changed();
)SQL";

const char* const kV3Fleet = R"SQL(
-- Settings the daemon publishes for readers of the database (the offline threshold).
CREATE TABLE dispatcher_settings (
  key         text PRIMARY KEY,
  value       text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO dispatcher_settings (key, value) VALUES ('offline_after_seconds', '180');

-- Running dispatchers (one row per process; `assigned_partitions` shows how a group split).
CREATE TABLE dispatchers (
  member               text PRIMARY KEY,     -- host:pid
  consumer_group       text NOT NULL,
  started_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,
  assigned_partitions  integer NOT NULL DEFAULT 0,
  messages_stored      bigint NOT NULL DEFAULT 0,
  last_batch_at        timestamptz,
  state                text NOT NULL          -- running, waiting_for_database, stopped
);

CREATE VIEW edge_status AS
SELECT e.*,
       (e.last_heartbeat_at IS NOT NULL
        AND e.last_heartbeat_at > now() - make_interval(secs => COALESCE(
              (SELECT value::double precision FROM dispatcher_settings
               WHERE key = 'offline_after_seconds'), 180))
        AND (e.stopped_at IS NULL OR e.stopped_at < e.last_heartbeat_at)) AS online
FROM edges e;
)SQL";

const char* const kV4StartsBesideActive = R"SQL(
-- One *active* session per edge. Starts waiting for their answer ('opening') may sit beside it:
-- a start with other ports ends the active session only once the edge answers it 200 (a start
-- the edge refuses -- stale, forbidden, failed -- leaves the running session alone).
DROP INDEX sessions_one_live_per_edge;
CREATE UNIQUE INDEX sessions_one_active_per_edge ON sessions (edge_id) WHERE state = 'active';
CREATE INDEX sessions_live_per_edge ON sessions (edge_id) WHERE ended_at IS NULL;
)SQL";

const char* const kV5Expiry = R"SQL(
-- Requests carry their own expiry on the wire (expires_at: the edge never acts after it), and a
-- timeout is a stored fact, notified once, not only something a view derives from the clock.
ALTER TABLE requests ADD COLUMN expires_at timestamptz;   -- the request's own, when it had one
ALTER TABLE requests ADD COLUMN timed_out_at timestamptz; -- when the sweeper declared 'timeout'

-- The sweeper's work list: requests whose deadline it has not reached yet (answered or not). A
-- row leaves once its deadline passed, so finding timeouts never scans old requests; several
-- dispatchers share the work (DELETE ... SKIP LOCKED) and each timeout is marked and notified
-- exactly once (UPDATE ... WHERE timed_out_at IS NULL).
CREATE TABLE request_deadlines (
  edge_id   text COLLATE "C" NOT NULL,
  id        text COLLATE "C" NOT NULL,
  deadline  timestamptz NOT NULL
);
CREATE INDEX request_deadlines_deadline ON request_deadlines (deadline);
INSERT INTO request_deadlines (edge_id, id, deadline)
  SELECT edge_id, id, deadline FROM requests WHERE deadline >= now();

CREATE OR REPLACE VIEW request_status AS
SELECT r.edge_id, r.id, r.id_is_number, r.type, r.sender, r.description, r.sent_at, r.seen_at,
       r.deadline, r.body,
       CASE
         WHEN s.status_code IS NULL THEN
           CASE WHEN r.timed_out_at IS NOT NULL OR r.deadline < now() THEN 'timeout'
                ELSE 'pending' END
         WHEN s.status_code = 408 THEN 'stale'
         WHEN s.status_code BETWEEN 200 AND 299 THEN 'succeeded'
         ELSE 'failed'
       END AS state,
       COALESCE(s.received_at > r.deadline, false) AS late,
       s.status_code, s.status, s.sender AS answered_by, s.sent_at AS answer_sent_at,
       s.received_at AS answered_at, s.body AS response_body, r.kafka_partition, r.kafka_offset,
       r.expires_at, r.timed_out_at
FROM requests r
LEFT JOIN responses s ON s.edge_id = r.edge_id AND s.id = r.id;

-- Every notification payload is compact JSON from row_to_json (the sessions' used
-- json_build_object, which writes "key" : value).
CREATE OR REPLACE FUNCTION edgelink_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.ended_at IS NOT NULL THEN
    DELETE FROM session_ports WHERE session_id = NEW.session_id;
  END IF;
  PERFORM pg_notify('edgelink_session', (SELECT row_to_json(p)::text FROM (SELECT
    NEW.edge_id AS edge_id, NEW.session_id AS session_id, NEW.state AS state,
    NEW.end_reason AS end_reason) p));
  RETURN NULL;
END $$;
)SQL";

const char* const kV6AgentMetrics = R"SQL(
-- The agent's own numbers from the latest heartbeat that carried them: its `metrics` object as
-- the typed model writes it (docs/DISPATCHER.md shows the shape), and when that heartbeat was
-- seen. A heartbeat without metrics (an older agent) leaves both as they were.
ALTER TABLE edges ADD COLUMN agent_metrics jsonb;
ALTER TABLE edges ADD COLUMN agent_metrics_at timestamptz;

-- edge_status's e.* was expanded when the view was made: made again to carry the new columns.
DROP VIEW edge_status;
CREATE VIEW edge_status AS
SELECT e.*,
       (e.last_heartbeat_at IS NOT NULL
        AND e.last_heartbeat_at > now() - make_interval(secs => COALESCE(
              (SELECT value::double precision FROM dispatcher_settings
               WHERE key = 'offline_after_seconds'), 180))
        AND (e.stopped_at IS NULL OR e.stopped_at < e.last_heartbeat_at)) AS online
FROM edges e;
)SQL";

const char* const kV7StcpSessions = R"SQL(
-- stcp sessions: no public port (no session_ports rows); visitors present the session's secret,
-- kept here for the operator who opened it (`session open --mode stcp`, `sessions show --visitor`)
-- and never shown in lists. Ingest stores start request bodies with the secret redacted.
ALTER TABLE sessions
  ADD COLUMN mode text NOT NULL DEFAULT 'tcp' CHECK (mode IN ('tcp', 'stcp')),
  ADD COLUMN stcp_secret text,
  ADD CONSTRAINT sessions_stcp_secret CHECK (stcp_secret IS NULL OR mode = 'stcp');
)SQL";

const char* const kV8Signatures = R"SQL(
-- Signed answers (docs/SECURITY.md): each board's Ed25519 public key (base64 of the 32 raw
-- bytes) and its key id, registered with `edges add --key` / `edges set-key`. An answer that
-- does not verify is kept in rejected_messages with its verdict (unsigned, malformed,
-- unknown_key, bad_signature) and changes nothing.
ALTER TABLE edges ADD COLUMN public_key text;
ALTER TABLE edges ADD COLUMN key_id text;
ALTER TABLE edges ADD COLUMN key_set_at timestamptz;
ALTER TABLE rejected_messages ADD COLUMN signature text;

DROP VIEW edge_status;
CREATE VIEW edge_status AS
SELECT e.*,
       (e.last_heartbeat_at IS NOT NULL
        AND e.last_heartbeat_at > now() - make_interval(secs => COALESCE(
              (SELECT value::double precision FROM dispatcher_settings
               WHERE key = 'offline_after_seconds'), 180))
        AND (e.stopped_at IS NULL OR e.stopped_at < e.last_heartbeat_at)) AS online
FROM edges e;
)SQL";

const char* const kV9SessionAudit = R"SQL(
-- Who opened, extended and closed each session (docs/DISPATCHER.md, "Audit trail"): the CLI's
-- operator (its OS user), a web backend's request (its sender; key_id only when the request's
-- signature verified against a trusted key, detail.signature says what was wrong otherwise) or
-- the dispatcher itself (expiry, the sweeper, edge answers and events ending a session). Kept
-- audit-retention; the daemon's sweep deletes older rows in batches.
CREATE TABLE session_audit (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  edge_id     text COLLATE "C" NOT NULL,
  session_id  bigint,                        -- no FK: the trail outlives what it describes
  request_id  text COLLATE "C",
  action      text NOT NULL CHECK (action IN ('open', 'extend', 'close', 'expire', 'end')),
  actor       text NOT NULL,
  actor_kind  text NOT NULL
              CHECK (actor_kind IN ('cli', 'signed_request', 'unsigned_request', 'system')),
  key_id      text,
  detail      jsonb NOT NULL DEFAULT '{}',
  CHECK (key_id IS NULL OR actor_kind = 'signed_request')
);
-- A redelivered request adds no second row.
CREATE UNIQUE INDEX session_audit_request ON session_audit (edge_id, request_id, action)
  WHERE request_id IS NOT NULL;
CREATE INDEX session_audit_edge_at ON session_audit (edge_id, at DESC);
CREATE INDEX session_audit_at ON session_audit (at);
CREATE INDEX session_audit_session ON session_audit (session_id) WHERE session_id IS NOT NULL;
)SQL";

const char* const kV10EventsOnce = R"SQL(
-- An event is stored once per edge, sender and id (docs/RELIABILITY.md, the chaos run): an
-- agent's outbox sends an event again when no delivery report came for it (a broker killed
-- mid-send), and that copy lands at another offset. Copies stored before this are dropped,
-- keeping the first.
DELETE FROM events e USING events d
 WHERE d.edge_id = e.edge_id AND d.sender = e.sender AND d.id = e.id AND d.seq < e.seq;
CREATE UNIQUE INDEX events_once ON events (edge_id, sender, id);
)SQL";

const char* const kV11ClockOffset = R"SQL(
-- The board's wall clock minus the broker's time, as its latest heartbeat (or agent_started:
-- unknown again) reported it (heartbeat body clock_offset_ms, measured with LogAppendTime;
-- docs/RELIABILITY.md). NULL: not known.
ALTER TABLE edges ADD COLUMN clock_offset_ms bigint;

DROP VIEW edge_status;
CREATE VIEW edge_status AS
SELECT e.*,
       (e.last_heartbeat_at IS NOT NULL
        AND e.last_heartbeat_at > now() - make_interval(secs => COALESCE(
              (SELECT value::double precision FROM dispatcher_settings
               WHERE key = 'offline_after_seconds'), 180))
        AND (e.stopped_at IS NULL OR e.stopped_at < e.last_heartbeat_at)) AS online
FROM edges e;
)SQL";

const char* const kV12EventsXact = R"SQL(
-- The transaction that stored each event (its 64-bit id), for `events tail --follow`: seq is
-- taken when a row is inserted and its transaction commits later, so a follower reading "seq
-- greater than the last I printed" skipped an event whose transaction committed after a later
-- one's (two lanes or dispatchers). A follower reads by transaction instead: every event stored
-- by a transaction older than the oldest one still running is visible (docs/DISPATCHER.md).
-- Rows stored before this keep NULL (older than any follower).
ALTER TABLE events ADD COLUMN xact bigint;
ALTER TABLE events ALTER COLUMN xact SET DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX events_xact ON events (xact);
)SQL";

const char* const kV13RemoteConfig = R"SQL(
-- Remote configuration (docs/REMOTE-CONFIG.md). A scope is the fleet ('*') or one edge; every
-- change to a scope's values takes the next config_version, so an edge's version, the greater
-- of the fleet's and its own, grows with every change that reaches it.
CREATE SEQUENCE config_version;
CREATE TABLE config_scopes (
  scope       text COLLATE "C" PRIMARY KEY,    -- '*' or an edge id
  version     bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text NOT NULL
);
CREATE TABLE config_values (
  scope       text COLLATE "C" NOT NULL REFERENCES config_scopes ON DELETE CASCADE,
  key         text NOT NULL,
  value       jsonb NOT NULL,
  set_at      timestamptz NOT NULL DEFAULT now(),
  set_by      text NOT NULL,
  PRIMARY KEY (scope, key)
);
-- Labels group edges for bulk operations (`edges label`, `config set --label`).
CREATE TABLE edge_labels (
  edge_id     text COLLATE "C" NOT NULL,
  label       text COLLATE "C" NOT NULL,
  added_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (edge_id, label)
);
CREATE INDEX edge_labels_label ON edge_labels (label);
-- Requests a board sent to the cloud (recipient "cloud") and the dispatcher's answers: one row
-- per request, so a redelivered one is answered again with the same answer.
CREATE TABLE edge_requests (
  edge_id          text COLLATE "C" NOT NULL,
  id               text NOT NULL,
  sender           text NOT NULL,
  type             text NOT NULL,
  sent_at          timestamptz NOT NULL,
  received_at      timestamptz NOT NULL,
  body             jsonb NOT NULL,
  status_code      integer NOT NULL,
  answer           jsonb NOT NULL,                -- the response body sent
  kafka_partition  integer NOT NULL,
  kafka_offset     bigint NOT NULL,
  PRIMARY KEY (edge_id, sender, id)
);
-- The remote config version an edge runs with, as its latest heartbeat reported it.
ALTER TABLE edges ADD COLUMN config_version bigint;

DROP VIEW edge_status;
CREATE VIEW edge_status AS
SELECT e.*,
       (e.last_heartbeat_at IS NOT NULL
        AND e.last_heartbeat_at > now() - make_interval(secs => COALESCE(
              (SELECT value::double precision FROM dispatcher_settings
               WHERE key = 'offline_after_seconds'), 180))
        AND (e.stopped_at IS NULL OR e.stopped_at < e.last_heartbeat_at)) AS online
FROM edges e;
)SQL";

const char* const kV14KafkaClusters = R"SQL(
-- Several Kafka clusters (docs/DISPATCHER.md, "Several Kafka clusters"): one dispatcher process
-- per cluster, all on this database, each naming its cluster (kafka-cluster; '' unnamed). A
-- board moved to another cluster starts again at offset 0 there, so an offset is a key only
-- together with its cluster. Rows stored before this came from the one unnamed cluster: ''.
-- The cluster each edge was last heard on, and the time of that message; set by the dispatcher
-- that ingests it (NULL: not heard since this migration).
ALTER TABLE edges ADD COLUMN kafka_cluster text;
ALTER TABLE edges ADD COLUMN kafka_cluster_at timestamptz;

ALTER TABLE events ADD COLUMN kafka_cluster text NOT NULL DEFAULT '';
ALTER TABLE events ADD CONSTRAINT events_kafka_place
  UNIQUE (edge_id, kafka_cluster, kafka_partition, kafka_offset);
ALTER TABLE events DROP CONSTRAINT events_edge_id_kafka_partition_kafka_offset_key;

ALTER TABLE rejected_messages ADD COLUMN kafka_cluster text NOT NULL DEFAULT '';
ALTER TABLE rejected_messages DROP CONSTRAINT rejected_messages_pkey;
ALTER TABLE rejected_messages ADD CONSTRAINT rejected_messages_pkey
  PRIMARY KEY (kafka_cluster, topic, kafka_partition, kafka_offset);

DROP VIEW edge_status;
CREATE VIEW edge_status AS
SELECT e.*,
       (e.last_heartbeat_at IS NOT NULL
        AND e.last_heartbeat_at > now() - make_interval(secs => COALESCE(
              (SELECT value::double precision FROM dispatcher_settings
               WHERE key = 'offline_after_seconds'), 180))
        AND (e.stopped_at IS NULL OR e.stopped_at < e.last_heartbeat_at)) AS online
FROM edges e;
)SQL";

const char* const kV15WebAccounts = R"SQL(
-- The web console's accounts (docs/WEB.md, "Accounts and roles"), managed with `cloud-dispatcher
-- users`. password_hash: libsodium's crypto_pwhash_str (Argon2id, its own parameters inside).
CREATE TABLE web_users (
  name                 text COLLATE "C" PRIMARY KEY
                       CONSTRAINT web_users_name_check CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
  password_hash        text NOT NULL,
  role                 text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  created_at           timestamptz NOT NULL DEFAULT now(),
  password_changed_at  timestamptz NOT NULL DEFAULT now()
);

-- Login sessions. The cookie's token is never stored: token_hash is its SHA-256 (hex).
CREATE TABLE web_sessions (
  token_hash   text COLLATE "C" PRIMARY KEY,
  user_name    text COLLATE "C" NOT NULL
               REFERENCES web_users (name) ON DELETE CASCADE ON UPDATE CASCADE,
  csrf_token   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  remote_addr  text
);
CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at);
CREATE INDEX web_sessions_user ON web_sessions (user_name);

-- What web users did (login, login_failed, logout, send, session actions, terminals) and the
-- CLI's changes to users (user_add, user_passwd, user_remove; user_name is then the OS user).
-- Not a foreign key: rows outlive their user, and a failed login names whatever was typed.
CREATE TABLE web_audit (
  id           bigserial PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  user_name    text COLLATE "C" NOT NULL,
  action       text NOT NULL,
  target       text,
  outcome      text NOT NULL,
  remote_addr  text,
  detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX web_audit_at ON web_audit (at);
CREATE INDEX web_audit_user_at ON web_audit (user_name, at DESC);

-- The session audit trail's actors gain web users.
ALTER TABLE session_audit DROP CONSTRAINT session_audit_actor_kind_check;
ALTER TABLE session_audit ADD CONSTRAINT session_audit_actor_kind_check
  CHECK (actor_kind IN ('cli', 'signed_request', 'unsigned_request', 'system', 'web'));
)SQL";

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1, "requests, responses, events, edges", kV1Core},
      {2, "sessions and their ports", kV2Sessions},
      {3, "dispatchers, settings, edge status", kV3Fleet},
      {4, "starts awaiting their answer beside the active session", kV4StartsBesideActive},
      {5, "request expiry, stored and notified timeouts", kV5Expiry},
      {6, "agent metrics per edge", kV6AgentMetrics},
      {7, "stcp sessions: mode and secret", kV7StcpSessions},
      {8, "edge keys, unverified answers flagged", kV8Signatures},
      {9, "session audit trail", kV9SessionAudit},
      {10, "an event stored once per edge, sender and id", kV10EventsOnce},
      {11, "edge clock offset from broker time", kV11ClockOffset},
      {12, "the transaction that stored each event", kV12EventsXact},
      {13, "remote configuration, edge labels, edge requests", kV13RemoteConfig},
      {14, "kafka cluster in event and rejection keys, per edge", kV14KafkaClusters},
      {15, "web console users, sessions and audit", kV15WebAccounts},
  };
  return all;
}

int latestSchemaVersion() {
  return migrations().back().version;
}

Result<int> schemaVersion(pg::Connection& db) {
  auto exists = db.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists) {
    return exists.error();
  }
  if (!exists->boolean(0, 0)) {
    return 0;
  }
  auto v = db.exec("SELECT COALESCE(max(version), 0) FROM schema_migrations");
  if (!v) {
    return v.error();
  }
  return static_cast<int>(v->int64(0, 0));
}

Result<MigrateOutcome> migrate(pg::Connection& db) {
  auto tx = pg::Transaction::begin(db);
  if (!tx) {
    return tx.error();
  }
  if (auto r = db.exec(std::string("SELECT pg_advisory_xact_lock(") + kMigrationLock + ")"); !r) {
    return r.error();
  }
  if (auto r = db.run("CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " version integer PRIMARY KEY, name text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())");
      !r) {
    return r.error();
  }
  auto current = schemaVersion(db);
  if (!current) {
    return current.error();
  }
  MigrateOutcome out;
  out.from = *current;
  out.to = *current;
  if (*current > latestSchemaVersion()) {
    return Error(Status::kConflict, "the database's schema version " + std::to_string(*current) +
                                        " is newer than this binary's " +
                                        std::to_string(latestSchemaVersion()) +
                                        ": run a newer cloud-dispatcher");
  }
  for (const auto& m : migrations()) {
    if (m.version <= *current) {
      continue;
    }
    if (auto r = db.run(m.sql); !r) {
      Error e = r.error();
      e.message = "migration " + std::to_string(m.version) + " (" + m.name + "): " + e.message;
      return e;
    }
    if (auto r = db.exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                         {std::to_string(m.version), std::string(m.name)});
        !r) {
      return r.error();
    }
    out.applied.push_back(std::to_string(m.version) + " " + m.name);
    out.to = m.version;
  }
  if (auto r = tx.value()->commit(); !r) {
    return r.error();
  }
  return out;
}

VoidResult checkSchema(pg::Connection& db) {
  auto v = schemaVersion(db);
  if (!v) {
    return v.error();
  }
  if (*v == 0) {
    return Error(Status::kConflict,
                 "the database is not migrated (no EdgeLink schema): run `cloud-dispatcher db "
                 "migrate` with the same --pg-conninfo first");
  }
  if (*v < latestSchemaVersion()) {
    return Error(Status::kConflict, "the database's schema is at version " + std::to_string(*v) +
                                        ", this binary needs " +
                                        std::to_string(latestSchemaVersion()) +
                                        ": run `cloud-dispatcher db migrate`");
  }
  if (*v > latestSchemaVersion()) {
    return Error(Status::kConflict, "the database's schema version " + std::to_string(*v) +
                                        " is newer than this binary's " +
                                        std::to_string(latestSchemaVersion()) +
                                        ": run a newer cloud-dispatcher");
  }
  return {};
}

}  // namespace edgelink::dispatcher
