#!/usr/bin/env python3
"""kuaishou.publish through `reelflow run` against the Kuaishou fake
(tests/fakes/kuaishou_fake.py): a clean publish in several fragments, resuming after a dropped
connection and after a 5xx, rate limits (429 + Retry-After, Kuaishou's rate-limit result), an
expired token, a refused field, prepare's refusals, and photo/publish's reply lost after
Kuaishou published the video.

Usage: kuaishou_test.py REELFLOW [unittest args]  (ctest passes REELFLOW)
"""
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

    def test_an_expired_token_asks_to_reconnect_and_posts_nothing(self):
        self.fake.expire_token()
        result = self.run_publish(caption="expired")
        self.assertFalse(result.ok)
        self.assertIn("access token rejected: reconnect the account 'brand'", result.error)
        self.assertIn("100200108", result.error)
        self.assertEqual(self.fake.photos, [])
        self.assertEqual(self.fake.fragment_log, [])
        for text in (result.error, result.stderr, result.stdout):
            self.assertNotIn(self.fake.access_token, text)

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
