// folder.publish: "publishes" a post by delivering it into a directory — the video, its cover and
// a post.json with everything a person (or an agency's tooling) needs to post it by hand: title,
// caption, tags, tracked link, when. It is the demo's publisher and the simplest complete
// publisher type (ABI 1.2) to copy.
//
// The stages map onto the file system so that a post lands exactly once, whole or not at all:
//   start     creates <dir>/.partial-<name>/ (the session; the name is derived from the post's
//             idempotency key, so a second start after a crash finds the same directory);
//   upload    copies the video (resuming from what a partial copy already holds) and the cover;
//   finalize  writes post.json, then renames .partial-<name> to <name> in one step;
//   poll      the post is published once <name> exists;
//   reconcile <name> exists: the post; .partial-<name> exists: the session; else nothing.
#include <reelflow/plugin.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::uint64_t kCheckpointBytes = 8u << 20;  // record progress every 8 MiB copied

// The post's directory name: <publish date>_<slug of the title or video>_<hash of the key>,
// stable for a post across attempts and restarts.
std::string post_name(const json& post) {
  std::string date = post.value("publish_at", "").substr(0, 10);
  std::string source = post.value("title", "");
  if (source.empty()) source = fs::path(post["video"].value("path", "video")).stem().string();
  std::string slug;
  for (unsigned char c : source) {
    if (std::isalnum(c)) {
      slug.push_back(static_cast<char>(std::tolower(c)));
    } else if (!slug.empty() && slug.back() != '-') {
      slug.push_back('-');
    }
    if (slug.size() >= 40) break;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.empty()) slug = "post";
  // FNV-1a, 64 bit: enough to keep two posts of one title and day apart.
  std::uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : post.value("idempotency_key", "")) {
    hash = (hash ^ c) * 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return date + "_" + slug + "_" + std::string(hex, 10);
}

std::string errno_text() { return std::strerror(errno); }

class Folder {
 public:
  rf_status prepare(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    const fs::path dir = post["account"]["options"].value("path", "");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      fs::create_directories(dir, ec);
      if (ec) {
        return run.fail("folder.publish: account '" + post["account"].value("name", "") +
                        "': cannot create the folder " + dir.string() + ": " + ec.message());
      }
    }
    if (post.value("caption", "").size() > 100000) {
      return run.fail("folder.publish: caption is longer than 100000 bytes");
    }
    return RF_STATUS_OK;
  }

  rf_status start(reelflow::Run& run, std::string_view post_text) {
    const json post = json::parse(post_text);
    const fs::path dir = post["account"]["options"].value("path", "");
    const std::string name = post_name(post);
    const fs::path staging = dir / (".partial-" + name);
    std::error_code ec;
    fs::create_directories(staging, ec);
    if (ec) return run.fail("folder.publish: cannot create " + staging.string() + ": " + ec.message());
    json session = {{"name", name}, {"staging", staging.string()},
                    {"final", (dir / name).string()}, {"copied", 0}};
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status upload(reelflow::Run& run, std::string_view post_text, std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    const fs::path staging = session.value("staging", "");
    const fs::path video = post["video"].value("path", "");
    const fs::path target = staging / ("video" + video.extension().string());
    if (auto copied = copy_resuming(run, video, target, session); copied != RF_STATUS_OK) {
      return copied;
    }
    if (post["cover"].is_string()) {
      const fs::path cover = post["cover"].get<std::string>();
      std::error_code ec;
      fs::copy_file(cover, staging / ("cover" + cover.extension().string()),
                    fs::copy_options::overwrite_existing, ec);
      if (ec) return run.fail("folder.publish: cannot copy the cover " + cover.string() + ": " +
                              ec.message());
    }
    session["video_file"] = target.filename().string();
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status finalize(reelflow::Run& run, std::string_view post_text,
                     std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    const fs::path staging = session.value("staging", "");
    const fs::path final_dir = session.value("final", "");
    json metadata = {{"platform", "folder"},
                     {"account", post["account"].value("name", "")},
                     {"idempotency_key", post.value("idempotency_key", "")},
                     {"video", session.value("video_file", "")},
                     {"title", post.value("title", "")},
                     {"caption", post.value("caption", "")},
                     {"tags", post.value("tags", json::array())},
                     {"link", post["link"]},
                     {"publish_at", post.value("publish_at", "")},
                     {"options", post.value("options", json::object())}};
    if (post["cover"].is_string()) {
      metadata["cover"] = "cover" + fs::path(post["cover"].get<std::string>()).extension().string();
    }
    const fs::path metadata_file = staging / "post.json";
    {
      std::ofstream out(metadata_file, std::ios::trunc);
      out << metadata.dump(2) << "\n";
      out.flush();
      if (!out) return run.fail("folder.publish: cannot write " + metadata_file.string());
    }
    // The rename is the commit: the post appears whole or not at all.
    if (std::rename(staging.c_str(), final_dir.c_str()) != 0) {
      return run.fail("folder.publish: cannot move " + staging.string() + " to " +
                      final_dir.string() + ": " + errno_text());
    }
    session["post_id"] = session.value("name", "");
    session["url"] = "file://" + final_dir.string();
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status poll(reelflow::Run& run, std::string_view, std::string_view session_text) {
    json session = json::parse(session_text);
    std::error_code ec;
    const fs::path final_dir = session.value("final", "");
    if (fs::exists(final_dir / "post.json", ec)) {
      session["state"] = "published";
      session["post_id"] = session.value("name", "");
      session["url"] = "file://" + final_dir.string();
    } else {
      session["state"] = "failed";
      session["error"] = final_dir.string() + " is not there (was it moved or deleted?)";
    }
    run.set_output(session.dump());
    return RF_STATUS_OK;
  }

  rf_status reconcile(reelflow::Run& run, std::string_view post_text,
                      std::string_view session_text) {
    const json post = json::parse(post_text);
    json session = json::parse(session_text);
    const fs::path dir = post["account"]["options"].value("path", "");
    const std::string name = post_name(post);
    std::error_code ec;
    json answer = session;
    answer["name"] = name;
    answer["staging"] = (dir / (".partial-" + name)).string();
    answer["final"] = (dir / name).string();
    if (fs::exists(dir / name / "post.json", ec)) {
      answer["found"] = "post";
    } else if (fs::is_directory(dir / (".partial-" + name), ec)) {
      answer["found"] = "session";
    } else {
      answer["found"] = "nothing";
    }
    run.set_output(answer.dump());
    return RF_STATUS_OK;
  }

 private:
  // Copies from where an earlier, interrupted copy stopped (its size), checkpointing as it goes.
  static rf_status copy_resuming(reelflow::Run& run, const fs::path& from, const fs::path& to,
                                 json& session) {
    std::error_code ec;
    const std::uint64_t total = fs::file_size(from, ec);
    if (ec) return run.fail("folder.publish: video " + from.string() + ": " + ec.message());
    std::uint64_t done = fs::exists(to, ec) ? fs::file_size(to, ec) : 0;
    if (ec || done > total) done = 0;
    std::ifstream in(from, std::ios::binary);
    std::fstream out(to, std::ios::binary | std::ios::in | std::ios::out |
                             (done == 0 ? std::ios::trunc : std::ios::openmode{}));
    if (!out.is_open()) out.open(to, std::ios::binary | std::ios::out | std::ios::trunc);
    if (!in || !out) return run.fail("folder.publish: cannot copy " + from.string() + " to " + to.string());
    in.seekg(static_cast<std::streamoff>(done));
    out.seekp(static_cast<std::streamoff>(done));
    std::vector<char> buffer(1 << 20);
    std::uint64_t since_checkpoint = 0;
    while (done < total) {
      if (run.cancelled()) return RF_STATUS_CANCELLED;
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const auto got = in.gcount();
      if (got <= 0) break;
      out.write(buffer.data(), got);
      if (!out) return run.fail("folder.publish: cannot write " + to.string() + " (disk full?)");
      done += static_cast<std::uint64_t>(got);
      since_checkpoint += static_cast<std::uint64_t>(got);
      run.progress(static_cast<double>(done) / static_cast<double>(std::max<std::uint64_t>(total, 1)));
      if (since_checkpoint >= kCheckpointBytes) {
        out.flush();
        session["copied"] = done;
        if (!run.checkpoint(session.dump())) {
          return run.fail("folder.publish: the host could not record the copy's progress");
        }
        since_checkpoint = 0;
      }
    }
    out.flush();
    if (done != total) return run.fail("folder.publish: " + from.string() + " ended early");
    session["copied"] = done;
    return RF_STATUS_OK;
  }
};

constexpr rf_option kAccountOptions[] = {
    reelflow::option::path("path", reelflow::no_default,
                           "The directory posts are delivered into, one sub-directory each.")
        .required(),
};

constexpr rf_publisher_type kPublishers[] = {
    reelflow::publisher_type<Folder>(
        {.name = "folder.publish",
         .platform = "folder",
         .summary = "Deliver the video, its cover and a post.json into a directory"},
        nullptr, 0, kAccountOptions, 1),
};

constexpr rf_plugin kPlugin = reelflow::plugin(
    {.name = "folder",
     .version = "1.0.0",
     .license = "Apache-2.0",
     .summary = "Publish into a directory (for hand-over to an agency, and the demo)"},
    kPublishers);

}  // namespace

REELFLOW_PLUGIN(kPlugin);
