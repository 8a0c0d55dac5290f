// A trigger type from a plugin (rf_trigger_type, ABI 1.1) started for one workflow and driven on
// the daemon's io_context: the host side of the contract in plugin.h.
//
// Contract:
//  - start calls the plugin's start with the normalised options (see normalize_trigger_options)
//    and the plugin's daemon-level config; NULL (or an exception thrown through the C ABI) fails
//    with a message naming the trigger type and the workflow, after the plugin's own log lines.
//  - The plugin's fd is watched for readability with the reactor (no thread); on_readable is
//    called while it is readable, each call a separate handler so other work interleaves. A
//    descriptor that stays readable round after round (a plugin that does not consume it) is
//    throttled to 100 calls a second, with one warning, instead of spinning.
//  - next_timeout is asked after start and after every callback; the timer is re-armed to it, or
//    cancelled when negative, so an idle trigger costs no wake-ups.
//  - emit is checked before anything reaches the engine: only from the loop thread inside one of
//    the instance's callbacks, a JSON object of at most 1 MiB, a non-empty key of at most 4096
//    bytes outside the built-in "manual:" and "schedule:" namespaces. A refusal returns -1 to
//    the plugin and is logged (the first 10, then every 1000th), never a crash.
//  - stop deregisters the descriptor (the plugin owns and closes it), cancels the timer and calls
//    the plugin's stop exactly once. Idempotent; the destructor stops.
//
// What cannot be defended in-process: a trigger that crashes, blocks or corrupts memory takes the
// daemon with it, which is why only trusted, light plugins provide trigger types.
//
// Thread-safety: one thread, the io_context's (the same one that called start).
#pragma once

// Boost 1.74 Asio under GCC 12 in C++20 mode needs <utility> first.
#include <boost/asio/io_context.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/log.hpp"
#include "common/result.hpp"
#include "plugin_host/registry.hpp"
#include "triggers/trigger.hpp"

namespace reelflow::triggers {

class PluginTrigger {
 public:
  // `log` and `type` (owned by a Registry) must outlive the trigger.
  static Result<PluginTrigger> start(boost::asio::io_context& io, const Logger& log,
                                     std::string workflow, const plugin_host::TriggerTypeInfo& type,
                                     const nlohmann::json& config, const nlohmann::json& options,
                                     TriggerSink sink);

  PluginTrigger(PluginTrigger&&) noexcept;
  PluginTrigger& operator=(PluginTrigger&&) noexcept;
  ~PluginTrigger();  // stops

  // Ends the instance; no event is emitted afterwards. Idempotent.
  void stop();

  class State;

 private:
  explicit PluginTrigger(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace reelflow::triggers
