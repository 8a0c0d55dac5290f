// A plugin for the engine's tests: steps that echo, fail a number of times, run until cancelled,
// and report progress, so retry, timeout, for_each, if and continue_on_error can be driven through
// the real plugin ABI.
#include <reelflow/plugin.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

namespace {

// Minimal helpers: the tests pass small flat JSON, so a substring search is enough here.
long json_int(const char* json, const char* key, long fallback) {
  std::string text(json);
  std::string needle = std::string("\"") + key + "\":";
  auto at = text.find(needle);
  if (at == std::string::npos) return fallback;
  return std::stol(text.substr(at + needle.size()));
}

const rf_host* g_host = nullptr;

void* create(const rf_host* host, const char*) {
  g_host = host;
  static int instance = 0;
  return &instance;
}
void destroy(void*) {}

// echo: outputs {"options": <options>, "context": <context>}
rf_status echo_run(void*, rf_run* run, const char* options, const char* context) {
  std::string out = std::string("{\"options\":") + options + ",\"context\":" + context + "}";
  g_host->set_output(run, out.c_str());
  return RF_STATUS_OK;
}

// flaky: fails until the attempt number reaches succeed_on (0 = never succeeds).
rf_status flaky_run(void*, rf_run* run, const char* options, const char* context) {
  long succeed_on = json_int(options, "succeed_on", 0);
  long attempt = json_int(context, "attempt", 1);
  if (succeed_on != 0 && attempt >= succeed_on) {
    std::string out = "{\"attempt\":" + std::to_string(attempt) + "}";
    g_host->set_output(run, out.c_str());
    return RF_STATUS_OK;
  }
  std::string message = "flaky failure on attempt " + std::to_string(attempt);
  g_host->fail(run, message.c_str());
  return RF_STATUS_RETRY;
}

// slow: runs for `seconds` (reporting progress), stopping early when cancelled.
rf_status slow_run(void*, rf_run* run, const char* options, const char*) {
  long millis = json_int(options, "millis", 10000);
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(millis)) {
    if (g_host->cancelled(run)) return RF_STATUS_CANCELLED;
    auto done = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
    g_host->progress(run, done.count() / static_cast<double>(millis), "working");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  g_host->log(run, RF_LOG_INFO, "slept");
  g_host->set_output(run, "{\"done\":true}");
  return RF_STATUS_OK;
}

// secret_log: logs the secret named by the option, to prove the host masks it.
rf_status secret_log_run(void*, rf_run* run, const char*, const char*) {
  char value[256];
  long length = g_host->secret(run, "token", value, sizeof value);
  if (length < 0) {
    g_host->fail(run, "no secret 'token'");
    return RF_STATUS_ERROR;
  }
  std::string message = std::string("using token ") + value;
  g_host->log(run, RF_LOG_INFO, message.c_str());
  g_host->fail(run, message.c_str());
  return RF_STATUS_ERROR;
}

// call: asks the daemon service "test.links" (rf_host.call) with its options; outputs
// {"answer": <answer>}, or fails with the service's error.
rf_status call_run(void*, rf_run* run, const char* options, const char*) {
  std::string buffer(4096, '\0');
  long length = g_host->call(run, "test.links", options, buffer.data(), buffer.size());
  if (length < 0) {
    std::string message = "call failed: " + std::string(buffer.c_str());
    g_host->fail(run, message.c_str());
    return RF_STATUS_ERROR;
  }
  if (static_cast<std::size_t>(length) >= buffer.size()) {
    g_host->fail(run, "answer too large for this test plugin");
    return RF_STATUS_ERROR;
  }
  std::string out = "{\"answer\":" + std::string(buffer.c_str()) + "}";
  g_host->set_output(run, out.c_str());
  return RF_STATUS_OK;
}

const rf_option kEchoOptions[] = {
    {sizeof(rf_option), "text", RF_OPT_STRING, "\"default text\"", 0, 0, 0, 0, 0, nullptr,
     "Any text.", RF_OPT_STRING},
    {sizeof(rf_option), "number", RF_OPT_INT, nullptr, 0, 0, 0, 0, 0, nullptr, "A number.",
     RF_OPT_STRING},
    {sizeof(rf_option), "wait", RF_OPT_DURATION, "\"1m\"", 0, 0, 0, 0, 0, nullptr, "A duration.",
     RF_OPT_STRING},
};
const rf_option kFlakyOptions[] = {
    {sizeof(rf_option), "succeed_on", RF_OPT_INT, "0", 0, 1, 0, 0, 0, nullptr,
     "Attempt that succeeds; 0 never.", RF_OPT_STRING},
};
const rf_option kSlowOptions[] = {
    {sizeof(rf_option), "millis", RF_OPT_INT, "10000", 0, 1, 0, 0, 0, nullptr, "How long.",
     RF_OPT_STRING},
};

const rf_step_type kSteps[] = {
    {sizeof(rf_step_type), "enginetest.echo", "Echo options and context", RF_STEP_RERUN_SAFE,
     kEchoOptions, 3, create, echo_run, nullptr, destroy, nullptr},
    {sizeof(rf_step_type), "enginetest.flaky", "Fail until an attempt", RF_STEP_RERUN_SAFE,
     kFlakyOptions, 1, create, flaky_run, nullptr, destroy, nullptr},
    {sizeof(rf_step_type), "enginetest.slow", "Run until done or cancelled", RF_STEP_RERUN_SAFE,
     kSlowOptions, 1, create, slow_run, nullptr, destroy, nullptr},
    {sizeof(rf_step_type), "enginetest.secret_log", "Log a secret", RF_STEP_RERUN_SAFE, nullptr, 0,
     create, secret_log_run, nullptr, destroy, nullptr},
    {sizeof(rf_step_type), "enginetest.call", "Ask a daemon service", RF_STEP_RERUN_SAFE,
     kEchoOptions, 3, create, call_run, nullptr, destroy, nullptr},
};

const rf_plugin kPlugin = {sizeof(rf_plugin),
                           RF_ABI_MAJOR,
                           RF_ABI_MINOR,
                           "enginetest",
                           "1.0.0",
                           "Apache-2.0",
                           "Steps for the engine's tests",
                           kSteps,
                           sizeof(kSteps) / sizeof(kSteps[0]),
                           nullptr,
                           0,
                           nullptr,
                           0};

}  // namespace

extern "C" RF_EXPORT const rf_plugin* reelflow_plugin_entry(uint16_t, uint16_t) { return &kPlugin; }
