// A plugin for the daemon's end-to-end tests: steps whose side effects land in files the test
// reads back, so "every run completes exactly once and no side effect happens twice" can be
// checked across kill -9 and restarts.
//   dtest.effect   rerun-safe: sleeps, then appends "<run> <step> <item>" to `log`
//   dtest.once     not rerun-safe: the same, but a restart must not run it again blindly
//   dtest.publish  irreversible, with reconcile: appends its idempotency key to `platform` (the
//                  fake platform), then sleeps `after_millis` (the gap between "published" and
//                  "recorded"); reconcile looks the key up on the platform
//   dtest.crash    dereferences a null pointer
// and a misbehaving trigger type, dtest.misbehave (mode fail_start: start fails; mode garbage:
// emits events the daemon must refuse, then one good event, key misbehave:1, each time it starts).
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <reelflow/plugin.hpp>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

namespace json = reelflow::json;
namespace option = reelflow::option;

constexpr rf_option kEffectOptions[] = {
    option::path("log", reelflow::no_default, "File the effect is appended to.").required(),
    option::integer("millis", "0", "How long the step works before its effect."),
};
constexpr rf_option kPublishOptions[] = {
    option::path("platform", reelflow::no_default, "The fake platform's post list.").required(),
    option::integer("millis", "0", "How long the upload takes."),
    option::integer("after_millis", "0", "Gap between the post and returning."),
};

// Sleeps in slices; false when the run was cancelled meanwhile.
bool work(reelflow::Run& run, long millis) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(millis);
  while (std::chrono::steady_clock::now() < end) {
    if (run.cancelled()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Appends one line and makes it durable before returning, like a platform acknowledging a post.
void append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << line << '\n';
  out.flush();
  out.close();
  if (FILE* file = std::fopen(path.c_str(), "a")) {
    ::fsync(fileno(file));
    std::fclose(file);
  }
}

std::string execution_name(const json::Object& context) {
  std::string name = context.get_string("run_id").value_or("?") + " " +
                     context.get_string("step_id").value_or("?");
  if (auto item = context.get_int("item_index")) name += " " + std::to_string(*item);
  return name;
}

class Effect {
 public:
  rf_status run(reelflow::Run& run) {
    auto options = json::Object::parse(run.options_json());
    auto context = json::Object::parse(run.context_json());
    if (!options || !context) return run.fail("dtest: bad JSON from the host");
    if (!work(run, options->get_int("millis").value_or(0))) return RF_STATUS_CANCELLED;
    append_line(*options->get_string("log"), execution_name(*context));
    run.set_output(json::ObjectBuilder().add("ok", true));
    return RF_STATUS_OK;
  }
};

class Publish {
 public:
  rf_status run(reelflow::Run& run) {
    auto options = json::Object::parse(run.options_json());
    auto context = json::Object::parse(run.context_json());
    if (!options || !context) return run.fail("dtest: bad JSON from the host");
    auto key = context->get_string("idempotency_key");
    if (!key) return run.fail("dtest.publish: no idempotency_key in the context");
    if (!work(run, options->get_int("millis").value_or(0))) return RF_STATUS_CANCELLED;
    append_line(*options->get_string("platform"), *key);
    work(run, options->get_int("after_millis").value_or(0));
    run.set_output(json::ObjectBuilder().add("post_id", *key));
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view intent_json) {
    auto options = json::Object::parse(run.options_json());
    auto intent = json::Object::parse(intent_json);
    if (!options || !intent) return run.fail("dtest: bad JSON from the host");
    auto key = intent->get_string("idempotency_key");
    if (!key) return run.fail("dtest.publish: the intent has no idempotency_key");
    std::ifstream in(*options->get_string("platform"));
    std::string line;
    while (std::getline(in, line)) {
      if (line == *key) {
        run.set_output(json::ObjectBuilder().add("post_id", *key).add("reconciled", true));
        return RF_STATUS_OK;
      }
    }
    return RF_STATUS_RETRY;  // the platform never got it: safe to post
  }
};

class Crash {
 public:
  rf_status run(reelflow::Run&) {
    std::raise(SIGSEGV);
    return RF_STATUS_ERROR;
  }
};

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<Effect>(
        {.name = "dtest.effect", .summary = "Rerun-safe effect", .flags = RF_STEP_RERUN_SAFE},
        kEffectOptions),
    reelflow::step_type<Effect>({.name = "dtest.once", .summary = "Effect not safe to re-run",
                                 .flags = 0},
                                kEffectOptions),
    reelflow::step_type<Publish>({.name = "dtest.publish",
                                  .summary = "Irreversible post to a fake platform",
                                  .flags = RF_STEP_IRREVERSIBLE},
                                 kPublishOptions),
    reelflow::step_type<Crash>({.name = "dtest.crash", .summary = "Segfaults", .flags = 0}),
};

class Misbehave {
 public:
  Misbehave(const reelflow::TriggerHost& host, std::string_view, std::string_view options_json)
      : host_(host) {
    auto options = json::Object::parse(options_json);
    if (options && options->get_string("mode") == "fail_start") {
      throw std::runtime_error("refusing to start, as the test asked");
    }
  }
  std::int64_t next_timeout() const { return done_ ? -1 : 0; }
  void on_timer() {
    const rf_trigger_host* raw = host_.raw();
    raw->emit(raw, "not json", "garbage:1");
    raw->emit(raw, "[1, 2]", "garbage:2");
    raw->emit(raw, "{}", "manual:forged");
    raw->emit(raw, "{}", "");
    raw->emit(raw, nullptr, "garbage:3");
    host_.emit(json::ObjectBuilder().add("event", "misbehave"), "misbehave:1");
    done_ = true;
  }

 private:
  reelflow::TriggerHost host_;
  bool done_ = false;
};

constexpr const char* kMisbehaveModes[] = {"fail_start", "garbage", nullptr};
constexpr rf_option kMisbehaveOptions[] = {
    option::enumeration("mode", kMisbehaveModes, reelflow::no_default, "How to misbehave.")
        .required(),
};

constexpr rf_trigger_type kTriggerTypes[] = {
    reelflow::trigger_type<Misbehave>({.name = "dtest.misbehave", .summary = "Misbehaves"},
                                      kMisbehaveOptions),
};

constexpr rf_plugin kPlugin = reelflow::plugin(
    {.name = "dtest", .version = "1.0.0", .license = "Apache-2.0", .summary = "Daemon tests"},
    kStepTypes, kTriggerTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
