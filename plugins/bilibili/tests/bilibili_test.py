#!/usr/bin/env python3
"""bilibili.publish through `reelflow run` against the fake open platform
(tests/fakes/bilibili_fake.py): a clean submission, the part rules, resuming after a dropped
connection and after a 5xx, 429 with Retry-After, a revoked token, a signature the platform
refuses, a lost add-by-utoken answer reconciled into the one archive, the daily limit, a review
rejection, prepare refusing a post before any request is made, token refresh (an expired token
renewed first and the single-use refresh token's successor stored, a revoked access token renewed
once and the call repeated, a refused refresh token stopping the post), and the metrics and
refresh callbacks called in-process through the C ABI (tests/publish/abi_host.py).

Usage: bilibili_test.py REELFLOW [PLUGIN.so] [unittest args]  (ctest passes both; PLUGIN.so
defaults to bilibili.so next to REELFLOW's build)
"""
import datetime
import json
import os
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "publish"))
from publish_support import make_video, publish  # noqa: E402
from abi_host import AbiHost  # noqa: E402
from bilibili_fake import BilibiliFake  # noqa: E402  (publish_support adds tests/fakes)

REELFLOW = sys.argv.pop(1)
PLUGIN = (sys.argv.pop(1) if len(sys.argv) > 1 and sys.argv[1].endswith(".so") else
          os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(REELFLOW))), "lib",
                       "reelflow", "plugins", "bilibili.so"))
PART = 256 * 1024
SECRET = "bili-app-secret"
TOKEN = "bili-user-token"
REFRESH = "bili-first-refresh-token"


def iso_in(seconds):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class BilibiliPublishTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.TemporaryDirectory()
        cls.video = make_video(cls.shared.name, seconds=1, size="1080x1920")
        with open(cls.video, "rb") as handle:
            cls.video_bytes = handle.read()
        cls.parts = -(-len(cls.video_bytes) // PART)

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.fake = BilibiliFake(client_secret=SECRET, access_token=TOKEN).start()
        self.account = {
            "platform": "bilibili",
            "options": {"api_base": self.fake.url, "upload_base": self.fake.url,
                        "oauth_base": self.fake.url, "client_id": self.fake.client_id,
                        "part_size": PART},
            "credentials": {"client_secret": SECRET, "access_token": TOKEN},
        }

    def tearDown(self):
        self.fake.stop()
        self.tmp.cleanup()

    def publish(self, **overrides):
        options = {"video": self.video, "title": "冬季 Launch", "caption": "New winter drop",
                   "tags": ["winter", "#sale"], "link": "https://rf.example/l/abc", "tid": 21}
        options.update(overrides)
        result = publish(REELFLOW, self.dir, "bilibili.publish", self.account, options)
        for secret in (SECRET, TOKEN, REFRESH, *self.fake.access_tokens, *self.fake.refresh_tokens,
                       *self.fake.retired_refresh_tokens):
            for text in (result.stdout, result.stderr, result.error):
                self.assertNotIn(secret, text or "", "a secret leaked into the run's output")
        return result

    def parts_sent(self):
        return [(number, size) for _, number, size in self.fake.part_log]

    def test_a_clean_submission_lands_one_archive_with_the_cover_and_every_byte(self):
        cover = os.path.join(self.dir, "cover.png")
        with open(cover, "wb") as handle:
            handle.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        result = self.publish(cover=cover)
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.archives), 1)
        archive = self.fake.archives[0]
        self.assertEqual(result.outputs["post_id"], archive["resource_id"])
        self.assertEqual(result.outputs["url"],
                         "https://www.bilibili.com/video/" + archive["resource_id"])
        self.assertEqual(archive["title"], "冬季 Launch")
        self.assertEqual(archive["desc"], "New winter drop\nhttps://rf.example/l/abc")
        self.assertEqual(archive["tag"], "winter,sale")
        self.assertEqual((archive["tid"], archive["copyright"], archive["no_reprint"]), (21, 1, 1))
        self.assertEqual(archive["video"], self.video_bytes)
        with open(cover, "rb") as handle:
            self.assertEqual(self.fake.covers[archive["cover"]], handle.read())
        self.assertEqual(self.fake.signature_failures, 0)

    def test_parts_go_in_order_from_one_each_of_the_part_size_but_the_last(self):
        result = self.publish()
        self.assertTrue(result.ok, result)
        sent = self.parts_sent()
        self.assertEqual([number for number, _ in sent], list(range(1, self.parts + 1)))
        self.assertTrue(all(size == PART for _, size in sent[:-1]), sent)
        self.assertEqual(sum(size for _, size in sent), len(self.video_bytes))
        self.assertEqual(self.fake.count("POST", r"/video/complete$"), 1)

    def test_a_connection_dropped_mid_part_resumes_at_that_part_not_at_the_start(self):
        self.fake.part_faults = {3: "drop"}
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertEqual([number for number, _ in self.parts_sent()],
                         list(range(1, self.parts + 1)), "each part stored once, in order")
        self.assertEqual(self.fake.count("POST", r"/part/upload$"), self.parts + 1,
                         "only the dropped part was sent again")
        self.assertEqual(len(self.fake.archives), 1)
        self.assertEqual(self.fake.archives[0]["video"], self.video_bytes)

    def test_a_5xx_on_a_part_is_retried_from_that_part(self):
        self.fake.part_faults = {2: 503}
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertEqual([number for number, _ in self.parts_sent()],
                         list(range(1, self.parts + 1)))
        self.assertEqual(self.fake.count("POST", r"/part/upload$"), self.parts + 1)
        self.assertEqual(len(self.fake.archives), 1)
        self.assertEqual(self.fake.archives[0]["video"], self.video_bytes)

    def test_429_with_retry_after_is_waited_out(self):
        self.fake.fail_next("POST", r"/video/init$", status=429, headers={"Retry-After": "1"},
                            body={"code": -429, "message": "请求过快"})
        began = time.monotonic()
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertGreaterEqual(time.monotonic() - began, 1.0)
        self.assertEqual(self.fake.count("POST", r"/video/init$"), 2)
        self.assertEqual(len(self.fake.uploads), 1)
        self.assertEqual(len(self.fake.archives), 1)

    def test_a_revoked_token_without_a_refresh_token_asks_to_reconnect_and_posts_nothing(self):
        self.account["credentials"]["access_token"] = "revoked-user-token"
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("no credentials.refresh_token", result.error)
        self.assertNotIn("revoked-user-token", result.error + result.stdout + result.stderr)
        self.assertEqual(self.fake.archives, [])
        self.assertEqual(self.fake.refreshes, [])

    # ---- token refresh -----------------------------------------------------------------------

    def refreshable(self, expires_at):
        self.fake.add_refresh_token(REFRESH)
        self.account["credentials"].update(refresh_token=REFRESH, expires_at=expires_at)

    def stored_account(self):
        path = os.path.join(self.dir, "accounts", "brand.json")
        with open(path) as handle:
            return json.load(handle), os.stat(path).st_mode & 0o777

    def test_an_expired_token_is_renewed_first_and_the_next_refresh_token_is_stored(self):
        self.refreshable("2020-01-01T00:00:00Z")
        self.fake.expire(TOKEN)
        began = time.time()
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.refreshes, [REFRESH], "exactly one refresh")
        self.assertEqual(self.fake.refresh_params_in, ["query"], "URL parameters, as documented")
        record, mode = self.stored_account()
        self.assertEqual(mode, 0o600)
        self.assertEqual((record["status"], record["refresh_count"]), ("ok", 1))
        credentials = record["credentials"]
        access, refresh = credentials["access_token"], credentials["refresh_token"]
        self.assertNotEqual(access, TOKEN)
        self.assertIn(access, self.fake.access_tokens)
        self.assertIn(refresh, self.fake.refresh_tokens, "the next refresh token")
        self.assertIn(REFRESH, self.fake.retired_refresh_tokens, "the first one works once")
        # expires_in is the expiry itself (Unix seconds), not a lifetime.
        self.assertAlmostEqual(parse_iso(credentials["expires_at"]), began + 30 * 86400,
                               delta=120)
        self.assertEqual(credentials["client_secret"], SECRET, "kept from the secret")
        self.assertEqual(set(self.fake.tokens_used()), {access}, "the expired token never sent")
        self.assertEqual(len(self.fake.archives), 1)
        # The secret still holds the used refresh token: only the stored record lets the next
        # post through, with no second refresh.
        again = self.publish(title="冬季 Launch 2")
        self.assertTrue(again.ok, again)
        self.assertEqual(self.fake.refreshes, [REFRESH])
        self.assertEqual(len(self.fake.archives), 2)
        self.assertEqual(set(self.fake.tokens_used()), {access})

    def test_a_token_revoked_before_its_expiry_is_renewed_once_and_the_call_repeated(self):
        self.refreshable(iso_in(3600))
        self.fake.revoke(TOKEN)
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.refreshes, [REFRESH])
        record, _ = self.stored_account()
        access = record["credentials"]["access_token"]
        used = self.fake.tokens_used()
        self.assertEqual(used[0], TOKEN, "video init refused with 127001")
        self.assertEqual(set(used[1:]), {access}, "then repeated with the renewed token")
        self.assertEqual(self.fake.count("POST", r"/video/init$"), 2)
        self.assertEqual(len(self.fake.uploads), 1)
        self.assertEqual(len(self.fake.archives), 1)

    def test_a_refused_refresh_token_stops_the_post_and_marks_the_account(self):
        self.refreshable("2020-01-01T00:00:00Z")
        self.fake.revoke_refresh(REFRESH)
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("bilibili refused the refresh token of account 'brand'", result.error)
        self.assertIn("122007", result.error)
        self.assertEqual(self.fake.refreshes, [REFRESH])
        self.assertEqual(self.fake.tokens_used(), [], "nothing sent with the expired token")
        self.assertEqual(self.fake.archives, [])
        record, mode = self.stored_account()
        self.assertEqual((record["status"], mode), ("reconnect_needed", 0o600))

    def test_a_refused_signature_is_named_and_nothing_is_uploaded(self):
        self.fake.expect_secret = "the-secret-the-platform-holds"
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("request signature was refused", result.error)
        self.assertIn("127012", result.error)
        self.assertIn("client_secret", result.error)
        self.assertGreater(self.fake.signature_failures, 0)
        self.assertEqual(self.fake.uploads, {})
        self.assertEqual(self.fake.archives, [])

    def test_an_unknown_category_is_refused_naming_tid(self):
        result = self.publish(tid=999)
        self.assertFalse(result.ok)
        self.assertIn("tid 999", result.error)
        self.assertIn("127207", result.error)
        self.assertEqual(self.fake.archives, [])

    def test_a_lost_submit_answer_is_reconciled_into_the_one_archive(self):
        self.fake.drop_next_submit_response = True
        result = self.publish()
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.count("POST", r"/add-by-utoken$"), 1, "submitted once")
        self.assertEqual(self.fake.count("GET", r"/archive/viewlist$"), 1)
        self.assertEqual(len(self.fake.archives), 1)
        self.assertEqual(result.outputs["post_id"], self.fake.archives[0]["resource_id"])

    def test_the_daily_submission_limit_is_a_platform_limit_not_an_error(self):
        self.fake.submissions_today = self.fake.daily_limit
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("reached a platform limit", result.error)
        # The host says when: "(a platform limit: publish it after <time>)".
        self.assertRegex(result.error, r"a platform limit: publish it (later|after)")
        self.assertEqual(self.fake.archives, [])

    def test_a_rejected_review_fails_the_post_with_the_reason(self):
        self.fake.reject_reason = "封面含有违规内容"
        result = self.publish()
        self.assertFalse(result.ok)
        self.assertIn("封面含有违规内容", result.error)
        self.assertEqual(len(self.fake.archives), 1)

    def test_prepare_refuses_a_post_that_breaks_the_rules_before_any_request(self):
        result = self.publish(title="标" * 80, tags=["ok", "x" * 21, "a,b"], copyright=2)
        self.assertFalse(result.ok)
        for expected in ("title has 80 characters", "fewer than 80",
                         "'xxxxxxxxxxxxxxxxxxxxx' has 21", "'a,b' contains a comma",
                         "source is required when copyright is 2"):
            self.assertIn(expected, result.error)
        self.assertEqual(self.fake.requests, [])

    def test_metrics_read_the_archive_stat(self):
        result = self.publish()
        self.assertTrue(result.ok, result)
        post = {"account": {"name": "brand", **self.account}, "video": {"path": self.video},
                "title": "冬季 Launch", "caption": "", "tags": [], "options": {"tid": 21}}
        archive = result.outputs["post_id"]
        with AbiHost(PLUGIN) as host:
            metrics = host.publisher("bilibili.publish").call(
                "metrics", post, {"post_id": archive, "resource_id": archive})
        self.assertEqual(metrics.status, 0, metrics.error)
        self.assertEqual(metrics.output, {"views": 120, "likes": 30, "comments": 7, "shares": 4,
                                      "danmaku": 3, "favorites": 5, "coins": 2})

    def refresh_call(self, refresh_token, **credentials):
        account = {"name": "brand", "options": self.account["options"],
                   "credentials": {"client_secret": SECRET, "access_token": TOKEN,
                                   "refresh_token": refresh_token, **credentials}}
        with AbiHost(PLUGIN) as host:
            return host.publisher("bilibili.publish").call("refresh", account)

    def test_refresh_through_the_abi_reads_both_expiry_forms_and_classifies_refusals(self):
        self.fake.add_refresh_token("rt-1")
        began = time.time()
        first = self.refresh_call("rt-1")
        self.assertEqual(first.status, 0, first.error)
        fresh = first.output["credentials"]
        self.assertEqual(set(fresh), {"access_token", "refresh_token", "expires_at"})
        self.assertAlmostEqual(parse_iso(fresh["expires_at"]), began + 30 * 86400, delta=120)
        # Used once: the same refresh token again is refused, and the account must reconnect.
        again = self.refresh_call("rt-1")
        self.assertEqual(again.status, 4, again.error)  # RF_STATUS_RECONNECT
        self.assertIn("122007", again.error)
        # expires_in read as seconds from now when it is too small to be a time.
        self.fake.expires_in_is_ttl = True
        ttl = self.refresh_call(fresh["refresh_token"])
        self.assertEqual(ttl.status, 0, ttl.error)
        self.assertAlmostEqual(parse_iso(ttl.output["credentials"]["expires_at"]),
                               began + 30 * 86400, delta=120)
        following = ttl.output["credentials"]["refresh_token"]
        self.fake.fail_next("POST", r"/refresh_token$", status=503, body={"code": -500})
        self.assertEqual(self.refresh_call(following).status, 3)  # RF_STATUS_RETRY
        wrong = self.refresh_call(following, client_secret="not-the-app-secret")
        self.assertEqual(wrong.status, 1, wrong.error)  # RF_STATUS_ERROR
        self.assertIn("122001", wrong.error)
        self.assertNotIn("not-the-app-secret", wrong.error)
        self.assertIn(following, self.fake.refresh_tokens, "neither refusal consumed it")
        for result in (first, again, ttl, wrong):
            for text in (result.error or "", *(m for _, m in result.logs)):
                for secret in (SECRET, "rt-1", following, fresh["access_token"]):
                    self.assertNotIn(secret, text)

    def test_the_fake_refuses_a_part_out_of_order_as_the_platform_does(self):
        self.fake.uploads["t0"] = {"name": "a.mp4", "utype": "0", "parts": {}, "merged": None,
                                   "used": False}
        request = urllib.request.Request(
            self.fake.url + "/video/v2/part/upload?upload_token=t0&part_number=2", data=b"x" * 10,
            method="POST", headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(request) as response:
            answer = json.load(response)
        self.assertEqual(answer["code"], 127100, answer)
        self.assertIn("out of order", answer["message"])

    def test_prepare_refuses_a_post_without_tags(self):
        result = self.publish(tags=[])
        self.assertFalse(result.ok)
        self.assertIn("at least one tag", result.error)
        self.assertEqual(self.fake.requests, [])


if __name__ == "__main__":
    unittest.main()
