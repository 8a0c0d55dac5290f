// Triggers start runs: a file arriving in a watched folder, a cron schedule, a manual request.
// Each trigger runs on the daemon's io_context (no blocking calls, no threads of its own) and
// reports events through a TriggerSink; the daemon turns an event into a run. The key makes the
// event idempotent: the store refuses a second run of the same workflow with the same key, so a
// file seen again after a restart (same path, size, mtime and content hash) never runs twice.
// Thread-safety: one thread (the io_context's).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace reelflow::triggers {

struct TriggerEvent {
  std::string workflow;
  // Becomes `trigger.*` in expressions. Watch: {"event": "file", "file": absolute path, "name",
  // "size", "mtime" (ISO 8601), "sha256"}. Schedule: {"event": "schedule", "scheduled_for"
  // (ISO 8601), "timezone"}. Manual: {"event": "manual", "file"?...}.
  nlohmann::json trigger;
  // Watch: "file:<path>:<size>:<mtime ns>:<sha256>". Schedule: "schedule:<UTC ISO minute>".
  std::string key;
};

using TriggerSink = std::function<void(TriggerEvent)>;

}  // namespace reelflow::triggers
