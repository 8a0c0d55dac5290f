#!/usr/bin/env python3
"""kuaishou.publish through `reelflow run` against the Kuaishou fake
(tests/fakes/kuaishou_fake.py): a clean publish in several fragments, resuming after a dropped
connection and after a 5xx, rate limits (429 + Retry-After, Kuaishou's rate-limit result), an
expired token, a refused field, prepare's refusals, photo/publish's reply lost after
Kuaishou published the video, and token refresh (ahead of expiry with a rotating refresh token,
after a refusal, a refresh token close to its end, a refused refresh token).

Usage: kuaishou_test.py REELFLOW [unittest args]  (ctest passes REELFLOW)
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
from kuaishou_fake import KuaishouFake  # noqa: E402  (publish_support puts tests/fakes on the path)

REELFLOW = sys.argv.pop(1)
KiB = 1024
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"cover pixels" * 50


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def unix(text):
    return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


class KuaishouPublishTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.TemporaryDirectory()
        cls.video = make_video(cls.shared.name, seconds=2, size="1080x1920")

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.fake = KuaishouFake().start()
        self.account = {"platform": "kuaishou", "options": {"api_base": self.fake.url},
                        "credentials": {"access_token": self.fake.access_token,
                                        "app_id": self.fake.app_id}}
        self.cover = os.path.join(self.dir, "cover.jpg")
        with open(self.cover, "wb") as handle:
            handle.write(JPEG)
        self.size = os.path.getsize(self.video)
        self.fragment = 256 * KiB
        self.fragments = (self.size + self.fragment - 1) // self.fragment
        self.assertGreaterEqual(self.fragments, 3, "the test video must span several fragments")

    def tearDown(self):
        self.fake.stop()
        self.tmp.cleanup()

    def run_publish(self, **options):
        options.setdefault("video", self.video)
        options.setdefault("cover", self.cover)
        options.setdefault("chunk_mib", 0.25)
        return publish(REELFLOW, self.dir, "kuaishou.publish", self.account, options)

    def assert_one_photo(self, result):
        self.assertEqual(len(self.fake.photos), 1, "exactly one video on Kuaishou")
        photo = self.fake.photos[0]
        self.assertEqual(photo["bytes"], read(self.video))
        self.assertEqual(result.outputs["post_id"], photo["photo_id"])
        return photo

    def fragment_ids(self):
        return [fragment_id for _, fragment_id, _ in self.fake.fragment_log]

    def test_a_clean_publish_sends_fragments_in_order_and_one_photo(self):
        result = self.run_publish(title="冬季上新", caption="冬季新品 #winter",
                                  tags=["winter", "sale"])
        self.assertTrue(result.ok, result)
        self.assertEqual(result.outputs["state"], "published")
        photo = self.assert_one_photo(result)
        self.assertEqual(photo["caption"], "冬季新品 #winter #sale")
        self.assertEqual(photo["cover_bytes"], JPEG)
        self.assertEqual(result.outputs["url"],
                         f"https://www.kuaishou.com/short-video/{photo['photo_id']}")
        self.assertEqual(self.fragment_ids(), list(range(self.fragments)))
        sizes = [size for _, _, size in self.fake.fragment_log]
        self.assertEqual(sizes[:-1], [self.fragment] * (self.fragments - 1))
        self.assertEqual(sum(sizes), self.size)
        self.assertEqual(self.fake.count("POST", r"^/api/upload/complete$"), 1)
        for text in (result.error, result.stderr, result.stdout):
            self.assertNotIn(self.fake.access_token, text)

    def test_a_dropped_connection_mid_fragment_resumes_at_that_fragment(self):
        self.fake.fail_fragment(1, drop_after=1000)
        result = self.run_publish(caption="dropped")
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fragment_ids(), list(range(self.fragments)),
                         "fragment 0 is not sent again")
        self.assertEqual(self.fake.count("POST", r"^/api/upload/fragment$"), self.fragments + 1)
        self.assertEqual(self.fake.count("POST", r"/photo/start_upload"), 1)
        self.assert_one_photo(result)

    def test_a_5xx_on_a_fragment_resumes_at_that_fragment(self):
        self.fake.fail_fragment(2, status=502)
        result = self.run_publish(caption="five hundred")
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fragment_ids(), list(range(self.fragments)))
        self.assertEqual(self.fake.count("POST", r"^/api/upload/fragment$"), self.fragments + 1)
        self.assert_one_photo(result)

    def test_429_waits_for_retry_after(self):
        self.fake.fail_next("POST", r"/photo/start_upload", status=429,
                            headers={"Retry-After": "2"})
        began = time.monotonic()
        result = self.run_publish(caption="patience")
        self.assertTrue(result.ok, result)
        self.assertGreaterEqual(time.monotonic() - began, 2.0)
        self.assertEqual(self.fake.count("POST", r"/photo/start_upload"), 2)
        self.assert_one_photo(result)

    def test_a_rate_limited_publish_is_checked_then_made_once(self):
        self.fake.fail_result_next(r"/photo/publish", 100200410, "api限流")
        result = self.run_publish(caption="slow down")
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.count("POST", r"/photo/publish"), 2)
        self.assertGreaterEqual(self.fake.count("GET", r"/photo/list"), 1)
        self.assert_one_photo(result)

    def test_an_expired_token_without_a_refresh_token_asks_to_reconnect(self):
        self.fake.expire_token()
        result = self.run_publish(caption="expired")
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("has no refresh_token or app_secret", result.error)
        self.assertEqual(self.fake.photos, [])
        self.assertEqual(self.fake.fragment_log, [])
        self.assertEqual(self.fake.token_log, [])
        self.assertEqual(self.stored_account()[0]["status"], "reconnect_needed")
        for text in (result.error, result.stderr, result.stdout):
            self.assertNotIn(self.fake.access_token, text)

    # ---- token refresh ----------------------------------------------------------------------

    def refreshable(self, expires_at):
        self.account["credentials"].update(
            {"refresh_token": self.fake.refresh_token, "app_secret": self.fake.app_secret,
             "expires_at": expires_at})

    def stored_account(self):
        path = os.path.join(self.dir, "accounts", "brand.json")
        with open(path) as handle:
            return json.load(handle), os.stat(path).st_mode & 0o777

    def assert_no_token(self, result, *tokens):
        for token in tokens + (self.fake.access_token, self.fake.current_access_token,
                               self.fake.refresh_token, self.fake.app_secret):
            for text in (result.error, result.stderr, result.stdout):
                self.assertNotIn(token, text)

    def test_an_expired_access_token_is_refreshed_first_and_the_rotated_pair_kept(self):
        self.fake.expire_token()
        first_refresh = self.fake.refresh_token
        self.refreshable(iso(time.time() - 3600))
        result = self.run_publish(caption="fresh token")
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.token_log, [first_refresh], "exactly one refresh")
        fresh = self.fake.current_access_token
        self.assertNotEqual(fresh, self.fake.access_token)
        self.assertEqual(set(self.fake.tokens_used(r"^/openapi/")), {fresh},
                         "every call used the new token; the expired one was never sent")
        self.assert_one_photo(result)
        record, mode = self.stored_account()
        self.assertEqual(mode, 0o600)
        self.assertEqual(record["status"], "ok")
        credentials = record["credentials"]
        self.assertEqual(credentials["access_token"], fresh)
        self.assertEqual(credentials["refresh_token"], self.fake.refresh_token)
        self.assertNotEqual(credentials["refresh_token"], first_refresh, "rotated")
        self.assertAlmostEqual(unix(credentials["expires_at"]), time.time() + 48 * 3600,
                               delta=120)
        self.assertAlmostEqual(unix(credentials["refresh_expires_at"]),
                               time.time() + 180 * 86400, delta=120)
        self.assert_no_token(result, first_refresh)
        # The secret still holds the rotated-away refresh token and an expired access token:
        # the next post goes through only on the stored pair (refused access, refreshed with
        # the stored refresh token, repeated).
        self.fake.expire_token()
        stored_refresh = self.fake.refresh_token
        again = self.run_publish(caption="stored pair")
        self.assertTrue(again.ok, again)
        self.assertEqual(self.fake.token_log, [first_refresh, stored_refresh])
        self.assertEqual(len(self.fake.photos), 2)
        self.assertEqual(self.stored_account()[0]["credentials"]["refresh_token"],
                         self.fake.refresh_token)

    def test_an_access_token_revoked_early_is_refreshed_once_and_the_call_repeated(self):
        self.refreshable(iso(time.time() + 86400))
        self.fake.revoke_access_token()
        result = self.run_publish(caption="revoked early")
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.token_log), 1)
        fresh = self.fake.current_access_token
        self.assertEqual(self.fake.tokens_used(r"/photo/start_upload"),
                         [self.fake.access_token, fresh], "refused, refreshed, repeated")
        self.assertEqual(self.fake.tokens_used(r"/photo/publish"), [fresh])
        self.assert_one_photo(result)
        self.assert_no_token(result)

    def test_a_refresh_token_close_to_its_end_is_warned_about(self):
        self.fake.expire_token()
        self.fake.expire_refresh_token_in(3 * 86400)
        self.refreshable(iso(time.time() - 60))
        result = self.run_publish(caption="ending")
        self.assertTrue(result.ok, result)
        credentials = self.stored_account()[0]["credentials"]
        self.assertAlmostEqual(unix(credentials["reauthorize_before"]),
                               time.time() + 3 * 86400, delta=120)
        self.assertIn("authorize reelflow on Kuaishou again before", result.stderr)
        self.assert_no_token(result)

    def test_a_revoked_refresh_token_stops_the_post_and_marks_the_account(self):
        self.fake.expire_token()
        self.fake.revoke_refresh_token()
        self.refreshable(iso(time.time() - 60))
        result = self.run_publish(caption="revoked")
        self.assertFalse(result.ok)
        self.assertIn("must be connected again", result.error)
        self.assertIn("Kuaishou refused the refresh token", result.error)
        self.assertIn("100200105", result.error)
        self.assertEqual(self.fake.photos, [])
        self.assertEqual(self.fake.fragment_log, [])
        self.assertEqual(self.fake.tokens_used(r"^/openapi/"), [], "nothing was attempted")
        record, mode = self.stored_account()
        self.assertEqual(record["status"], "reconnect_needed")
        self.assertEqual(mode, 0o600)
        self.assert_no_token(result)
        requests = len(self.fake.requests)
        again = self.run_publish(caption="still revoked")
        self.assertFalse(again.ok)
        self.assertIn("needs to be connected again", again.error)
        self.assertEqual(len(self.fake.requests), requests)

    def test_a_refused_cover_is_named_and_not_sent_again(self):
        with open(self.cover, "wb") as handle:
            handle.write(b"GIF89a not a jpeg")
        result = self.run_publish(caption="bad cover")
        self.assertFalse(result.ok)
        self.assertIn("cover: not a JPEG or PNG image", result.error)
        self.assertIn("photo/publish", result.error)
        self.assertEqual(self.fake.count("POST", r"/photo/publish"), 1)
        self.assertEqual(self.fake.photos, [])

    def test_prepare_refuses_invalid_posts_before_any_request(self):
        cases = [
            ({"caption": "长" * 501}, "caption"),
            ({"caption": "ok", "tags": ["a b"]}, "tags: 'a b' contains whitespace"),
            ({"caption": "ok", "chunk_mib": 11}, "chunk_mib"),
            ({"caption": "ok", "cover": os.path.join(self.dir, "cover.gif")}, "cover"),
        ]
        with open(os.path.join(self.dir, "cover.gif"), "wb") as handle:
            handle.write(b"GIF89a")
        for options, expected in cases:
            with self.subTest(expected=expected):
                result = self.run_publish(**options)
                self.assertFalse(result.ok, result)
                # The host refuses an option out of range before the run (stderr).
                self.assertIn(expected, result.error + result.stderr)
        result = publish(REELFLOW, self.dir, "kuaishou.publish", self.account,
                         {"video": self.video, "caption": "no cover"})
        self.assertFalse(result.ok)
        self.assertIn("cover: Kuaishou's publish call takes a cover image", result.error)
        del self.account["credentials"]["app_id"]
        result = self.run_publish(caption="no app")
        self.assertFalse(result.ok)
        self.assertIn("has no app_id", result.error)
        self.assertEqual(self.fake.requests, [], "nothing reached Kuaishou")

    def test_publish_reply_lost_after_the_photo_was_made_is_reconciled(self):
        self.fake.drop_response_next("POST", r"/photo/publish")
        result = self.run_publish(caption="lost reply #once")
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.count("POST", r"/photo/publish"), 1, "never published twice")
        self.assertGreaterEqual(self.fake.count("GET", r"/photo/list"), 1, "it asked Kuaishou")
        photo = self.assert_one_photo(result)
        self.assertEqual(photo["caption"], "lost reply #once")


if __name__ == "__main__":
    unittest.main()
