#!/usr/bin/env python3
"""tiktok.publish against the fake TikTok (tests/fakes/tiktok_fake.py): end to end through
`reelflow run` (clean posts, chunk rules, resumed uploads, rate limits, tokens and their refresh,
platform limits, refusals before anything is sent), and the callbacks `reelflow run` never
reaches (reconcile, metrics) or not in every case (refresh) called on tiktok.so directly through
its C ABI (tests/publish/abi_host.py).

Usage: tiktok_test.py REELFLOW TIKTOK_SO [unittest args]  (ctest passes both)
"""
import datetime
import json
import os
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "publish"))
from publish_support import make_video, publish  # noqa: E402
from abi_host import AbiHost  # noqa: E402
from tiktok_fake import TikTokFake  # noqa: E402  (publish_support puts tests/fakes on the path)

REELFLOW = sys.argv.pop(1)
TIKTOK_SO = sys.argv.pop(1)

TOKEN = "tok-good"
CLIENT_KEY = "tiktok-client-key"
CLIENT_SECRET = "tiktok-client-secret"
MIB = 1024 * 1024
INIT = r"/v2/post/publish/video/init/"
CREATOR_INFO = r"/v2/post/publish/creator_info/query/"


def write_random_video(directory, size, name="big.mp4"):
    """Random bytes named .mp4: the plugin sends files as they are and never parses them."""
    path = os.path.join(directory, name)
    with open(path, "wb") as handle:
        handle.write(os.urandom(size))
    return path


def content_range(first, last, total):
    return f"bytes {first}-{last}/{total}"


class TikTokTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.fake = TikTokFake().start()
        self.account = {"platform": "tiktok", "options": {"api_base": self.fake.url},
                        "credentials": {"access_token": TOKEN}}

    def tearDown(self):
        self.fake.stop()
        self.tmp.cleanup()

    def publish(self, options):
        return publish(REELFLOW, self.dir, "tiktok.publish", self.account, options)

    def assert_no_token(self, result):
        for text in (result.stdout, result.stderr, result.error, json.dumps(result.outputs)):
            self.assertNotIn(TOKEN, text)


class PublishTest(TikTokTestCase):
    def test_a_clean_post_lands_once_with_its_text_settings_and_bytes(self):
        video = make_video(self.dir, seconds=1)
        result = self.publish({"video": video, "caption": "Winter drop is here 冬季 #Winter",
                               "tags": ["winter", "#sale", "冬季セール"],
                               "link": "https://rf.example/l/abc", "disable_duet": True,
                               "cover_timestamp_ms": 500})
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.posts), 1)
        post = self.fake.posts[0]
        # The tag already written inline is not repeated; the others and the link follow.
        self.assertEqual(post["title"], "Winter drop is here 冬季 #Winter #sale #冬季セール "
                                        "https://rf.example/l/abc")
        with open(video, "rb") as handle:
            self.assertEqual(post["bytes"], handle.read())
        self.assertEqual(post["privacy_level"], "SELF_ONLY")  # the default
        self.assertTrue(post["disable_duet"])
        self.assertFalse(post["disable_comment"])
        self.assertEqual(post["video_cover_timestamp_ms"], 500)
        # A video under 5 MB goes whole: one chunk of its own size.
        size = os.path.getsize(video)
        source = self.fake.init_bodies[0]["source_info"]
        self.assertEqual(source, {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": size,
                                  "total_chunk_count": 1})
        self.assertEqual(self.fake.chunk_puts(), [(content_range(0, size - 1, size), size)])
        # A private post has no public video id: it is known by its publish_id.
        self.assertEqual(result.outputs["state"], "published")
        self.assertEqual(result.outputs["post_id"], post["publish_id"])
        self.assertEqual(result.outputs["url"], "https://www.tiktok.com/@brand.official")
        self.assertEqual(self.fake.count("POST", INIT), 1)
        self.assert_no_token(result)

    def test_a_video_of_several_chunks_follows_the_media_transfer_rules(self):
        size = 16_000_123
        video = write_random_video(self.dir, size)
        result = self.publish({"video": video, "caption": "big one", "chunk_mib": 5,
                               "privacy_level": "PUBLIC_TO_EVERYONE"})
        self.assertTrue(result.ok, result)
        chunk = 5 * MIB
        self.assertEqual(self.fake.init_bodies[0]["source_info"],
                         {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk,
                          "total_chunk_count": 3})  # floor(16000123 / 5242880)
        self.assertEqual(len(self.fake.posts), 1)
        post = self.fake.posts[0]
        # The trailing bytes ride with the last chunk.
        self.assertEqual(post["chunk_sizes"], [chunk, chunk, size - 2 * chunk])
        self.assertEqual(self.fake.chunk_puts(), [
            (content_range(0, chunk - 1, size), chunk),
            (content_range(chunk, 2 * chunk - 1, size), chunk),
            (content_range(2 * chunk, size - 1, size), size - 2 * chunk)])
        puts = [r for r in self.fake.requests if r[0] == "PUT"]
        self.assertTrue(all(headers.get("Content-Type") == "video/mp4" for _, _, headers, _ in puts))
        self.assertTrue(all("Authorization" not in headers for _, _, headers, _ in puts))
        with open(video, "rb") as handle:
            self.assertEqual(post["bytes"], handle.read())
        self.assertEqual(result.outputs["post_id"], post["id"])
        self.assertEqual(result.outputs["url"],
                         f"https://www.tiktok.com/@brand.official/video/{post['id']}")

    def test_a_dropped_connection_mid_chunk_two_resends_chunk_two_not_one(self):
        size = 16_000_123
        chunk = 5 * MIB
        video = write_random_video(self.dir, size)
        self.fake.fail_chunk(1, drop_after=1_000_000)
        result = self.publish({"video": video, "chunk_mib": 5})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.chunk_puts(), [
            (content_range(0, chunk - 1, size), chunk),
            (content_range(chunk, 2 * chunk - 1, size), -1),  # dropped mid-body
            (content_range(chunk, 2 * chunk - 1, size), chunk),  # resumed at chunk 2
            (content_range(2 * chunk, size - 1, size), size - 2 * chunk)])
        self.assertEqual(len(self.fake.posts), 1)
        self.assertEqual(self.fake.count("POST", INIT), 1, "the upload resumed the same session")
        with open(video, "rb") as handle:
            self.assertEqual(self.fake.posts[0]["bytes"], handle.read())

    def test_a_5xx_mid_upload_resumes_from_the_acknowledged_chunk(self):
        size = 11 * MIB
        chunk = 5 * MIB
        video = write_random_video(self.dir, size)
        self.fake.fail_chunk(1, status=503)
        result = self.publish({"video": video, "chunk_mib": 5})
        self.assertTrue(result.ok, result)
        ranges = [r for r, _ in self.fake.chunk_puts()]
        self.assertEqual(ranges, [content_range(0, chunk - 1, size),
                                  content_range(chunk, size - 1, size),
                                  content_range(chunk, size - 1, size)])
        self.assertEqual(len(self.fake.posts), 1)
        self.assertEqual(self.fake.posts[0]["chunk_sizes"], [chunk, size - chunk])

    def test_a_429_with_retry_after_waits_then_succeeds(self):
        video = make_video(self.dir, seconds=1)
        self.fake.fail_next("POST", INIT, status=429, headers={"Retry-After": "2"},
                            body={"data": {}, "error": {"code": "rate_limit_exceeded",
                                                        "message": "slow down", "log_id": "x"}})
        began = time.monotonic()
        result = self.publish({"video": video, "caption": "patience"})
        self.assertTrue(result.ok, result)
        self.assertGreaterEqual(time.monotonic() - began, 2.0)
        self.assertEqual(self.fake.count("POST", INIT), 2)
        self.assertEqual(len(self.fake.posts), 1)

    def test_the_fakes_six_inits_a_minute_limit_is_waited_out(self):
        self.fake.init_window = 3.0
        self.fake.pending_share_limit = 100
        body = json.dumps({"post_info": {"privacy_level": "SELF_ONLY", "title": "x"},
                           "source_info": {"source": "FILE_UPLOAD", "video_size": 1000,
                                           "chunk_size": 1000, "total_chunk_count": 1}}).encode()
        for _ in range(6):
            request = urllib.request.Request(
                self.fake.url + INIT, data=body, method="POST",
                headers={"Authorization": f"Bearer {TOKEN}",
                         "Content-Type": "application/json; charset=UTF-8"})
            with urllib.request.urlopen(request) as response:
                self.assertEqual(response.status, 200)
        video = make_video(self.dir, seconds=1)
        result = self.publish({"video": video})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.count("POST", INIT), 8, "6 direct, 1 refused, 1 accepted")
        self.assertEqual(len(self.fake.posts), 1)

    def test_a_revoked_token_without_a_refresh_token_asks_to_reconnect_and_posts_nothing(self):
        self.fake.revoke(TOKEN)
        result = self.publish({"video": make_video(self.dir, seconds=1)})
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("no credentials.refresh_token", result.error)
        self.assertEqual(self.fake.posts, [])
        self.assertEqual(self.fake.count("POST", INIT), 0)
        self.assertEqual(self.fake.refreshes, [], "nothing to refresh with")
        self.assert_no_token(result)

    def test_a_missing_scope_is_named(self):
        # A refresh cannot add a scope: the renewed token lacks it too, and the account has to be
        # connected again.
        self.fake.tokens[TOKEN] = {"video.list"}
        self.fake.add_refresh_token("rft-scoped", scopes=("video.list",))
        self.account["credentials"].update(refresh_token="rft-scoped", client_key=CLIENT_KEY,
                                           client_secret=CLIENT_SECRET)
        result = self.publish({"video": make_video(self.dir, seconds=1)})
        self.assertFalse(result.ok)
        self.assertIn("video.publish", result.error)
        self.assertIn("reconnect", result.error)
        self.assertEqual(self.fake.posts, [])
        self.assertEqual(self.fake.refreshes, ["rft-scoped"])
        self.assertIn("lacks the video.publish scope", result.stderr)

    def test_a_bad_request_names_the_field_and_is_not_retried(self):
        self.fake.fail_next("POST", INIT, status=400, body={
            "data": {}, "error": {"code": "invalid_params",
                                  "message": "post_info.video_cover_timestamp_ms is beyond the "
                                             "end of the video", "log_id": "202401"}})
        result = self.publish({"video": make_video(self.dir, seconds=1),
                               "cover_timestamp_ms": 99000})
        self.assertFalse(result.ok)
        self.assertIn("video_cover_timestamp_ms", result.error)
        self.assertIn("invalid_params", result.error)
        self.assertEqual(self.fake.count("POST", INIT), 1)
        self.assertEqual(self.fake.posts, [])

    def test_prepare_refuses_a_caption_over_2200_utf16_units_before_any_request(self):
        # 1101 emoji: 1101 code points, 2202 UTF-16 units.
        result = self.publish({"video": make_video(self.dir, seconds=1),
                               "caption": "\U0001F600" * 1101})
        self.assertFalse(result.ok)
        self.assertIn("caption", result.error)
        self.assertIn("2202 UTF-16 units", result.error)
        self.assertIn("2200", result.error)
        self.assertEqual(self.fake.requests, [])

    def test_prepare_refuses_a_tag_that_is_not_a_hashtag_before_any_request(self):
        result = self.publish({"video": make_video(self.dir, seconds=1),
                               "tags": ["winter sale"]})
        self.assertFalse(result.ok)
        self.assertIn("tags: 'winter sale'", result.error)
        self.assertEqual(self.fake.requests, [])

    def test_prepare_refuses_a_format_tiktok_does_not_take_before_any_request(self):
        video = write_random_video(self.dir, 1000, name="clip.avi")
        result = self.publish({"video": video})
        self.assertFalse(result.ok)
        self.assertIn("video:", result.error)
        self.assertIn("MP4", result.error)
        self.assertEqual(self.fake.requests, [])

    def test_a_privacy_level_the_creator_does_not_offer_is_refused_in_prepare(self):
        self.fake.creator["privacy_level_options"] = ["FOLLOWER_OF_CREATOR",
                                                      "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
        result = self.publish({"video": make_video(self.dir, seconds=1),
                               "privacy_level": "PUBLIC_TO_EVERYONE"})
        self.assertFalse(result.ok)
        self.assertIn("privacy_level: PUBLIC_TO_EVERYONE is not offered", result.error)
        self.assertIn("FOLLOWER_OF_CREATOR", result.error)
        self.assertGreaterEqual(self.fake.count("POST", CREATOR_INFO), 1)
        self.assertEqual(self.fake.count("POST", INIT), 0)

    def test_settings_the_creator_turned_off_stay_off(self):
        self.fake.creator["comment_disabled"] = True
        result = self.publish({"video": make_video(self.dir, seconds=1)})
        self.assertTrue(result.ok, result)
        self.assertTrue(self.fake.posts[0]["disable_comment"])

    def test_too_many_pending_shares_is_a_platform_limit(self):
        self.fake.add_pending_shares(5)
        result = self.publish({"video": make_video(self.dir, seconds=1)})
        self.assertFalse(result.ok)
        self.assertIn("platform limit", result.error)
        self.assertIn("spam_risk_too_many_pending_share", result.error)
        self.assertEqual(self.fake.count("POST", INIT), 1, "a platform limit is not retried now")
        self.assertEqual(self.fake.posts, [])

    def test_a_post_tiktok_fails_to_process_fails_with_its_reason(self):
        self.fake.fail_processing("duration_check_failed")
        result = self.publish({"video": make_video(self.dir, seconds=1)})
        self.assertFalse(result.ok)
        self.assertIn("duration_check_failed", result.error)
        self.assertEqual(self.fake.count("POST", INIT), 1)


def iso_in(seconds):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class RefreshTest(TikTokTestCase):
    """The access token renewed through /v2/oauth/token/ as the host asks: before a post when it
    expires within 10 minutes, once when TikTok refuses it mid-post, never when the refresh token
    itself is refused. TikTok rotates refresh tokens, so the stored record (accounts/<name>.json)
    is what keeps the account working."""

    OLD_ACCESS = "act.old-access-token"
    FIRST_REFRESH = "rft.first-refresh-token"

    def setUp(self):
        super().setUp()
        self.fake.tokens[self.OLD_ACCESS] = {"user.info.basic", "video.publish", "video.list"}
        self.fake.add_refresh_token(self.FIRST_REFRESH)
        self.account["credentials"] = {"access_token": self.OLD_ACCESS,
                                       "refresh_token": self.FIRST_REFRESH,
                                       "client_key": CLIENT_KEY, "client_secret": CLIENT_SECRET,
                                       "expires_at": "2020-01-01T00:00:00Z"}

    def stored_account(self):
        path = os.path.join(self.dir, "accounts", "brand.json")
        with open(path) as handle:
            return json.load(handle), os.stat(path).st_mode & 0o777

    def assert_no_secret(self, result, *more):
        for secret in (self.OLD_ACCESS, self.FIRST_REFRESH, CLIENT_SECRET, TOKEN, *more):
            self.assertNotIn(secret, result.stdout + result.stderr)

    def test_an_expired_token_is_renewed_first_and_the_rotated_pair_is_stored(self):
        self.fake.expire(self.OLD_ACCESS)
        video = make_video(self.dir, seconds=1)
        began = time.time()
        result = self.publish({"video": video})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.refreshes, [self.FIRST_REFRESH], "exactly one refresh")
        record, mode = self.stored_account()
        self.assertEqual(mode, 0o600)
        self.assertEqual((record["status"], record["refresh_count"]), ("ok", 1))
        credentials = record["credentials"]
        access, refresh = credentials["access_token"], credentials["refresh_token"]
        self.assertIn(access, self.fake.tokens)
        self.assertNotEqual(access, self.OLD_ACCESS)
        self.assertIn(refresh, self.fake.refresh_tokens, "TikTok's newest refresh token")
        self.assertNotEqual(refresh, self.FIRST_REFRESH)
        self.assertAlmostEqual(parse_iso(credentials["expires_at"]), began + 86400, delta=120)
        self.assertAlmostEqual(parse_iso(credentials["refresh_expires_at"]),
                               began + 365 * 86400, delta=120)
        self.assertEqual((credentials["client_key"], credentials["client_secret"]),
                         (CLIENT_KEY, CLIENT_SECRET), "kept from the secret")
        # Every API call went out with the new token; the expired one was never sent.
        self.assertEqual(set(self.fake.bearers()), {access})
        self.assertEqual(len(self.fake.posts), 1)
        self.assert_no_secret(result, access, refresh)

        # The secret still holds the refresh token TikTok rotated away ...
        self.assertIn(self.FIRST_REFRESH, self.fake.retired_refresh_tokens)
        # ... so only the stored record lets the next post through, without a refresh.
        again = self.publish({"video": video, "caption": "second"})
        self.assertTrue(again.ok, again)
        self.assertEqual(self.fake.refreshes, [self.FIRST_REFRESH])
        self.assertEqual(len(self.fake.posts), 2)
        self.assertEqual(set(self.fake.bearers()), {access})
        self.assert_no_secret(again, access, refresh)

    def test_a_token_revoked_before_its_expiry_is_renewed_once_and_the_call_repeated(self):
        self.account["credentials"]["expires_at"] = iso_in(3600)
        self.fake.revoke(self.OLD_ACCESS)
        result = self.publish({"video": make_video(self.dir, seconds=1)})
        self.assertTrue(result.ok, result)
        self.assertEqual(self.fake.refreshes, [self.FIRST_REFRESH])
        record, _ = self.stored_account()
        access = record["credentials"]["access_token"]
        bearers = self.fake.bearers()
        self.assertEqual(bearers[0], self.OLD_ACCESS, "refused with 401 access_token_invalid")
        self.assertEqual(set(bearers[1:]), {access}, "the refused call repeated with the new one")
        self.assertEqual(self.fake.bearers(CREATOR_INFO)[:2], [self.OLD_ACCESS, access])
        self.assertEqual(self.fake.count("POST", INIT), 1)
        self.assertEqual(len(self.fake.posts), 1)
        self.assert_no_secret(result, access)

    def test_a_revoked_refresh_token_stops_the_post_and_marks_the_account(self):
        self.fake.revoke_refresh(self.FIRST_REFRESH)
        result = self.publish({"video": make_video(self.dir, seconds=1)})
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("TikTok refused the refresh token of account 'brand'", result.error)
        self.assertIn("invalid_grant", result.error)
        self.assertEqual(self.fake.refreshes, [self.FIRST_REFRESH])
        self.assertEqual(self.fake.bearers(), [], "no API call with the expired token")
        self.assertEqual(self.fake.posts, [])
        record, mode = self.stored_account()
        self.assertEqual((record["status"], mode), ("reconnect_needed", 0o600))
        self.assert_no_secret(result)
        # The next post of the account stops before it reaches TikTok.
        again = self.publish({"video": make_video(self.dir, seconds=1)})
        self.assertFalse(again.ok)
        self.assertIn("needs to be connected again", again.error)
        self.assertEqual(self.fake.refreshes, [self.FIRST_REFRESH])


# ------------------------------------------------------------------------------------------
# tiktok.so called directly through its C ABI (tests/publish/abi_host.py), for the callbacks the
# host's driver does not reach in `reelflow run` without a crash (reconcile) or at all (metrics).
# ------------------------------------------------------------------------------------------


class DirectCallTest(TikTokTestCase):
    host = None
    publisher = None

    @classmethod
    def setUpClass(cls):
        cls.host = AbiHost(TIKTOK_SO)
        assert list(cls.host.publisher_types) == ["tiktok.publish"]
        cls.publisher = cls.host.publisher("tiktok.publish")

    @classmethod
    def tearDownClass(cls):
        cls.host.close()

    def call(self, which, post, session=None):
        """(status, output, error) of one callback; self.last keeps the whole Result."""
        self.last = self.publisher.call(which, post, session)
        return self.last.status, self.last.output, self.last.error

    def post(self, video, **options):
        return {"id": "post-1", "idempotency_key": "key-1", "platform": "tiktok",
                "account": {"name": "brand", "options": {"api_base": self.fake.url},
                            "credentials": {"access_token": TOKEN}},
                "video": {"path": video, "size_bytes": os.path.getsize(video)},
                "cover": None, "title": "", "caption": "direct", "tags": [], "link": None,
                "publish_at": "2030-01-01T00:00:00Z",
                "options": {"privacy_level": "PUBLIC_TO_EVERYONE", "disable_comment": False,
                            "disable_duet": False, "disable_stitch": False,
                            "cover_timestamp_ms": 0, "chunk_mib": 5, **options}}

    def test_reconcile_tells_nothing_from_a_session_from_a_post(self):
        size = 11 * MIB
        post = self.post(write_random_video(self.dir, size))
        status, answer, error = self.call("reconcile", post, {})
        self.assertEqual((status, answer["found"]), (0, "nothing"), error)
        self.assertEqual(self.fake.requests, [], "no publish_id: nothing to ask")

        status, session, error = self.call("start", post)
        self.assertEqual(status, 0, error)
        self.assertEqual((session["chunk_count"], session["next_chunk"]), (2, 0))
        status, answer, error = self.call("reconcile", post, session)
        self.assertEqual((status, answer["found"]), (0, "session"), error)
        # Failing to ask is not an answer: RETRY (the host asks again), never "nothing".
        self.fake.fail_next("POST", r"/status/fetch/", status=503)
        status, _, error = self.call("reconcile", post, session)
        self.assertEqual(status, 3, error)  # RF_STATUS_RETRY
        self.assertIn("cannot ask TikTok", error)

        # One chunk in, then the connection drops: the checkpoint says where to resume.
        self.fake.fail_chunk(1, drop_after=10)
        status, _, error = self.call("upload", post, session)
        self.assertEqual(status, 3, error)  # RF_STATUS_RETRY
        self.assertEqual(self.last.checkpoints[-1]["next_chunk"], 1)
        session = self.last.checkpoints[-1]
        status, answer, error = self.call("reconcile", post, session)
        self.assertEqual((status, answer["found"]), (0, "session"), error)

        status, session, error = self.call("upload", post, session)
        self.assertEqual(status, 0, error)
        self.assertEqual(session["next_chunk"], 2)
        status, answer, error = self.call("reconcile", post, session)
        self.assertEqual((status, answer["found"]), (0, "post"), error)
        self.assertEqual(len(self.fake.posts), 1)

    def test_a_lost_acknowledgement_is_realigned_from_uploaded_bytes(self):
        size = 11 * MIB
        chunk = 5 * MIB
        post = self.post(write_random_video(self.dir, size))
        status, session, error = self.call("start", post)
        self.assertEqual(status, 0, error)
        self.fake.fail_chunk(1, drop_after=10)
        status, _, error = self.call("upload", post, session)
        self.assertEqual(status, 3, error)
        # A stale session (chunk 1's acknowledgement "lost"): TikTok refuses chunk 1 again (416,
        # out of order); the plugin asks status/fetch how many bytes TikTok holds and goes on
        # from there instead of failing or starting over.
        status, done, error = self.call("upload", post, dict(session, next_chunk=0))
        self.assertEqual(status, 0, error)
        self.assertEqual(done["next_chunk"], 2)
        self.assertEqual([r for r, _ in self.fake.chunk_puts()], [
            content_range(0, chunk - 1, size), content_range(chunk, size - 1, size),
            content_range(0, chunk - 1, size), content_range(chunk, size - 1, size)])
        self.assertEqual(len(self.fake.posts), 1)
        # Once every byte is in, a stale session finds the upload complete.
        status, again, error = self.call("upload", post, dict(session, next_chunk=1))
        self.assertEqual((status, again["next_chunk"]), (0, 2), error)
        self.assertEqual(len(self.fake.posts), 1)

    def test_poll_then_metrics_read_the_posts_counters(self):
        self.fake.processing_polls = 0
        post = self.post(make_video(self.dir, seconds=1))
        status, session, error = self.call("start", post)
        self.assertEqual(status, 0, error)
        status, session, error = self.call("upload", post, session)
        self.assertEqual(status, 0, error)
        status, session, error = self.call("poll", post, session)
        self.assertEqual((status, session["state"]), (0, "published"), error)
        video_id = self.fake.posts[0]["id"]
        self.assertEqual(session["post_id"], video_id)
        self.fake.set_counters(video_id, views=1200, likes=85, comments=7, shares=3)
        status, counters, error = self.call("metrics", post, session)
        self.assertEqual(status, 0, error)
        self.assertEqual(counters, {"views": 1200, "likes": 85, "comments": 7, "shares": 3})

    def test_metrics_without_the_video_list_scope_asks_to_reconnect(self):
        self.fake.processing_polls = 0
        post = self.post(make_video(self.dir, seconds=1))
        _, session, _ = self.call("start", post)
        _, session, _ = self.call("upload", post, session)
        _, session, _ = self.call("poll", post, session)
        self.fake.tokens[TOKEN] = {"video.publish"}
        status, _, error = self.call("metrics", post, session)
        self.assertEqual(status, 4, error)  # RF_STATUS_RECONNECT
        self.assertIn("video.list", error)

    def test_creator_info_is_logged_at_debug(self):
        post = self.post(make_video(self.dir, seconds=1))
        status, _, error = self.call("prepare", post)
        self.assertEqual(status, 0, error)
        debug = [message for level, message in self.last.logs if level == 0]
        self.assertTrue(any("max_video_post_duration_sec" in message for message in debug),
                        self.last.logs)
        self.assertFalse(any(TOKEN in message for _, message in self.last.logs))

    def test_prepare_refuses_a_video_longer_than_the_creator_may_post(self):
        post = self.post(make_video(self.dir, seconds=1))
        post["video"]["duration_seconds"] = 900
        status, _, error = self.call("prepare", post)
        self.assertEqual(status, 1)
        self.assertIn("at most 600 s", error)


    def refresh(self, refresh_token, **credentials):
        account = {"name": "brand", "options": {"api_base": self.fake.url},
                   "credentials": {"access_token": TOKEN, "refresh_token": refresh_token,
                                   "client_key": CLIENT_KEY, "client_secret": CLIENT_SECRET,
                                   **credentials}}
        return self.call("refresh", account)

    def test_refresh_returns_the_new_pair_and_refuses_a_rotated_away_token(self):
        self.fake.add_refresh_token("rft-a")
        status, output, error = self.call_refresh_ok("rft-a")
        fresh = output["credentials"]
        self.assertEqual(set(fresh), {"access_token", "expires_at", "refresh_token",
                                      "refresh_expires_at"})
        self.assertIn(fresh["refresh_token"], self.fake.refresh_tokens)
        # The refresh token TikTok rotated away is refused: the account must be connected again.
        status, _, error = self.refresh("rft-a")
        self.assertEqual(status, 4, error)  # RF_STATUS_RECONNECT
        self.assertIn("TikTok refused the refresh token of account 'brand'", error)
        self.assertIn("replaced by a newer refresh token", error)
        # Without rotation the same refresh token keeps working.
        self.fake.rotate_refresh_tokens = False
        _, output, _ = self.call_refresh_ok(fresh["refresh_token"])
        self.assertEqual(output["credentials"]["refresh_token"], fresh["refresh_token"])
        for _, message in self.last.logs:
            self.assertNotIn(fresh["refresh_token"], message)
            self.assertNotIn(CLIENT_SECRET, message)

    def call_refresh_ok(self, refresh_token):
        status, output, error = self.refresh(refresh_token)
        self.assertEqual(status, 0, error)
        return status, output, error

    def test_refresh_reads_an_oauth_error_answered_with_http_200(self):
        self.fake.oauth_error_status = 200
        status, _, error = self.refresh("rft-never-issued")
        self.assertEqual(status, 4, error)
        self.assertIn("invalid_grant", error)

    def test_refresh_failures_are_classified_without_leaking_secrets(self):
        self.fake.add_refresh_token("rft-b")
        self.fake.fail_next("POST", r"/v2/oauth/token/", status=503,
                            body={"error": "server_error", "error_description": "busy"})
        status, _, error = self.refresh("rft-b")
        self.assertEqual(status, 3, error)  # RF_STATUS_RETRY
        self.fake.fail_next("POST", r"/v2/oauth/token/", status=429, headers={"Retry-After": "7"},
                            body={"error": "rate_limit_exceeded"})
        status, output, error = self.refresh("rft-b")
        self.assertEqual((status, output), (3, {"retry_after": 7}), error)
        status, _, error = self.refresh("rft-b", client_secret="not-the-secret")
        self.assertEqual(status, 1, error)  # RF_STATUS_ERROR
        self.assertIn("invalid_client", error)
        self.assertIn("client_key", error)
        self.assertNotIn("not-the-secret", error)
        status, _, error = self.refresh("rft-b", client_key="")
        self.assertEqual(status, 1, error)
        self.assertIn("credentials.client_key", error)
        self.assertEqual(self.fake.refreshes, [], "faults, a refused client and a refusal before "
                                                  "sending: none reached the grant")
        status, _, error = self.refresh("")
        self.assertEqual(status, 4, error)
        self.assertIn("no credentials.refresh_token", error)
        self.assertIn("rft-b", self.fake.refresh_tokens, "nothing consumed it")
        for text in (error, *(message for _, message in self.last.logs)):
            self.assertNotIn(CLIENT_SECRET, text)
            self.assertNotIn("rft-b", text)


if __name__ == "__main__":
    unittest.main()
