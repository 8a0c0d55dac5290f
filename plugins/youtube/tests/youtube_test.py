#!/usr/bin/env python3
"""youtube.publish against tests/fakes/youtube_fake.py: end to end through `reelflow run` (the
host's publishing driver), and, for what a one-off run never reaches (reconcile after a crash,
metrics), by calling the plugin's callbacks directly (tests/publish/abi_host.py).

Usage: youtube_test.py REELFLOW YOUTUBE_SO [unittest args]  (ctest passes both)
"""
import datetime
import http.client
import json
import os
import random
import sys
import tempfile
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "publish"))
from publish_support import make_video, publish  # noqa: E402  (also puts tests/fakes on the path)
from abi_host import AbiHost  # noqa: E402
from youtube_fake import CHUNK_GRANULARITY, YouTubeFake  # noqa: E402

REELFLOW = sys.argv.pop(1)
PLUGIN = sys.argv.pop(1)
TOKEN = "yt-access-token-7f3a9c"
MiB = 1 << 20
KiB = 1 << 10


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class YouTubeTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.fake = YouTubeFake(token=TOKEN).start()
        self.account = {"platform": "youtube", "options": {"api_base": self.fake.url},
                        "credentials": {"access_token": TOKEN}}

    def tearDown(self):
        self.fake.stop()
        self.tmp.cleanup()

    def publish(self, options):
        result = publish(REELFLOW, self.dir, "youtube.publish", self.account, options)
        for text in (result.stdout, result.stderr, json.dumps(result.record or {})):
            self.assertNotIn(TOKEN, text, "the access token leaked into the output")
        return result

    def random_video(self, size=2 * MiB + 700 * KiB + 1234, name="big.mp4"):
        """Bytes the plugin does not inspect, of an exact size, for chunk arithmetic."""
        path = os.path.join(self.dir, name)
        with open(path, "wb") as handle:
            handle.write(random.Random(size).randbytes(size))
        return path

    def file_bytes(self, path):
        with open(path, "rb") as handle:
            return handle.read()

    def chunk_puts(self):
        return [c for c in self.fake.chunks if c["kind"] == "chunk"]

    def probes(self):
        return [c for c in self.fake.chunks if c["kind"] == "probe"]

    def assert_one_post_holding(self, video_path):
        self.assertEqual(len(self.fake.posts), 1, "exactly one video on the channel")
        video_id = self.fake.posts[0]["id"]
        self.assertEqual(self.fake.video_bytes[video_id], self.file_bytes(video_path))
        return video_id

    def assert_stored_chunks_tile_the_file(self, total):
        stored = sorted((c["start"], c["end"]) for c in self.chunk_puts()
                        if c["outcome"] == "stored")
        at = 0
        for start, end in stored:
            if start != at:
                # A chunk that failed after YouTube kept part of it: the part is in between.
                kept = [c for c in self.chunk_puts() if c["outcome"] == "failed"
                        and c["start"] == at and at + c.get("kept", 0) == start]
                self.assertTrue(kept, f"stored chunks leave a gap or overlap at byte {at}: "
                                      f"{stored}")
            at = end + 1
        self.assertEqual(at, total)


class PublishTest(YouTubeTestCase):
    def test_a_clean_publish_makes_one_short_with_title_description_tags_and_bytes(self):
        video = make_video(self.dir, seconds=1)
        result = self.publish({"video": video, "title": "冬季 Launch",
                               "caption": "New #winter drop",
                               "tags": ["winter", "#sale", "big deal"],
                               "link": "https://rf.example/l/abc"})
        self.assertTrue(result.ok, result)
        video_id = self.assert_one_post_holding(video)
        self.assertEqual(result.outputs["post_id"], video_id)
        self.assertEqual(result.outputs["url"], f"https://youtube.com/shorts/{video_id}")
        self.assertEqual(result.outputs["state"], "published")
        [metadata] = self.fake.insert_metadata()
        self.assertEqual(metadata["snippet"]["title"], "冬季 Launch")
        self.assertEqual(metadata["snippet"]["description"],
                         "New #winter drop\nhttps://rf.example/l/abc\n#Shorts")
        self.assertEqual(metadata["snippet"]["tags"], ["winter", "sale", "big deal"])
        self.assertEqual(metadata["snippet"]["categoryId"], "22")
        self.assertEqual(metadata["status"], {"privacyStatus": "public",
                                              "selfDeclaredMadeForKids": False})
        self.assertEqual(self.probes(), [], "a fresh upload does not probe")
        self.assertEqual(self.fake.count("GET", r"/youtube/v3/videos$"), 1, "one poll")

    def test_a_caption_with_its_own_shorts_hashtag_is_left_alone(self):
        video = self.random_video(size=300 * KiB)
        result = self.publish({"video": video, "title": "t", "caption": "Watch this #shorts!"})
        self.assertTrue(result.ok, result)
        [metadata] = self.fake.insert_metadata()
        self.assertEqual(metadata["snippet"]["description"], "Watch this #shorts!")
        self.assertNotIn("tags", metadata["snippet"])

    def test_chunks_are_whole_mib_in_order_with_content_range(self):
        video = self.random_video()
        total = os.path.getsize(video)
        result = self.publish({"video": video, "title": "Chunks", "chunk_mib": 1})
        self.assertTrue(result.ok, result)
        self.assert_one_post_holding(video)
        puts = self.chunk_puts()
        self.assertEqual([(c["start"], c["length"], c["outcome"]) for c in puts],
                         [(0, MiB, "stored"), (MiB, MiB, "stored"),
                          (2 * MiB, total - 2 * MiB, "stored")])
        for method, path, headers, _ in self.fake.requests:
            if method == "PUT":
                self.assertTrue(headers["Content-Range"].endswith(f"/{total}"), headers)
                self.assertEqual(headers["Content-Type"], "video/mp4")
            if method == "POST" and path == "/upload/youtube/v3/videos":
                self.assertEqual(headers["X-Upload-Content-Length"], str(total))
                self.assertEqual(headers["X-Upload-Content-Type"], "video/mp4")

    def test_the_fake_refuses_what_youtube_refuses(self):
        """The fake is strict where YouTube is: a wrong plugin would fail these tests."""
        host, port = self.fake.server.server_address[:2]

        def send(method, target, body=b"", headers=None):
            connection = http.client.HTTPConnection(host, port, timeout=10)
            connection.request(method, target, body=body,
                               headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})})
            response = connection.getresponse()
            answer = (response.status, dict(response.getheaders()), response.read())
            connection.close()
            return answer

        metadata = json.dumps({"snippet": {"title": "x"}, "status": {"privacyStatus": "public"}})
        status, headers, _ = send("POST", "/upload/youtube/v3/videos?uploadType=resumable"
                                  "&part=snippet,status", metadata,
                                  {"Content-Type": "application/json; charset=UTF-8",
                                   "X-Upload-Content-Length": str(3 * CHUNK_GRANULARITY),
                                   "X-Upload-Content-Type": "video/mp4"})
        self.assertEqual(status, 200)
        target = urllib.parse.urlsplit(headers["Location"])
        session = f"{target.path}?{target.query}"
        total = 3 * CHUNK_GRANULARITY
        # Not a multiple of 256 KiB, not the last chunk.
        status, _, _ = send("PUT", session, b"x" * 1000,
                            {"Content-Range": f"bytes 0-999/{total}"})
        self.assertEqual(status, 400)
        # Does not start at the next expected byte.
        status, _, _ = send("PUT", session, b"x" * CHUNK_GRANULARITY,
                            {"Content-Range": f"bytes {CHUNK_GRANULARITY}-"
                                              f"{2 * CHUNK_GRANULARITY - 1}/{total}"})
        self.assertEqual(status, 400)
        # A probe before any byte: 308 without Range.
        status, headers, _ = send("PUT", session, b"", {"Content-Range": f"bytes */{total}"})
        self.assertEqual(status, 308)
        self.assertNotIn("Range", headers)
        status, headers, _ = send("PUT", session, b"x" * CHUNK_GRANULARITY,
                                  {"Content-Range": f"bytes 0-{CHUNK_GRANULARITY - 1}/{total}"})
        self.assertEqual((status, headers.get("Range")), (308, f"bytes=0-{CHUNK_GRANULARITY - 1}"))
        # A title over 100 characters, and a missing token.
        status, _, body = send("POST",
                               "/upload/youtube/v3/videos?uploadType=resumable&part=snippet",
                               json.dumps({"snippet": {"title": "x" * 101}}),
                               {"Content-Type": "application/json",
                                "X-Upload-Content-Length": "10",
                                "X-Upload-Content-Type": "video/mp4"})
        self.assertEqual(status, 400)
        self.assertIn(b"invalidTitle", body)
        self.fake.expire_token()
        status, _, _ = send("GET", "/youtube/v3/videos?part=status&id=x")
        self.assertEqual(status, 401)
        self.assertEqual(self.fake.posts, [])


class ResumeTest(YouTubeTestCase):
    def test_a_dropped_connection_is_resumed_from_the_acknowledged_byte_after_a_probe(self):
        video = self.random_video()
        total = os.path.getsize(video)
        self.fake.drop_chunk(MiB, after=300 * KiB)
        result = self.publish({"video": video, "title": "Dropped", "chunk_mib": 1})
        self.assertTrue(result.ok, result)
        self.assert_one_post_holding(video)
        kinds = [(c["kind"], c["start"], c["outcome"]) for c in self.fake.chunks]
        self.assertEqual(kinds, [("chunk", 0, "stored"), ("chunk", MiB, "dropped"),
                                 ("probe", None, "probe"), ("chunk", MiB, "stored"),
                                 ("chunk", 2 * MiB, "stored")])
        # No byte range was sent twice, except the dropped chunk once more.
        sent = [(c["start"], c["end"]) for c in self.chunk_puts()]
        dropped = (MiB, 2 * MiB - 1)
        self.assertEqual(len(sent), len(set(sent)) + 1)
        self.assertEqual([r for r in sent if sent.count(r) > 1], [dropped, dropped])
        self.assert_stored_chunks_tile_the_file(total)
        self.assertEqual(sum(c["length"] for c in self.chunk_puts() if c["outcome"] == "stored"),
                         total)

    def test_a_5xx_is_resumed_from_what_youtube_kept_not_from_the_chunk_or_zero(self):
        video = self.random_video()
        total = os.path.getsize(video)
        self.fake.fail_chunk(MiB, status=503, keep=512 * KiB)
        result = self.publish({"video": video, "title": "Backend error", "chunk_mib": 1})
        self.assertTrue(result.ok, result)
        self.assert_one_post_holding(video)
        kinds = [(c["kind"], c["start"], c["outcome"]) for c in self.fake.chunks]
        resumed_at = MiB + 512 * KiB
        self.assertEqual(kinds, [("chunk", 0, "stored"), ("chunk", MiB, "failed"),
                                 ("probe", None, "probe"), ("chunk", resumed_at, "stored"),
                                 ("chunk", resumed_at + MiB, "stored")])
        self.assertEqual(len(self.fake.sessions), 1, "the same session throughout")
        self.assert_stored_chunks_tile_the_file(total)

    def test_a_429_with_retry_after_is_waited_for_then_the_post_goes_out_once(self):
        video = self.random_video(size=400 * KiB)
        self.fake.fail_next("POST", r"^/upload/youtube/v3/videos$", status=429,
                            headers={"Retry-After": "2"},
                            body={"error": {"code": 429, "message": "Too many requests",
                                            "errors": [{"reason": "rateLimitExceeded",
                                                        "domain": "youtube.quota",
                                                        "message": "Too many requests"}]}})
        result = self.publish({"video": video, "title": "Rate limited"})
        self.assertTrue(result.ok, result)
        self.assert_one_post_holding(video)
        first, second = self.fake.times_of("POST", r"^/upload/youtube/v3/videos$")
        self.assertGreaterEqual(second - first, 1.9, "Retry-After: 2 was honoured")

    def test_an_expired_session_is_a_clear_error_and_not_started_over(self):
        video = self.random_video()
        self.fake.expire_sessions_after_chunks(1)
        result = self.publish({"video": video, "title": "Expired", "chunk_mib": 1})
        self.assertFalse(result.ok)
        self.assertIn("upload session is gone (404)", result.error)
        self.assertIn("nothing was published", result.error)
        self.assertEqual(self.fake.posts, [])
        self.assertEqual(len(self.fake.sessions), 1, "the host does not start over on its own")


class AccountTest(YouTubeTestCase):
    def test_an_expired_token_without_refresh_credentials_asks_to_reconnect(self):
        self.fake.expire_token()
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "t"})
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("has no refresh_token, client_id, client_secret", result.error)
        self.assertEqual(self.fake.posts, [])
        self.assertEqual(self.fake.token_requests, [], "nothing to refresh with")

    def test_a_token_revoked_mid_upload_without_refresh_credentials_asks_to_reconnect(self):
        self.fake.revoke_token_after_chunks(1)
        result = self.publish({"video": self.random_video(), "title": "t", "chunk_mib": 1})
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertEqual(self.fake.posts, [])
        self.assertEqual(self.fake.count("PUT", r"/upload/youtube/v3/videos$"), 2,
                         "stopped at the first refused chunk")

    def test_an_account_without_a_token_is_refused_before_any_request(self):
        self.account["credentials"] = {}
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "t"})
        self.assertFalse(result.ok)
        # No access token, and nothing to get one with (no refresh_token): connect it again.
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("has no refresh_token", result.error)
        self.assertEqual(self.fake.requests, [])

    def test_a_used_up_quota_fails_saying_it_is_a_quota_and_to_publish_later(self):
        self.fake.exhaust_quota("quotaExceeded")
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "t"})
        self.assertFalse(result.ok)
        self.assertIn("quota", result.error)
        self.assertIn("quotaExceeded", result.error)
        self.assertRegex(result.error, r"publish it (later|after)")  # the host's wording
        self.assertEqual(self.fake.posts, [])
        self.assertEqual(self.fake.count("POST", r"/upload/youtube/v3/videos$"), 1,
                         "a quota is not retried")

    def test_the_channel_upload_limit_also_means_later(self):
        self.fake.exhaust_quota("uploadLimitExceeded")
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "t"})
        self.assertFalse(result.ok)
        self.assertIn("uploadLimitExceeded", result.error)
        self.assertRegex(result.error, r"publish it (later|after)")  # the host's wording


CLIENT_ID = "1234-fakeclient.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-client-secret-71c"
REFRESH = "1//0g-fake-refresh-token-5be2"


class RefreshTest(YouTubeTestCase):
    """Google's refresh_token grant through the host: ahead of expiry, after a refused token,
    and a refused refresh token (the account must be connected again)."""

    def setUp(self):
        super().setUp()
        self.fake.add_client(CLIENT_ID, CLIENT_SECRET)
        self.fake.add_refresh_token(REFRESH, CLIENT_ID)
        self.account["options"]["token_base"] = self.fake.url
        self.account["credentials"].update({"refresh_token": REFRESH, "client_id": CLIENT_ID,
                                            "client_secret": CLIENT_SECRET})
        self.video = self.random_video(size=300 * KiB)

    def expires_at(self, seconds_from_now):
        self.account["credentials"]["expires_at"] = iso(
            datetime.datetime.now(datetime.timezone.utc) +
            datetime.timedelta(seconds=seconds_from_now))

    def publish(self, options):
        result = super().publish(options)
        for secret in [REFRESH, CLIENT_SECRET, CLIENT_ID, *self.fake.issued_tokens()]:
            for text in (result.stdout, result.stderr):
                self.assertNotIn(secret, text, "a credential leaked into the output")
        return result

    def stored_account(self):
        path = os.path.join(self.dir, "accounts", "brand.json")
        with open(path) as handle:
            return json.load(handle), os.stat(path).st_mode & 0o777

    def api_bearers(self, since=0):
        """The bearer token of every YouTube API request (not /token) from request `since` on."""
        return [(h.get("Authorization") or "")[7:] for _, p, h, _ in self.fake.requests[since:]
                if p != "/token"]

    def test_an_expired_token_is_refreshed_first_and_the_stored_one_serves_the_next_post(self):
        self.fake.revoke_access_token(TOKEN)  # expired on Google's side too
        self.expires_at(-3600)
        result = self.publish({"video": self.video, "title": "Refreshed"})
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.token_requests), 1, "exactly one refresh")
        [request] = self.fake.token_requests
        self.assertEqual((request["grant_type"], request["refresh_token"], request["client_id"],
                          request["outcome"]), ("refresh_token", REFRESH, CLIENT_ID, "issued"))
        [new_token] = self.fake.issued_tokens()
        bearers = self.api_bearers()
        self.assertTrue(bearers)
        self.assertEqual(set(bearers), {new_token}, "the expired token was never sent")
        self.assertEqual(len(self.fake.posts), 1)

        record, mode = self.stored_account()
        self.assertEqual(mode, 0o600)
        self.assertEqual(record["status"], "ok")
        self.assertEqual(record["refresh_count"], 1)
        credentials = record["credentials"]
        self.assertEqual(credentials["access_token"], new_token)
        self.assertEqual(credentials["refresh_token"], REFRESH, "Google keeps the refresh token")
        self.assertEqual((credentials["client_id"], credentials["client_secret"]),
                         (CLIENT_ID, CLIENT_SECRET))
        expires = datetime.datetime.fromisoformat(credentials["expires_at"].replace("Z", "+00:00"))
        left = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.assertTrue(3500 < left <= 3600, f"expires_at {credentials['expires_at']} is "
                                             f"expires_in (3599 s) from now")

        # The secret still holds the expired token: the stored record serves the next post
        # without another refresh.
        before = len(self.fake.requests)
        again = self.publish({"video": self.video, "title": "Again"})
        self.assertTrue(again.ok, again)
        self.assertEqual(len(self.fake.token_requests), 1, "no second refresh")
        self.assertEqual(set(self.api_bearers(before)), {new_token})
        self.assertEqual(len(self.fake.posts), 2)

    def test_a_token_revoked_before_its_expiry_is_refreshed_once_and_the_call_repeated(self):
        self.expires_at(3600)
        self.fake.revoke_access_token(TOKEN)
        result = self.publish({"video": self.video, "title": "Revoked early"})
        self.assertTrue(result.ok, result)
        [new_token] = self.fake.issued_tokens()
        self.assertEqual(self.fake.bearers("POST", r"^/upload/youtube/v3/videos$"),
                         [TOKEN, new_token], "refused once, then repeated with the new token")
        self.assertEqual(len(self.fake.sessions), 1)
        self.assertEqual(len(self.fake.posts), 1)
        record, _ = self.stored_account()
        self.assertEqual(record["credentials"]["access_token"], new_token)

    def test_a_token_that_expires_mid_upload_is_refreshed_and_the_upload_resumed(self):
        video = self.random_video()
        total = os.path.getsize(video)
        self.expires_at(3600)
        self.fake.revoke_token_after_chunks(1)
        result = self.publish({"video": video, "title": "Mid-upload", "chunk_mib": 1})
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.token_requests), 1)
        self.assert_one_post_holding(video)
        self.assertEqual(len(self.fake.sessions), 1, "the same upload session throughout")
        [new_token] = self.fake.issued_tokens()
        # The chunk at 1 MiB was refused (401) before YouTube looked at it; after the refresh the
        # upload asks the session where it stands and goes on from there.
        self.assertEqual(self.fake.bearers("PUT", r"^/upload/youtube/v3/videos$"),
                         [TOKEN, TOKEN, new_token, new_token, new_token])
        kinds = [(c["kind"], c["start"], c["outcome"]) for c in self.fake.chunks]
        self.assertEqual(kinds, [("chunk", 0, "stored"), ("probe", None, "probe"),
                                 ("chunk", MiB, "stored"), ("chunk", 2 * MiB, "stored")])
        self.assert_stored_chunks_tile_the_file(total)

    def test_a_revoked_refresh_token_marks_the_account_and_posts_nothing(self):
        self.fake.revoke_refresh_token(REFRESH)
        self.expires_at(-60)
        result = self.publish({"video": self.video, "title": "Revoked"})
        self.assertFalse(result.ok)
        self.assertIn("account 'brand' must be connected again", result.error)
        self.assertIn("Google refused the refresh token of account 'brand'", result.error)
        self.assertIn("invalid_grant", result.error)
        self.assertIn("Testing", result.error)
        self.assertEqual(self.fake.posts, [])
        self.assertEqual([p for _, p, _, _ in self.fake.requests], ["/token"],
                         "nothing but the refresh reached Google")
        record, mode = self.stored_account()
        self.assertEqual((record["status"], mode), ("reconnect_needed", 0o600))
        self.assertIn("refused the refresh token", record["message"])
        # The next post of the account stops before asking Google anything.
        again = self.publish({"video": self.video, "title": "Revoked"})
        self.assertFalse(again.ok)
        self.assertIn("needs to be connected again", again.error)
        self.assertEqual(len(self.fake.requests), 1)

    def test_refresh_reads_the_token_endpoints_answers(self):
        """The callback directly: what the host does with each status is the driver's tests'."""
        account = {"name": "brand", "options": self.account["options"],
                   "credentials": dict(self.account["credentials"])}
        with AbiHost(PLUGIN) as host:
            publisher = host.publisher("youtube.publish")
            done = publisher.call("refresh", account)
            self.assertEqual(done.status_name, "OK", done)
            self.assertEqual(set(done.output), {"credentials"})
            self.assertEqual(set(done.output["credentials"]), {"access_token", "expires_at"})
            form = self.fake.token_requests[-1]
            self.assertEqual(form["grant_type"], "refresh_token")

            self.fake.fail_next("POST", r"^/token$", status=503, headers={"Retry-After": "7"},
                                body={"error": "internal_failure"})
            busy = publisher.call("refresh", account)
            self.assertEqual(busy.status_name, "RETRY", busy)
            self.assertEqual(busy.output.get("retry_after"), 7)

            wrong = dict(account, credentials={**account["credentials"],
                                               "client_secret": "GOCSPX-not-the-secret"})
            refused = publisher.call("refresh", wrong)
            self.assertEqual(refused.status_name, "ERROR", refused)
            self.assertIn("invalid_client", refused.error)
            self.assertIn("client_secret", refused.error)
            self.assertNotIn("GOCSPX-not-the-secret", refused.error)

            bare = dict(account, credentials={"access_token": TOKEN})
            missing = publisher.call("refresh", bare)
            self.assertEqual(missing.status_name, "RECONNECT", missing)
            self.assertIn("has no refresh_token, client_id, client_secret", missing.error)

            self.fake.add_refresh_token("1//0g-testing-app-token", CLIENT_ID, expires_in=-1)
            lapsed = dict(account, credentials={**account["credentials"],
                                                "refresh_token": "1//0g-testing-app-token"})
            expired = publisher.call("refresh", lapsed)
            self.assertEqual(expired.status_name, "RECONNECT", expired)
            self.assertIn("refused the refresh token of account 'brand'", expired.error)
            for result in (done, busy, refused, missing, expired):
                for secret in (REFRESH, CLIENT_SECRET, "1//0g-testing-app-token"):
                    self.assertNotIn(secret, (result.error or "") + json.dumps(result.logs))
        self.assertEqual(self.fake.posts, [])

    def test_a_refused_token_while_setting_the_thumbnail_is_refreshed_and_the_cover_set(self):
        cover = os.path.join(self.dir, "cover.png")
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
        with open(cover, "wb") as handle:
            handle.write(png)
        self.expires_at(3600)
        self.fake.revoke_token_after_chunks(1)  # the only chunk: the token dies with it
        result = self.publish({"video": self.video, "title": "Cover", "cover": cover})
        self.assertTrue(result.ok, result)
        [new_token] = self.fake.issued_tokens()
        video_id = self.fake.posts[0]["id"]
        self.assertEqual(self.fake.thumbnails[video_id], ("image/png", png))
        self.assertEqual(self.fake.bearers("POST", r"/thumbnails/set$"), [TOKEN, new_token])
        self.assertEqual(len(self.fake.posts), 1)

    def test_a_thumbnail_refused_twice_is_a_warning_not_a_stopped_post(self):
        cover = os.path.join(self.dir, "cover.png")
        with open(cover, "wb") as handle:
            handle.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        post = {"id": "post-k1", "idempotency_key": "k1", "platform": "youtube",
                "account": {"name": "brand", "options": self.account["options"],
                            "credentials": self.account["credentials"]},
                "video": {"path": self.video, "size_bytes": os.path.getsize(self.video)},
                "cover": cover, "title": "Cover", "caption": "", "tags": [], "link": None,
                "publish_at": iso(datetime.datetime.now(datetime.timezone.utc)),
                "options": {"privacy": "public", "category_id": "22", "made_for_kids": False,
                            "chunk_mib": 1}}
        with AbiHost(PLUGIN) as host:
            publisher = host.publisher("youtube.publish")
            session = publisher.call("start", post).output
            session = {**session, **publisher.call("upload", post, session).output}
            self.fake.expire_token()
            first = publisher.call("finalize", post, session)
            self.assertEqual(first.status_name, "RECONNECT", first)
            self.assertIs(first.checkpoints[-1]["thumbnail_token_refused"], True)
            second = publisher.call("finalize", post, {**session, **first.checkpoints[-1]})
            self.assertEqual(second.status_name, "OK", second)
            self.assertTrue([m for _, m in second.logs if "could not set the cover" in m])
        self.assertEqual(self.fake.thumbnails, {})
        self.assertEqual(len(self.fake.posts), 1)


class ValidationTest(YouTubeTestCase):
    def test_prepare_refuses_invalid_posts_before_any_request_naming_field_and_limit(self):
        video = self.random_video(size=300 * KiB)
        not_an_image = os.path.join(self.dir, "cover.jpg")
        with open(not_an_image, "w") as handle:
            handle.write("not an image")
        cases = [
            ({"title": ""}, ["title", "requires a title"]),
            ({"title": "x" * 101}, ["title is 101 characters", "at most 100"]),
            ({"title": "😀" * 51}, ["title is 102 characters", "at most 100"]),
            ({"title": "a <b> title"}, ["title", "'<' or '>'"]),
            ({"title": "t", "caption": "y" * 4995}, ["caption is too long", "at most 5000"]),
            ({"title": "t", "caption": "1 > 0"}, ["caption", "'<' or '>'"]),
            ({"title": "t", "tags": [f"tag number {i}" for i in range(40)]},
             ["tags add up to", "at most 500"]),
            ({"title": "t", "category_id": "music"}, ["category_id 'music'"]),
            ({"title": "t", "cover": not_an_image}, ["cover", "neither a JPEG nor a PNG"]),
            ({"title": "t", "chunk_mib": 65}, ["chunk_mib"]),
        ]
        for options, expected in cases:
            with self.subTest(options=options):
                result = self.publish({"video": video, **options})
                self.assertFalse(result.ok, result)
                for text in expected:  # chunk_mib is refused by the host's option check
                    self.assertIn(text, result.error or result.stderr)
        self.assertEqual(self.fake.requests, [], "nothing reached YouTube")

    def test_a_bad_request_from_youtube_names_the_field(self):
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "t",
                               "category_id": "9999"})
        self.assertFalse(result.ok)
        self.assertIn("category_id", result.error)
        self.assertIn("invalidCategoryId", result.error)
        self.assertEqual(self.fake.posts, [])
        self.assertEqual(self.fake.count("POST", r"/upload/youtube/v3/videos$"), 1,
                         "a bad request is not retried")


class OptionsTest(YouTubeTestCase):
    def test_made_for_kids_privacy_and_category_reach_youtube(self):
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "Kids",
                               "made_for_kids": True, "privacy": "unlisted",
                               "category_id": "27"})
        self.assertTrue(result.ok, result)
        [metadata] = self.fake.insert_metadata()
        self.assertIs(metadata["status"]["selfDeclaredMadeForKids"], True)
        self.assertEqual(metadata["status"]["privacyStatus"], "unlisted")
        self.assertEqual(metadata["snippet"]["categoryId"], "27")
        self.assertIs(self.fake.posts[0]["status"]["madeForKids"], True)

    def test_an_unaudited_project_locking_the_video_private_is_warned_about(self):
        self.fake.lock_private = True
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "Locked"})
        self.assertTrue(result.ok, result)
        self.assertIn("YouTube made the video private although public was asked", result.stderr)
        self.assertEqual(result.stderr.count("although public was asked"), 1, "warned once")

    def test_the_cover_becomes_the_thumbnail(self):
        cover = os.path.join(self.dir, "cover.png")
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
        with open(cover, "wb") as handle:
            handle.write(png)
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "Cover",
                               "cover": cover})
        self.assertTrue(result.ok, result)
        video_id = self.fake.posts[0]["id"]
        self.assertEqual(self.fake.thumbnails[video_id], ("image/png", png))

    def test_a_refused_thumbnail_is_a_warning_not_a_failed_post(self):
        cover = os.path.join(self.dir, "cover.jpg")
        with open(cover, "wb") as handle:
            handle.write(b"\xff\xd8\xff\xe0" + b"\0" * 64)
        self.fake.thumbnails_forbidden = True
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "Cover",
                               "cover": cover})
        self.assertTrue(result.ok, result)
        self.assertEqual(len(self.fake.posts), 1)
        self.assertEqual(self.fake.thumbnails, {})
        self.assertIn("could not set the cover", result.stderr)

    def test_a_video_youtube_rejects_fails_with_the_reason(self):
        self.fake.next_upload_status = ("rejected", "duplicate")
        result = self.publish({"video": self.random_video(size=300 * KiB), "title": "Dup"})
        self.assertFalse(result.ok)
        self.assertIn("YouTube rejected the video (duplicate)", result.error)


class CallbackTest(YouTubeTestCase):
    """reconcile and metrics, called directly: a one-off run reaches neither."""

    def setUp(self):
        super().setUp()
        self.host = AbiHost(PLUGIN)
        self.publisher = self.host.publisher("youtube.publish")
        self.video = self.random_video()
        self.post = {
            "id": "post-k1", "idempotency_key": "k1", "platform": "youtube",
            "account": {"name": "brand", "options": {"api_base": self.fake.url},
                        "credentials": {"access_token": TOKEN}},
            "video": {"path": self.video, "size_bytes": os.path.getsize(self.video)},
            "cover": None, "title": "Direct", "caption": "", "tags": [], "link": None,
            "publish_at": iso(datetime.datetime.now(datetime.timezone.utc)),
            "options": {"privacy": "public", "category_id": "22", "made_for_kids": False,
                        "chunk_mib": 1}}

    def tearDown(self):
        self.host.close()
        super().tearDown()

    def call(self, which, session=None, expect="OK"):
        call = self.publisher.call(which, self.post, session)
        self.assertEqual(call.status_name, expect, call)
        return call

    def test_a_post_due_later_is_scheduled_by_youtube_private_until_publish_at(self):
        # Through the callbacks: the engine holds a publisher step until its publish_at, so a
        # one-off run never hands the plugin a time in the future.
        due = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + \
            datetime.timedelta(days=2)
        self.post["publish_at"] = iso(due)
        self.call("prepare")
        session = self.call("start").output
        self.assertEqual((session["privacy"], session["publish_at"]),
                         ("private", due.strftime("%Y-%m-%dT%H:%M:%S.000Z")))
        [metadata] = self.fake.insert_metadata()
        self.assertEqual(metadata["status"]["privacyStatus"], "private")
        self.assertEqual(datetime.datetime.fromisoformat(
            metadata["status"]["publishAt"].replace("Z", "+00:00")), due)
        upload = self.call("upload", session)
        poll = self.call("poll", self.call("finalize", upload.output).output)
        self.assertEqual(poll.output["state"], "published")
        self.assertEqual(self.fake.posts[0]["status"]["publishAt"], metadata["status"]["publishAt"])
        self.assertFalse([m for _, m in upload.logs + poll.logs if "although" in m],
                         "private was asked: no warning about the privacy")

    def test_a_post_due_later_can_be_scheduled_only_when_public(self):
        self.post["publish_at"] = iso(datetime.datetime.now(datetime.timezone.utc) +
                                      datetime.timedelta(days=7))
        self.post["options"]["privacy"] = "unlisted"
        refused = self.call("prepare", expect="ERROR")
        self.assertIn("privacy is 'unlisted'", refused.error)
        self.assertIn("publish_at", refused.error)
        self.assertEqual(self.fake.requests, [])

    def test_reconcile_finds_nothing_the_session_or_the_post(self):
        self.assertEqual(self.call("reconcile", {}).output["found"], "nothing")
        session = self.call("start").output
        found = self.call("reconcile", session).output
        self.assertEqual((found["found"], found["acked"]), ("session", 0))

        self.fake.drop_chunk(MiB)
        upload = self.call("upload", session, expect="RETRY")
        session = {**session, **upload.checkpoints[-1]}
        self.assertEqual(session["acked"], MiB)
        found = self.call("reconcile", {**session, "acked": 0}).output
        self.assertEqual((found["found"], found["acked"]), ("session", MiB),
                         "what YouTube holds, not what was recorded")

        done = self.call("upload", session).output
        video_id = done["video_id"]
        self.assertEqual(self.probes()[-1]["outcome"], "probe", "the resumption probed first")
        # A crash after the last chunk, before its answer was recorded: the session says "post".
        found = self.call("reconcile", {k: v for k, v in done.items() if k != "video_id"}).output
        self.assertEqual((found["found"], found["video_id"]), ("post", video_id))
        self.assertEqual(found["url"], f"https://youtube.com/shorts/{video_id}")
        self.assertEqual(self.call("reconcile", done).output["found"], "post")
        self.assertEqual(len(self.fake.posts), 1)

    def test_reconcile_of_a_gone_session_is_nothing_only_before_the_last_chunk_was_sent(self):
        session = self.call("start").output
        self.fake.expire_sessions()
        self.assertEqual(self.call("reconcile", session).output["found"], "nothing")
        unknown = self.call("reconcile", {**session, "final_sent": True}, expect="ERROR")
        self.assertIn("may exist or not", unknown.error)

    def test_a_session_gone_after_the_last_chunk_was_sent_is_not_called_nothing(self):
        session = self.call("start").output
        last_chunk = 2 * MiB
        self.fake.drop_chunk(last_chunk)
        upload = self.call("upload", session, expect="RETRY")
        session = {**session, **upload.checkpoints[-1]}
        self.assertIs(session["final_sent"], True, "recorded before the last chunk left")
        self.fake.expire_sessions()
        gone = self.call("upload", session, expect="ERROR")
        self.assertIn("may or may not have created the video", gone.error)

    def test_metrics_are_the_video_counters_as_integers(self):
        session = self.call("start").output
        done = self.call("upload", session).output
        video = self.fake.videos[done["video_id"]]
        video["statistics"] = {"viewCount": "1234", "likeCount": "56", "favoriteCount": "0",
                               "commentCount": "7"}
        finalized = self.call("finalize", done).output
        self.assertEqual(self.call("metrics", finalized).output,
                         {"views": 1234, "likes": 56, "comments": 7})
        self.fake.expire_token()
        self.assertIn("reconnect", self.call("metrics", finalized, expect="RECONNECT").error)

    def test_poll_waits_while_youtube_does_not_list_the_video_yet(self):
        session = {"video_id": "notlisted00", "upload_url": "x", "total": 1}
        for _ in range(4):
            session = self.call("poll", session).output
            self.assertEqual(session["state"], "processing")
        session = self.call("poll", session).output
        self.assertEqual(session["state"], "failed")
        self.assertIn("does not list video notlisted00", session["error"])


if __name__ == "__main__":
    unittest.main()
