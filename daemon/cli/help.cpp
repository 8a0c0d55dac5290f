#include "cli/help.hpp"

namespace reelflow::cli {

const char* main_help() {
  return R"(reelflow - run and inspect short-video marketing workflows

Usage: reelflow [--plugin-dir DIR]... COMMAND [ARGS]

Offline commands (no daemon needed):
  validate FILE...     check workflow files; every problem as FILE:LINE:COL: error: message
  schema               print the JSON Schema of the workflow format, for editor autocompletion
  plugins              list plugins, their step types and options
  run WORKFLOW         run a workflow once in the foreground

Global options:
  --plugin-dir DIR     also load plugins from DIR (repeatable; searched before
                       REELFLOW_PLUGIN_PATH and the built-in directory)
  -h, --help           show help; 'reelflow COMMAND --help' for a command
  --version            print the version

Environment:
  REELFLOW_PLUGIN_PATH  colon-separated plugin directories

Exit status: 0 success, 1 failed, 2 usage error, 3 invalid workflow.
Documentation: docs/workflows.md (the YAML format), docs/plugins.md (writing plugins).
)";
}

const char* command_help(std::string_view command) {
  if (command == "validate") {
    return R"(Usage: reelflow validate [--json] [--quiet] FILE...

Checks workflow files against the workflow format and the options of every loaded plugin,
and reports every problem found, each as
  FILE:LINE:COL: error: message
Nothing runs. Exit status 0 when every file is clean, 3 when any has a problem.

Options:
  --json          print {"files": [{"file", "ok", "diagnostics": [...]}], "errors": N}
  -q, --quiet     do not print 'FILE: ok' for clean files
  --plugin-dir DIR  also load plugins from DIR (repeatable)
)";
  }
  if (command == "schema") {
    return R"(Usage: reelflow schema [--output FILE]

Prints a JSON Schema (draft 2020-12) of the workflow format, including the options of every
loaded plugin's step types. Point your editor's YAML extension at it for autocompletion, e.g.
put this first line in a workflow:
  # yaml-language-server: $schema=/path/to/reelflow.schema.json

Options:
  --output FILE   write the schema to FILE instead of standard output
  --plugin-dir DIR  also load plugins from DIR (repeatable)
)";
  }
  if (command == "plugins") {
    return R"(Usage: reelflow plugins [--json]

Lists the loaded plugins with their version, license and file, and each step type with its
options: type, default, range or allowed values, and help text. Plugins that fail to load are
reported on standard error with the reason.

Options:
  --json          machine-readable: {"plugins": [{"name", "version", "path", "step_types": [...]}]}
  --plugin-dir DIR  also load plugins from DIR (repeatable)
)";
  }
  if (command == "run") {
    return R"(Usage: reelflow run WORKFLOW [--input FILE] [options]

Runs a workflow once, in the foreground, without a daemon: as if FILE had arrived in the
watched folder (trigger.file). Shows a line per step and a progress bar for long steps on
standard error, then the outputs. The workflow is validated first; nothing runs if it has errors.
Ctrl-C cancels the run (the running step is asked to stop).

Options:
  --input FILE          the trigger's file (trigger.file, trigger.name, trigger.size)
  --artifacts DIR       where step files go: DIR/<run id>/<step id>/ (default ./reelflow-runs)
  --secret NAME=VALUE   a secret for secrets.NAME and the plugins (repeatable)
  --secrets-file FILE   secrets as NAME=VALUE lines (keep it chmod 600)
  --env NAME=VALUE      override an env value of the workflow (repeatable)
  --json                print the run record (every step's state, attempts, outputs) as JSON
  -v, --verbose         show plugins' debug log lines
  --plugin-dir DIR      also load plugins from DIR (repeatable)

Exit status: 0 the run succeeded, 1 it failed or was cancelled, 2 usage, 3 invalid workflow.
)";
  }
  return nullptr;
}

}  // namespace reelflow::cli
