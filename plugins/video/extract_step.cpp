// video.extract: decode once, find shots, measure features, cut ranked clips, choose covers,
// draw the contact sheet. Everything that looks at pixels runs in the one streaming decode on
// small frames; afterwards only the chosen cover frames are decoded again at full size.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>

#include "clips/clip_selection.hpp"
#include "features/accumulator.hpp"
#include "features/contact_sheet.hpp"
#include "features/covers.hpp"
#include "media/clip_writer.hpp"
#include "shots/shot_detector.hpp"
#include "steps.hpp"

namespace reelflow::video {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Plugin state key holding the hashes of clips made so far: [{"id", "hash"}], newest last.
constexpr const char* kHashesKey = "clip_hashes";
constexpr std::size_t kMaxStoredHashes = 5000;

double saturate(double value) { return std::clamp(value, 0.0, 1.0); }

// The quick ranking score of a shot or clip, 0..1: what a person checks first (sharp, well
// exposed, colourful, something moving, a face, sound that is not silence), with BRISQUE as a
// penalty. video.score's model gives the engagement score; this one only orders candidates.
double highlight_score(const RangeFeatures& f) {
  const double sharp = saturate(std::log1p(f.sharpness) / std::log1p(1500.0));
  const double exposure = 1.0 - saturate(std::abs(f.brightness - 128.0) / 128.0);
  const double contrast = saturate(f.contrast / 64.0);
  const double colour = saturate(f.colourfulness / 90.0);
  const double motion = saturate(f.motion / 12.0);
  const double sound = f.has_audio > 0 ? 1.0 - f.silence_ratio : 0.5;
  const double quality = 1.0 - saturate(f.brisque / 100.0);
  return saturate(0.2 * sharp + 0.15 * exposure + 0.1 * contrast + 0.15 * colour + 0.1 * motion +
                  0.1 * f.face_ratio + 0.1 * sound + 0.1 * quality);
}

json features_json(const RangeFeatures& features) {
  json out = json::object();
  for (const auto& [name, value] : features.named()) out[std::string(name)] = value;
  return out;
}

std::string two_digits(std::size_t n) { return (n < 9 ? "0" : "") + std::to_string(n + 1); }

json load_hashes(const reelflow::Run& run) {
  auto stored = run.state_get(kHashesKey);
  if (!stored) return json::array();
  json parsed = json::parse(*stored, nullptr, false);
  return parsed.is_array() ? parsed : json::array();
}

}  // namespace

rf_status Extract::run(reelflow::Run& run) {
  // The decoder's threads use the cores; OpenCV's own pool on top only adds contention.
  cv::setNumThreads(1);
  auto input = read_input(run, "video.extract");
  if (!input) return run.fail(input.error());
  const json& options = input->options;
  const std::string& path = input->path;
  ClipTarget target;
  target.target = options.value("target", 30.0);
  target.min = options.value("min", 10.0);
  target.max = options.value("max", 60.0);
  target.count = static_cast<std::size_t>(std::max(0, options.value("count", 3)));
  if (target.min > target.max) {
    return run.fail("video.extract: min (" + std::to_string(target.min) +
                    " s) is longer than max (" + std::to_string(target.max) + " s)");
  }
  target.target = std::clamp(target.target, target.min, target.max);
  const int cover_count = options.value("covers", 3);
  const fs::path artifacts = run.artifact_dir();
  if (artifacts.empty()) return run.fail("video.extract: the host gave no artifact directory");

  auto info = probe(path);
  if (!info) return run.fail("video.extract: " + info.error());
  if (!info->has_video) return run.fail("video.extract: '" + path + "' has no video stream");

  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  const auto analysis_start = Clock::now();
  auto features = FeatureAccumulator::create();
  if (!features) return run.fail("video.extract: " + features.error());
  ShotDetector shots_detector;
  DecodeOptions decode_options;
  decode_options.analysis_width = options.value("analysis_width", 256);
  decode_options.keep_partial = options.value("keep_partial", false);
  decode_options.deblock = false;  // small frames: the deblocking filter is not worth its cost
  decode_options.cancelled = [&run] { return run.cancelled(); };
  double next_progress = 0;
  const double duration_hint = std::max(info->duration, 1e-3);
  auto decoded = decode(
      path, decode_options,
      [&](const AnalysisFrame& frame) {
        shots_detector.push(frame);
        features->add_frame(frame);
        if (frame.time >= next_progress) {
          run.progress(0.9 * std::min(1.0, frame.time / duration_hint), "analysing");
          next_progress = frame.time + duration_hint / 100;
        }
      },
      [&](const AudioChunk& chunk) { features->add_audio(chunk); });
  if (!decoded) return run.fail("video.extract: " + decoded.error());
  if (decoded->cancelled) return RF_STATUS_CANCELLED;
  if (decoded->truncated) run.warn("video.extract: '" + path + "': " + decoded->problem);
  features->finish();
  const std::vector<Shot> shots = shots_detector.finish();

  // Shots with their features and quick scores.
  std::vector<TimeRange> shot_ranges;
  std::vector<TimeRange> transitions;
  for (const Shot& shot : shots) {
    shot_ranges.push_back({shot.start, shot.end});
    if (shot.transition == "fade" || shot.transition == "dissolve") {
      transitions.push_back({shot.transition_start, shot.transition_end});
    }
  }
  std::vector<ScoredShot> scored;
  json shots_json = json::array();
  for (std::size_t i = 0; i < shots.size(); ++i) {
    const Shot& shot = shots[i];
    const RangeFeatures f = features->features(shot_ranges[i], shot_ranges);
    const double score = highlight_score(f);
    scored.push_back({shot.start, shot.end, score});
    shots_json.push_back({{"index", shot.index},
                          {"start", shot.start},
                          {"end", shot.end},
                          {"start_frame", shot.start_frame},
                          {"end_frame", shot.end_frame},
                          {"transition", shot.transition},
                          {"score", score}});
  }
  if (run.cancelled()) return RF_STATUS_CANCELLED;

  // Clips: chosen, cut, described, checked against the clips made before.
  const double analysis_seconds = seconds_since(analysis_start);
  const auto clips_start = Clock::now();
  std::vector<double> clip_cover_times;
  const std::vector<ClipChoice> choices = select_clips(scored, target);
  if (choices.empty() && target.count > 0) {
    run.warn("video.extract: '" + path + "' (" + std::to_string(decoded->duration) +
             " s) has no stretch of at least min = " + std::to_string(target.min) + " s: no clips");
  }
  std::error_code ec;
  fs::create_directories(artifacts / "clips", ec);
  fs::create_directories(artifacts / "covers", ec);
  if (ec) return run.fail("video.extract: cannot create folders in '" + artifacts.string() + "'");
  json stored_hashes = load_hashes(run);
  std::vector<PublishedClip> known;
  for (const auto& entry : stored_hashes) {
    if (entry.is_object() && entry.contains("id") && entry.contains("hash")) {
      known.push_back({entry["id"].get<std::string>(), entry["hash"].get<std::string>()});
    }
  }
  // Covers: of the whole video, and the best moment inside each clip. A second thread fetches
  // their full-resolution frames in one pass over the file and writes the JPEGs while the clips
  // are cut.
  const TimeRange whole{0, decoded->duration};
  CoverOptions cover_options;
  cover_options.count = cover_count;
  const std::vector<CoverChoice> covers =
      cover_count > 0 ? select_covers(*features, shot_ranges, whole, cover_options, transitions)
                      : std::vector<CoverChoice>{};
  for (const ClipChoice& choice : choices) {
    CoverOptions one;
    one.count = 1;
    const auto cover =
        select_covers(*features, shot_ranges, {choice.start, choice.end}, one, transitions);
    clip_cover_times.push_back(cover.empty() ? -1.0 : cover.front().time);
  }
  std::vector<std::pair<double, fs::path>> jpegs;  // (time, file) for every cover to write
  for (std::size_t i = 0; i < covers.size(); ++i) {
    jpegs.emplace_back(covers[i].time, artifacts / "covers" / ("cover-" + two_digits(i) + ".jpg"));
  }
  for (std::size_t i = 0; i < clip_cover_times.size(); ++i) {
    if (clip_cover_times[i] < 0) continue;
    jpegs.emplace_back(clip_cover_times[i],
                       artifacts / "clips" / ("clip-" + two_digits(i) + ".jpg"));
  }
  auto fetch = std::async(std::launch::async, [&path, &jpegs]() -> Result<void> {
    std::vector<double> wanted;
    for (const auto& [time, file] : jpegs) wanted.push_back(time);
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    auto pictures = frames_at(path, wanted);
    if (!pictures) return tl::unexpected(pictures.error());
    for (const auto& [time, file] : jpegs) {
      const auto at = std::lower_bound(wanted.begin(), wanted.end(), time) - wanted.begin();
      if (auto wrote = write_cover((*pictures)[static_cast<std::size_t>(at)], file.string());
          !wrote) {
        return wrote;
      }
    }
    return {};
  });

  json clips_json = json::array();
  std::vector<ClipChoice> written;
  for (std::size_t rank = 0; rank < choices.size(); ++rank) {
    if (run.cancelled()) return RF_STATUS_CANCELLED;
    const ClipChoice& choice = choices[rank];
    const fs::path clip_path = artifacts / "clips" / ("clip-" + two_digits(rank) + ".mp4");
    auto clip = write_clip(path, choice.start, choice.end, clip_path.string());
    if (!clip) return run.fail("video.extract: " + clip.error());
    const TimeRange range{choice.start, choice.end};
    const RangeFeatures f = features->features(range, shot_ranges);
    // Near-duplicates of clips made before (other videos, or other clips of this one).
    const ClipHash hash = features->clip_hash(range);
    const std::string id =
        path + "#" + std::to_string(choice.start) + "-" + std::to_string(choice.end);
    std::vector<PublishedClip> others;
    for (const auto& k : known) {
      if (k.id != id) others.push_back(k);
    }
    const DuplicateCheck duplicate = find_duplicate(hash, others);
    json duplicate_json = {{"kind", to_string(duplicate.kind)}, {"distance", duplicate.distance}};
    if (duplicate.kind != DuplicateKind::unique) duplicate_json["of"] = duplicate.id;
    const std::string encoded = encode_clip_hash(hash);
    if (std::none_of(known.begin(), known.end(), [&](const auto& k) { return k.id == id; })) {
      stored_hashes.push_back({{"id", id}, {"hash", encoded}});
      known.push_back({id, encoded});
    }
    clips_json.push_back({{"rank", rank + 1},
                          {"path", clip->path},
                          {"start", clip->start},
                          {"end", choice.end},
                          {"duration", choice.end - clip->start},
                          {"score", choice.score},
                          {"method", clip->method},
                          {"shots", {choice.first_shot, choice.last_shot}},
                          {"features", features_json(f)},
                          {"cover", nullptr},
                          {"hash", encoded},
                          {"duplicate", duplicate_json}});
    written.push_back(choice);
    run.progress(0.9 + 0.08 * static_cast<double>(rank + 1) / static_cast<double>(choices.size()),
                 "cutting clips");
  }
  while (stored_hashes.size() > kMaxStoredHashes) stored_hashes.erase(stored_hashes.begin());
  if (!run.state_set(kHashesKey, stored_hashes.dump())) {
    run.warn("video.extract: could not store the clip hashes for near-duplicate checks");
  }

  if (auto fetched = fetch.get(); !fetched) return run.fail("video.extract: " + fetched.error());
  json covers_json = json::array();
  for (std::size_t i = 0; i < covers.size(); ++i) {
    covers_json.push_back({{"path", jpegs[i].second.string()},
                           {"time", covers[i].time},
                           {"score", covers[i].score},
                           {"passed_filters", covers[i].passed_filters}});
  }
  for (std::size_t i = 0, next = covers.size(); i < clip_cover_times.size(); ++i) {
    if (clip_cover_times[i] < 0) continue;
    clips_json[i]["cover"] = jpegs[next++].second.string();
    clips_json[i]["cover_time"] = clip_cover_times[i];
  }

  const double clips_seconds = seconds_since(clips_start);
  json output = {{"input", path},
                 {"duration", decoded->duration},
                 {"frames", decoded->frames},
                 {"truncated", decoded->truncated},
                 {"hdr", info->hdr},
                 {"tonemap", decoded->tonemap},
                 {"rotation", info->rotation},
                 {"vfr", info->vfr},
                 {"has_audio", info->has_audio},
                 {"features", features_json(features->features(whole, shot_ranges))},
                 {"shots", shots_json},
                 {"clips", clips_json},
                 {"covers", covers_json}};
  if (decoded->truncated) output["problem"] = decoded->problem;

  if (options.value("contact_sheet", true)) {
    ContactSheet sheet;
    sheet.title = fs::path(path).filename().string();
    sheet.duration = decoded->duration;
    for (std::size_t i = 0; i < shots.size(); ++i) {
      sheet.shots.push_back({shot_ranges[i], scored[i].score});
    }
    for (std::size_t i = 0; i < written.size(); ++i) {
      sheet.clips.push_back(
          {{written[i].start, written[i].end}, static_cast<int>(i + 1), written[i].score});
    }
    for (std::size_t i = 0; i < covers.size(); ++i) {
      sheet.covers.push_back({covers[i].time, static_cast<int>(i + 1), covers[i].score});
    }
    const fs::path png = artifacts / "contact_sheet.png";
    if (auto drawn = write_contact_sheet(sheet, features->thumbnails(), png.string()); !drawn) {
      return run.fail("video.extract: " + drawn.error());
    }
    output["contact_sheet"] = png.string();
  }
  run.progress(1.0, "done");
  run.info("video.extract: '" + path + "': " + std::to_string(shots.size()) + " shots, " +
           std::to_string(clips_json.size()) + " clips, " + std::to_string(covers_json.size()) +
           " covers; " + std::to_string(decoded->frames) + " frames analysed in " +
           std::to_string(analysis_seconds) + " s, clips cut and covers written in " +
           std::to_string(clips_seconds) + " s");
  if (!run.set_output(output.dump())) return run.fail("video.extract: the host refused the output");
  return RF_STATUS_OK;
}

}  // namespace reelflow::video
