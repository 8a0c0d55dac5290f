// Option table of video.score, shared by the thin plugin (video.so) and the score backend
// (video.d/score.so). Plain SDK code: no LibTorch here, the thin plugin includes it.
#ifndef REELFLOW_VIDEO_SCORE_OPTIONS_HPP
#define REELFLOW_VIDEO_SCORE_OPTIONS_HPP

#include <reelflow/plugin.hpp>

namespace reelflow::video {

// The platforms the engagement model knows (score/model.hpp kPlatformNames, same order).
inline constexpr const char* kScorePlatforms[] = {"douyin",          "kuaishou", "wechat_channels",
                                                  "youtube_shorts",  "tiktok",   "bilibili",
                                                  "instagram_reels", "other",    nullptr};

inline constexpr const char* kMissingModel[] = {"fail", "prior", nullptr};

inline constexpr rf_option kScoreOptions[] = {
    reelflow::option::list("clips", RF_OPT_OBJECT, reelflow::no_default,
                           "Clips to score: the `clips` output of video.extract, each with a "
                           "`features` object of named numbers (missing names count as neutral).")
        .required(),
    reelflow::option::enumeration("platform", kScorePlatforms, reelflow::json_string<"other">,
                                  "Platform the clips are for: the model weighs clip length "
                                  "against what that platform's audience finishes."),
    reelflow::option::integer("hour", reelflow::no_default,
                              "Local hour of day (0..23) the clips will be published. Unset: "
                              "unknown, neutral for the score.")
        .range(0, 23),
    reelflow::option::path("model", reelflow::no_default,
                           "Trained model file (EngagementModel::save, see "
                           "plugins/video/score/README.md). Unset: the built-in heuristic prior."),
    reelflow::option::enumeration("missing_model", kMissingModel, reelflow::json_string<"fail">,
                                  "When the `model` file does not exist (yet): fail the step, or "
                                  "score with the built-in prior (e.g. before retraining has "
                                  "installed a first version). A corrupt file always fails."),
    reelflow::option::path("embedding_model", reelflow::no_default,
                           "TorchScript image model (e.g. an exported ResNet18) run on each "
                           "clip's cover; its pooled output feeds the score as 16 extra inputs. "
                           "Unset: no embeddings."),
    reelflow::option::integer("embedding_size", "224",
                              "Side in pixels of the square image the embedding model takes.")
        .range(16, 1024),
};

}  // namespace reelflow::video

#endif  // REELFLOW_VIDEO_SCORE_OPTIONS_HPP
