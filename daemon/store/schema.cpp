#include "store/schema.hpp"

#include <array>

namespace reelflow::store::sqlite {
namespace {

// Version 1: what the daemon's first engine needs — workflows, runs, step executions, durable
// timers and plugin state.
constexpr std::string_view kVersion1 = R"sql(
PRAGMA application_id = 1380338775;

CREATE TABLE workflows (
  name         TEXT PRIMARY KEY,
  file         TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  loaded_at    INTEGER NOT NULL,
  paused       INTEGER NOT NULL DEFAULT 0
);

-- No foreign key to workflows: a run's history outlives its workflow file.
CREATE TABLE runs (
  id            TEXT PRIMARY KEY,
  workflow      TEXT NOT NULL,
  workflow_hash TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN
                  ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
  trigger_json  TEXT NOT NULL,
  trigger_key   TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  started_at    INTEGER,
  finished_at   INTEGER,
  error         TEXT NOT NULL DEFAULT '',
  UNIQUE (workflow, trigger_key)
);
CREATE INDEX runs_by_state ON runs (state, created_at);
CREATE INDEX runs_by_workflow ON runs (workflow, created_at);

CREATE TABLE step_executions (
  run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_id      TEXT NOT NULL,
  item         INTEGER NOT NULL,
  attempt      INTEGER NOT NULL,
  state        TEXT NOT NULL CHECK (state IN
                 ('pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'skipped')),
  started_at   INTEGER,
  finished_at  INTEGER,
  outputs_json TEXT NOT NULL DEFAULT '{}',
  error        TEXT NOT NULL DEFAULT '',
  worker       TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, step_id, item, attempt)
);

CREATE TABLE timers (
  id           INTEGER PRIMARY KEY,
  due_at       INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  run_id       TEXT REFERENCES runs (id) ON DELETE CASCADE,
  step_id      TEXT NOT NULL DEFAULT '',
  payload_json TEXT NOT NULL DEFAULT '{}',
  state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'fired', 'cancelled'))
);
CREATE INDEX timers_pending_by_due ON timers (due_at) WHERE state = 'pending';
CREATE INDEX timers_by_run ON timers (run_id);

CREATE TABLE plugin_state (
  plugin TEXT NOT NULL,
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (plugin, key)
) WITHOUT ROWID;
)sql";

// Version 2: intents of irreversible steps, files seen by the watch trigger, artifact retention.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE intents (
  idempotency_key TEXT PRIMARY KEY,
  run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_id         TEXT NOT NULL,
  item            INTEGER NOT NULL,
  intent_json     TEXT NOT NULL,
  result_json     TEXT,
  created_at      INTEGER NOT NULL,
  resolved_at     INTEGER
);
CREATE INDEX intents_unresolved ON intents (created_at) WHERE resolved_at IS NULL;
CREATE INDEX intents_by_run ON intents (run_id);

-- No foreign key to runs: the record that a file was seen must outlive a purged run.
CREATE TABLE seen_files (
  workflow   TEXT NOT NULL,
  key        TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  run_id     TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (workflow, key)
) WITHOUT ROWID;

ALTER TABLE runs ADD COLUMN artifacts_purged_at INTEGER;
CREATE INDEX runs_by_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
)sql";

// Version 3: checkpoints of irreversible executions (a publisher's upload session), one per
// idempotency key, shared by every attempt of the execution.
constexpr std::string_view kVersion3 = R"sql(
CREATE TABLE checkpoints (
  idempotency_key TEXT PRIMARY KEY,
  run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  checkpoint_json TEXT NOT NULL,
  updated_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX checkpoints_by_run ON checkpoints (run_id);
)sql";

// Version 4: published posts (what a publisher step put on a platform, kept after its run's files
// are purged) and the metrics pulled from the platforms at fixed ages.
constexpr std::string_view kVersion4 = R"sql(
CREATE TABLE posts (
  idempotency_key TEXT PRIMARY KEY,
  run_id          TEXT NOT NULL,
  step_id         TEXT NOT NULL,
  item            INTEGER NOT NULL,
  step_type       TEXT NOT NULL,
  platform        TEXT NOT NULL,
  account         TEXT NOT NULL,
  post_id         TEXT NOT NULL,
  url             TEXT NOT NULL,
  published_at    INTEGER NOT NULL,
  options_json    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX posts_by_account ON posts (account, published_at);
CREATE INDEX posts_by_time ON posts (published_at);

CREATE TABLE post_metrics (
  idempotency_key TEXT NOT NULL,
  label           TEXT NOT NULL,
  taken_at        INTEGER NOT NULL,
  metrics_json    TEXT NOT NULL,
  PRIMARY KEY (idempotency_key, label)
) WITHOUT ROWID;
)sql";

// Version 5: tracked links, the clicks on them (one row per click, written in batches: no
// counter row is updated per click; click ids start with their time, so new rows append) and
// conversions (unique per source and order id).
constexpr std::string_view kVersion5 = R"sql(
CREATE TABLE links (
  code        TEXT PRIMARY KEY,
  link_key    TEXT UNIQUE,
  target      TEXT NOT NULL,
  platform    TEXT NOT NULL,
  campaign    TEXT NOT NULL,
  variant     TEXT NOT NULL,
  medium      TEXT NOT NULL,
  video       TEXT NOT NULL,
  title       TEXT NOT NULL,
  enabled     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX links_by_campaign ON links (campaign, created_at);

CREATE TABLE clicks (
  id          TEXT PRIMARY KEY,
  code        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  duplicate   INTEGER NOT NULL,
  agent       TEXT NOT NULL,
  visitor     TEXT NOT NULL,
  ip          TEXT NOT NULL,
  user_agent  TEXT NOT NULL,
  referer     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX clicks_by_code ON clicks (code, kind, at);

CREATE TABLE conversions (
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL,
  order_id    TEXT,
  event       TEXT NOT NULL,
  value       REAL NOT NULL,
  currency    TEXT NOT NULL,
  at          INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  click_id    TEXT NOT NULL,
  code        TEXT NOT NULL,
  attributed  INTEGER NOT NULL,
  UNIQUE (source, order_id)
);
CREATE INDEX conversions_by_code ON conversions (code, at);
)sql";

// Version 6: optimize.choose's experiments (their latest declaration by a workflow) and the
// decisions it made, each with the propensity of the chosen arm (context_json keeps the arm's
// value and every arm's probability at that moment). Rewards are not stored: they are joined at
// read time from the posts, metrics, clicks and conversions of the decision's run, which
// posts_by_run serves (links are found by their link_key, "<run id>/<step id>[/<item>]"), and
// clicks_by_person counts a link's people without reading the click rows (it costs the click
// importer, not the redirects).
constexpr std::string_view kVersion6 = R"sql(
CREATE TABLE experiments (
  name         TEXT PRIMARY KEY,
  workflow     TEXT NOT NULL,
  config_json  TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE decisions (
  decision_key TEXT PRIMARY KEY,
  experiment   TEXT NOT NULL,
  arm          TEXT NOT NULL,
  propensity   REAL NOT NULL,
  run_id       TEXT NOT NULL,
  step_id      TEXT NOT NULL,
  item         INTEGER NOT NULL,
  decided_at   INTEGER NOT NULL,
  context_json TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX decisions_by_experiment ON decisions (experiment, decided_at);
CREATE INDEX decisions_by_run ON decisions (run_id);
CREATE INDEX posts_by_run ON posts (run_id, item);
CREATE INDEX clicks_by_person ON clicks (code, kind, duplicate);
)sql";

// Version 7: engagement model versions (the score stage's LibTorch model; each version's file
// lives under <state>/models, its SHA-256 recorded here) with the metrics they were judged by,
// and the training examples recorded for published clips (their inputs; the outcome is joined
// at export time from post_metrics). At most one active version per model name.
constexpr std::string_view kVersion7 = R"sql(
CREATE TABLE models (
  version      INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  file         TEXT NOT NULL,
  sha256       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('active', 'retired', 'rejected')),
  parent       INTEGER,
  register_key TEXT UNIQUE,
  created_at   INTEGER NOT NULL,
  activated_at INTEGER,
  reason       TEXT NOT NULL DEFAULT '',
  metrics_json TEXT NOT NULL
);
CREATE INDEX models_by_name ON models (name, version);
CREATE UNIQUE INDEX models_one_active ON models (name) WHERE status = 'active';

CREATE TABLE model_examples (
  post_key      TEXT PRIMARY KEY,
  features_json TEXT NOT NULL,
  recorded_at   INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

constexpr std::array kMigrations = {
    Migration{1, "runs, steps, timers, plugin state", kVersion1},
    Migration{2, "intents, seen files, artifact retention", kVersion2},
    Migration{3, "checkpoints of irreversible executions", kVersion3},
    Migration{4, "published posts and their metrics", kVersion4},
    Migration{5, "tracked links, clicks and conversions", kVersion5},
    Migration{6, "experiments and decisions of optimize.choose", kVersion6},
    Migration{7, "engagement model versions and training examples", kVersion7},
};

static_assert(kApplicationId == 1380338775, "kVersion1 spells the application id in decimal");

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

}  // namespace reelflow::store::sqlite
