// Triggers start runs: a trigger plugin (rf_trigger_type, e.g. the watch plugin's watch.folder,
// driven by PluginTrigger), the built-in cron schedule, a manual request. Each trigger runs on the
// daemon's io_context (no blocking calls, no threads of its own) and reports events through a
// TriggerSink; the daemon turns an event into a run. The key makes the event idempotent: the
// store refuses a second run of the same workflow with the same key, so a file seen again after a
// restart (same path, size, mtime and content hash) never runs twice.
// Thread-safety: one thread (the io_context's).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace reelflow::triggers {

struct TriggerEvent {
  std::string workflow;
  // Becomes `trigger.*` in expressions. A plugin's: the JSON object it emitted, e.g. watch.folder's
  // {"event": "file", "file": absolute path, "name", "size", "mtime" (ISO 8601), "sha256"}.
  // Schedule: {"event": "schedule", "scheduled_for" (ISO 8601), "timezone"}. Manual:
  // {"event": "manual", "file"?...}.
  nlohmann::json trigger;
  // A plugin's: the key it emitted (watch.folder: "file:<path>:<size>:<mtime ns>:<sha256>").
  // Schedule: "schedule:<UTC ISO minute>". Manual: "manual:<random>".
  std::string key;
};

using TriggerSink = std::function<void(TriggerEvent)>;

}  // namespace reelflow::triggers
