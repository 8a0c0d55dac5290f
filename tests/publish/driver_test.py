#!/usr/bin/env python3
"""The host's publishing driver through `reelflow run` and the scripted ptest publisher, whose
"platform" is a directory: each stage's retries, reconcile after a lost answer, polling, refusals,
and publish_at — checked from the platform's side (posts.log must never hold a post twice).

Usage: driver_test.py REELFLOW PTEST_PLUGIN_DIR [unittest args]
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from publish_support import make_video, publish  # noqa: E402

REELFLOW, PLUGIN_DIR = sys.argv[1:3]
del sys.argv[1:3]


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [line for line in handle.read().splitlines() if line]


class DriverTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.platform = os.path.join(self.dir, "platform")
        os.makedirs(self.platform)
        self.video = os.path.join(self.dir, "clip.mp4")
        with open(self.video, "wb") as handle:
            handle.write(b"\0" * 4096)

    def tearDown(self):
        self.tmp.cleanup()

    def run_post(self, credentials=None, **options):
        options.setdefault("video", self.video)
        return publish(REELFLOW, self.dir, "ptest.publish",
                       {"platform": "ptest", "options": {"dir": self.platform},
                        "credentials": credentials or {"access_token": "tok-SECRET-123"}},
                       options, extra_args=["--plugin-dir", PLUGIN_DIR])

    def platform_tokens(self, access, refresh):
        with open(os.path.join(self.platform, "tokens.json"), "w") as handle:
            json.dump({"access": access, "refresh": refresh}, handle)

    def stored_account(self):
        path = os.path.join(self.dir, "accounts", "brand.json")
        with open(path) as handle:
            return json.load(handle), os.stat(path).st_mode & 0o777

    def posts(self):
        return lines(os.path.join(self.platform, "posts.log"))

    def chunks(self):
        return lines(os.path.join(self.platform, "chunks.log"))

    def video_seen(self):
        with open(os.path.join(self.platform, "prepare.video.json")) as handle:
            return json.load(handle)

    def test_the_publisher_is_told_the_videos_duration_and_display_size(self):
        real = make_video(self.dir, seconds=2, size="320x568", name="real.mp4")
        result = self.run_post(video=real)
        self.assertTrue(result.ok, result)
        seen = self.video_seen()
        self.assertAlmostEqual(seen["duration_seconds"], 2.0, delta=0.1)
        self.assertEqual((seen["width"], seen["height"]), (320, 568))
        self.assertGreater(seen["size_bytes"], 1000)
        rotated = os.path.join(self.dir, "rotated.mp4")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i",
                        real, "-c", "copy",
                        "-metadata:s:v:0", "rotate=90", rotated], check=True)
        self.assertTrue(self.run_post(video=rotated).ok)
        self.assertEqual((self.video_seen()["width"], self.video_seen()["height"]), (568, 320))
        # Not an MP4: no duration, no size; the publisher decides what to do without them.
        self.assertTrue(self.run_post().ok)
        self.assertNotIn("duration_seconds", self.video_seen())

    def test_a_clean_post_goes_through_every_stage_once(self):
        result = self.run_post(title="launch")
        self.assertTrue(result.ok, result)
        self.assertEqual(self.posts(), [f"p-s1 {result.record['run_id']}/publish"])
        self.assertEqual(self.chunks(), ["s1 0", "s1 1", "s1 2", "s1 3"])
        self.assertEqual(result.outputs["post_id"], "p-s1")
        self.assertEqual(result.outputs["url"], "https://ptest.invalid/p-s1")
        self.assertEqual(result.outputs["platform"], "ptest")
        self.assertEqual(result.outputs["account"], "brand")

    def test_a_failing_upload_resumes_from_the_acknowledged_chunk(self):
        result = self.run_post(fail_upload_times=2)
        self.assertTrue(result.ok, result)
        self.assertEqual(self.chunks(), ["s1 0", "s1 1", "s1 2", "s1 3"],
                         "chunk 0 was acknowledged before the failures and is not sent again")
        self.assertEqual(len(lines(os.path.join(self.platform, "starts.log"))), 1)
        self.assertEqual(len(self.posts()), 1)
        self.assertIn("resuming", result.stderr + str(result.record))

    def test_an_upload_that_keeps_failing_gives_up_and_keeps_the_session(self):
        result = self.run_post(fail_upload_times=100)
        self.assertFalse(result.ok)
        self.assertIn("gave up after 8 attempts", result.error)
        self.assertEqual(self.posts(), [])

    def test_a_retried_start_makes_one_post(self):
        result = self.run_post(start_retry_times=2)
        self.assertTrue(result.ok, result)
        self.assertEqual(len(lines(os.path.join(self.platform, "starts.log"))), 1)
        self.assertEqual(len(self.posts()), 1)

    def test_a_lost_finalize_answer_is_reconciled_not_repeated(self):
        result = self.run_post(finalize_retry=True)
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.posts()), 1, "finalize was not called a second time")
        self.assertTrue(os.path.exists(os.path.join(self.platform, "reconcile.reached")))
        self.assertEqual(result.outputs["post_id"], "p-s1")

    def test_processing_is_polled_until_published(self):
        result = self.run_post(poll_processing=3)
        self.assertTrue(result.ok, result)
        with open(os.path.join(self.platform, "poll.count")) as handle:
            self.assertEqual(handle.read(), "4")

    def test_a_rejected_post_fails_with_the_platforms_reason_and_is_not_retried(self):
        result = self.run_post(reject=True)
        self.assertFalse(result.ok)
        self.assertIn("community guidelines", result.error)
        self.assertEqual(len(self.posts()), 1)

    def test_prepare_refuses_before_anything_reaches_the_platform(self):
        result = self.run_post(title="a title much longer than twenty characters")
        self.assertFalse(result.ok)
        self.assertIn("title is longer than 20 characters", result.error)
        self.assertFalse(os.path.exists(os.path.join(self.platform, "start.reached")))

    def test_credentials_never_reach_the_output_or_the_log(self):
        result = self.run_post(fail_upload_times=1)
        self.assertNotIn("tok-SECRET-123", result.stdout + result.stderr)

    def test_a_quota_offline_fails_saying_when_to_publish(self):
        result = self.run_post(quota_times=1, quota_seconds=3600)
        self.assertFalse(result.ok)
        self.assertIn("the daily upload quota is used up (a platform limit: publish it after",
                      result.error)
        self.assertEqual(self.posts(), [])

    def test_publish_at_holds_the_step_until_its_time(self):
        began = time.monotonic()
        result = self.run_post(publish_at="+2s")
        self.assertTrue(result.ok, result)
        self.assertGreaterEqual(time.monotonic() - began, 1.9)
        self.assertIn("scheduled: publishing at", result.stderr)

    def test_jitter_publishes_a_random_moment_after_publish_at(self):
        began = time.monotonic()
        result = self.run_post(publish_at="+1s", jitter="2s")
        self.assertTrue(result.ok, result)
        self.assertGreaterEqual(time.monotonic() - began, 0.9)
        self.assertLess(time.monotonic() - began, 6)
        bad = self.run_post(jitter="soonish")
        self.assertFalse(bad.ok)
        self.assertIn("jitter", bad.error)

    def test_a_post_overdue_by_more_than_max_delay_is_skipped(self):
        result = self.run_post(publish_at="2020-01-01 10:00", time_zone="Asia/Shanghai")
        self.assertFalse(result.ok)
        self.assertIn("skipped: the post was due at 2020-01-01T02:00:00.000Z", result.error)
        self.assertFalse(os.path.exists(os.path.join(self.platform, "start.reached")))

    def test_a_bad_publish_at_names_the_problem(self):
        result = self.run_post(publish_at="next tuesday")
        self.assertFalse(result.ok)
        self.assertIn("publish_at 'next tuesday' is not a time", str(result.record))

    def test_an_expiring_token_is_refreshed_first_and_the_rotated_pair_is_kept(self):
        self.platform_tokens("old-access", "old-refresh")
        credentials = {"access_token": "old-access", "refresh_token": "old-refresh",
                       "expires_at": "2020-01-01T00:00:00Z"}
        result = self.run_post(credentials=credentials)
        self.assertTrue(result.ok, result)
        self.assertEqual(lines(os.path.join(self.platform, "refresh.log")), ["old-refresh"])
        self.assertFalse(os.path.exists(os.path.join(self.platform, "refused.log")),
                         "the expired token was never sent")
        record, mode = self.stored_account()
        self.assertEqual(mode, 0o600)
        self.assertEqual(record["credentials"]["refresh_token"], "refresh-1")
        self.assertEqual(record["status"], "ok")
        self.assertEqual(record["refresh_count"], 1)
        self.assertNotIn("access-1", result.stdout + result.stderr)
        # The secret still holds the refresh token the platform rotated away: only the stored
        # record lets the next post through.
        again = self.run_post(credentials=credentials)
        self.assertTrue(again.ok, again)
        self.assertEqual(len(self.posts()), 2)

    def test_a_refused_access_token_is_refreshed_once_and_the_call_repeated(self):
        self.platform_tokens("revoked-early", "good-refresh")
        result = self.run_post(credentials={"access_token": "tok-SECRET-123",
                                            "refresh_token": "good-refresh"})
        self.assertTrue(result.ok, result)
        self.assertEqual(lines(os.path.join(self.platform, "refused.log")), ["tok-SECRET-123"])
        self.assertEqual(lines(os.path.join(self.platform, "refresh.log")), ["good-refresh"])
        self.assertEqual(len(self.posts()), 1)

    def test_a_revoked_refresh_token_marks_the_account_and_holds_later_posts(self):
        self.platform_tokens("current", "current-refresh")
        stale = {"access_token": "stale", "refresh_token": "stale-refresh"}
        result = self.run_post(credentials=stale)
        self.assertFalse(result.ok)
        self.assertIn("must be connected again", result.error)
        self.assertNotIn("stale-refresh", result.stdout + result.stderr)
        record, _ = self.stored_account()
        self.assertEqual(record["status"], "reconnect_needed")
        # The next post of the account stops before calling the platform.
        refused_before = len(lines(os.path.join(self.platform, "refused.log")))
        again = self.run_post(credentials=stale)
        self.assertFalse(again.ok)
        self.assertIn("needs to be connected again", again.error)
        self.assertIn("account.brand", again.error)
        self.assertEqual(len(lines(os.path.join(self.platform, "refused.log"))), refused_before)
        # New credentials in the secret: connected again.
        fresh = self.run_post(credentials={"access_token": "current",
                                           "refresh_token": "current-refresh"})
        self.assertTrue(fresh.ok, fresh)
        self.assertEqual(len(self.posts()), 1)


if __name__ == "__main__":
    unittest.main()
