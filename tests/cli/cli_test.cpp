// The `reelflow` executable as a user runs it: a real process, the real built-in plugin directory,
// the repository's workflows, files on disk.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("reelflow-cli-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result reelflow(const std::vector<std::string>& args) {
    std::string command = quote(REELFLOW_BIN);
    for (const auto& arg : args) command += " " + quote(arg);
    command += " >" + quote((dir_ / "stdout").string()) + " 2>" + quote((dir_ / "stderr").string()) +
               " </dev/null";
    Result result;
    int raw = std::system(command.c_str());
    result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    result.out = read_file(dir_ / "stdout");
    result.err = read_file(dir_ / "stderr");
    return result;
  }

  fs::path write(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  fs::path dir_;
};

TEST_F(CliTest, NoArgumentsShowsHelpAndFails) {
  auto result = reelflow({});
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.err.find("Usage: reelflow"), std::string::npos);
}

TEST_F(CliTest, HelpListsEveryCommand) {
  auto result = reelflow({"--help"});
  EXPECT_EQ(result.status, 0);
  for (const char* command : {"validate", "schema", "plugins", "run", "optimize"}) {
    EXPECT_NE(result.out.find(command), std::string::npos) << command;
    auto own = reelflow({command, "--help"});
    EXPECT_EQ(own.status, 0) << command;
    EXPECT_NE(own.out.find(std::string("Usage: reelflow ") + command), std::string::npos)
        << own.out;
    auto via_help = reelflow({"help", command});
    EXPECT_EQ(via_help.out, own.out);
  }
}

TEST_F(CliTest, UnknownCommandAndOptionAreUsageErrors) {
  auto unknown = reelflow({"frobnicate"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("no command 'frobnicate'"), std::string::npos);
  auto bad_option = reelflow({"plugins", "--colour"});
  EXPECT_EQ(bad_option.status, 2);
  EXPECT_NE(bad_option.err.find("unknown option --colour"), std::string::npos);
}

TEST_F(CliTest, EveryExampleWorkflowValidates) {
  std::vector<std::string> args = {"validate"};
  for (const auto& entry : fs::directory_iterator(REELFLOW_SOURCE_DIR "/workflows")) {
    if (entry.path().extension() == ".yaml") args.push_back(entry.path().string());
  }
  ASSERT_GT(args.size(), 1u);
  auto result = reelflow(args);
  EXPECT_EQ(result.status, 0) << result.out << result.err;
  EXPECT_EQ(result.err, "");
}

TEST_F(CliTest, ValidateReportsFileLineAndColumn) {
  auto file = write("bad.yaml",
                    "name: bad\non:\n  manual: {}\nsteps:\n  - id: s\n    uses: hello.stamp\n"
                    "    wiht:\n      greeting: hi\n  - id: t\n    uses: hello.stmp\n");
  auto result = reelflow({"validate", file.string()});
  EXPECT_EQ(result.status, 3);
  EXPECT_NE(result.out.find(file.string() + ":7:5: error: unknown key 'wiht'"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find(file.string() + ":10:11: error: unknown step type 'hello.stmp'"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.err.find("2 problems in 1 file"), std::string::npos) << result.err;

  auto as_json = reelflow({"validate", "--json", file.string()});
  EXPECT_EQ(as_json.status, 3);
  auto report = json::parse(as_json.out);
  EXPECT_EQ(report["errors"], 2);
  EXPECT_EQ(report["files"][0]["ok"], false);
  EXPECT_EQ(report["files"][0]["diagnostics"][0]["line"], 7);
  EXPECT_EQ(report["files"][0]["diagnostics"][0]["column"], 5);
}

TEST_F(CliTest, PluginsListsHelloWithItsOptions) {
  auto text = reelflow({"plugins"});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("hello.stamp"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("greeting"), std::string::npos) << text.out;

  auto result = reelflow({"plugins", "--json"});
  ASSERT_EQ(result.status, 0) << result.err;
  auto listing = json::parse(result.out);
  bool found = false;
  for (const auto& plugin : listing["plugins"]) {
    for (const auto& step_type : plugin["step_types"]) {
      if (step_type["name"] != "hello.stamp") continue;
      found = true;
      bool has_greeting = false;
      for (const auto& option : step_type["options"]) {
        if (option["name"] == "greeting") {
          has_greeting = true;
          EXPECT_EQ(option["type"], "string");
          EXPECT_FALSE(option["help"].get<std::string>().empty());
        }
      }
      EXPECT_TRUE(has_greeting);
    }
  }
  EXPECT_TRUE(found) << result.out;
}

TEST_F(CliTest, PluginsListsTheWatchTriggerType) {
  auto text = reelflow({"plugins"});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("watch.folder"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("[trigger, on.watch]"), std::string::npos) << text.out;

  auto result = reelflow({"plugins", "--json"});
  ASSERT_EQ(result.status, 0) << result.err;
  const json listing = json::parse(result.out);
  bool found = false;
  for (const auto& plugin : listing["plugins"]) {
    if (plugin["name"] != "watch") continue;
    found = true;
    EXPECT_EQ(plugin["abi"], "1.3");  // built against this tree's plugin.h
    EXPECT_TRUE(plugin["step_types"].empty());
    ASSERT_EQ(plugin["trigger_types"].size(), 1u);
    const json& folder = plugin["trigger_types"][0];
    EXPECT_EQ(folder["name"], "watch.folder");
    EXPECT_EQ(folder["key"], "watch");
    std::vector<std::string> options;
    for (const auto& option : folder["options"]) options.push_back(option["name"]);
    EXPECT_EQ(options, (std::vector<std::string>{"path", "patterns", "recursive", "settle"}));
  }
  EXPECT_TRUE(found) << result.out;
}

// `optimize list/show/times` ask the daemon: a --control before the command reaches them, and
// `simulate` (offline) takes it without complaint.
TEST_F(CliTest, OptimizeTakesTheGlobalControlOption) {
  const std::string socket = (dir_ / "no-daemon.sock").string();
  auto listed = reelflow({"--control", "unix:" + socket, "optimize", "list"});
  EXPECT_NE(listed.status, 0);
  EXPECT_NE(listed.err.find(socket), std::string::npos) << listed.err;
  auto simulated = reelflow({"--control", "unix:" + socket, "optimize", "simulate", "--scenario",
                             "drift", "--reps", "1", "--json"});
  EXPECT_EQ(simulated.status, 0) << simulated.err;
}

TEST_F(CliTest, OptimizeSimulateGivesTheTableBesideThePapersFigures) {
  // One repetition: the shape and the order of magnitude. The ±10 % check over 100 repetitions
  // is bench/optimize_table1.sh.
  auto result = reelflow({"optimize", "simulate", "--scenario", "chapelle-li-table1", "--reps",
                          "1", "--seed", "7", "--json"});
  ASSERT_EQ(result.status, 0) << result.err;
  auto report = json::parse(result.out);
  EXPECT_EQ(report["scenario"], "chapelle-li-table1");
  EXPECT_EQ(report["reps"], 1);
  ASSERT_EQ(report["rows"].size(), 7u);
  EXPECT_EQ(report["rows"][0]["delay"], 1);
  EXPECT_EQ(report["rows"][0]["paper"], 9105.0);
  EXPECT_EQ(report["rows"][6]["paper"], 59256.0);
  for (const auto& row : report["rows"]) {
    EXPECT_GT(row["ratio"].get<double>(), 0.5) << row;
    EXPECT_LT(row["ratio"].get<double>(), 1.6) << row;
  }
  EXPECT_EQ(reelflow({"optimize", "simulate", "--scenario", "chapelle-li-table1", "--reps", "1",
                      "--seed", "7", "--json"})
                .out,
            result.out)
      << "the same seed gives the same figures";
  auto unknown = reelflow({"optimize", "simulate", "--scenario", "coin-flips"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("no scenario 'coin-flips' (known: chapelle-li-table1, chapelle-li-fig1, drift)"),
            std::string::npos);
  auto drift = reelflow({"optimize", "simulate", "--scenario", "drift", "--reps", "2", "--json"});
  ASSERT_EQ(drift.status, 0) << drift.err;
  auto drift_report = json::parse(drift.out);
  EXPECT_EQ(drift_report["scenario"], "drift");
  ASSERT_EQ(drift_report["rows"].size(), 4u);
  EXPECT_EQ(drift_report["rows"][0]["discount"], 1.0);
  EXPECT_EQ(reelflow({"optimize", "simulate", "--scenario", "chapelle-li-table1", "--reps", "0"})
                .status,
            2);
}

TEST_F(CliTest, SchemaIsJsonWithEveryStepType) {
  auto result = reelflow({"schema"});
  ASSERT_EQ(result.status, 0) << result.err;
  auto schema = json::parse(result.out);
  EXPECT_NE(schema.dump().find("hello.stamp"), std::string::npos);
  EXPECT_EQ(schema["properties"]["on"]["properties"]["watch"]["required"], json({"path"}));
  auto out = dir_ / "schema.json";
  auto to_file = reelflow({"schema", "--output", out.string()});
  EXPECT_EQ(to_file.status, 0);
  EXPECT_EQ(json::parse(read_file(out)), schema);
}

TEST_F(CliTest, RunStampsTheInputAndPrintsTheRunRecord) {
  // A real (small) video: the workflow also extracts, scores and renders clips.
  const fs::path input = dir_ / "clip.mp4";
  const std::string make = "ffmpeg -nostdin -loglevel error -y -f lavfi -i "
                           "testsrc2=size=160x90:rate=15 -t 4 -c:v libx264 -preset veryfast -crf 35 '" +
                           input.string() + "'";
  ASSERT_EQ(std::system(make.c_str()), 0) << make;
  const auto size = static_cast<std::int64_t>(fs::file_size(input));
  ASSERT_LT(size, 100000);  // so that big_file_note is skipped
  const fs::path handover = dir_ / "handover";
  const std::string account =
      R"(account.agency={"platform": "folder", "options": {"path": ")" + handover.string() +
      R"("}})";
  auto result = reelflow({"run", REELFLOW_SOURCE_DIR "/tests/cli/offline_run.yaml", "--input",
                          input.string(), "--artifacts", (dir_ / "runs").string(), "--accounts",
                          (dir_ / "accounts").string(), "--secret", account, "--json"});
  ASSERT_EQ(result.status, 0) << result.err;
  auto record = json::parse(result.out);
  EXPECT_EQ(record["state"], "succeeded");
  EXPECT_EQ(record["workflow"], "offline-run");
  const auto& stamp_step = record["steps"][0];
  EXPECT_EQ(stamp_step["id"], "stamp");
  EXPECT_EQ(stamp_step["outputs"]["size"], size);
  auto stamp = json::parse(read_file(stamp_step["outputs"]["stamp"].get<std::string>()));
  EXPECT_EQ(stamp["greeting"], "New video for winter-launch: clip.mp4");
  EXPECT_EQ(stamp["size"], size);
  EXPECT_EQ(record["steps"][1]["items"], 2);
  EXPECT_EQ(record["steps"][2]["state"], "skipped");  // the input is small
  EXPECT_EQ(record["steps"][3]["outputs"]["clips"].size(), 1U);  // one 4 s shot
  EXPECT_EQ(record["steps"][4]["outputs"]["model"], "prior");
  const auto& render_step = record["steps"][5];
  EXPECT_EQ(render_step["id"], "render");
  EXPECT_EQ(render_step["items"], 1);  // one clip, one Douyin version
  const auto& rendered = render_step["outputs"]["items"][0];
  EXPECT_EQ(rendered["width"], 1080);
  EXPECT_EQ(rendered["height"], 1920);
  EXPECT_TRUE(fs::is_regular_file(rendered["path"].get<std::string>())) << rendered.dump();
  const auto& publish_step = record["steps"][6];
  EXPECT_EQ(publish_step["id"], "publish");
  const auto& post = publish_step["outputs"]["items"][0];
  EXPECT_EQ(post["state"], "published");
  const fs::path post_dir = handover / post["post_id"].get<std::string>();
  EXPECT_TRUE(fs::is_regular_file(post_dir / "post.json")) << post.dump();
  EXPECT_EQ(fs::file_size(post_dir / "video.mp4"), fs::file_size(rendered["path"].get<std::string>()));
  // Progress goes to stderr, one line per step when not on a terminal.
  EXPECT_NE(result.err.find("[1/7] stamp (hello.stamp)"), std::string::npos) << result.err;
}

TEST_F(CliTest, RunWithAMissingInputSaysWhich) {
  auto result = reelflow({"run", REELFLOW_SOURCE_DIR "/workflows/demo.yaml", "--input",
                          (dir_ / "nope.mp4").string()});
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.err.find("nope.mp4 does not exist"), std::string::npos) << result.err;
}

TEST_F(CliTest, RunOfAnInvalidWorkflowRunsNothing) {
  auto file = write("bad.yaml", "name: bad\non:\n  manual: {}\nsteps:\n  - id: s\n    uses: nope.x\n");
  auto result = reelflow({"run", file.string(), "--artifacts", (dir_ / "runs").string()});
  EXPECT_EQ(result.status, 3);
  EXPECT_NE(result.err.find("nothing was run"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(dir_ / "runs"));
}

TEST_F(CliTest, RunNamesASecretThatIsNotSetAndWhereSecretsCameFrom) {
  auto file = write("wf.yaml",
                    "name: wf\non:\n  manual: {}\nsteps:\n  - id: s\n    uses: hello.stamp\n"
                    "    with:\n      greeting: ${{ secrets.greeting_text }}\n");
  auto secrets = write("secrets", "other=1\n");
  fs::permissions(secrets, fs::perms::owner_read | fs::perms::owner_write);
  auto result = reelflow({"run", file.string(), "--artifacts", (dir_ / "runs").string(),
                          "--secrets-file", secrets.string()});
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.err.find("option 'greeting': secrets.greeting_text is not set (secrets files: " +
                            secrets.string() + ")"),
            std::string::npos)
      << result.err;
}

TEST_F(CliTest, RunFailureNamesTheInput) {
  auto file = write("wf.yaml",
                    "name: wf\non:\n  manual: {}\nsteps:\n  - id: s\n    uses: hello.stamp\n"
                    "    with:\n      input: /nonexistent/video.mp4\n");
  auto result = reelflow({"run", file.string(), "--artifacts", (dir_ / "runs").string()});
  EXPECT_EQ(result.status, 1);
  EXPECT_NE(result.err.find("/nonexistent/video.mp4"), std::string::npos) << result.err;
}

}  // namespace
