// The daemon verbs: status, workflows, runs, run show, trigger, retry, cancel, pause, resume.
// Each asks the running reelflowd over its control API (control_client.hpp) and prints either
// the server's JSON (--json) or a readable summary.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/control_client.hpp"
#include "cli/daemon_call.hpp"
#include "track/report_render.hpp"
#include "cli/help.hpp"

namespace reelflow::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

bool wants_help(Args& args, const char* command) {
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(command_help(command), stdout);
    return true;
  }
  return false;
}

// A JSON value as a table cell: strings bare, null and missing as "-".
std::string cell(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return "-";
  const json& value = object[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", value.get<double>());
    return buffer;
  }
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string shorten(std::string text, std::size_t width) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() <= width) return text;
  return text.substr(0, width - 3) + "...";
}

// The width of each column: its widest cell, header included.
std::vector<std::size_t> column_widths(const std::vector<std::string>& header,
                                       const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  return widths;
}

// One table line, columns padded to widths; the last column is not padded.
void print_row(const std::vector<std::string>& row, const std::vector<std::size_t>& widths) {
  std::string line;
  for (std::size_t i = 0; i < row.size(); ++i) {
    line += row[i];
    if (i + 1 < row.size() && i < widths.size()) {
      line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
  }
  std::printf("%s\n", line.c_str());
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  auto widths = column_widths(header, rows);
  print_row(header, widths);
  for (const auto& row : rows) print_row(row, widths);
}

std::string duration_text(double seconds) {
  long total = std::lround(seconds);
  long days = total / 86400, hours = total % 86400 / 3600, minutes = total % 3600 / 60;
  if (days > 0) return std::to_string(days) + "d " + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h " + std::to_string(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m " + std::to_string(total % 60) + "s";
  return std::to_string(total) + "s";
}

std::string trigger_text(const json& trigger) {
  if (trigger.is_string()) return trigger.get<std::string>();
  if (trigger.is_object()) {
    if (trigger.contains("file") && trigger["file"].is_string()) return trigger["file"];
    if (trigger.contains("event") && trigger["event"].is_string()) return trigger["event"];
  }
  if (trigger.is_null()) return "-";
  return trigger.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Shared shape of the verbs that take exactly `positional_count` words and make one request.
template <typename Request, typename Print>
int simple_verb(const char* command, Args& args, std::size_t positional_count,
                const char* positional_problem, Request make_request, Print print) {
  if (wants_help(args, command)) return kExitOk;
  DaemonCall call(command, args);
  auto rest = args.positional();
  auto problems = args.errors();
  problems.insert(problems.end(), call.problems.begin(), call.problems.end());
  if (rest.size() != positional_count) problems.push_back(positional_problem);
  if (!problems.empty()) return usage_error(command, problems);
  auto reply = make_request(call, rest);
  if (!reply) return kExitFailed;
  if (call.as_json) {
    print_json(*reply);
  } else {
    print(*reply, rest);
  }
  return kExitOk;
}

void print_status(const json& status) {
  std::printf("reelflowd %s, pid %s, %s, up %s\n", cell(status, "version").c_str(),
              cell(status, "pid").c_str(), cell(status, "state").c_str(),
              status.value("uptime_seconds", json(0)).is_number()
                  ? duration_text(status["uptime_seconds"].get<double>()).c_str()
                  : "-");
  std::printf("workflows: %s\n", cell(status, "workflows").c_str());
  std::printf("runs:      %s queued, %s active", cell(status, "queued").c_str(),
              cell(status, "active").c_str());
  if (status.contains("runs") && status["runs"].is_object() && !status["runs"].empty()) {
    std::string by_state;
    for (const auto& [state, count] : status["runs"].items()) {
      by_state += (by_state.empty() ? "" : ", ") + state + " " +
                  (count.is_string() ? count.get<std::string>() : count.dump());
    }
    std::printf("; %s", by_state.c_str());
  }
  std::printf("\n");
  if (status.contains("workers") && status["workers"].is_object()) {
    const json& workers = status["workers"];
    std::printf("workers:   %s busy, %s idle, %s restarts\n", cell(workers, "busy").c_str(),
                cell(workers, "idle").c_str(), cell(workers, "restarts").c_str());
  }
}

void print_workflows(const json& reply) {
  const json& workflows = reply.contains("workflows") ? reply["workflows"] : json::array();
  if (!workflows.is_array() || workflows.empty()) {
    std::puts("No workflows loaded.");
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& workflow : workflows) {
    std::string triggers;
    if (workflow.contains("triggers") && workflow["triggers"].is_array()) {
      for (const auto& trigger : workflow["triggers"]) {
        std::string text = trigger.is_object() && trigger.contains("type") ? cell(trigger, "type")
                                                                           : trigger_text(trigger);
        if (trigger.is_object() && trigger.contains("summary")) {
          const std::string summary = cell(trigger, "summary");
          if (!summary.empty()) text += " " + summary;
        }
        triggers += (triggers.empty() ? "" : "; ") + text;
      }
    }
    bool paused = workflow.value("paused", false);
    rows.push_back({cell(workflow, "name"), paused ? "paused" : "active",
                    triggers.empty() ? "-" : triggers, cell(workflow, "file")});
  }
  print_table({"NAME", "STATE", "TRIGGERS", "FILE"}, rows);
}

void print_runs(const json& reply) {
  const json& runs = reply.contains("runs") ? reply["runs"] : json::array();
  if (!runs.is_array() || runs.empty()) {
    std::puts("No runs.");
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& run : runs) {
    std::string trigger = run.contains("trigger") ? trigger_text(run["trigger"]) : "-";
    rows.push_back({cell(run, "id"), cell(run, "workflow"), cell(run, "state"),
                    cell(run, "created_at"), cell(run, "finished_at"), shorten(trigger, 40),
                    shorten(cell(run, "error"), 60)});
  }
  print_table({"ID", "WORKFLOW", "STATE", "CREATED", "FINISHED", "TRIGGER", "ERROR"}, rows);
}

void print_run(const json& run) {
  std::printf("run %s  workflow %s  %s\n", cell(run, "id").c_str(), cell(run, "workflow").c_str(),
              cell(run, "state").c_str());
  if (run.contains("trigger")) std::printf("trigger:  %s\n", trigger_text(run["trigger"]).c_str());
  std::printf("created:  %s\nstarted:  %s\nfinished: %s\n", cell(run, "created_at").c_str(),
              cell(run, "started_at").c_str(), cell(run, "finished_at").c_str());
  if (run.contains("error") && !run["error"].is_null()) {
    std::printf("error:    %s\n", cell(run, "error").c_str());
  }
  const json& steps = run.contains("steps") ? run["steps"] : json::array();
  if (!steps.is_array() || steps.empty()) {
    std::puts("\nNo steps yet.");
    return;
  }
  std::puts("");
  std::vector<std::string> header = {"STEP", "ITEM", "ATTEMPT", "STATE", "STARTED", "SECONDS"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& step : steps) {
    rows.push_back({cell(step, "id"), cell(step, "item"), cell(step, "attempt"),
                    cell(step, "state"), cell(step, "started_at"), cell(step, "seconds")});
  }
  auto widths = column_widths(header, rows);
  print_row(header, widths);
  for (std::size_t index = 0; index < rows.size(); ++index) {
    print_row(rows[index], widths);
    const json& step = steps[index];
    if (step.contains("error") && !step["error"].is_null()) {
      std::printf("    error: %s\n", cell(step, "error").c_str());
    }
    if (step.contains("outputs") && step["outputs"].is_object()) {
      for (const auto& [name, value] : step["outputs"].items()) {
        std::string text = value.is_string()
                               ? value.get<std::string>()
                               : value.dump(-1, ' ', false, json::error_handler_t::replace);
        std::printf("    %s = %s\n", name.c_str(), shorten(text, 200).c_str());
      }
    }
  }
}

// "message" from the reply when the daemon gave one, else `fallback`.
void print_message(const json& reply, const std::string& fallback) {
  if (reply.is_object() && reply.contains("message") && reply["message"].is_string()) {
    std::printf("%s\n", reply["message"].get<std::string>().c_str());
  } else {
    std::printf("%s\n", fallback.c_str());
  }
}

using Words = std::vector<std::string>;

}  // namespace

int status_command(Args args) {
  return simple_verb(
      "status", args, 0, "takes no arguments",
      [](DaemonCall& call, const Words&) { return call.request("GET", "/v1/status"); },
      [](const json& reply, const Words&) { print_status(reply); });
}

int workflows_command(Args args) {
  return simple_verb(
      "workflows", args, 0, "takes no arguments",
      [](DaemonCall& call, const Words&) { return call.request("GET", "/v1/workflows"); },
      [](const json& reply, const Words&) { print_workflows(reply); });
}

int runs_command(Args args) {
  if (wants_help(args, "runs")) return kExitOk;
  auto workflow = args.option("--workflow");
  auto state = args.option("--state");
  auto limit = args.option("--limit");
  std::string query;
  if (workflow) query += "&workflow=" + url_encode(*workflow);
  if (state) query += "&state=" + url_encode(*state);
  if (limit) {
    bool digits = !limit->empty() && limit->size() <= 6 &&
                  limit->find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(*limit) < 1) {
      return usage_error("runs", {"--limit takes a positive number, got '" + *limit + "'"});
    }
    query += "&limit=" + *limit;
  }
  if (!query.empty()) query[0] = '?';
  return simple_verb(
      "runs", args, 0, "takes no arguments; filter with --workflow, --state, --limit",
      [&](DaemonCall& call, const Words&) { return call.request("GET", "/v1/runs" + query); },
      [](const json& reply, const Words&) { print_runs(reply); });
}

int run_show_command(Args args) {
  return simple_verb(
      "run show", args, 1, "name exactly one run id",
      [](DaemonCall& call, const Words& rest) {
        return call.request("GET", "/v1/runs/" + url_encode(rest[0]));
      },
      [](const json& reply, const Words&) { print_run(reply); });
}

int trigger_command(Args args) {
  if (wants_help(args, "trigger")) return kExitOk;
  auto input = args.option("--input");
  json body = json::object();
  if (input) {
    std::error_code ec;
    fs::path absolute = fs::absolute(*input, ec).lexically_normal();
    if (ec || !fs::exists(absolute, ec)) {
      return usage_error("trigger", {"input " + *input + " does not exist"});
    }
    body["input"] = absolute.string();
  }
  return simple_verb(
      "trigger", args, 1, "name exactly one workflow",
      [&](DaemonCall& call, const Words& rest) {
        return call.request("POST", "/v1/workflows/" + url_encode(rest[0]) + "/trigger",
                            body.dump());
      },
      [](const json& reply, const Words& rest) {
        bool created = reply.value("created", true);
        std::string id = cell(reply, "run_id");
        if (created) {
          std::printf("started run %s of %s\n", id.c_str(), rest[0].c_str());
        } else {
          std::printf("run %s of %s already exists for this input; not started again\n", id.c_str(),
                      rest[0].c_str());
        }
      });
}

namespace {

int run_action(const char* command, Args& args, const char* action) {
  return simple_verb(
      command, args, 1, "name exactly one run id",
      [&](DaemonCall& call, const Words& rest) {
        return call.request("POST", "/v1/runs/" + url_encode(rest[0]) + "/" + action);
      },
      [&](const json& reply, const Words& rest) {
        std::string verb = std::string(action) == "retry" ? "retrying" : "cancelling";
        print_message(reply, verb + " run " + rest[0]);
      });
}

int workflow_action(const char* command, Args& args, const char* done) {
  return simple_verb(
      command, args, 1, "name exactly one workflow",
      [&](DaemonCall& call, const Words& rest) {
        return call.request("POST", "/v1/workflows/" + url_encode(rest[0]) + "/" + command);
      },
      [&](const json& reply, const Words& rest) {
        print_message(reply, "workflow " + rest[0] + " " + done);
      });
}

}  // namespace

int retry_command(Args args) { return run_action("retry", args, "retry"); }
int cancel_command(Args args) { return run_action("cancel", args, "cancel"); }
int pause_command(Args args) {
  return workflow_action("pause", args, "paused; runs already started carry on");
}
int resume_command(Args args) { return workflow_action("resume", args, "resumed"); }

int posts_command(Args args) {
  if (wants_help(args, "posts")) return kExitOk;
  auto account = args.option("--account");
  std::string query = account ? "?account=" + url_encode(*account) : "";
  return simple_verb(
      "posts", args, 0, "takes no arguments; filter with --account",
      [&](DaemonCall& call, const Words&) { return call.request("GET", "/v1/posts" + query); },
      [](const json& reply, const Words&) {
        const json& posts = reply.contains("posts") ? reply["posts"] : json::array();
        if (posts.empty()) {
          std::printf("No posts published yet.\n");
          return;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& post : posts) {
          // The latest counters taken.
          std::string latest = "-";
          std::string latest_at;
          const json metrics = post.value("metrics", json::object());
          for (const auto& [label, values] : metrics.items()) {
            const std::string at = values.value("taken_at", "");
            if (at < latest_at) continue;
            latest_at = at;
            latest = label + ": " + cell(values, "views") + " views, " + cell(values, "likes") +
                     " likes, " + cell(values, "comments") + " comments, " +
                     cell(values, "shares") + " shares";
          }
          rows.push_back({cell(post, "published_at"), cell(post, "platform"),
                          cell(post, "account"), cell(post, "post_id"), latest,
                          cell(post, "url")});
        }
        print_table({"PUBLISHED", "PLATFORM", "ACCOUNT", "POST", "LATEST METRICS", "URL"}, rows);
      });
}

int accounts_command(Args args) {
  return simple_verb(
      "accounts", args, 0, "takes no arguments",
      [](DaemonCall& call, const Words&) { return call.request("GET", "/v1/accounts"); },
      [](const json& reply, const Words&) {
        const json& accounts = reply.contains("accounts") ? reply["accounts"] : json::array();
        if (accounts.empty()) {
          std::printf("No accounts. Add one as the secret account.NAME (see docs/publishing.md).\n");
          return;
        }
        std::vector<std::vector<std::string>> rows;
        bool attention = false;
        for (const auto& account : accounts) {
          std::string status = cell(account, "status");
          if (status != "ok") attention = true;
          rows.push_back({cell(account, "name"), cell(account, "platform"),
                          cell(account, "publisher"),
                          status == "reconnect_needed" ? "RECONNECT NEEDED" : status,
                          cell(account, "expires_at"), cell(account, "refreshed_at"),
                          shorten(cell(account, "message"), 70)});
        }
        print_table({"ACCOUNT", "PLATFORM", "PUBLISHER", "STATUS", "TOKEN EXPIRES",
                     "REFRESHED", "NOTE"},
                    rows);
        if (attention) {
          std::printf("\nTo reconnect an account: authorize reelflow on the platform again, put "
                      "the new credentials in its secret account.NAME, and reload the daemon "
                      "(systemctl reload reelflowd); its held posts ('reelflow schedule') go on "
                      "within 5 minutes.\n");
        }
      });
}

}  // namespace reelflow::cli

namespace reelflow::cli {

// links [list|show CODE|create URL|disable CODE|enable CODE] [--campaign C] [--platform P]
// [--variant V] [--medium M] [--title T] [--video F] [--json]
int links_command(Args args) {
  if (wants_help(args, "links")) return kExitOk;
  DaemonCall call("links", args);
  json fields = json::object();
  for (const char* name : {"campaign", "platform", "variant", "medium", "title", "video"}) {
    if (auto value = args.option(std::string("--") + name)) fields[name] = *value;
  }
  auto words = args.positional();
  auto problems = args.errors();
  problems.insert(problems.end(), call.problems.begin(), call.problems.end());
  const std::string action = words.empty() ? "list" : words[0];
  const std::size_t wanted = action == "list" ? 1 : 2;
  if (action != "list" && action != "show" && action != "create" && action != "disable" &&
      action != "enable") {
    problems.push_back("no action '" + action + "' (list, show CODE, create URL, disable CODE, "
                       "enable CODE)");
  } else if (words.size() > wanted || (wanted == 2 && words.size() < 2)) {
    problems.push_back(action == "list" ? "list takes no further words"
                                        : action + " takes one word: the " +
                                              (action == "create" ? "URL" : "link's code"));
  }
  if (!problems.empty()) return usage_error("links", problems);
  std::optional<json> reply;
  if (action == "list") {
    std::string query = "?limit=1000";
    if (fields.contains("campaign")) query += "&campaign=" + url_encode(fields["campaign"].get<std::string>());
    reply = call.request("GET", "/v1/links" + query);
  } else if (action == "show") {
    reply = call.request("GET", "/v1/links/" + url_encode(words[1]));
  } else if (action == "create") {
    fields["url"] = words[1];
    reply = call.request("POST", "/v1/links", fields.dump());
  } else {
    reply = call.request("POST", "/v1/links/" + url_encode(words[1]) + "/" + action);
  }
  if (!reply) return kExitFailed;
  if (call.as_json) {
    print_json(*reply);
    return kExitOk;
  }
  if (action == "list") {
    const json& links = reply->contains("links") ? (*reply)["links"] : json::array();
    if (links.empty()) {
      std::printf("No links yet. Make one with 'reelflow links create URL' or a track.link "
                  "step.\n");
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& link : links) {
      rows.push_back({cell(link, "code"), link.value("enabled", true) ? "on" : "off",
                      cell(link, "platform"), cell(link, "campaign"), cell(link, "variant"),
                      cell(link, "short_url"), shorten(cell(link, "target"), 60)});
    }
    print_table({"CODE", "STATE", "PLATFORM", "CAMPAIGN", "VARIANT", "SHORT URL", "TARGET"}, rows);
    return kExitOk;
  }
  const json& link = *reply;
  std::printf("%s  %s%s\n", cell(link, "short_url").c_str(), cell(link, "target").c_str(),
              link.value("enabled", true) ? "" : "  (disabled: answers 410)");
  std::printf("code %s, platform %s, campaign %s, variant %s, created %s\n",
              cell(link, "code").c_str(), cell(link, "platform").c_str(),
              cell(link, "campaign").c_str(), cell(link, "variant").c_str(),
              cell(link, "created_at").c_str());
  if (link.contains("clicks_total")) {
    std::printf("clicks: %s human, %s repeat (same visitor within the hour), %s bots and "
                "previews; %s in all\n",
                cell(link, "clicks_human").c_str(), cell(link, "clicks_duplicate").c_str(),
                cell(link, "clicks_bot").c_str(), cell(link, "clicks_total").c_str());
    const json& conversions = link.contains("conversions") ? link["conversions"] : json::array();
    std::printf("conversions: %zu, revenue %s\n", conversions.size(), cell(link, "revenue").c_str());
    for (const auto& c : conversions) {
      std::printf("  %s  %s %s %s  order %s  (%s)\n", cell(c, "at").c_str(),
                  cell(c, "event").c_str(), cell(c, "value").c_str(), cell(c, "currency").c_str(),
                  cell(c, "order_id").c_str(), cell(c, "source").c_str());
    }
  }
  return kExitOk;
}

// report [--campaign C] [--since DATE] [--by platform|video|variant|day] [--csv|--json|--html F]
int report_command(Args args) {
  if (wants_help(args, "report")) return kExitOk;
  DaemonCall call("report", args);
  const bool csv = args.flag("--csv");
  auto html = args.option("--html");
  auto campaign = args.option("--campaign");
  auto since = args.option("--since");
  auto by = args.option("--by");
  auto words = args.positional();
  auto problems = args.errors();
  problems.insert(problems.end(), call.problems.begin(), call.problems.end());
  if (!words.empty()) problems.push_back("takes no words; use --campaign, --since, --by");
  if (by && *by != "platform" && *by != "video" && *by != "variant" && *by != "day") {
    problems.push_back("--by must be platform, video, variant or day");
  }
  if ((csv ? 1 : 0) + (call.as_json ? 1 : 0) + (html ? 1 : 0) > 1) {
    problems.push_back("choose one of --csv, --json and --html FILE");
  }
  if (!problems.empty()) return usage_error("report", problems);
  std::string query = "?by=" + url_encode(by.value_or("platform"));
  if (campaign) query += "&campaign=" + url_encode(*campaign);
  if (since) query += "&since=" + url_encode(*since);
  auto reply = call.request("GET", "/v1/report" + query);
  if (!reply) return kExitFailed;
  if (call.as_json) {
    print_json(*reply);
  } else if (csv) {
    std::fputs(track::render_report_csv(*reply).c_str(), stdout);
  } else if (html) {
    const fs::path file = *html;
    const fs::path partial = file.string() + ".part";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      out << track::render_report_html(*reply);
      if (!out) {
        std::fprintf(stderr, "reelflow report: cannot write %s\n", partial.c_str());
        return kExitFailed;
      }
    }
    std::error_code ec;
    fs::rename(partial, file, ec);
    if (ec) {
      std::fprintf(stderr, "reelflow report: cannot write %s: %s\n", file.c_str(),
                   ec.message().c_str());
      return kExitFailed;
    }
    std::printf("wrote %s\n", file.c_str());
  } else {
    std::fputs(track::render_report_text(*reply).c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace reelflow::cli
