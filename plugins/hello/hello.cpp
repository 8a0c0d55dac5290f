// hello: the smallest complete reelflow plugin, and the template for writing your own.
//
// Step type hello.stamp reads a file's size and writes stamp.json into the artifact directory:
//   {"input": <path>, "size": <bytes>, "greeting": <greeting>, "run_id": <run id>}
// and sets the step's output to {"stamp": <path of stamp.json>, "size": <bytes>}.
//
// Options: `input` (path; default: the trigger's file, context.trigger.file) and `greeting`.
// Running it again overwrites stamp.json with the same content, so it is RERUN_SAFE, and it is
// light enough to run IN_PROCESS.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <reelflow/plugin.hpp>
#include <string>
#include <system_error>

namespace {

namespace fs = std::filesystem;
namespace json = reelflow::json;
namespace option = reelflow::option;

constexpr rf_option kStampOptions[] = {
    option::path("input", reelflow::no_default,
                 "File to stamp. Default: the file that triggered the run (trigger.file)."),
    option::string("greeting", reelflow::json_string<"Hello from reelflow">,
                   "Text written into stamp.json."),
};

std::string describe(const std::error_code& error) { return error.message(); }

class Stamp {
 public:
  // Every run gets its own options and context; this instance keeps nothing between runs.
  rf_status run(reelflow::Run& run) {
    std::string problem;
    const auto options = json::Object::parse(run.options_json(), &problem);
    if (!options) return run.fail("hello.stamp: the options are not a JSON object: " + problem);
    const auto context = json::Object::parse(run.context_json(), &problem);
    if (!context) return run.fail("hello.stamp: the context is not a JSON object: " + problem);

    std::optional<std::string> input = options->get_string("input");
    if (!input) {
      if (const auto trigger = context->get_object("trigger")) input = trigger->get_string("file");
    }
    if (!input || input->empty()) {
      return run.fail(
          "hello.stamp: no input file: set the `input` option or start the run with a file "
          "(trigger.file)");
    }
    const std::string greeting = options->get_string("greeting").value_or("Hello from reelflow");

    // Size and readability of the input: a missing or unreadable file names the file.
    std::error_code error;
    const fs::file_status status = fs::status(*input, error);
    if (status.type() == fs::file_type::not_found) {
      return run.fail("hello.stamp: input file '" + *input + "' does not exist");
    }
    if (error) {
      return run.fail("hello.stamp: cannot access input file '" + *input + "': " + describe(error));
    }
    if (!fs::is_regular_file(status)) {
      return run.fail("hello.stamp: input '" + *input + "' is not a regular file");
    }
    if (std::ifstream probe(*input, std::ios::binary); !probe) {
      const int saved_errno = errno;
      return run.fail("hello.stamp: cannot read input file '" + *input + "'" +
                      (saved_errno != 0 ? std::string(": ") + std::strerror(saved_errno) : ""));
    }
    const std::uintmax_t size = fs::file_size(*input, error);
    if (error) {
      return run.fail("hello.stamp: cannot read the size of input file '" + *input +
                      "': " + describe(error));
    }
    if (run.cancelled()) return RF_STATUS_CANCELLED;

    // Write stamp.json next to a temporary name, then rename: a crash never leaves half a file.
    const fs::path artifact_dir = run.artifact_dir();
    if (artifact_dir.empty()) return run.fail("hello.stamp: the host gave no artifact directory");
    const fs::path stamp_path = artifact_dir / "stamp.json";
    const fs::path partial_path = artifact_dir / "stamp.json.partial";
    const json::Value* run_id = context->find("run_id");
    const std::string stamp = json::ObjectBuilder()
                                  .add("input", *input)
                                  .add("size", size)
                                  .add("greeting", greeting)
                                  .add("run_id", run_id != nullptr ? *run_id : json::Value())
                                  .str();
    {
      std::ofstream out(partial_path, std::ios::binary | std::ios::trunc);
      out << stamp << '\n';
      out.close();
      if (!out) {
        return run.fail("hello.stamp: cannot write '" + partial_path.string() + "'");
      }
    }
    fs::rename(partial_path, stamp_path, error);
    if (error) {
      return run.fail("hello.stamp: cannot rename '" + partial_path.string() + "' to '" +
                      stamp_path.string() + "': " + describe(error));
    }

    run.info("stamped '" + *input + "' (" + std::to_string(size) + " bytes)");
    run.progress(1.0);
    if (!run.set_output(json::ObjectBuilder().add("stamp", stamp_path).add("size", size))) {
      return run.fail("hello.stamp: the host refused the output");
    }
    return RF_STATUS_OK;
  }
};

constexpr rf_step_type kStepTypes[] = {
    reelflow::step_type<Stamp>({.name = "hello.stamp",
                                .summary = "Write stamp.json with a file's size and a greeting",
                                .flags = RF_STEP_RERUN_SAFE | RF_STEP_IN_PROCESS},
                               kStampOptions),
};

constexpr rf_plugin kPlugin = reelflow::plugin({.name = "hello",
                                                .version = "1.0.0",
                                                .license = "Apache-2.0",
                                                .summary = "The smallest complete plugin"},
                                               kStepTypes);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
