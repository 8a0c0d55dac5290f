#!/usr/bin/env python3
"""douyin.publish through `reelflow run` against the Douyin fake (tests/fakes/douyin_fake.py):
a clean publish, the part rules, resuming after a dropped connection and after a 5xx, rate
limits (429 + Retry-After, Douyin's frequency-limit code), an expired token, a refused field,
prepare's refusals, create_video's reply lost after Douyin created the video, and token refresh
(ahead of expiry, after a refusal, renewing the refresh token and its limit, a refused refresh
token).

Usage: douyin_test.py REELFLOW [unittest args]  (ctest passes REELFLOW)
"""
import json
import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "publish"))
from publish_support import make_video, publish  # noqa: E402
from douyin_fake import DouyinFake  # noqa: E402  (publish_support puts tests/fakes on the path)

REELFLOW = sys.argv.pop(1)
MiB = 1024 * 1024


def write_bytes(directory, size, name="big.mp4"):
    """A file of `size` bytes named .mp4: douyin.publish never looks inside the video."""
    path = os.path.join(directory, name)
    block = bytes(range(256)) * 4096  # 1 MiB, not all zeros so that misplaced bytes show
    with open(path, "wb") as handle:
        left = size
        while left > 0:
            handle.write(block[:min(left, len(block))])
            left -= min(left, len(block))
    return path


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def unix(text):
    return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


class DouyinPublishTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.fake = DouyinFake().start()
        self.account = {"platform": "douyin", "options": {"api_base": self.fake.url},
                        "credentials": {"access_token": self.fake.access_token,
                                        "open_id": self.fake.open_id}}

    def tearDown(self):
        self.fake.stop()
        self.tmp.cleanup()

    def run_publish(self, options):
        return publish(REELFLOW, self.dir, "douyin.publish", self.account, options)

    def assert_no_secret(self, result):
        for text in (result.error, result.stderr, result.stdout):
            self.assertNotIn(self.fake.access_token, text)

    def assert_one_video(self, video, result):
        self.assertEqual(len(self.fake.items), 1, "exactly one video on Douyin")
        item = self.fake.items[0]
        self.assertEqual(item["bytes"], read(video))
        self.assertEqual(result.outputs["post_id"], item["item_id"])
        return item

    def part_numbers(self):
        return [number for _, number, _ in self.fake.part_log]

    def test_a_clean_publish_creates_one_video_with_text_and_topics(self):
        video = make_video(self.dir, seconds=1)
        result = self.run_publish({"video": video, "title": "冬季上新",
                                   "caption": "冬季新品 #winter", "tags": ["winter", "#sale"],
                                   "cover_tsp": 0.5})
        self.assertTrue(result.ok, result)
        self.assertEqual(result.outputs["state"], "published")
        item = self.assert_one_video(video, result)
        self.assertEqual(item["text"], "冬季新品 #winter #sale")
        self.assertEqual(item["cover_tsp"], 0.5)
        self.assertEqual(result.outputs["url"],
                         f"https://www.iesdouyin.com/share/video/{item['item_id']}/")
        self.assertEqual(self.part_numbers(), [1], "a small video is one part")
        self.assert_no_secret(result)

    def test_parts_are_sent_in_order_in_the_chosen_size(self):
        video = write_bytes(self.dir, 11 * MiB + 12345)
        result = self.run_publish({"video": video, "caption": "parts", "chunk_mib": 5})
        self.assertTrue(result.ok, result)
        self.assertEqual([(n, size) for _, n, size in self.fake.part_log],
                         [(1, 5 * MiB), (2, 5 * MiB), (3, MiB + 12345)])
        self.assert_one_video(video, result)

    def test_a_dropped_connection_mid_part_resumes_at_that_part(self):
        video = write_bytes(self.dir, 11 * MiB)
        self.fake.fail_part(2, drop_after=100000)
        result = self.run_publish({"video": video, "caption": "dropped", "chunk_mib": 5})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.part_numbers(), [1, 2, 3], "part 1 is not sent again")
        self.assertEqual(self.fake.count("POST", r"/upload_video_part/"), 4)
        self.assertEqual(self.fake.count("POST", r"/init_video_part_upload/"), 1)
        self.assert_one_video(video, result)

    def test_a_5xx_on_a_part_resumes_at_that_part(self):
        video = write_bytes(self.dir, 11 * MiB)
        self.fake.fail_part(3, status=503)
        result = self.run_publish({"video": video, "caption": "five hundred", "chunk_mib": 5})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.part_numbers(), [1, 2, 3])
        self.assertEqual(self.fake.count("POST", r"/upload_video_part/"), 4)
        self.assert_one_video(video, result)

    def test_429_waits_for_retry_after(self):
        video = make_video(self.dir, seconds=1)
        self.fake.fail_next("POST", r"/init_video_part_upload/", status=429,
                            headers={"Retry-After": "2"})
        began = time.monotonic()
        result = self.run_publish({"video": video, "caption": "patience"})
        self.assertTrue(result.ok, result)
        self.assertGreaterEqual(time.monotonic() - began, 2.0)
        self.assertEqual(self.fake.count("POST", r"/init_video_part_upload/"), 2)
        self.assert_one_video(video, result)

    def test_the_frequency_limit_code_is_retried(self):
        video = make_video(self.dir, seconds=1)
        self.fake.fail_code_next(r"/upload_video_part/", 28003018, "frequency limit")
        result = self.run_publish({"video": video, "caption": "again"})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.count("POST", r"/upload_video_part/"), 2)
        self.assert_one_video(video, result)

    def test_a_quota_error_says_publish_later(self):
        video = make_video(self.dir, seconds=1)
        self.fake.fail_code_next(r"/init_video_part_upload/", 2190001, "quota已用完")
        result = self.run_publish({"video": video, "caption": "tomorrow"})
        self.assertFalse(result.ok)
        self.assertIn("quota", result.error)
        self.assertRegex(result.error, r"later|publish it after")
        self.assertEqual(self.fake.items, [])

    def test_an_expired_token_without_a_refresh_token_asks_to_reconnect(self):
        video = make_video(self.dir, seconds=1)
        self.fake.expire_token()
        result = self.run_publish({"video": video, "caption": "expired"})
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("has no refresh_token or client_key", result.error)
        self.assertEqual(self.fake.items, [])
        self.assertEqual(self.fake.part_log, [])
        self.assertEqual(self.fake.token_log, [])
        self.assertEqual(self.stored_account()[0]["status"], "reconnect_needed")
        self.assert_no_secret(result)

    # ---- token refresh ----------------------------------------------------------------------

    def refreshable(self, expires_at, **extra):
        """The account with a refresh token, its app's client_key and expires_at."""
        self.account["credentials"].update(
            {"refresh_token": self.fake.refresh_token, "client_key": self.fake.client_key,
             "expires_at": expires_at}, **extra)
        return self.account["credentials"]

    def stored_account(self):
        path = os.path.join(self.dir, "accounts", "brand.json")
        with open(path) as handle:
            return json.load(handle), os.stat(path).st_mode & 0o777

    def assert_no_token(self, result, *tokens):
        for token in tokens + (self.fake.access_token, self.fake.current_access_token,
                               self.fake.refresh_token, self.fake.client_key):
            for text in (result.error, result.stderr, result.stdout):
                self.assertNotIn(token, text)

    def test_an_expired_access_token_is_refreshed_first_and_the_stored_one_used_next(self):
        video = make_video(self.dir, seconds=1)
        self.fake.expire_token()
        first_refresh = self.fake.refresh_token
        self.refreshable(iso(time.time() - 3600))
        result = self.run_publish({"video": video, "caption": "fresh token"})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.token_log, [("refresh", first_refresh)],
                         "one refresh, no renewal: the refresh token has 30 days left")
        fresh = self.fake.current_access_token
        self.assertNotEqual(fresh, self.fake.access_token)
        self.assertEqual(set(self.fake.tokens_used(r"/api/douyin/")), {fresh},
                         "every call used the new token; the expired one was never sent")
        self.assert_one_video(video, result)
        record, mode = self.stored_account()
        self.assertEqual(mode, 0o600)
        self.assertEqual(record["status"], "ok")
        self.assertEqual(record["refresh_count"], 1)
        credentials = record["credentials"]
        self.assertEqual(credentials["access_token"], fresh)
        self.assertEqual(credentials["refresh_token"], first_refresh, "Douyin keeps it")
        self.assertAlmostEqual(unix(credentials["expires_at"]), time.time() + 15 * 86400,
                               delta=120)
        self.assertAlmostEqual(unix(credentials["refresh_expires_at"]),
                               time.time() + 30 * 86400, delta=120)
        self.assertNotIn("refresh_renewals", credentials)
        self.assert_no_token(result)
        # The same secret again (its access token expired at Douyin): the stored record's token
        # is used as it is, without a second refresh.
        again = self.run_publish({"video": video, "caption": "stored token"})
        self.assertTrue(again.ok, again)
        self.assertEqual(len(self.fake.token_log), 1)
        self.assertEqual(self.fake.tokens_used(r"/create_video/"), [fresh, fresh])
        self.assertEqual(len(self.fake.items), 2)

    def test_an_access_token_revoked_early_is_refreshed_once_and_the_call_repeated(self):
        video = make_video(self.dir, seconds=1)
        self.refreshable(iso(time.time() + 10 * 86400))
        self.fake.revoke_access_token()
        result = self.run_publish({"video": video, "caption": "revoked early"})
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.token_log), 1)
        fresh = self.fake.current_access_token
        self.assertEqual(self.fake.tokens_used(r"/init_video_part_upload/"),
                         [self.fake.access_token, fresh], "refused, refreshed, repeated")
        self.assertEqual(self.fake.tokens_used(r"/create_video/"), [fresh])
        self.assert_one_video(video, result)
        self.assertEqual(self.stored_account()[0]["credentials"]["access_token"], fresh)
        self.assert_no_token(result)

    def test_a_refresh_token_close_to_its_expiry_is_renewed_and_the_renewal_counted(self):
        video = make_video(self.dir, seconds=1)
        self.fake.expire_token()
        self.fake.expire_refresh_token_in(2 * 86400)
        first_refresh = self.fake.refresh_token
        self.refreshable(iso(time.time() - 60), refresh_expires_at=iso(time.time() + 2 * 86400),
                         refresh_renewals=2)
        result = self.run_publish({"video": video, "caption": "renewed"})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.token_log, [("refresh", first_refresh),
                                               ("renew", first_refresh)])
        renewed = self.fake.refresh_token
        self.assertNotEqual(renewed, first_refresh)
        credentials = self.stored_account()[0]["credentials"]
        self.assertEqual(credentials["refresh_token"], renewed)
        self.assertEqual(credentials["refresh_renewals"], 3)
        self.assertAlmostEqual(unix(credentials["refresh_expires_at"]),
                               time.time() + 30 * 86400, delta=120)
        self.assertNotIn("reauthorize_before", credentials)
        self.assert_no_token(result, first_refresh)
        # Douyin no longer takes the old refresh token: the next refresh (after a refusal) works
        # only with the stored, renewed one.
        self.fake.expire_token()
        again = self.run_publish({"video": video, "caption": "after renewal"})
        self.assertTrue(again.ok, again)
        self.assertEqual(self.fake.token_log[2:], [("refresh", renewed)])
        self.assertEqual(len(self.fake.items), 2)

    def test_the_renewal_limit_is_recorded_and_warned_about(self):
        video = make_video(self.dir, seconds=1)
        self.fake.expire_token()
        self.fake.expire_refresh_token_in(2 * 86400)
        self.fake.refresh_tokens[self.fake.refresh_token]["renewals"] = 5
        refresh_token = self.fake.refresh_token
        # The credentials do not say how often it was renewed: Douyin's 10020 tells.
        self.refreshable(iso(time.time() - 60), refresh_expires_at=iso(time.time() + 2 * 86400))
        result = self.run_publish({"video": video, "caption": "limit"})
        self.assertTrue(result.ok, result)
        self.assertEqual([kind for kind, _ in self.fake.token_log], ["refresh", "renew"])
        credentials = self.stored_account()[0]["credentials"]
        self.assertEqual(credentials["refresh_renewals"], 5)
        self.assertEqual(credentials["refresh_token"], refresh_token)
        self.assertAlmostEqual(unix(credentials["reauthorize_before"]),
                               time.time() + 2 * 86400, delta=120)
        self.assertIn("authorize reelflow on Douyin again before", result.stderr)
        self.assert_no_token(result)
        # Counted now: the next refresh does not ask for a renewal, and warns again.
        self.fake.expire_token()
        again = self.run_publish({"video": video, "caption": "limit again"})
        self.assertTrue(again.ok, again)
        self.assertEqual([kind for kind, _ in self.fake.token_log],
                         ["refresh", "renew", "refresh"])
        self.assertIn("authorize reelflow on Douyin again before", again.stderr)

    def test_a_revoked_refresh_token_stops_the_post_and_marks_the_account(self):
        video = make_video(self.dir, seconds=1)
        self.fake.expire_token()
        self.fake.revoke_refresh_token()
        self.refreshable(iso(time.time() - 60))
        result = self.run_publish({"video": video, "caption": "revoked"})
        self.assertFalse(result.ok)
        self.assertIn("must be connected again", result.error)
        self.assertIn("Douyin refused the refresh token", result.error)
        self.assertIn("10010", result.error)
        self.assertEqual(self.fake.items, [])
        self.assertEqual(self.fake.part_log, [])
        self.assertEqual(self.fake.tokens_used(r"/api/douyin/"), [], "nothing was attempted")
        record, mode = self.stored_account()
        self.assertEqual(record["status"], "reconnect_needed")
        self.assertEqual(mode, 0o600)
        self.assert_no_token(result)
        # The account's next post stops before reaching Douyin.
        requests = len(self.fake.requests)
        again = self.run_publish({"video": video, "caption": "still revoked"})
        self.assertFalse(again.ok)
        self.assertIn("needs to be connected again", again.error)
        self.assertEqual(len(self.fake.requests), requests)

    def test_a_refused_field_is_named_and_not_sent_again(self):
        video = make_video(self.dir, seconds=1)
        result = self.run_publish({"video": video, "caption": "somewhere", "poi_id": "nowhere"})
        self.assertFalse(result.ok)
        self.assertIn("poi_id nowhere does not exist", result.error)
        self.assertIn("create_video", result.error)
        self.assertEqual(self.fake.count("POST", r"/create_video/"), 1)
        self.assertEqual(self.fake.items, [])

    def test_prepare_refuses_invalid_posts_before_any_request(self):
        video = make_video(self.dir, seconds=1)
        cases = [
            ({"caption": "长" * 1001}, "caption"),
            ({"caption": "ok", "tags": ["two words"]}, "tags: 'two words' contains whitespace"),
            ({"caption": "ok", "chunk_mib": 4}, "chunk_mib"),
            ({"caption": "ok", "poi_id": "poi-1", "micro_app_id": "tt1",
              "micro_app_title": "app"}, "one anchor type"),
        ]
        for options, expected in cases:
            with self.subTest(expected=expected):
                result = self.run_publish(dict(options, video=video))
                self.assertFalse(result.ok, result)
                # The host refuses an option out of range before the run (stderr).
                self.assertIn(expected, result.error + result.stderr)
        gif = write_bytes(self.dir, 1000, name="clip.gif")
        result = self.run_publish({"video": gif, "caption": "gif"})
        self.assertFalse(result.ok)
        self.assertIn("not an .mp4 or .webm file", result.error)
        self.assertEqual(self.fake.requests, [], "nothing reached Douyin")

    def test_missing_credentials_are_named(self):
        video = make_video(self.dir, seconds=1)
        del self.account["credentials"]["open_id"]
        result = self.run_publish({"video": video, "caption": "who"})
        self.assertFalse(result.ok)
        self.assertIn("has no open_id", result.error)
        self.assertEqual(self.fake.requests, [])

    def test_create_video_reply_lost_after_the_video_was_made_is_reconciled(self):
        video = make_video(self.dir, seconds=1)
        self.fake.drop_response_next("POST", r"/create_video/")
        result = self.run_publish({"video": video, "caption": "lost reply #once"})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.count("POST", r"/create_video/"), 1, "never created twice")
        self.assertGreaterEqual(self.fake.count("GET", r"/video_list/"), 1, "it asked Douyin")
        self.assertEqual(self.fake.count("POST", r"/complete_video_part_upload/"), 1)
        item = self.assert_one_video(video, result)
        self.assertEqual(item["text"], "lost reply #once")

    def test_a_rate_limited_create_is_checked_then_made_once(self):
        video = make_video(self.dir, seconds=1)
        self.fake.fail_code_next(r"/create_video/", 28003018, "frequency limit")
        result = self.run_publish({"video": video, "caption": "slow down"})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.count("POST", r"/create_video/"), 2)
        self.assertEqual(self.fake.count("POST", r"/complete_video_part_upload/"), 1)
        self.assert_one_video(video, result)


if __name__ == "__main__":
    unittest.main()
