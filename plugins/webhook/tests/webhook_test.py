#!/usr/bin/env python3
"""webhook.publish through `reelflow run` against tests/fakes/webhook_fake.py: a post arrives
exactly once, signed, with its media; the receiver's refusals and failures are classified; no
credential ever shows in what the run prints.

Usage: webhook_test.py REELFLOW [unittest args]  (ctest passes REELFLOW)
"""
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "tests", "publish"))
from publish_support import make_video, publish  # noqa: E402
from webhook_fake import WebhookFake  # noqa: E402  (publish_support put tests/fakes on the path)

REELFLOW = sys.argv.pop(1)
SECRET = "whsec_4f1b6c0e9d2a7735"


class WebhookPublishTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.TemporaryDirectory()
        cls.video = make_video(cls.shared.name, seconds=2, size="720x1280")
        cls.cover = os.path.join(cls.shared.name, "cover.jpg")
        with open(cls.cover, "wb") as handle:
            handle.write(b"\xff\xd8\xff\xe0" + os.urandom(3000))

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.fake = WebhookFake(secret=SECRET).start()

    def tearDown(self):
        self.fake.stop()
        self.tmp.cleanup()

    def account(self, credentials=None, **options):
        options.setdefault("url", self.fake.hook_url)
        return {"platform": "webhook", "options": options,
                "credentials": credentials if credentials is not None else {"secret": SECRET}}

    def run_publish(self, account, **options):
        options.setdefault("video", self.video)
        options.setdefault("title", "Winter drop")
        return publish(REELFLOW, self.dir, "webhook.publish", account, options)

    def assert_no_secret(self, result, *secrets):
        for secret in (SECRET, *secrets):
            for where, text in (("stdout", result.stdout), ("stderr", result.stderr)):
                self.assertNotIn(secret, text, f"a credential in the run's {where}")

    def deliveries(self):
        return self.fake.count("POST", r"^/hook$")

    # --- delivery -------------------------------------------------------------------------

    def test_multipart_delivers_the_json_and_identical_media_signed(self):
        result = self.run_publish(self.account(), cover=self.cover, caption="New #winter drop ❄",
                                  tags=["winter", "sale"], link="https://rf.example/l/abc",
                                  fields={"category": "promo"})
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.posts), 1)
        post = self.fake.posts[0]
        self.assertEqual(post["mode"], "multipart")
        body = post["json"]
        self.assertEqual(body["platform"], "webhook")
        self.assertEqual(body["account"], "brand")
        self.assertEqual(body["title"], "Winter drop")
        self.assertEqual(body["caption"], "New #winter drop ❄")
        self.assertEqual(body["tags"], ["winter", "sale"])
        self.assertEqual(body["link"], "https://rf.example/l/abc")
        self.assertEqual(body["options"], {"fields": {"category": "promo"}})
        self.assertNotIn("credentials", json.dumps(body))
        with open(self.video, "rb") as handle:
            video = handle.read()
        with open(self.cover, "rb") as handle:
            cover = handle.read()
        self.assertEqual(post["media"]["video"], video)
        self.assertEqual(post["media"]["cover"], cover)
        self.assertEqual(post["content_types"], {"video": "video/mp4", "cover": "image/jpeg"})
        self.assertEqual(body["video"], {"file": "clip.mp4", "size_bytes": len(video),
                                         "sha256": hashlib.sha256(video).hexdigest()})
        self.assertEqual(body["cover"]["sha256"], hashlib.sha256(cover).hexdigest())
        headers = post["headers"]
        self.assertEqual(headers["Idempotency-Key"], body["idempotency_key"])
        self.assertEqual(headers["X-Reelflow-Event"], "post.publish")
        self.assertNotIn("Authorization", headers)
        # The fake verified the signature; verify it again here, independently.
        fields = dict(item.split("=", 1) for item in headers["X-Reelflow-Signature"].split(","))
        self.assertLess(abs(time.time() - int(fields["t"])), 300)
        expected = hmac.new(SECRET.encode(), fields["t"].encode() + b"." + post["raw"],
                            hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(expected, fields["v1"]), "the signature")
        self.assertEqual(result.outputs["post_id"], post["id"])
        self.assertEqual(result.outputs["url"], post["answer"]["url"])
        self.assertEqual(result.outputs["state"], "published")
        self.assert_no_secret(result)

    def test_url_mode_sends_only_the_json_with_media_urls(self):
        base = "https://media.rf.example/state/"
        self.fake.media_base_url = base
        result = self.run_publish(self.account(media="url", media_base_url=base),
                                  cover=self.cover)
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.posts), 1)
        post = self.fake.posts[0]
        self.assertEqual(post["mode"], "url")
        self.assertEqual(post["media"], {})
        self.assertTrue(post["headers"]["Content-Type"].startswith("application/json"))
        self.assertEqual(int(post["headers"]["Content-Length"]), len(post["raw"]))
        self.assertEqual(post["json"]["video"]["url"], base + "clip.mp4")
        self.assertEqual(post["json"]["cover"]["url"], base + "cover.jpg")
        self.assertEqual(post["json"]["video"]["size_bytes"], os.path.getsize(self.video))

    def test_url_mode_without_media_base_url_is_refused_before_any_request(self):
        result = self.run_publish(self.account(media="url"))
        self.assertFalse(result.ok)
        self.assertIn("media_base_url", result.error)
        self.assertEqual(self.fake.requests, [])

    def test_a_status_url_without_id_is_refused_before_any_request(self):
        result = self.run_publish(self.account(status_url=self.fake.url + "/status"))
        self.assertFalse(result.ok)
        self.assertIn("status_url", result.error)
        self.assertIn("{id}", result.error)
        self.assertEqual(self.fake.requests, [])

    def test_a_missing_secret_is_refused_before_any_request(self):
        result = self.run_publish(self.account(credentials={}))
        self.assertFalse(result.ok)
        self.assertIn("credentials.secret", result.error)
        self.assertEqual(self.fake.requests, [])

    # --- refusals -------------------------------------------------------------------------

    def test_a_wrong_secret_fails_with_the_receivers_message_and_no_secret_shown(self):
        wrong = "whsec_wrong_9a8b7c6d5e"
        result = self.run_publish(self.account(credentials={"secret": wrong}))
        self.assertFalse(result.ok)
        self.assertEqual(self.fake.posts, [])
        self.assertEqual(self.fake.refusals[0][0], 401)
        self.assertIn("signature verification failed", result.error)
        self.assertIn("refused our credentials", result.error)
        self.assertEqual(self.deliveries(), 1, "a refusal is not retried")
        self.assert_no_secret(result, wrong)

    def test_401_asks_to_reconnect_the_account(self):
        self.fake.bearer = "bearer-current-1234"
        result = self.run_publish(self.account(credentials={"secret": SECRET,
                                                            "bearer": "bearer-revoked-5678"}))
        self.assertFalse(result.ok)
        self.assertEqual(self.fake.posts, [])
        self.assertIn("account 'brand'", result.error)
        self.assertIn("the receiver refused our credentials", result.error)
        self.assertIn("bearer token not accepted", result.error)
        # Offline (reelflow run) the step fails and says what to do; the daemon holds the post.
        self.assertIn("check the account's credentials.secret", result.error)
        self.assertIn("then run the workflow again", result.error)
        self.assert_no_secret(result, "bearer-revoked-5678")

    def test_the_right_bearer_is_sent(self):
        self.fake.bearer = "bearer-current-1234"
        result = self.run_publish(self.account(credentials={"secret": SECRET,
                                                            "bearer": "bearer-current-1234"}))
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.posts), 1)
        self.assert_no_secret(result, "bearer-current-1234")

    def test_another_4xx_fails_with_the_receivers_message_truncated(self):
        message = "caption: too long for our CMS " + "x" * 600
        self.fake.fail_next("POST", r"^/hook$", status=422, body={"error": {"message": message}})
        result = self.run_publish(self.account())
        self.assertFalse(result.ok)
        self.assertIn("HTTP 422", result.error)
        self.assertIn("caption: too long for our CMS", result.error)
        self.assertNotIn("x" * 301, result.error)
        self.assertEqual(self.deliveries(), 1, "a 4xx is not retried")

    # --- retries --------------------------------------------------------------------------

    def test_a_503_is_retried_and_makes_one_post(self):
        self.fake.fail_next("POST", r"^/hook$", status=503, headers={"Retry-After": "1"},
                            body={"error": "maintenance"})
        result = self.run_publish(self.account())
        self.assertTrue(result.ok, result)
        self.assertEqual(self.deliveries(), 2)
        self.assertEqual(len(self.fake.posts), 1)

    def test_429_waits_for_retry_after(self):
        self.fake.fail_next("POST", r"^/hook$", status=429, headers={"Retry-After": "2"},
                            body={"error": "slow down"})
        started = time.monotonic()
        result = self.run_publish(self.account())
        self.assertTrue(result.ok, result)
        self.assertGreaterEqual(time.monotonic() - started, 2)
        self.assertEqual(len(self.fake.posts), 1)

    def test_a_dropped_answer_after_storing_is_retried_into_a_409_and_one_post(self):
        self.fake.drop_after_storing(1)
        result = self.run_publish(self.account())
        self.assertTrue(result.ok, result)
        self.assertEqual(self.deliveries(), 2, "the POST was repeated")
        self.assertEqual(len(self.fake.posts), 1, "the receiver de-duplicated it")
        self.assertEqual(result.outputs["post_id"], self.fake.posts[0]["id"],
                         "the id comes from the 409's body")
        self.assertEqual(result.outputs["url"], self.fake.posts[0]["answer"]["url"])

    def test_a_dropped_answer_with_status_url_is_reconciled_without_a_second_post(self):
        self.fake.drop_after_storing(1)
        result = self.run_publish(self.account(status_url=self.fake.status_url))
        self.assertTrue(result.ok, result)
        self.assertEqual(self.deliveries(), 1, "reconcile found the post: no second POST")
        self.assertEqual(len(self.fake.posts), 1)
        self.assertEqual(result.outputs["post_id"], self.fake.posts[0]["id"])

    # --- status ---------------------------------------------------------------------------

    def test_status_url_processing_then_published(self):
        self.fake.status_states = ["processing", "processing", "published"]
        result = self.run_publish(self.account(status_url=self.fake.status_url))
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.count("GET", r"^/status/"), 3)
        post = self.fake.posts[0]
        self.assertEqual(result.outputs["post_id"], post["id"])
        self.assertEqual(result.outputs["url"], f"{self.fake.url}/live/{post['id']}")

    def test_status_url_failed_fails_the_post_with_the_receivers_reason(self):
        self.fake.status_states = ["failed"]
        result = self.run_publish(self.account(status_url=self.fake.status_url))
        self.assertFalse(result.ok)
        self.assertIn("rejected by the reviewer", result.error)
        self.assertEqual(len(self.fake.posts), 1)


if __name__ == "__main__":
    unittest.main()
