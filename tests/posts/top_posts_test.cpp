// posts.top's query (store/top_posts.hpp over store/posts_store.hpp) on a real SQLite database:
// ranking by each metric from the latest metrics pull and the tracked links' clicks and
// conversions; the since / until / min_age / platform / account / campaign / workflow filters;
// a post whose video is gone is skipped with its reason (purged run files named), a folder
// hand-over copy takes its place when there is one; posts re-posted by another run are left out
// and a run's own picks never are; bad requests name the field.
#include "store/top_posts.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../store/test_support.hpp"
#include "store/posts_store.hpp"
#include "store/store.hpp"
#include "store/track_store.hpp"

namespace reelflow::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr Millis kNow = 1'780'000'000'000;  // 2026-05-28
constexpr Millis kDay = 86'400'000;

struct Seed {
  std::string name;  // the post's key, run id and title
  int age_days = 40;
  std::string platform = "youtube";
  json metrics;     // its latest pull; null: none
  int clicks = -1;  // -1: no tracked link
  std::vector<double> conversions = {};
  std::string campaign = "spring";
  std::string workflow = "launch";
};

class TopPostsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = database_path(dir_.path());
    auto opened = open_sqlite_store(path);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    store_ = std::move(*opened);
    auto track = TrackStore::open(path, 2000, false);
    ASSERT_TRUE(track.has_value()) << track.error().message;
    track_ = std::move(*track);
    auto posts = PostsStore::open(path, 2000);
    ASSERT_TRUE(posts.has_value()) << posts.error().message;
    posts_ = std::move(*posts);
  }

  fs::path video(const std::string& name) {
    fs::create_directories(dir_.path() / "videos");
    const fs::path file = dir_.path() / "videos" / (name + ".mp4");
    std::ofstream(file) << "video " << name;
    return file;
  }

  // A run, its post (video file, title, caption, tags, link), its metrics, clicks, conversions.
  void seed(const Seed& s) {
    NewRun run;
    run.id = s.name;
    run.workflow = s.workflow;
    run.workflow_hash = "h";
    run.trigger_key = "manual:" + s.name;
    run.created_at = kNow - s.age_days * kDay;
    ASSERT_TRUE(store_->create_run(run).has_value());
    PostRecord post;
    post.idempotency_key = s.name;
    post.run_id = s.name;
    post.step_id = "publish";
    post.step_type = s.platform + ".publish";
    post.platform = s.platform;
    post.account = "brand-" + s.platform;
    post.post_id = "id-" + s.name;
    post.url = "https://" + s.platform + ".example/" + s.name;
    post.published_at = kNow - s.age_days * kDay;
    post.options = {{"account", post.account},
                    {"video", video(s.name).string()},
                    {"title", "Title " + s.name},
                    {"caption", "Caption " + s.name},
                    {"tags", {"spring", s.name}}};
    if (s.clicks >= 0) {
      Link link;
      link.link_key = s.name + "/link";
      link.target = "https://shop.example/p?id=7&utm_source=" + s.platform + "&utm_campaign=x";
      link.campaign = s.campaign;
      auto made = track_->create_link(link, post.published_at);
      ASSERT_TRUE(made.has_value()) << made.error().message;
      post.options["link"] = "https://go.example/l/" + made->code;
      std::vector<Click> batch;
      for (int i = 0; i < s.clicks; ++i) {
        Click click;
        click.id = new_click_id(post.published_at + i);
        click.code = made->code;
        click.at = post.published_at + i;
        click.kind = "human";
        click.visitor = s.name + std::to_string(i);
        batch.push_back(click);
      }
      // A bot's click and a person's repeat click do not count.
      Click bot;
      bot.id = new_click_id(post.published_at + 100);
      bot.code = made->code;
      bot.at = post.published_at + 100;
      bot.kind = "bot";
      bot.visitor = "crawler";
      batch.push_back(bot);
      if (s.clicks > 0) {
        Click again = batch.front();
        again.id = new_click_id(post.published_at + 200);
        again.at = post.published_at + 200;
        batch.push_back(again);
      }
      ASSERT_TRUE(track_->log_clicks(batch, kDay).has_value());
      ASSERT_TRUE(track_->import_clicks().has_value());
      int order = 0;
      for (double value : s.conversions) {
        NewConversion conversion;
        conversion.source = "shop";
        conversion.code = made->code;
        conversion.event = "purchase";
        conversion.value = value;
        conversion.order_id = s.name + std::to_string(order++);
        conversion.at = post.published_at + kDay;
        auto recorded = track_->record_conversion(conversion, 30 * kDay, conversion.at);
        ASSERT_TRUE(recorded.has_value()) << recorded.error().message;
      }
    }
    ASSERT_TRUE(store_->record_post(post).has_value());
    if (!s.metrics.is_null()) {
      // An earlier pull with other counters: only the latest counts.
      ASSERT_TRUE(store_
                      ->record_post_metrics(s.name, {"1h",
                                                     post.published_at + 3600000,
                                                     {{"views", 999999}, {"likes", 999999}}})
                      .has_value());
      ASSERT_TRUE(
          store_->record_post_metrics(s.name, {"7d", post.published_at + 7 * kDay, s.metrics})
              .has_value());
    }
  }

  // Four posts whose order differs for every metric.
  void seed_four() {
    seed({.name = "a",
          .metrics = {{"views", 1000}, {"likes", 10}, {"comments", 5}, {"shares", 1}},
          .clicks = 2});
    seed({.name = "b",
          .metrics = {{"views", 200}, {"likes", 50}, {"comments", 1}, {"shares", 3}},
          .clicks = 10,
          .conversions = {20.0}});
    seed({.name = "c",
          .metrics = {{"views", 500}, {"likes", 20}, {"comments", 9}, {"shares", 2}},
          .clicks = 3,
          .conversions = {5.0, 5.0}});
    seed({.name = "d", .metrics = {{"views", 50}, {"likes", 1}, {"comments", 0}, {"shares", 7}}});
  }

  json top(json request, Millis now = kNow) {
    if (!request.contains("since")) request["since"] = "2026-01-01T00:00:00Z";  // ~147 days
    auto answer = top_posts_service(*posts_, request, now);
    EXPECT_TRUE(answer.has_value()) << request.dump() << " -> " << answer.error().message;
    return answer ? *answer : json::object();
  }

  static std::vector<std::string> keys(const json& answer) {
    std::vector<std::string> list;
    for (const auto& post : answer.value("posts", json::array())) list.push_back(post["key"]);
    return list;
  }

  std::string error(const json& request) {
    auto answer = top_posts_service(*posts_, request, kNow);
    return answer ? "" : answer.error().message;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<TrackStore> track_;
  std::unique_ptr<PostsStore> posts_;
};

TEST_F(TopPostsTest, RanksByEachMetric) {
  seed_four();
  using Keys = std::vector<std::string>;
  EXPECT_EQ(keys(top({{"metric", "views"}})), (Keys{"a", "c", "b", "d"}));
  EXPECT_EQ(keys(top({{"metric", "likes"}})), (Keys{"b", "c", "a", "d"}));
  EXPECT_EQ(keys(top({{"metric", "comments"}})), (Keys{"c", "a", "b", "d"}));
  EXPECT_EQ(keys(top({{"metric", "shares"}})), (Keys{"d", "b", "c", "a"}));
  // d carried no tracked link: it has no clicks, conversions, revenue or ctr to rank by.
  EXPECT_EQ(keys(top({{"metric", "clicks"}})), (Keys{"b", "c", "a"}));
  EXPECT_EQ(keys(top({{"metric", "conversions"}})), (Keys{"c", "b", "a"}));
  EXPECT_EQ(keys(top({{"metric", "revenue"}})), (Keys{"b", "c", "a"}));
  const json by_ctr = top({{"metric", "ctr"}});
  EXPECT_EQ(keys(by_ctr), (Keys{"b", "c", "a"}));  // 10/200, 3/500, 2/1000
  EXPECT_EQ(by_ctr["without_metric"], 1);
  EXPECT_EQ(by_ctr["considered"], 4);
  EXPECT_EQ(keys(top({{"metric", "views"}, {"limit", 2}})), (Keys{"a", "c"}));

  // What each post carries: the values, its video and text, the landing page without UTM.
  const json& best = by_ctr["posts"][0];
  EXPECT_DOUBLE_EQ(best["value"].get<double>(), 0.05);
  EXPECT_EQ(best["metric"], "ctr");
  EXPECT_EQ(best["rank"], 1);
  EXPECT_EQ(best["index"], 0);
  EXPECT_EQ(best["metrics"]["views"], 200.0);  // the latest pull, not the 1h one
  EXPECT_EQ(best["metrics"]["clicks"], 10);    // people once each: no bot, no repeat
  EXPECT_EQ(best["metrics"]["conversions"], 1);
  EXPECT_EQ(best["metrics"]["revenue"], 20.0);
  EXPECT_EQ(best["video"], (dir_.path() / "videos" / "b.mp4").string());
  EXPECT_EQ(best["video_source"], "published");
  EXPECT_EQ(best["title"], "Title b");
  EXPECT_EQ(best["caption"], "Caption b");
  EXPECT_EQ(best["tags"], json({"spring", "b"}));
  EXPECT_EQ(best["platform"], "youtube");
  EXPECT_EQ(best["account"], "brand-youtube");
  EXPECT_EQ(best["url"], "https://youtube.example/b");
  EXPECT_EQ(best["landing"], "https://shop.example/p?id=7");
  EXPECT_EQ(best["campaign"], "spring");
  EXPECT_EQ(best["run_id"], "b");
  EXPECT_EQ(best["step_id"], "publish");
  EXPECT_EQ(best["workflow"], "launch");
  EXPECT_EQ(by_ctr["posts"][2]["index"], 2);
}

TEST_F(TopPostsTest, FiltersByPeriodAgePlatformAccountCampaignAndWorkflow) {
  seed({.name = "old", .age_days = 120, .metrics = {{"views", 900}}, .clicks = 0});
  seed({.name = "mid", .age_days = 60, .metrics = {{"views", 500}}, .clicks = 0});
  seed({.name = "recent",
        .age_days = 35,
        .metrics = {{"views", 300}},
        .clicks = 0,
        .campaign = "summer"});
  seed({.name = "young", .age_days = 10, .metrics = {{"views", 800}}, .clicks = 0});
  seed({.name = "tok",
        .age_days = 45,
        .platform = "tiktok",
        .metrics = {{"views", 700}},
        .workflow = "evergreen"});
  using Keys = std::vector<std::string>;
  const std::string since_90d = "2026-02-27T00:00:00Z";  // kNow - 90 days, about
  EXPECT_EQ(keys(top({{"metric", "views"}, {"since", since_90d}})),
            (Keys{"young", "tok", "mid", "recent"}));
  EXPECT_EQ(keys(top({{"metric", "views"}, {"since", since_90d}, {"min_age", 30 * 86400}})),
            (Keys{"tok", "mid", "recent"}));
  EXPECT_EQ(keys(top({{"metric", "views"}, {"until", "2026-04-10T00:00:00Z"}})),
            (Keys{"old", "mid"}));
  EXPECT_EQ(keys(top({{"metric", "views"}, {"platform", "tiktok"}})), (Keys{"tok"}));
  EXPECT_EQ(keys(top({{"metric", "views"}, {"account", "brand-youtube"}, {"min_age", 0}})),
            (Keys{"old", "young", "mid", "recent"}));
  EXPECT_EQ(keys(top({{"metric", "views"}, {"campaign", "summer"}})), (Keys{"recent"}));
  EXPECT_EQ(keys(top({{"metric", "views"}, {"workflow", "evergreen"}})), (Keys{"tok"}));
  // A period that ends before it starts has nothing in it.
  EXPECT_EQ(
      keys(top({{"metric", "views"}, {"since", "2026-05-27T00:00:00Z"}, {"min_age", 30 * 86400}})),
      Keys{});
}

TEST_F(TopPostsTest, APostWhoseVideoIsGoneIsSkippedWithItsReasonAndTheNextTakesItsPlace) {
  seed_four();
  fs::remove(dir_.path() / "videos" / "a.mp4");
  ASSERT_TRUE(store_->mark_artifacts_purged("c", kNow - 25 * kDay).has_value());
  fs::remove(dir_.path() / "videos" / "c.mp4");

  const json answer = top({{"metric", "views"}, {"limit", 2}});
  EXPECT_EQ(keys(answer), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(answer["count"], 2);
  EXPECT_EQ(answer["skipped_missing_video"], 2);
  ASSERT_EQ(answer["skipped"].size(), 2u);
  EXPECT_EQ(answer["skipped"][0]["key"], "a");
  const std::string reason_a = answer["skipped"][0]["reason"];
  EXPECT_NE(reason_a.find("a.mp4' no longer exists"), std::string::npos) << reason_a;
  EXPECT_NE(reason_a.find("no hand-over copy"), std::string::npos) << reason_a;
  const std::string reason_c = answer["skipped"][1]["reason"];
  EXPECT_NE(reason_c.find("files of run c were purged on 2026-05-03"), std::string::npos)
      << reason_c;
  EXPECT_NE(reason_c.find("artifact_retention"), std::string::npos) << reason_c;
  // Posts ranked below the last one answered are not looked at, nor counted.
  fs::remove(dir_.path() / "videos" / "d.mp4");
  const json one = top({{"metric", "views"}, {"limit", 1}});
  EXPECT_EQ(keys(one), std::vector<std::string>{"b"});
  EXPECT_EQ(one["skipped_missing_video"], 2);
}

TEST_F(TopPostsTest, AFolderHandOverCopyOfTheSameVideoStandsInForAMissingFile) {
  seed({.name = "yt", .metrics = {{"views", 100}}});
  // The same run also handed the video over with folder.publish.
  const fs::path handover = dir_.path() / "handover" / "2026-04-18_title-yt_1234";
  fs::create_directories(handover);
  std::ofstream(handover / "clip.mp4") << "copy";
  std::ofstream(handover / "post.json") << json{{"video", "clip.mp4"}}.dump();
  PostRecord folder;
  folder.idempotency_key = "yt/handover";
  folder.run_id = "yt";
  folder.step_id = "handover";
  folder.step_type = "folder.publish";
  folder.platform = "folder";
  folder.account = "agency";
  folder.url = "file://" + handover.string();
  folder.published_at = kNow - 40 * kDay;
  folder.options = {{"video", (dir_.path() / "videos" / "yt.mp4").string()}};
  ASSERT_TRUE(store_->record_post(folder).has_value());
  fs::remove(dir_.path() / "videos" / "yt.mp4");

  const json answer = top({{"metric", "views"}, {"platform", "youtube"}});
  ASSERT_EQ(keys(answer), std::vector<std::string>{"yt"});
  EXPECT_EQ(answer["posts"][0]["video"], (handover / "clip.mp4").string());
  EXPECT_EQ(answer["posts"][0]["video_source"], "hand-over copy");
  EXPECT_EQ(answer["posts"][0]["published_video"], (dir_.path() / "videos" / "yt.mp4").string());
  EXPECT_EQ(answer["skipped_missing_video"], 0);

  // Without the copy, it is skipped.
  fs::remove(handover / "clip.mp4");
  EXPECT_EQ(top({{"metric", "views"}, {"platform", "youtube"}})["skipped_missing_video"], 1);
}

TEST_F(TopPostsTest, PostsReRepostedByAnotherRunAreLeftOutAndARunsOwnPicksAreNot) {
  seed_four();
  const json first = top({{"metric", "views"},
                          {"limit", 2},
                          {"exclude_reposted", 60 * 86400},
                          {"run_id", "evergreen-1"},
                          {"step_id", "top"}});
  ASSERT_EQ(keys(first), (std::vector<std::string>{"a", "c"}));
  // Asked again by the same run (a retry): the same answer.
  EXPECT_EQ(keys(top({{"metric", "views"},
                      {"limit", 2},
                      {"exclude_reposted", 60 * 86400},
                      {"run_id", "evergreen-1"},
                      {"step_id", "top"}})),
            keys(first));
  // Picked, but the run has not published them: another run still gets them.
  EXPECT_EQ(keys(top({{"metric", "views"},
                      {"limit", 2},
                      {"exclude_reposted", 60 * 86400},
                      {"run_id", "evergreen-2"}})),
            keys(first));

  // evergreen-1 re-posts a's video.
  PostRecord repost;
  repost.idempotency_key = "evergreen-1/repost/0";
  repost.run_id = "evergreen-1";
  repost.step_id = "repost";
  repost.item = 0;
  repost.step_type = "youtube.publish";
  repost.platform = "youtube";
  repost.account = "brand-youtube";
  repost.published_at = kNow - 35 * kDay;  // old enough to be a candidate itself
  repost.options = {{"video", first["posts"][0]["video"]}};
  ASSERT_TRUE(store_->record_post(repost).has_value());
  ASSERT_TRUE(
      store_
          ->record_post_metrics(repost.idempotency_key, {"7d", kNow - 28 * kDay, {{"views", 5000}}})
          .has_value());

  const json later = top({{"metric", "views"},
                          {"limit", 2},
                          {"exclude_reposted", 60 * 86400},
                          {"run_id", "evergreen-2"}});
  // a and its re-post (the same video) are left out; c was picked but not re-posted.
  EXPECT_EQ(keys(later), (std::vector<std::string>{"c", "b"}));
  EXPECT_EQ(later["excluded_reposted"], 2);
  // Without exclusion, or once the window has passed, they are back.
  EXPECT_EQ(keys(top({{"metric", "views"}, {"limit", 2}, {"run_id", "evergreen-3"}})),
            (std::vector<std::string>{"evergreen-1/repost/0", "a"}));
  EXPECT_EQ(keys(top({{"metric", "views"},
                      {"limit", 1},
                      {"exclude_reposted", 86400},
                      {"run_id", "evergreen-4"}},
                     kNow + 2 * kDay)),
            (std::vector<std::string>{"evergreen-1/repost/0"}));
}

TEST_F(TopPostsTest, BadRequestsNameTheField) {
  struct Case {
    json request;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{{"metric", "views"}}, "`since` is required"},
      {{{"since", "yesterday"}, {"metric", "views"}}, "`since`"},
      {{{"since", 5}, {"metric", "views"}}, "`since` must be an ISO 8601 time"},
      {{{"since", "2026-01-01T00:00:00Z"}, {"until", "2026-13-01T00:00:00Z"}, {"metric", "views"}},
       "`until`"},
      {{{"since", "2026-01-01T00:00:00Z"}}, "`metric` must be one of views, likes"},
      {{{"since", "2026-01-01T00:00:00Z"}, {"metric", "hearts"}}, "got \"hearts\""},
      {{{"since", "2026-01-01T00:00:00Z"}, {"metric", "views"}, {"limit", 0}}, "`limit`"},
      {{{"since", "2026-01-01T00:00:00Z"}, {"metric", "views"}, {"limit", 2.5}}, "`limit`"},
      {{{"since", "2026-01-01T00:00:00Z"}, {"metric", "views"}, {"min_age", -1}}, "`min_age`"},
      {{{"since", "2026-01-01T00:00:00Z"}, {"metric", "views"}, {"exclude_reposted", "60d"}},
       "`exclude_reposted` must be a number of seconds"},
      {{{"since", "2026-01-01T00:00:00Z"}, {"metric", "views"}, {"platform", 5}},
       "`platform` must be text"},
      {{{"since", "2026-01-01T00:00:00Z"}, {"metric", "views"}, {"plattform", "youtube"}},
       "unknown field `plattform`"},
      {json::array(), "must be a JSON object"},
  };
  for (const Case& c : cases) {
    const std::string message = error(c.request);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.request.dump() << " -> " << message;
  }
}

}  // namespace
}  // namespace reelflow::store
