// hello.stamp through the real plugin host: Registry loads the built hello.so, Executor runs the
// step in process on a real file in a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "plugin_host/executor.hpp"
#include "plugin_host/options.hpp"
#include "plugin_host/registry.hpp"

namespace reelflow::plugin_host {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class HelloStampTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("hello_plugin_test." + std::to_string(::getpid()) + "." +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "artifacts");
    services_.artifact_dir = root_ / "artifacts";
    services_.log = [this](rf_log_level, std::string_view message) {
      log_.append(message).append("\n");
    };

    auto loaded = registry_.load_file(HELLO_PLUGIN_PATH);
    ASSERT_TRUE(loaded) << loaded.error().message;
    step_ = registry_.find("hello.stamp");
    ASSERT_NE(step_, nullptr);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path write_file(const std::string& name, const std::string& content) {
    fs::path path = root_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // Runs hello.stamp with `with` (normalised like the engine does) and the given trigger.
  StepOutcome run(const json& with, const json& trigger = json::object()) {
    auto options = normalize_options(*step_, with);
    EXPECT_TRUE(options) << (options ? "" : options.error().message);
    json context = {{"run_id", "run-42"},
                    {"step_id", "stamp"},
                    {"workflow", "test"},
                    {"attempt", 1},
                    {"trigger", trigger}};
    auto outcome = executor_.run(*step_, options.value_or(json::object()), context, services_);
    EXPECT_TRUE(outcome) << (outcome ? "" : outcome.error().message);
    return outcome.value_or(StepOutcome{});
  }

  json read_stamp() {
    std::ifstream in(root_ / "artifacts" / "stamp.json");
    return json::parse(in);
  }

  fs::path root_;
  Registry registry_;
  Executor executor_;
  RunServices services_;
  std::string log_;
  const StepTypeInfo* step_ = nullptr;
};

TEST_F(HelloStampTest, DeclaresItsStepTypeAndOptions) {
  EXPECT_EQ(step_->plugin->name, "hello");
  EXPECT_TRUE(step_->rerun_safe());
  EXPECT_FALSE(step_->irreversible());
  EXPECT_NE(step_->flags & RF_STEP_IN_PROCESS, 0u);
  const OptionSpec* input = step_->find_option("input");
  ASSERT_NE(input, nullptr);
  EXPECT_EQ(input->type, RF_OPT_PATH);
  EXPECT_FALSE(input->required);
  EXPECT_FALSE(input->default_value.has_value());
  const OptionSpec* greeting = step_->find_option("greeting");
  ASSERT_NE(greeting, nullptr);
  EXPECT_EQ(greeting->type, RF_OPT_STRING);
  ASSERT_TRUE(greeting->default_value.has_value());
  EXPECT_EQ(*greeting->default_value, "Hello from reelflow");
  EXPECT_FALSE(greeting->help.empty());
}

TEST_F(HelloStampTest, StampsTheInputOption) {
  fs::path input = write_file("clip.mp4", std::string(1234, 'x'));
  StepOutcome outcome = run({{"input", input.string()}, {"greeting", "Hi \"there\"\n"}});
  ASSERT_EQ(outcome.status, RF_STATUS_OK) << outcome.error;

  fs::path stamp = root_ / "artifacts" / "stamp.json";
  EXPECT_EQ(outcome.outputs, json({{"stamp", stamp.string()}, {"size", 1234}}));
  EXPECT_EQ(read_stamp(), json({{"input", input.string()},
                                {"size", 1234},
                                {"greeting", "Hi \"there\"\n"},
                                {"run_id", "run-42"}}));
  EXPECT_FALSE(fs::exists(root_ / "artifacts" / "stamp.json.partial"));
  EXPECT_NE(log_.find("1234 bytes"), std::string::npos) << log_;
}

TEST_F(HelloStampTest, DefaultsToTheTriggerFileAndGreeting) {
  fs::path input = write_file("trigger file é.mov", "");
  StepOutcome outcome = run(json::object(), {{"event", "file"}, {"file", input.string()}});
  ASSERT_EQ(outcome.status, RF_STATUS_OK) << outcome.error;
  EXPECT_EQ(outcome.outputs["size"], 0);
  json stamp = read_stamp();
  EXPECT_EQ(stamp["input"], input.string());
  EXPECT_EQ(stamp["greeting"], "Hello from reelflow");
}

TEST_F(HelloStampTest, RunningAgainGivesTheSameResult) {
  fs::path input = write_file("clip.mp4", "abc");
  StepOutcome first = run({{"input", input.string()}});
  StepOutcome second = run({{"input", input.string()}});
  ASSERT_EQ(second.status, RF_STATUS_OK) << second.error;
  EXPECT_EQ(first.outputs, second.outputs);
  EXPECT_EQ(read_stamp()["size"], 3);
}

TEST_F(HelloStampTest, MissingInputFailsNamingTheFile) {
  fs::path missing = root_ / "no-such-clip.mp4";
  StepOutcome outcome = run({{"input", missing.string()}});
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find(missing.string()), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("does not exist"), std::string::npos) << outcome.error;
  EXPECT_FALSE(fs::exists(root_ / "artifacts" / "stamp.json"));
}

TEST_F(HelloStampTest, UnreadableInputFailsNamingTheFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  fs::path input = write_file("locked.mp4", "secret");
  fs::permissions(input, fs::perms::none);
  StepOutcome outcome = run({{"input", input.string()}});
  fs::permissions(input, fs::perms::owner_all);
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find(input.string()), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("cannot read"), std::string::npos) << outcome.error;
}

TEST_F(HelloStampTest, NoInputAtAllSaysHowToGiveOne) {
  StepOutcome outcome = run(json::object());
  EXPECT_EQ(outcome.status, RF_STATUS_ERROR);
  EXPECT_NE(outcome.error.find("input"), std::string::npos) << outcome.error;
}

}  // namespace
}  // namespace reelflow::plugin_host
