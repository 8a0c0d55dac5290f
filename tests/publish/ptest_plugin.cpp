// ptest.publish: a publisher whose "platform" is a directory of files, scripted by its options,
// for the tests of the host's publishing driver and of the daemon's exactly-once guarantee under
// kill -9. What the platform holds (account option `dir`):
//   sessions/<session id>   the number of chunks the platform has acknowledged
//   chunks.log              "<session id> <chunk index>" per chunk received
//   posts.log               "<post id> <idempotency key>" per post created: the thing that must
//                           never happen twice
//   starts.log              "<session id>" per start
//   <stage>.reached         written when a stage begins (finalize.reached after the post exists),
//                           so a test can kill the daemon at a known point
//   tokens.json             when present, the tokens the platform accepts: {"access": A,
//                           "refresh": R}; every call needs access_token A (else RECONNECT), and
//                           refresh exchanges R for a new pair (rotating both)
#include <reelflow/plugin.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

void sleep_ms(int millis) { std::this_thread::sleep_for(std::chrono::milliseconds(millis)); }

void append(const fs::path& file, const std::string& line) {
  std::ofstream out(file, std::ios::app);
  out << line << "\n";
  out.flush();
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The number of lines of `file` that start with `prefix`.
int count_lines(const fs::path& file, const std::string& prefix) {
  std::ifstream in(file);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) ++count;
  }
  return count;
}

// A counter kept in a file (how many times something was attempted, across processes).
int bump(const fs::path& file) {
  int value = 0;
  {
    std::ifstream in(file);
    in >> value;
  }
  std::ofstream(file, std::ios::trunc) << value + 1;
  return value + 1;
}

struct Post {
  json raw;
  fs::path dir;
  json options;
  std::string key;

  explicit Post(std::string_view text)
      : raw(json::parse(text)),
        dir(raw["account"]["options"].value("dir", "")),
        options(raw.value("options", json::object())),
        key(raw.value("idempotency_key", "")) {}
  int option(const char* name, int fallback = 0) const { return options.value(name, fallback); }
  void reached(const std::string& stage) const { std::ofstream(dir / (stage + ".reached")) << key; }
};

// nullopt when the post's access token is accepted (or the platform checks none).
std::optional<rf_status> token_refused(reelflow::Run& run, const Post& post) {
  const fs::path file = post.dir / "tokens.json";
  if (!fs::exists(file)) return std::nullopt;
  const json tokens = json::parse(read_text(file));
  const std::string given = post.raw["account"]["credentials"].value("access_token", "");
  if (given == tokens.value("access", "")) return std::nullopt;
  append(post.dir / "refused.log", given);
  return run.fail_with(RF_STATUS_RECONNECT, "ptest: access token " + given + " rejected");
}

class PTest {
 public:
  rf_status refresh(reelflow::Run& run, std::string_view text) {
    const json account = json::parse(text);
    const fs::path dir = account["options"].value("dir", "");
    const fs::path file = dir / "tokens.json";
    json tokens = json::parse(read_text(file));
    const std::string given = account["credentials"].value("refresh_token", "");
    append(dir / "refresh.log", given);
    if (given != tokens.value("refresh", "")) {
      return run.fail_with(RF_STATUS_RECONNECT, "ptest: refresh token " + given + " revoked");
    }
    const int n = count_lines(dir / "refresh.log", "");
    tokens["access"] = "access-" + std::to_string(n);
    tokens["refresh"] = "refresh-" + std::to_string(n);
    std::ofstream(file, std::ios::trunc) << tokens.dump();
    run.set_output(json{{"credentials",
                         {{"access_token", tokens["access"]},
                          {"refresh_token", tokens["refresh"]},
                          {"expires_at", "2999-01-01T00:00:00Z"}}}}
                       .dump());
    return RF_STATUS_OK;
  }

  rf_status prepare(reelflow::Run& run, std::string_view text) {
    Post post(text);
    post.reached("prepare");
    std::ofstream(post.dir / "prepare.video.json") << post.raw["video"].dump();
    if (auto refused = token_refused(run, post)) return *refused;
    if (post.raw.value("title", "").size() > 20) {
      return run.fail("ptest.publish: title is longer than 20 characters");
    }
    return RF_STATUS_OK;
  }

  rf_status start(reelflow::Run& run, std::string_view text) {
    Post post(text);
    post.reached("start");
    if (auto refused = token_refused(run, post)) return *refused;
    if (bump(post.dir / "start.limits") <= post.option("quota_times")) {
      // A daily quota, reset in quota_seconds.
      const auto reset = std::chrono::system_clock::now() +
                         std::chrono::seconds(post.option("quota_seconds", 2));
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                               reset.time_since_epoch()).count();
      char iso[32];
      const std::time_t t = static_cast<std::time_t>(seconds);
      std::tm tm{};
      gmtime_r(&t, &tm);
      std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
      run.set_output(json{{"not_before", iso}}.dump());
      return run.fail_with(RF_STATUS_LATER, "ptest: the daily upload quota is used up");
    }
    fs::create_directories(post.dir / "sessions");
    if (bump(post.dir / "start.attempts") <= post.option("start_retry_times")) {
      run.set_output(R"({"retry_after": 0.05})");
      return run.fail_with(RF_STATUS_RETRY, "ptest: start answered 503");
    }
    const std::string session_id = "s" + std::to_string(count_lines(post.dir / "starts.log", "") + 1);
    append(post.dir / "starts.log", session_id);
    std::ofstream(post.dir / "sessions" / session_id) << 0;
    run.set_output(json{{"session_id", session_id}, {"acked", 0}}.dump());
    return RF_STATUS_OK;
  }

  rf_status upload(reelflow::Run& run, std::string_view text, std::string_view session_text) {
    Post post(text);
    post.reached("upload");
    if (auto refused = token_refused(run, post)) return *refused;
    json session = json::parse(session_text);
    const std::string session_id = session.value("session_id", "");
    const fs::path session_file = post.dir / "sessions" / session_id;
    if (!fs::exists(session_file)) return run.fail("ptest: session " + session_id + " expired");
    // Ask the platform how far it got, as a resumable protocol does.
    int acked = std::stoi(read_text(session_file));
    const int chunks = post.option("chunks", 4);
    for (int chunk = acked; chunk < chunks; ++chunk) {
      if (run.cancelled()) return RF_STATUS_CANCELLED;
      sleep_ms(post.option("chunk_millis"));
      if (chunk == 1 && bump(post.dir / "upload.failures") <= post.option("fail_upload_times")) {
        run.set_output(R"({"retry_after": 0.05})");  // a platform's Retry-After, shortened
        return run.fail_with(RF_STATUS_RETRY, "ptest: connection reset during chunk 2");
      }
      append(post.dir / "chunks.log", session_id + " " + std::to_string(chunk));
      std::ofstream(session_file, std::ios::trunc) << chunk + 1;
      session["acked"] = chunk + 1;
      if (!run.checkpoint(session.dump())) return run.fail("ptest: checkpoint refused");
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status finalize(reelflow::Run& run, std::string_view text, std::string_view session_text) {
    Post post(text);
    json session = json::parse(session_text);
    const std::string session_id = session.value("session_id", "");
    const int chunks = post.option("chunks", 4);
    if (std::stoi(read_text(post.dir / "sessions" / session_id)) != chunks) {
      return run.fail("ptest: finalize before every chunk arrived");
    }
    const std::string post_id = "p-" + session_id;
    append(post.dir / "posts.log", post_id + " " + post.key);
    post.reached("finalize");  // the post exists; its id is not recorded yet
    sleep_ms(post.option("finalize_millis"));
    if (post.option("finalize_retry")) {
      // The call took effect but its answer was lost.
      run.set_output(R"({"retry_after": 0.05})");
      return run.fail_with(RF_STATUS_RETRY, "ptest: the connection dropped after the request");
    }
    session["post_id"] = post_id;
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status poll(reelflow::Run& run, std::string_view text, std::string_view session_text) {
    Post post(text);
    json session = json::parse(session_text);
    if (post.options.value("reject", false)) {
      session["state"] = "failed";
      session["error"] = "the video violates the (pretend) community guidelines";
    } else if (bump(post.dir / "poll.count") <= post.option("poll_processing")) {
      session["state"] = "processing";
      session["retry_after"] = 0.05;
    } else {
      session["state"] = "published";
      session["url"] = "https://ptest.invalid/" + session.value("post_id", "");
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  // Counters that grow with every pull: views 100 per pull, and so on.
  rf_status metrics(reelflow::Run& run, std::string_view text, std::string_view session_text) {
    Post post(text);
    const json session = json::parse(session_text);
    if (auto refused = token_refused(run, post)) return *refused;
    const int pulls = bump(post.dir / "metrics.count");
    append(post.dir / "metrics.log", session.value("post_id", "") + " " + std::to_string(pulls));
    run.set_output(json{{"views", 100 * pulls}, {"likes", 10 * pulls}, {"comments", pulls},
                        {"shares", 0}}
                       .dump());
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view text, std::string_view session_text) {
    Post post(text);
    post.reached("reconcile");
    json answer = json::parse(session_text);
    std::ifstream posts(post.dir / "posts.log");
    std::string id, key;
    while (posts >> id >> key) {
      if (key == post.key) {
        answer["found"] = "post";
        answer["post_id"] = id;
        run.set_output(answer.dump());
        return RF_STATUS_OK;
      }
    }
    const std::string session_id = answer.value("session_id", "");
    answer["found"] = !session_id.empty() && fs::exists(post.dir / "sessions" / session_id)
                          ? "session"
                          : "nothing";
    run.set_output(answer.dump());
    return RF_STATUS_OK;
  }
};

constexpr rf_option kOptions[] = {
    reelflow::option::integer("chunks", "4", "Chunks in the upload."),
    reelflow::option::integer("chunk_millis", "0", "Time per chunk."),
    reelflow::option::integer("finalize_millis", "0", "Sleep after the post exists."),
    reelflow::option::boolean("finalize_retry", "false", "finalize answers RETRY after posting."),
    reelflow::option::integer("fail_upload_times", "0", "RETRY at chunk 2 this many times."),
    reelflow::option::integer("start_retry_times", "0", "start answers RETRY this many times."),
    reelflow::option::integer("poll_processing", "0", "Polls answering processing."),
    reelflow::option::boolean("reject", "false", "poll answers failed."),
    reelflow::option::integer("quota_times", "0", "start answers LATER this many times."),
    reelflow::option::integer("quota_seconds", "2", "When the quota resets."),
};

constexpr rf_option kAccountOptions[] = {
    reelflow::option::path("dir", reelflow::no_default, "The pretend platform's directory.")
        .required(),
};

constexpr rf_publisher_type kPublishers[] = {
    reelflow::publisher_type<PTest>(
        {.name = "ptest.publish", .platform = "ptest", .summary = "A scripted test publisher"},
        kOptions, kAccountOptions),
    // The same, on a platform that declares a quota (2 posts in any 6 s) and posting windows.
    reelflow::publisher_type<PTest>(
        {.name = "ptest.limited",
         .platform = "ptest",
         .summary = "A scripted test publisher with a quota",
         .scheduling = "{\"quotas\": [{\"name\": \"uploads\", \"limit\": 2, \"per\": \"6s\"}], "
                       "\"windows\": [\"Mon 03:00-04:00\"], \"windows_note\": \"a test\"}"},
        kOptions, kAccountOptions),
};

constexpr rf_plugin kPlugin = reelflow::plugin(
    {.name = "ptest", .version = "1.0.0", .license = "Apache-2.0", .summary = "Test publisher"},
    kPublishers);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
