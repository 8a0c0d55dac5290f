// `reelflow models`: the engagement model's versions with the holdout figures they were judged
// by, and `models rollback [V]` to make an earlier version active again (GET /v1/models, POST
// /v1/models/<V>/rollback; store/model_registry.hpp).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/daemon_call.hpp"
#include "cli/help.hpp"

namespace reelflow::cli {

namespace {

using nlohmann::json;

std::string text_of(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return "-";
  if (object[key].is_string()) return object[key].get<std::string>();
  return object[key].dump();
}

// value with `decimals` decimals (and a sign when signed), or "-".
std::string figure(const json& value, int decimals, bool signed_figure = false) {
  if (!value.is_number()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, signed_figure ? "%+.*f" : "%.*f", decimals, value.get<double>());
  return text;
}

// "0.2012 / 0.2140 (-6.0%)": the candidate's holdout metric against the model it was compared
// with, as the decision recorded it.
std::string decision_text(const json& metrics) {
  const json decision = metrics.is_object() ? metrics.value("decision", json()) : json();
  if (!decision.is_object()) return "-";
  const json candidate = decision.value("candidate", json());
  const json active = decision.value("active", json());
  std::string text = decision.value("metric", std::string("?")) + " " + figure(candidate, 4) +
                     " / " + figure(active, 4);
  if (candidate.is_number() && active.is_number() && active.get<double>() > 0) {
    const double change = (candidate.get<double>() / active.get<double>() - 1) * 100;
    text += " (" + figure(change, 1, true) + "%)";
  }
  return text;
}

void print_versions(const json& reply) {
  const json& models = reply.contains("models") ? reply["models"] : json::array();
  if (models.empty()) {
    std::printf(
        "No model versions yet: video.score uses its built-in prior. A retraining "
        "workflow (workflows/retrain.yaml) registers the first.\n");
    return;
  }
  const std::vector<std::string> header = {
      "VERSION", "NAME", "STATUS", "CREATED", "FROM", "HOLDOUT (NEW / ACTIVE)", "POSTS", "REASON"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& model : models) {
    const json metrics = model.value("metrics", json::object());
    const json data = metrics.is_object() ? metrics.value("data", json()) : json();
    std::string created = text_of(model, "created_at");
    if (created.size() > 16) created = created.substr(0, 16);
    std::string reason = text_of(model, "reason");
    if (reason.size() > 70) reason = reason.substr(0, 67) + "...";
    rows.push_back({"v" + text_of(model, "version"), text_of(model, "name"),
                    text_of(model, "status"), created,
                    model["parent"].is_number() ? "v" + model["parent"].dump() : "prior",
                    decision_text(metrics), text_of(data, "examples"), reason});
  }
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
  const json active = reply.value("active", json::object());
  const json installed = reply.value("installed", json::object());
  for (const auto& [name, version] : active.items()) {
    std::printf("\nActive: %s v%s, installed at %s\n", name.c_str(), version.dump().c_str(),
                text_of(installed, name.c_str()).c_str());
  }
}

}  // namespace

int models_command(Args args) {
  if (args.flag("--help") || args.flag("-h")) {
    std::fputs(command_help("models"), stdout);
    return kExitOk;
  }
  DaemonCall call("models", args);
  const auto name = args.option("--name");
  auto words = args.positional();
  auto problems = args.errors();
  problems.insert(problems.end(), call.problems.begin(), call.problems.end());
  const std::string action = words.empty() ? "list" : words[0];
  if (action != "list" && action != "rollback") {
    problems.push_back("no action '" + action + "' (list, rollback [V])");
  } else if (action == "list" && words.size() > 1) {
    problems.push_back("list takes no further words");
  } else if (action == "rollback" && words.size() > 2) {
    problems.push_back("rollback takes at most one word: the version, e.g. 3 or v3");
  }
  if (name && (name->empty() || name->find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") !=
                                    std::string::npos)) {
    problems.push_back("--name must be a model name of a-z, 0-9, '_' and '-', got '" + *name + "'");
  }
  if (!problems.empty()) return usage_error("models", problems);

  const std::string query = name ? "?name=" + *name : "";
  std::optional<json> reply;
  if (action == "list") {
    reply = call.request("GET", "/v1/models" + query);
  } else {
    std::string version = words.size() == 2 ? words[1] : "previous";
    if (version.size() > 1 && (version[0] == 'v' || version[0] == 'V')) version.erase(0, 1);
    reply = call.request("POST", "/v1/models/" + version + "/rollback" + query);
  }
  if (!reply) return kExitFailed;
  if (call.as_json) {
    print_json(*reply);
    return kExitOk;
  }
  if (action == "list") {
    print_versions(*reply);
    return kExitOk;
  }
  const std::string model = text_of(*reply, "name");
  const std::string active = text_of(*reply, "active");
  if (!reply->value("changed", false)) {
    std::printf("%s: v%s is already the active version\n", model.c_str(), active.c_str());
  } else {
    std::printf("%s: v%s is active again (was %s); installed at %s\n", model.c_str(),
                active.c_str(),
                (*reply)["previous"].is_number() ? ("v" + (*reply)["previous"].dump()).c_str()
                                                 : "the prior",
                text_of(*reply, "installed").c_str());
  }
  return kExitOk;
}

}  // namespace reelflow::cli
