// Backend-independent parts of the store interface: state names and the database's place.
#include "store/store.hpp"

#include <algorithm>

namespace reelflow::store {
namespace {

constexpr std::array<std::string_view, 6> kRunStateNames = {"queued",    "running", "waiting",
                                                            "succeeded", "failed",  "cancelled"};
constexpr std::array<std::string_view, 7> kStepStateNames = {
    "pending", "running", "waiting", "succeeded", "failed", "cancelled", "skipped"};
constexpr std::array<std::string_view, 3> kTimerStateNames = {"pending", "fired", "cancelled"};

template <typename Enum, std::size_t N>
Result<Enum> parse_state(const std::array<std::string_view, N>& names, std::string_view text,
                         std::string_view what) {
  const auto found = std::find(names.begin(), names.end(), text);
  if (found == names.end()) {
    return fail("unknown " + std::string(what) + " state '" + std::string(text) + "'");
  }
  return static_cast<Enum>(found - names.begin());
}

}  // namespace

std::string_view to_string(RunState state) {
  return kRunStateNames.at(static_cast<std::size_t>(state));
}
std::string_view to_string(StepState state) {
  return kStepStateNames.at(static_cast<std::size_t>(state));
}
std::string_view to_string(TimerState state) {
  return kTimerStateNames.at(static_cast<std::size_t>(state));
}

Result<RunState> parse_run_state(std::string_view text) {
  return parse_state<RunState>(kRunStateNames, text, "run");
}
Result<StepState> parse_step_state(std::string_view text) {
  return parse_state<StepState>(kStepStateNames, text, "step");
}
Result<TimerState> parse_timer_state(std::string_view text) {
  return parse_state<TimerState>(kTimerStateNames, text, "timer");
}

bool is_finished(RunState state) {
  return state == RunState::succeeded || state == RunState::failed || state == RunState::cancelled;
}

bool is_finished(StepState state) {
  return state == StepState::succeeded || state == StepState::failed ||
         state == StepState::cancelled || state == StepState::skipped;
}

std::filesystem::path database_path(const std::filesystem::path& state_dir) {
  return state_dir / "reelflow.db";
}

}  // namespace reelflow::store
