// Registry tests against real plugin files: good ones, ABI mismatches, broken files and malformed
// descriptors. Every refusal must name the file and the reason, leave the registry as it was and
// keep the host able to load the next plugin.
#include "plugin_host/registry.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>

#include "plugin_host/executor.hpp"
#include "plugin_host/publish_limits.hpp"
#include "test_support.hpp"

namespace reelflow::plugin_host {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::read_bytes;
using ::testing::StartsWith;
using testing::TempDir;
using testing::test_plugin;
using testing::write_bytes;

namespace fs = std::filesystem;

const std::string kHostAbi = std::to_string(RF_ABI_MAJOR) + "." + std::to_string(RF_ABI_MINOR);

// Loading `file` fails with a message that starts with the file and contains `reason`; the
// registry stays empty and still loads a good plugin afterwards. Returns the message.
std::string expect_refused(const fs::path& file, const std::string& reason) {
  Registry registry;
  auto loaded = registry.load_file(file);
  EXPECT_FALSE(loaded.has_value()) << file;
  if (loaded) return "";
  const std::string& message = loaded.error().message;
  EXPECT_THAT(message, StartsWith(file.string() + ": "));
  EXPECT_THAT(message, HasSubstr(reason));
  EXPECT_TRUE(registry.plugins().empty());
  EXPECT_TRUE(registry.step_type_names().empty());
  auto good = registry.load_file(test_plugin("phtest_good"));
  EXPECT_TRUE(good.has_value()) << (good ? "" : good.error().message);
  EXPECT_NE(registry.find("phtest_good.convert"), nullptr);
  return message;
}

// ------------------------------------------------------------------------------------------------
// A good plugin

TEST(RegistryLoad, ReadsTheDescriptorStepTypesAndOptionTables) {
  Registry registry;
  auto loaded = registry.load_file(test_plugin("phtest_good"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const PluginInfo& plugin = **loaded;
  EXPECT_EQ(plugin.path, test_plugin("phtest_good"));
  EXPECT_EQ(plugin.name, "phtest_good");
  EXPECT_EQ(plugin.version, "1.2.3");
  EXPECT_EQ(plugin.license, "MIT");
  EXPECT_EQ(plugin.summary, "A good test plugin");
  EXPECT_EQ(plugin.abi_major, RF_ABI_MAJOR);
  EXPECT_EQ(plugin.abi_minor, RF_ABI_MINOR);
  ASSERT_EQ(plugin.step_types.size(), 2u);

  const StepTypeInfo* convert = registry.find("phtest_good.convert");
  ASSERT_NE(convert, nullptr);
  EXPECT_EQ(convert->plugin, &plugin);
  EXPECT_EQ(convert->summary, "Converts");
  EXPECT_TRUE(convert->rerun_safe());
  EXPECT_FALSE(convert->irreversible());
  EXPECT_NE(convert->callbacks.run, nullptr);
  EXPECT_EQ(convert->callbacks.reconcile, nullptr);
  EXPECT_EQ(convert->callbacks.struct_size, sizeof(rf_step_type));
  ASSERT_EQ(convert->options.size(), 9u);

  const OptionSpec* input = convert->find_option("input");
  ASSERT_NE(input, nullptr);
  EXPECT_EQ(input->type, RF_OPT_PATH);
  EXPECT_TRUE(input->required);
  EXPECT_FALSE(input->default_value.has_value());
  EXPECT_EQ(input->help, "The source video.");

  const OptionSpec* count = convert->find_option("count");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->type, RF_OPT_INT);
  EXPECT_EQ(count->default_value, nlohmann::json(3));
  EXPECT_EQ(count->min, 1.0);
  EXPECT_EQ(count->max, 10.0);

  const OptionSpec* title = convert->find_option("title");
  ASSERT_NE(title, nullptr);
  EXPECT_EQ(title->default_value, nlohmann::json("untitled"));
  EXPECT_FALSE(title->min.has_value());

  const OptionSpec* mode = convert->find_option("mode");
  ASSERT_NE(mode, nullptr);
  EXPECT_THAT(mode->enum_values, ElementsAre("fast", "slow"));

  const OptionSpec* tags = convert->find_option("tags");
  ASSERT_NE(tags, nullptr);
  EXPECT_EQ(tags->item_type, RF_OPT_STRING);
  EXPECT_EQ(tags->max, 3.0);
  EXPECT_EQ(tags->default_value, nlohmann::json::array());

  EXPECT_EQ(convert->find_option("nope"), nullptr);

  const StepTypeInfo* publish = registry.find("phtest_good.publish");
  ASSERT_NE(publish, nullptr);
  EXPECT_TRUE(publish->irreversible());
  EXPECT_NE(publish->callbacks.reconcile, nullptr);

  EXPECT_THAT(registry.step_type_names(),
              ElementsAre("phtest_good.convert", "phtest_good.publish"));
  EXPECT_EQ(registry.find("phtest_good"), nullptr);
  EXPECT_EQ(registry.find("phtest_good.nope"), nullptr);
}

TEST(RegistryLoad, RegistryCanBeMovedWithItsPlugins) {
  Registry registry;
  ASSERT_TRUE(registry.load_file(test_plugin("phtest_good")).has_value());
  Registry moved(std::move(registry));
  const StepTypeInfo* convert = moved.find("phtest_good.convert");
  ASSERT_NE(convert, nullptr);
  EXPECT_EQ(convert->plugin, moved.plugins().front().get());
}

TEST(RegistryLoad, LoadDirTakesOnlySoFilesInNameOrderAndReportsEachBadOne) {
  TempDir dir;
  fs::copy_file(test_plugin("phtest_good"), dir.path() / "b_good.so");
  fs::copy_file(test_plugin("phtest_dup_first"), dir.path() / "a_dup.so");
  fs::copy_file(test_plugin("abi_newer_major"), dir.path() / "c_newer.so");
  fs::copy_file(test_plugin("phtest_exec"), dir.path() / "d_exec.so.1");  // not *.so
  write_bytes(dir.path() / "notes.txt", "not a plugin");
  fs::create_directory(dir.path() / "e_directory.so");

  Registry registry;
  auto errors = registry.load_dir(dir.path());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, StartsWith((dir.path() / "c_newer.so").string() + ": "));
  EXPECT_THAT(errors[0].message, HasSubstr("major versions must match"));
  ASSERT_EQ(registry.plugins().size(), 2u);
  EXPECT_EQ(registry.plugins()[0]->path, dir.path() / "a_dup.so");
  EXPECT_EQ(registry.plugins()[1]->path, dir.path() / "b_good.so");
  EXPECT_THAT(registry.step_type_names(),
              ElementsAre("phtest_dup.step", "phtest_good.convert", "phtest_good.publish"));
}

TEST(RegistryLoad, LoadDirOfAMissingDirectoryIsOneError) {
  TempDir dir;
  Registry registry;
  auto errors = registry.load_dir(dir.path() / "missing");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, StartsWith((dir.path() / "missing").string() + ": "));
  EXPECT_THAT(errors[0].message, HasSubstr("cannot read plugin directory"));
}

TEST(RegistryLoad, BuiltinPluginDirIsNextToTheExecutable) {
  fs::path exe = fs::read_symlink("/proc/self/exe");
  EXPECT_EQ(builtin_plugin_dir(),
            (exe.parent_path().parent_path() / "lib" / "reelflow" / "plugins").lexically_normal());
}

// ------------------------------------------------------------------------------------------------
// ABI negotiation

TEST(RegistryAbi, NewerMajorIsRefusedNamingBothVersions) {
  fs::path file = test_plugin("abi_newer_major");
  std::string message = expect_refused(file, "major versions must match");
  EXPECT_EQ(message, file.string() + ": plugin 'abi_newer_major' was built for ABI " +
                         std::to_string(RF_ABI_MAJOR + 1) + ".0 but this host speaks ABI " +
                         kHostAbi + " (major versions must match)");
  // Refused plugins are unloaded again.
  EXPECT_EQ(dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD), nullptr);
}

TEST(RegistryAbi, NewerMinorIsRefusedNamingBothVersions) {
  fs::path file = test_plugin("abi_newer_minor");
  std::string message = expect_refused(
      file, "plugin 'abi_newer_minor' was built for ABI " + std::to_string(RF_ABI_MAJOR) + "." +
                std::to_string(RF_ABI_MINOR + 5) + " but this host speaks ABI " + kHostAbi);
  EXPECT_THAT(message, HasSubstr("older minor"));
}

TEST(RegistryAbi, EntryReturningNullIsReported) {
  fs::path file = test_plugin("abi_refuses");
  EXPECT_EQ(expect_refused(file, "refused"),
            file.string() + ": plugin refused this host (ABI " + kHostAbi + ")");
}

TEST(RegistryAbi, PluginWithMinorZeroLoads) {
  Registry registry;
  auto loaded = registry.load_file(test_plugin("abi_older_layout"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ((*loaded)->abi_major, RF_ABI_MAJOR);
  EXPECT_EQ((*loaded)->abi_minor, 0);
}

// The plugin's rf_step_type lacks `reconcile` and its rf_option lacks `item_type` (see
// plugins/abi_plugin.c): both arrays must be read with the plugin's smaller stride and the missing
// fields must read as zero.
TEST(RegistryAbi, OlderSmallerLayoutLoadsAndMissingFieldsReadAsZero) {
  Registry registry;
  auto loaded = registry.load_file(test_plugin("abi_older_layout"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_THAT(registry.step_type_names(),
              ElementsAre("abi_older_layout.first", "abi_older_layout.second"));

  const StepTypeInfo* first = registry.find("abi_older_layout.first");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->callbacks.reconcile, nullptr);
  EXPECT_EQ(first->callbacks.cancel, nullptr);
  EXPECT_NE(first->callbacks.destroy, nullptr);
  EXPECT_EQ(first->callbacks.struct_size, sizeof(rf_step_type));
  EXPECT_TRUE(first->rerun_safe());
  ASSERT_EQ(first->options.size(), 2u);
  EXPECT_EQ(first->options[0].name, "tags");
  EXPECT_EQ(first->options[0].item_type, 0);
  EXPECT_EQ(first->options[1].name, "count");
  EXPECT_EQ(first->options[1].default_value, nlohmann::json(2));
  EXPECT_EQ(first->options[1].max, 5.0);

  const StepTypeInfo* second = registry.find("abi_older_layout.second");
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->summary, "Second step");
  EXPECT_EQ(second->callbacks.reconcile, nullptr);

  // And it runs.
  TempDir artifacts;
  Executor executor;
  RunServices services;
  services.artifact_dir = artifacts.path();
  auto outcome =
      executor.run(*second, nlohmann::json::object(), nlohmann::json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->status, RF_STATUS_OK);
}

// The same plugin's rf_plugin has the ABI 1.0 layout, followed in memory by bytes that would make
// a garbage trigger type array if the host read past struct_size.
TEST(RegistryAbi, PluginBuiltForAbi10HasNoTriggerTypes) {
  Registry registry;
  auto loaded = registry.load_file(test_plugin("abi_older_layout"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_TRUE((*loaded)->trigger_types.empty());
  EXPECT_TRUE(registry.trigger_type_names().empty());
}

// Trigger types came with minor 1: a descriptor that declares minor 0 is read without them, even
// when its struct is long enough to hold the fields and they hold garbage.
TEST(RegistryAbi, TriggerFieldsOfAMinorZeroPluginAreIgnored) {
  Registry registry;
  auto loaded = registry.load_file(test_plugin("abi_minor0_trigger_fields"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ((*loaded)->abi_minor, 0);
  EXPECT_TRUE((*loaded)->trigger_types.empty());
  EXPECT_NE(registry.find("abi_minor0_trigger_fields.step"), nullptr);
}

// A plugin built for the previous minor (1.2, before rf_host.call) loads and runs on this host:
// the host's rf_host is its own table plus appended fields.
TEST(RegistryAbi, PluginBuiltForThePreviousMinorLoadsAndRuns) {
  Registry registry;
  auto loaded = registry.load_file(test_plugin("abi_previous_minor"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ((*loaded)->abi_minor, RF_ABI_MINOR - 1);
  const StepTypeInfo* step = registry.find("abi_previous_minor.step");
  ASSERT_NE(step, nullptr);
  TempDir artifacts;
  Executor executor;
  RunServices services;
  services.artifact_dir = artifacts.path();
  auto outcome = executor.run(*step, nlohmann::json::object(), nlohmann::json::object(), services);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_EQ(outcome->status, RF_STATUS_OK) << outcome->error;
  EXPECT_EQ(outcome->outputs, (nlohmann::json{{"host_minor", RF_ABI_MINOR}, {"covers_1_2", true}}));
}

// ------------------------------------------------------------------------------------------------
// Trigger types (ABI 1.1)

TEST(RegistryTriggers, ReadsTriggerTypesWithTheirOptionsNextToStepTypes) {
  Registry registry;
  auto loaded = registry.load_file(test_plugin("phtest_trig"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const PluginInfo& plugin = **loaded;
  EXPECT_EQ(plugin.abi_minor, RF_ABI_MINOR);
  ASSERT_EQ(plugin.step_types.size(), 1u);
  ASSERT_EQ(plugin.trigger_types.size(), 2u);
  EXPECT_THAT(registry.trigger_type_names(), ElementsAre("phtest_trig.clock", "phtest_trig.inbox"));
  EXPECT_EQ(registry.find_plugin("phtest_trig"), &plugin);
  EXPECT_EQ(registry.find_plugin("nope"), nullptr);

  const TriggerTypeInfo* inbox = registry.find_trigger("phtest_trig.inbox");
  ASSERT_NE(inbox, nullptr);
  EXPECT_EQ(inbox->plugin, &plugin);
  EXPECT_EQ(inbox->summary, "Files in a folder");
  EXPECT_EQ(inbox->callbacks.struct_size, sizeof(rf_trigger_type));
  EXPECT_NE(inbox->callbacks.start, nullptr);
  EXPECT_NE(inbox->callbacks.fd, nullptr);
  EXPECT_NE(inbox->callbacks.on_readable, nullptr);
  EXPECT_NE(inbox->callbacks.next_timeout, nullptr);
  EXPECT_NE(inbox->callbacks.stop, nullptr);
  ASSERT_EQ(inbox->options.size(), 3u);
  const OptionSpec* path = inbox->find_option("path");
  ASSERT_NE(path, nullptr);
  EXPECT_EQ(path->type, RF_OPT_PATH);
  EXPECT_TRUE(path->required);
  const OptionSpec* settle = inbox->find_option("settle");
  ASSERT_NE(settle, nullptr);
  EXPECT_EQ(settle->default_value, nlohmann::json("2s"));
  EXPECT_EQ(settle->max, 3600.0);
  EXPECT_EQ(inbox->find_option("nope"), nullptr);

  const TriggerTypeInfo* clock = registry.find_trigger("phtest_trig.clock");
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->callbacks.fd, nullptr);
  EXPECT_NE(clock->callbacks.on_timer, nullptr);
  EXPECT_TRUE(clock->options.empty());

  // Step types and trigger types are separate name spaces.
  EXPECT_EQ(registry.find("phtest_trig.inbox"), nullptr);
  EXPECT_EQ(registry.find_trigger("phtest_trig.step"), nullptr);
  EXPECT_THAT(registry.step_type_names(), ElementsAre("phtest_trig.step"));
}

TEST(RegistryTriggers, TriggerTypeProvidedTwiceRefusesTheWholeSecondPlugin) {
  fs::path first = test_plugin("phtest_tdup_first");
  fs::path second = test_plugin("phtest_tdup_second");
  Registry registry;
  ASSERT_TRUE(registry.load_file(first).has_value());
  auto refused = registry.load_file(second);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message, second.string() +
                                         ": trigger type 'phtest_tdup.inbox' is already "
                                         "provided by " +
                                         first.string());
  EXPECT_EQ(registry.find("phtest_tdup.other"), nullptr);
  ASSERT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(registry.find_trigger("phtest_tdup.inbox")->plugin->path, first);
}

// ------------------------------------------------------------------------------------------------
// Files that are not plugins

TEST(RegistryBroken, MissingFile) {
  TempDir dir;
  expect_refused(dir.path() / "absent.so", "cannot load: No such file or directory");
}

TEST(RegistryBroken, DirectoryNamedLikeAPlugin) {
  TempDir dir;
  fs::create_directory(dir.path() / "dir.so");
  expect_refused(dir.path() / "dir.so", "cannot load: not a regular file");
}

TEST(RegistryBroken, EmptyFile) {
  TempDir dir;
  write_bytes(dir.path() / "empty.so", "");
  expect_refused(dir.path() / "empty.so", "cannot load: not an ELF shared object");
}

TEST(RegistryBroken, RandomBytes) {
  TempDir dir;
  std::mt19937 generator(20240601);
  std::string bytes(8192, '\0');
  for (char& byte : bytes) byte = static_cast<char>(generator() & 0xff);
  bytes[0] = 'R';  // never the ELF magic, whatever the generator says
  write_bytes(dir.path() / "random.so", bytes);
  expect_refused(dir.path() / "random.so", "cannot load: not an ELF shared object");
}

TEST(RegistryBroken, TruncatedInsideTheElfHeader) {
  TempDir dir;
  std::string bytes = read_bytes(test_plugin("phtest_good"));
  write_bytes(dir.path() / "short.so", std::string_view(bytes).substr(0, 40));
  expect_refused(dir.path() / "short.so", "cannot load: file is truncated");
}

// Truncated after its headers, a file makes glibc's dlopen die of SIGBUS; the host must notice
// before dlopen does.
TEST(RegistryBroken, TruncatedAfterTheHeaders) {
  TempDir dir;
  std::string bytes = read_bytes(test_plugin("phtest_good"));
  // Where the loadable segments end: past that come only section headers and debug info.
  Elf64_Ehdr header{};
  ASSERT_GE(bytes.size(), sizeof(header));
  std::memcpy(&header, bytes.data(), sizeof(header));
  std::size_t loadable_end = 0;
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment{};
    std::memcpy(&segment, bytes.data() + header.e_phoff + i * sizeof(segment), sizeof(segment));
    if (segment.p_type == PT_LOAD) {
      loadable_end = std::max<std::size_t>(loadable_end, segment.p_offset + segment.p_filesz);
    }
  }
  ASSERT_GT(loadable_end, std::size_t{4096});
  for (std::size_t size : {std::size_t{4096}, loadable_end / 2, loadable_end - 1}) {
    fs::path file = dir.path() / ("truncated_" + std::to_string(size) + ".so");
    write_bytes(file, std::string_view(bytes).substr(0, size));
    expect_refused(file, "cannot load: file is truncated");
  }
}

TEST(RegistryBroken, ElfForAnotherArchitecture) {
  TempDir dir;
  std::string bytes = read_bytes(test_plugin("phtest_good"));
  ASSERT_GE(bytes.size(), sizeof(Elf64_Ehdr));
  uint16_t machine = 0;
  std::memcpy(&machine, bytes.data() + offsetof(Elf64_Ehdr, e_machine), sizeof(machine));
  uint16_t other = machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
  std::memcpy(bytes.data() + offsetof(Elf64_Ehdr, e_machine), &other, sizeof(other));
  write_bytes(dir.path() / "foreign.so", bytes);
  expect_refused(dir.path() / "foreign.so",
                 other == EM_AARCH64 ? "cannot load: built for AArch64, this host is x86-64"
                                     : "cannot load: built for x86-64");
}

TEST(RegistryBroken, SharedObjectWithoutEntrySymbol) {
  fs::path file = test_plugin("phtest_no_entry");
  EXPECT_EQ(expect_refused(file, "not a reelflow plugin"),
            file.string() + ": not a reelflow plugin: no symbol reelflow_plugin_entry");
}

TEST(RegistryBroken, UnresolvedSymbol) {
  fs::path file = test_plugin("phtest_unresolved");
  std::string message = expect_refused(file, "cannot load: ");
  EXPECT_THAT(message, HasSubstr("phtest_function_nobody_defines"));
  // dlerror's own copy of the path is not repeated.
  EXPECT_EQ(message.find(file.string(), 1), std::string::npos) << message;
}

// ------------------------------------------------------------------------------------------------
// Malformed descriptors

struct MalformedCase {
  const char* variant;  // phtest_malformed_<variant>.so
  const char* reason;   // part of the message
};

void PrintTo(const MalformedCase& c, std::ostream* out) { *out << c.variant; }

class RegistryMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(RegistryMalformed, IsRefusedNamingFileAndReason) {
  const MalformedCase& c = GetParam();
  expect_refused(test_plugin(std::string("phtest_malformed_") + c.variant), c.reason);
}

INSTANTIATE_TEST_SUITE_P(
    Descriptors, RegistryMalformed,
    ::testing::Values(
        MalformedCase{"plugin_size_zero", "malformed plugin descriptor: struct_size is 0"},
        MalformedCase{"step_size_zero",
                      "plugin 'phtest_malformed_step_size_zero': malformed rf_step_type: "
                      "struct_size is 0"},
        MalformedCase{"option_size_huge",
                      "step type 'phtest_malformed_option_size_huge.step': malformed rf_option: "
                      "struct_size is 1048576"},
        MalformedCase{"bad_plugin_name", "plugin name 'Bad-Name' is not valid"},
        MalformedCase{"null_plugin_name", "plugin name (null) is not valid"},
        MalformedCase{"unreadable_plugin_name", "plugin name (unreadable"},
        MalformedCase{"bad_step_name",
                      "step type #1: name 'someone_else.step' is not valid: it must be "
                      "'phtest_malformed_bad_step_name.<step>'"},
        MalformedCase{"bad_option_name",
                      "step type 'phtest_malformed_bad_option_name.step': option #1: name 'Size' "
                      "is not valid"},
        MalformedCase{"invalid_default_json",
                      "step type 'phtest_malformed_invalid_default_json.step': option 'size': "
                      "default_json is not valid JSON: {nope"},
        MalformedCase{"default_out_of_range",
                      "option 'size': default_json 42 does not fit the option: expected an "
                      "integer between 1 and 10, got 42"},
        MalformedCase{"duplicate_option",
                      "step type 'phtest_malformed_duplicate_option.step': option 'size' is "
                      "declared twice"},
        MalformedCase{"unknown_option_type", "option 'size': unknown type 42"},
        MalformedCase{"irreversible_without_reconcile",
                      "step type 'phtest_malformed_irreversible_without_reconcile.step': is "
                      "flagged RF_STEP_IRREVERSIBLE but has no reconcile callback"},
        MalformedCase{"empty_enum", "option 'size': an enum option needs at least one enum value"},
        MalformedCase{"null_run", "step type 'phtest_malformed_null_run.step': run is NULL"},
        MalformedCase{"missing_version",
                      "plugin 'phtest_malformed_missing_version': version is "
                      "missing"},
        MalformedCase{"garbage_descriptor", "the plugin's descriptor is not readable memory"},
        MalformedCase{"entry_not_function",
                      "not a reelflow plugin: reelflow_plugin_entry is not a function"}),
    [](const ::testing::TestParamInfo<MalformedCase>& param) { return param.param.variant; });

class RegistryMalformedTrigger : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(RegistryMalformedTrigger, IsRefusedNamingFileAndReason) {
  const MalformedCase& c = GetParam();
  expect_refused(test_plugin(std::string("phtest_trig_") + c.variant), c.reason);
}

INSTANTIATE_TEST_SUITE_P(
    TriggerTypes, RegistryMalformedTrigger,
    ::testing::Values(
        MalformedCase{"size_small",
                      "plugin 'phtest_trig_size_small': malformed rf_trigger_type: struct_size "
                      "is 16 but ABI 1.1 needs at least"},
        MalformedCase{"bad_name",
                      "trigger type #1: name 'someone_else.inbox' is not valid: it must be "
                      "'phtest_trig_bad_name.<trigger>'"},
        MalformedCase{"null_start", "trigger type 'phtest_trig_null_start.inbox': start is NULL"},
        MalformedCase{"null_stop", "trigger type 'phtest_trig_null_stop.inbox': stop is NULL"},
        MalformedCase{"fd_without_readable",
                      "trigger type 'phtest_trig_fd_without_readable.inbox': has fd but no "
                      "on_readable callback"},
        MalformedCase{"timeout_without_timer",
                      "trigger type 'phtest_trig_timeout_without_timer.inbox': has next_timeout "
                      "but no on_timer callback"},
        MalformedCase{"no_wakeup",
                      "trigger type 'phtest_trig_no_wakeup.inbox': has neither fd nor "
                      "next_timeout"},
        MalformedCase{"declared_twice",
                      "plugin 'phtest_trig_declared_twice': trigger type "
                      "'phtest_trig_declared_twice.inbox' is declared twice"},
        MalformedCase{"bad_option",
                      "trigger type 'phtest_trig_bad_option.inbox': option 'settle': default_json "
                      "\"2h\" does not fit the option"},
        MalformedCase{"null_array",
                      "trigger_types must point to an array of trigger_type_count (2) entries"}),
    [](const ::testing::TestParamInfo<MalformedCase>& param) { return param.param.variant; });

// ------------------------------------------------------------------------------------------------
// Duplicates

TEST(RegistryDuplicates, StepTypeProvidedTwiceRefusesTheWholeSecondPlugin) {
  fs::path first = test_plugin("phtest_dup_first");
  fs::path second = test_plugin("phtest_dup_second");
  Registry registry;
  ASSERT_TRUE(registry.load_file(first).has_value());
  auto refused = registry.load_file(second);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(
      refused.error().message,
      second.string() + ": step type 'phtest_dup.step' is already provided by " + first.string());
  // Nothing of the second plugin is registered, not even its step type that did not collide.
  EXPECT_EQ(registry.find("phtest_dup.other"), nullptr);
  EXPECT_THAT(registry.step_type_names(), ElementsAre("phtest_dup.step"));
  ASSERT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(registry.find("phtest_dup.step")->plugin->path, first);
  EXPECT_TRUE(registry.load_file(test_plugin("phtest_good")).has_value());
}

TEST(RegistryDuplicates, PluginNameProvidedTwiceIsRefused) {
  fs::path first = test_plugin("phtest_dup_first");
  fs::path third = test_plugin("phtest_dup_third");
  Registry registry;
  ASSERT_TRUE(registry.load_file(first).has_value());
  auto refused = registry.load_file(third);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message,
            third.string() + ": plugin 'phtest_dup' is already provided by " + first.string());
  EXPECT_EQ(registry.find("phtest_dup.third"), nullptr);
}

TEST(RegistryDuplicates, SameFileTwiceIsRefusedTheSecondTime) {
  fs::path file = test_plugin("phtest_good");
  Registry registry;
  ASSERT_TRUE(registry.load_file(file).has_value());
  auto again = registry.load_file(file);
  ASSERT_FALSE(again.has_value());
  EXPECT_THAT(again.error().message, HasSubstr("is already provided by " + file.string()));
  // The first load is untouched (the refusal's dlclose only dropped its own reference).
  const StepTypeInfo* convert = registry.find("phtest_good.convert");
  ASSERT_NE(convert, nullptr);
  EXPECT_EQ(convert->find_option("mode")->enum_values.size(), 2u);
}

TEST(RegistryDuplicates, SeparateRegistriesDoNotSeeEachOther) {
  Registry one;
  Registry two;
  EXPECT_TRUE(one.load_file(test_plugin("phtest_good")).has_value());
  EXPECT_TRUE(two.load_file(test_plugin("phtest_good")).has_value());
}

// ------------------------------------------------------------------------------------------------
// Publisher types' scheduling rules (ABI 1.2 scheduling_json)

TEST(RegistryPublishers, ReadsQuotasAndPostingWindows) {
  Registry registry;
  auto loaded = registry.load_file(test_plugin("phtest_pub_good"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_EQ((*loaded)->publisher_types.size(), 1u);
  const PostingRules& rules = (*loaded)->publisher_types[0].rules;
  ASSERT_EQ(rules.quotas.size(), 2u);
  EXPECT_EQ(rules.quotas[0].name, "uploads");
  EXPECT_EQ(rules.quotas[0].limit, 6);
  EXPECT_EQ(rules.quotas[0].window_ms, 0);
  EXPECT_EQ(rules.quotas[0].time_zone, "America/Los_Angeles");
  EXPECT_EQ(rules.quotas[0].note, "10,000 units, 1,600 an upload");
  EXPECT_EQ(describe_quota(rules.quotas[0]), "6 per day (America/Los_Angeles)");
  EXPECT_EQ(rules.quotas[1].window_ms, 60000);
  EXPECT_EQ(describe_quota(rules.quotas[1]), "6 per 1m");
  // Mon-Fri 12:00-15:00 is five windows, Sat,Sun 09:00-11:30 two.
  ASSERT_EQ(rules.windows.size(), 7u);
  EXPECT_EQ(rules.windows[0].start_minute, 12 * 60);
  EXPECT_EQ(rules.windows[4].end_minute, 4 * 1440 + 15 * 60);
  EXPECT_EQ(rules.windows[6].start_minute, 6 * 1440 + 9 * 60);
  EXPECT_EQ(rules.windows[6].end_minute, 6 * 1440 + 11 * 60 + 30);
  EXPECT_EQ(rules.windows_note, "a test");
}

TEST(RegistryPublishers, APublisherBuiltBeforeSchedulingJsonHasNoRules) {
  Registry registry;
  auto loaded = registry.load_file(test_plugin("phtest_pub_old_size"));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const auto& publisher = (*loaded)->publisher_types.at(0);
  EXPECT_TRUE(publisher.rules.quotas.empty());
  EXPECT_TRUE(publisher.rules.windows.empty());
  EXPECT_NE(registry.find("phtest_pub_old_size.publish"), nullptr);
}

TEST(RegistryPublishers, BadSchedulingJsonRefusesThePluginNamingTheProblem) {
  EXPECT_THAT(expect_refused(test_plugin("phtest_pub_bad_json"), "scheduling_json"),
              HasSubstr("publisher type 'phtest_pub_bad_json.publish': scheduling_json is not "
                        "valid JSON"));
  EXPECT_THAT(expect_refused(test_plugin("phtest_pub_bad_window"), "scheduling_json.windows[0]"),
              HasSubstr("the window ends before it starts"));
  EXPECT_THAT(expect_refused(test_plugin("phtest_pub_bad_quota"), "scheduling_json.quotas[0]"),
              HasSubstr("('uploads').limit must be a whole number from 1"));
  EXPECT_THAT(expect_refused(test_plugin("phtest_pub_unknown_field"), "unknown field 'quota'"),
              HasSubstr("(known: quotas, windows, windows_note)"));
}

// The rules as an account's limits change them.
TEST(PublishLimits, AnAccountsLimitsOverrideQuotasByNameAndReplaceWindows) {
  auto platform = parse_posting_rules(nlohmann::json::parse(R"({
    "quotas": [{"name": "uploads", "limit": 6, "per": "day"},
               {"name": "inits", "limit": 6, "per": "1m"}],
    "windows": ["daily 18:00-21:00"]})"));
  ASSERT_TRUE(platform.has_value()) << platform.error().message;
  EXPECT_EQ(platform->quotas[0].time_zone, "");

  auto raised = apply_account_limits(*platform, nlohmann::json::parse(R"({
    "quotas": {"uploads": 60, "inits": 0}, "per_day": 3, "time_zone": "Asia/Shanghai",
    "windows": ["Sat 10:00-12:00"]})"));
  ASSERT_TRUE(raised.has_value()) << raised.error().message;
  ASSERT_EQ(raised->quotas.size(), 2u);
  EXPECT_EQ(raised->quotas[0].name, "uploads");
  EXPECT_EQ(raised->quotas[0].limit, 60);
  EXPECT_EQ(raised->quotas[0].time_zone, "Asia/Shanghai") << "a calendar day in the account's zone";
  EXPECT_EQ(raised->quotas[1].name, "per_day");
  EXPECT_EQ(raised->quotas[1].limit, 3);
  ASSERT_EQ(raised->windows.size(), 1u);
  EXPECT_EQ(raised->windows[0].start_minute, 5 * 1440 + 600);
  EXPECT_EQ(raised->windows_note, "the account's limits");

  auto unchanged = apply_account_limits(*platform, nlohmann::json());
  ASSERT_TRUE(unchanged.has_value());
  EXPECT_EQ(unchanged->quotas.size(), 2u);

  auto unknown = apply_account_limits(*platform, nlohmann::json::parse(R"({"quotas": {"upload": 9}})"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().message,
            "limits.quotas.upload: the platform has no quota of that name (it has: uploads, inits)");
  auto negative = apply_account_limits(*platform, nlohmann::json::parse(R"({"quotas": {"uploads": -1}})"));
  ASSERT_FALSE(negative.has_value());
  EXPECT_THAT(negative.error().message, HasSubstr("0 lifts the platform's quota"));
  auto window = apply_account_limits(*platform, nlohmann::json::parse(R"({"windows": ["Funday 10:00-11:00"]})"));
  ASSERT_FALSE(window.has_value());
  EXPECT_THAT(window.error().message, HasSubstr("limits.windows[0]: \"Funday 10:00-11:00\": 'Funday' is not a day"));
}

TEST(PublishLimits, PostingWindowsAsPeopleWriteThem) {
  auto minutes = [](std::string_view text) {
    std::vector<std::pair<int, int>> out;
    auto windows = parse_posting_window(text);
    if (!windows) return out;
    for (const auto& w : *windows) out.emplace_back(w.start_minute, w.end_minute);
    return out;
  };
  using Pairs = std::vector<std::pair<int, int>>;
  EXPECT_EQ(minutes("Tue 09:30-10:00"), (Pairs{{1440 + 570, 1440 + 600}}));
  EXPECT_EQ(minutes("monday,Wednesday 00:00-24:00"), (Pairs{{0, 1440}, {2880, 4320}}));
  EXPECT_EQ(minutes("Sat-Mon 20:00-21:00"),
            (Pairs{{1200, 1260}, {5 * 1440 + 1200, 5 * 1440 + 1260}, {6 * 1440 + 1200, 6 * 1440 + 1260}}))
      << "a range of days may wrap past Sunday";
  EXPECT_EQ(minutes("daily 22:00-24:00").size(), 7u);
  for (const char* bad : {"Mon", "Mon 12:00", "Mon 12-14", "Mon 25:00-26:00", "Mon 12:00-12:00",
                          "Mon-Xyz 10:00-11:00", "Mon 10:60-11:00", "Mon 24:00-24:00"}) {
    EXPECT_FALSE(parse_posting_window(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace reelflow::plugin_host
