#!/usr/bin/env python3
"""instagram.publish through `reelflow run` against the fake Graph API
(tests/fakes/instagram_fake.py): a clean Reel, a container that processes for a while before it
may be published, resuming an upload cut off mid-body and after a 5xx from the byte the upload
host holds, 429 with Retry-After, an expired token, a refused parameter, the 24-hour publishing
limit, a lost media_publish answer reconciled into the one media, prepare refusing a caption
before any request, and the metrics callback (called in-process through the C ABI,
tests/publish/abi_host.py).

Usage: instagram_test.py REELFLOW [PLUGIN.so] [unittest args]  (ctest passes both; PLUGIN.so
defaults to instagram.so next to REELFLOW's build)
"""
import datetime
import json
import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "publish"))
from publish_support import make_video, publish  # noqa: E402
from abi_host import AbiHost  # noqa: E402
from instagram_fake import InstagramFake  # noqa: E402  (publish_support adds tests/fakes)

REELFLOW = sys.argv.pop(1)
PLUGIN = (sys.argv.pop(1) if len(sys.argv) > 1 and sys.argv[1].endswith(".so") else
          os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(REELFLOW))), "lib",
                       "reelflow", "plugins", "instagram.so"))
TOKEN = "ig-user-token"
IG_USER = "17841400000000001"


class InstagramTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.TemporaryDirectory()
        cls.video = make_video(cls.shared.name, seconds=4, size="1080x1920")  # Reels: 3 s at least
        with open(cls.video, "rb") as handle:
            cls.video_bytes = handle.read()

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.fake = InstagramFake(ig_user_id=IG_USER, access_token=TOKEN).start()
        self.account = {
            "platform": "instagram",
            "options": {"api_base": self.fake.url, "upload_base": self.fake.url,
                        "status_interval": 0.1, "processing_timeout": 10},
            "credentials": {"ig_user_id": IG_USER, "access_token": TOKEN},
        }

    def tearDown(self):
        self.fake.stop()
        self.tmp.cleanup()

    def publish(self, **overrides):
        options = {"video": self.video, "caption": "Winter drop is here",
                   "tags": ["winter", "#sale"], "link": "https://rf.example/l/abc"}
        options.update(overrides)
        result = publish(REELFLOW, self.dir, "instagram.publish", self.account, options)
        for text in (result.stdout, result.stderr, result.error):
            self.assertNotIn(TOKEN, text or "", "the token leaked into the run's output")
        return result


class InstagramPublishTest(InstagramTestCase):
    def test_a_clean_reel_is_one_media_with_the_caption_link_hashtags_and_every_byte(self):
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.media), 1)
        media = self.fake.media[0]
        self.assertEqual(media["caption"],
                         "Winter drop is here\n\nhttps://rf.example/l/abc\n\n#winter #sale")
        self.assertEqual(media["bytes"], self.video_bytes)
        self.assertEqual(media["share_to_feed"], "true")
        self.assertEqual(result.outputs["post_id"], media["id"])
        self.assertEqual(result.outputs["url"], media["permalink"])
        self.assertEqual(len(self.fake.upload_log), 1)
        container, offset, file_size, length = self.fake.upload_log[0]
        size = len(self.video_bytes)
        self.assertEqual((offset, file_size, length), (0, size, size))

    def test_a_container_still_processing_is_waited_for_before_media_publish(self):
        self.fake.in_progress_checks = 3
        result = self.publish()
        self.assertTrue(result.ok, result)
        codes = [code for _, code in self.fake.status_log]
        self.assertEqual(codes[:4], ["IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "FINISHED"])
        self.assertEqual(self.fake.count("POST", r"/media_publish$"), 1,
                         "published once, and only once FINISHED (the fake refuses earlier)")
        self.assertEqual(len(self.fake.media), 1)

    def test_a_container_that_fails_processing_fails_the_post_without_publishing(self):
        self.fake.fail_processing = True
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("is ERROR", result.error)
        self.assertIn("2207026", result.error)
        self.assertEqual(self.fake.count("POST", r"/media_publish$"), 0)

    def test_an_upload_cut_off_mid_body_resumes_from_the_byte_the_host_holds(self):
        kept = 300_000
        self.fake.drop_upload_after = kept
        result = self.publish()
        self.assertTrue(result.ok, result)
        offsets = [(offset, length) for _, offset, _, length in self.fake.upload_log]
        self.assertEqual(offsets, [(0, kept), (kept, len(self.video_bytes) - kept)],
                         "the second attempt sends only what the host does not hold")
        self.assertEqual(self.fake.count("GET", r"^/ig-api-upload/"), 1, "asked where it stood")
        self.assertEqual(len(self.fake.media), 1)
        self.assertEqual(self.fake.media[0]["bytes"], self.video_bytes)

    def test_a_5xx_after_a_cut_off_upload_resumes_from_the_held_byte_again(self):
        kept = 500_000
        self.fake.drop_upload_after = kept
        self.fake.fail_next("POST", r"^/ig-api-upload/", status=503,
                            body={"debug_info": {"retriable": True, "type": "ServiceUnavailable",
                                                 "message": "busy"}})
        result = self.publish()
        self.assertTrue(result.ok, result)
        sent = [(offset, length) for _, offset, _, length in self.fake.upload_log]
        self.assertEqual(sent, [(0, kept), (kept, len(self.video_bytes) - kept)])
        self.assertEqual(self.fake.count("POST", r"^/ig-api-upload/"), 3)
        self.assertEqual(self.fake.count("GET", r"^/ig-api-upload/"), 2)
        self.assertEqual(len(self.fake.media), 1)
        self.assertEqual(self.fake.media[0]["bytes"], self.video_bytes)

    def test_429_with_retry_after_is_waited_out(self):
        self.fake.fail_next("POST", rf"/{IG_USER}/media$", status=429, headers={"Retry-After": "1"},
                            body={"error": {"message": "(#4) Application request limit reached",
                                            "type": "OAuthException", "code": 4,
                                            "is_transient": True}})
        began = time.monotonic()
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertGreaterEqual(time.monotonic() - began, 1.0)
        self.assertEqual(len(self.fake.containers), 1)
        self.assertEqual(len(self.fake.media), 1)

    def test_an_expired_token_without_app_credentials_asks_to_reconnect_and_creates_nothing(self):
        self.account["credentials"]["access_token"] = "expired-ig-token"
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("has no app_id, app_secret", result.error)
        self.assertNotIn("expired-ig-token", result.error + result.stdout + result.stderr)
        self.assertEqual(self.fake.containers, {})
        self.assertEqual(self.fake.exchanges, [], "nothing to exchange the token with")

    def test_a_refused_parameter_is_named(self):
        self.account["credentials"]["ig_user_id"] = "999"
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("a parameter was refused", result.error)
        self.assertIn("Object with ID '999' does not exist", result.error)
        self.assertIn("code 100, subcode 33", result.error)
        self.assertEqual(self.fake.containers, {})

    def test_a_used_up_publishing_quota_is_a_platform_limit_before_anything_is_created(self):
        self.fake.quota_usage = self.fake.quota_total
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("published 50 of its 50 API posts allowed in 24 hours", result.error)
        self.assertRegex(result.error, r"publish it (later|after)")  # the host's wording
        self.assertEqual(self.fake.containers, {})

    def test_the_quota_running_out_at_media_publish_is_a_platform_limit(self):
        self.fake.quota_total = 1
        self.fake.in_progress_checks = 1
        original = self.fake.create_container

        def use_up_the_quota(request):
            answer = original(request)
            self.fake.quota_usage = 1  # another app published in the meantime
            return answer

        self.fake.routes = [(m, p, use_up_the_quota if f == original else f)
                            for m, p, f in self.fake.routes]
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("reached Instagram's publishing limit", result.error)
        self.assertIn("2207042", result.error)
        self.assertEqual(self.fake.media, [])

    def test_a_lost_media_publish_answer_is_reconciled_into_the_one_media(self):
        self.fake.drop_next_publish_response = True
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.count("POST", r"/media_publish$"), 1, "published once")
        self.assertEqual(len(self.fake.media), 1)
        self.assertEqual(result.outputs["post_id"], self.fake.media[0]["id"])
        self.assertEqual(result.outputs["url"], self.fake.media[0]["permalink"])

    def test_metrics_read_the_reel_insights(self):
        result = self.publish()
        self.assertTrue(result.ok, result)
        post = {"account": {"name": "brand", **self.account}, "video": {"path": self.video},
                "caption": "", "tags": [], "options": {}}
        with AbiHost(PLUGIN) as host:
            metrics = host.publisher("instagram.publish").call(
                "metrics", post, {"post_id": result.outputs["post_id"]})
        self.assertEqual(metrics.status, 0, metrics.error)
        self.assertEqual(metrics.output, {"views": 321, "likes": 21, "comments": 4, "shares": 3,
                                      "saved": 2})

    def test_prepare_refuses_a_caption_over_the_limits_before_any_request(self):
        caption = " ".join(f"#tag{i}" for i in range(29)) + " " + " ".join(
            f"@user{i}" for i in range(21)) + " " + "x" * 2200
        result = self.publish(caption=caption, tags=["winter", "sale", "bad tag"])
        self.assertFalse(result.ok)
        for expected in ("characters; Instagram takes at most 2200", "32 hashtags",
                         "21 @mentions", "'bad tag' is not a hashtag"):
            self.assertIn(expected, result.error)
        self.assertEqual(self.fake.requests, [])


APP_ID = "1234567890123456"
APP_SECRET = "fake-app-secret-0a1b2c3d4e5f"
LONG_LIVED = 5183944


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class InstagramRefreshTest(InstagramTestCase):
    """Facebook Login's long-lived token renewed through fb_exchange_token by the host."""

    def setUp(self):
        super().setUp()
        self.fake.add_app(APP_ID, APP_SECRET)
        self.account["credentials"].update({"app_id": APP_ID, "app_secret": APP_SECRET})

    def expires_in(self, seconds):
        """The token expires in `seconds` (past when negative), in the account and in the fake."""
        self.account["credentials"]["expires_at"] = iso(
            datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds))
        self.fake.add_token(TOKEN, expires_in=seconds)

    def publish(self, **overrides):
        result = super().publish(**overrides)
        for secret in [APP_SECRET, APP_ID, *self.fake.issued_tokens()]:
            for text in (result.stdout, result.stderr):
                self.assertNotIn(secret, text, "a credential leaked into the output")
        return result

    def stored_account(self):
        path = os.path.join(self.dir, "accounts", "brand.json")
        with open(path) as handle:
            return json.load(handle), os.stat(path).st_mode & 0o777

    def tokens_used(self, since=0):
        """The token of every request but the exchange, from request `since` on."""
        used = []
        for _, path, headers, _ in self.fake.requests[since:]:
            if path.endswith("/oauth/access_token"):
                continue
            value = headers.get("Authorization") or ""
            used.append(value.split(" ", 1)[1] if " " in value else value)
        return used

    def test_a_token_about_to_expire_is_exchanged_first_and_the_stored_one_serves_the_next(self):
        self.expires_in(5 * 60)  # inside the host's 10 minutes: renewed before anything else
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.exchanges), 1, "exactly one refresh")
        [exchange] = self.fake.exchanges
        self.assertEqual((exchange["grant_type"], exchange["client_id"],
                          exchange["fb_exchange_token"], exchange["outcome"]),
                         ("fb_exchange_token", APP_ID, TOKEN, "issued"))
        [new_token] = self.fake.issued_tokens()
        used = self.tokens_used()
        self.assertTrue(used)
        self.assertEqual(set(used), {new_token}, "every Graph and upload call used the new token")
        self.assertEqual(len(self.fake.media), 1)

        record, mode = self.stored_account()
        self.assertEqual(mode, 0o600)
        self.assertEqual((record["status"], record["refresh_count"]), ("ok", 1))
        credentials = record["credentials"]
        self.assertEqual(credentials["access_token"], new_token)
        self.assertEqual((credentials["app_id"], credentials["app_secret"],
                          credentials["ig_user_id"]), (APP_ID, APP_SECRET, IG_USER))
        expires = datetime.datetime.fromisoformat(credentials["expires_at"].replace("Z", "+00:00"))
        left = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.assertTrue(LONG_LIVED - 120 < left <= LONG_LIVED, credentials["expires_at"])

        # The old token expires now: only the stored record can make the next post.
        self.fake.expire_token(TOKEN)
        before = len(self.fake.requests)
        again = self.publish(caption="Second drop")
        self.assertTrue(again.ok, again)
        self.assertEqual(len(self.fake.exchanges), 1, "no second refresh")
        self.assertEqual(set(self.tokens_used(before)), {new_token})
        self.assertEqual(len(self.fake.media), 2)

    def test_a_token_invalidated_before_its_expiry_is_tried_once_then_must_be_reconnected(self):
        # Meta exchanges only a valid token: one refused mid-post (a password change) is refused
        # by the exchange too, so the host's refresh-and-repeat ends in a reconnect.
        self.expires_in(30 * 86400)
        self.fake.revoke_token(TOKEN)
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("Meta refused to refresh the access token of account 'brand'", result.error)
        self.assertIn("subcode 460", result.error)
        self.assertEqual([e["outcome"] for e in self.fake.exchanges], ["token"])
        self.assertEqual(self.fake.count("GET", r"/content_publishing_limit$"), 1,
                         "the refused call was not repeated without a new token")
        self.assertEqual(self.fake.containers, {})
        record, _ = self.stored_account()
        self.assertEqual(record["status"], "reconnect_needed")

    def test_an_expired_long_lived_token_cannot_be_renewed_and_marks_the_account(self):
        self.expires_in(-3600)
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("Meta refused to refresh the access token of account 'brand'", result.error)
        self.assertIn("Session has expired", result.error)
        self.assertIn("subcode 463", result.error)
        self.assertEqual([p for _, p, _, _ in self.fake.requests], ["/v21.0/oauth/access_token"],
                         "nothing but the exchange reached Meta")
        self.assertEqual(self.fake.containers, {})
        record, mode = self.stored_account()
        self.assertEqual((record["status"], mode), ("reconnect_needed", 0o600))
        self.assertIn("refused to refresh", record["message"])
        again = self.publish()
        self.assertFalse(again.ok)
        self.assertIn("needs to be connected again", again.error)
        self.assertEqual(len(self.fake.requests), 1, "the next post stops before asking Meta")

    def test_refresh_reads_the_exchange_answers(self):
        """The callback directly, for the answers a run cannot easily provoke."""
        self.fake.add_token(TOKEN, expires_in=86400)
        account = {"name": "brand", "options": self.account["options"],
                   "credentials": dict(self.account["credentials"])}
        with AbiHost(PLUGIN) as host:
            publisher = host.publisher("instagram.publish")
            done = publisher.call("refresh", account)
            self.assertEqual(done.status_name, "OK", done)
            self.assertEqual(set(done.output["credentials"]), {"access_token", "expires_at"})

            self.fake.fail_next("GET", r"/oauth/access_token$", status=503,
                                headers={"Retry-After": "5"},
                                body={"error": {"message": "Service temporarily unavailable",
                                                "type": "OAuthException", "code": 2,
                                                "is_transient": True}})
            busy = publisher.call("refresh", account)
            self.assertEqual(busy.status_name, "RETRY", busy)
            self.assertEqual(busy.output.get("retry_after"), 5)

            wrong = dict(account, credentials={**account["credentials"],
                                               "app_secret": "not-the-app-secret"})
            refused = publisher.call("refresh", wrong)
            self.assertEqual(refused.status_name, "ERROR", refused)
            self.assertIn("Error validating client secret", refused.error)
            self.assertIn("app_secret", refused.error)

            bare = dict(account, credentials={"ig_user_id": IG_USER, "access_token": TOKEN})
            missing = publisher.call("refresh", bare)
            self.assertEqual(missing.status_name, "RECONNECT", missing)
            self.assertIn("has no app_id, app_secret", missing.error)
            for result in (done, busy, refused, missing):
                text = (result.error or "") + json.dumps(result.logs)
                for secret in (TOKEN, APP_SECRET, "not-the-app-secret"):
                    self.assertNotIn(secret, text)
        self.assertEqual(self.fake.containers, {})


if __name__ == "__main__":
    unittest.main()
