// misbehave: a test plugin whose step types do everything a plugin should not, one each, so the
// worker pool's tests can check that each failure costs one step and the pool carries on.
//
// plugin.hpp steps: ok, throw_hpp, allocate_hpp, cooperative, services, noisy, call.
// Raw C-ABI steps (no plugin.hpp safety net): segfault, abort, throw_raw (an exception escaping
// the callback), throw_noexcept (escaping a noexcept callback: std::terminate), hang (ignores
// cancel), allocate_raw (allocates until std::bad_alloc), allocate_malloc (uses malloc's NULL),
// garble (writes junk on the worker's
// socket), exit_early (calls _exit).
//
// misbehave.ok with an "in_process" twin (misbehave.light) flagged RF_STEP_IN_PROCESS.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <reelflow/plugin.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace json = reelflow::json;
namespace option = reelflow::option;

constexpr rf_option kOkOptions[] = {
    option::integer("sleep_ms", "0", "How long to sleep before succeeding."),
};

// Succeeds, reporting the worker's pid, after an optional sleep.
class Ok {
 public:
  rf_status run(reelflow::Run& run) {
    const auto options = json::Object::parse(run.options_json());
    long long sleep_ms = options ? options->get_int("sleep_ms").value_or(0) : 0;
    if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    run.info("pid=" + std::to_string(::getpid()));
    run.set_output(json::ObjectBuilder().add("pid", static_cast<long long>(::getpid())));
    return RF_STATUS_OK;
  }
};

class ThrowHpp {
 public:
  rf_status run(reelflow::Run&) { throw std::runtime_error("boom from plugin.hpp"); }
};

class AllocateHpp {
 public:
  rf_status run(reelflow::Run&) {
    std::vector<std::unique_ptr<char[]>> chunks;
    while (true) {
      chunks.emplace_back(new char[16u << 20]);
      std::memset(chunks.back().get(), 1, 16u << 20);
    }
  }
};

// Loops until cancelled, as a well-behaved long step should.
class Cooperative {
 public:
  rf_status run(reelflow::Run& run) {
    run.info("pid=" + std::to_string(::getpid()));
    while (!run.cancelled() && !stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop_ = false;
    return RF_STATUS_CANCELLED;
  }
  void cancel() { stop_ = true; }

 private:
  std::atomic<bool> stop_{false};
};

// Calls every host service and reports what it got.
class Services {
 public:
  rf_status run(reelflow::Run& run) {
    run.info("services: starting");
    run.progress(0.5, "half way");
    run.progress(1.0, "done");
    const auto secret = run.secret("api_key");
    const auto missing = run.secret("no_such_secret");
    const auto before = run.state_get("counter");
    const int counter = before ? std::atoi(before->c_str()) + 1 : 1;
    const bool stored = run.state_set("counter", std::to_string(counter));
    run.state_set("scratch", "x");
    const bool erased = run.state_erase("scratch");
    const bool scratch_gone = !run.state_get("scratch").has_value();
    if (secret && *secret == "fail-with-secret") {
      return run.fail("services: refusing secret " + *secret);
    }
    run.set_output(json::ObjectBuilder()
                       .add("secret", secret)
                       .add("missing_secret_found", missing.has_value())
                       .add("counter", counter)
                       .add("stored", stored)
                       .add("erased", erased && scratch_gone)
                       .add("artifact_dir", run.artifact_dir()));
    return RF_STATUS_OK;
  }
};

constexpr rf_option kCallOptions[] = {
    option::string("service", reelflow::json_string<"test.echo">, "The daemon service to ask."),
    option::object("request", "{}", "The request."),
};

// Asks the daemon for a service (rf_host.call) and reports the answer or the error.
class Call {
 public:
  rf_status run(reelflow::Run& run) {
    const auto options = json::Object::parse(run.options_json());
    const std::string service = options ? options->get_string("service").value_or("") : "";
    const json::Value* request = options ? options->find("request") : nullptr;
    std::string error;
    const auto answer = run.call(service, request != nullptr ? request->text() : "{}", &error);
    run.set_output(json::ObjectBuilder()
                       .add("answer", answer ? std::optional(json::Raw{*answer}) : std::nullopt)
                       .add("error", answer ? std::nullopt : std::optional(error)));
    return RF_STATUS_OK;
  }
};

// Prints a lot on stdout and stderr, through stdio and raw writes, then succeeds.
class Noisy {
 public:
  rf_status run(reelflow::Run& run) {
    std::string line(1023, 'n');
    line += '\n';
    for (int i = 0; i < 512; ++i) {
      std::fputs(line.c_str(), stdout);
      std::fputs(line.c_str(), stderr);
    }
    std::fflush(stdout);
    for (int i = 0; i < 64; ++i) {
      ssize_t ignored = ::write(STDOUT_FILENO, line.data(), line.size());
      ignored = ::write(STDERR_FILENO, line.data(), line.size());
      (void)ignored;
    }
    run.set_output(json::ObjectBuilder().add("noisy", true));
    return RF_STATUS_OK;
  }
};

// ---- raw C-ABI steps -------------------------------------------------------------------------

const rf_host* g_host = nullptr;
char* volatile g_sink = nullptr;

void* raw_create(const rf_host* host, const char*) {
  g_host = host;
  static int instance = 0;
  return &instance;
}
void raw_destroy(void*) {}

rf_status segfault_run(void*, rf_run*, const char*, const char*) {
  volatile int* volatile target = nullptr;
  *target = 42;
  return RF_STATUS_OK;
}

rf_status abort_run(void*, rf_run*, const char*, const char*) { std::abort(); }

rf_status throw_raw_run(void*, rf_run*, const char*, const char*) {
  throw std::runtime_error("boom from the raw ABI");
}

rf_status throw_noexcept_run(void*, rf_run*, const char*, const char*) noexcept {
  // An exception leaving a noexcept function: std::terminate.
  [] { throw std::logic_error("boom through noexcept"); }();
  return RF_STATUS_OK;
}

rf_status hang_run(void*, rf_run* run, const char*, const char*) {
  g_host->log(run, RF_LOG_INFO, ("pid=" + std::to_string(::getpid())).c_str());
  while (true) ::pause();
}

rf_status allocate_raw_run(void*, rf_run*, const char*, const char*) {
  std::vector<std::unique_ptr<char[]>> chunks;
  while (true) {
    chunks.emplace_back(new char[16u << 20]);
    std::memset(chunks.back().get(), 1, 16u << 20);
  }
}

// The C way to run out of memory: malloc until it returns NULL, linger near the limit (long enough
// for the pool's memory sampling to see it), then use the NULL pointer.
rf_status allocate_malloc_run(void*, rf_run*, const char*, const char*) {
  constexpr std::size_t kChunk = 16u << 20;
  std::vector<char*> chunks;  // kept, so the compiler cannot drop the allocations
  char* chunk = nullptr;
  while ((chunk = static_cast<char*>(std::malloc(kChunk))) != nullptr) {
    std::memset(chunk, 1, kChunk);
    chunks.push_back(chunk);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  g_sink = chunk;
  g_sink[chunks.size() % 2] = 1;  // chunk is NULL here
  for (char* kept : chunks) std::free(kept);
  return RF_STATUS_OK;
}

// Writes an impossible frame header on every socket descriptor: the daemon must call it a
// protocol error.
rf_status garble_run(void*, rf_run*, const char*, const char*) {
  const unsigned char junk[] = {0x7f, 0xff, 0xff, 0xff, '{', '}'};
  for (int fd = 3; fd < 256; ++fd) {
    struct stat info {};
    if (::fstat(fd, &info) == 0 && S_ISSOCK(info.st_mode)) {
      ssize_t ignored = ::send(fd, junk, sizeof junk, MSG_NOSIGNAL);
      (void)ignored;
    }
  }
  ::pause();
  return RF_STATUS_OK;
}

rf_status exit_early_run(void*, rf_run*, const char*, const char*) { ::_exit(3); }

constexpr rf_step_type raw(const char* name,
                           rf_status (*run)(void*, rf_run*, const char*, const char*)) {
  rf_step_type type{};
  type.struct_size = sizeof(rf_step_type);
  type.name = name;
  type.summary = "misbehaves";
  type.flags = RF_STEP_RERUN_SAFE;
  type.create = raw_create;
  type.run = run;
  type.destroy = raw_destroy;
  return type;
}

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<Ok>({.name = "misbehave.ok", .summary = "succeeds", .flags = 0},
                            kOkOptions),
    reelflow::step_type<Ok>(
        {.name = "misbehave.light", .summary = "succeeds in process", .flags = RF_STEP_IN_PROCESS},
        kOkOptions),
    reelflow::step_type<ThrowHpp>({.name = "misbehave.throw_hpp", .summary = "throws"}),
    reelflow::step_type<AllocateHpp>({.name = "misbehave.allocate_hpp", .summary = "allocates"}),
    reelflow::step_type<Cooperative>({.name = "misbehave.cooperative", .summary = "loops"}),
    reelflow::step_type<Services>({.name = "misbehave.services", .summary = "host services"}),
    reelflow::step_type<Noisy>({.name = "misbehave.noisy", .summary = "prints"}),
    reelflow::step_type<Call>({.name = "misbehave.call", .summary = "asks the daemon"},
                              kCallOptions),
    raw("misbehave.segfault", segfault_run),
    raw("misbehave.abort", abort_run),
    raw("misbehave.throw_raw", throw_raw_run),
    raw("misbehave.throw_noexcept", throw_noexcept_run),
    raw("misbehave.hang", hang_run),
    raw("misbehave.allocate_raw", allocate_raw_run),
    raw("misbehave.allocate_malloc", allocate_malloc_run),
    raw("misbehave.garble", garble_run),
    raw("misbehave.exit_early", exit_early_run),
};

constexpr rf_plugin kPlugin = reelflow::plugin(
    {.name = "misbehave", .version = "1.0.0", .license = "Apache-2.0", .summary = "misbehaves"},
    kStepTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
