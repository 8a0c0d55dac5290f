"""A local fake of TikTok's Content Posting API (Direct Post, FILE_UPLOAD) and the video/query
counters, faithful to what TikTok documents (developers.tiktok.com/doc/...):

  POST /v2/post/publish/creator_info/query/   the creator's privacy_level_options,
       max_video_post_duration_sec, comment/duet/stitch_disabled (scope video.publish)
  POST /v2/post/publish/video/init/            validates post_info and the chunk arithmetic of
       the Media Transfer Guide exactly (total_chunk_count = floor(video_size / chunk_size),
       chunks 5 MB..64 MB, the last up to 128 MB, a file under 5 MB sent whole, 1..1000 chunks);
       6 requests a minute per token (rate_limit_exceeded, HTTP 429, Retry-After); at most 5
       pending shares (spam_risk_too_many_pending_share); privacy_level_option_mismatch
       -> {publish_id, upload_url}
  PUT  /upload/video/<upload_id>/?upload_token=...   one chunk, in order, with
       Content-Range: bytes FIRST-LAST/TOTAL and a video/* Content-Type: 206 Partial Content,
       201 Created for the last; out of order -> 416, a wrong range or length -> 400
  POST /v2/post/publish/status/fetch/          PROCESSING_UPLOAD (with uploaded_bytes) until every
       chunk is in, then PROCESSING_UPLOAD for `processing_polls` more polls, then
       PUBLISH_COMPLETE with publicaly_available_post_id [sic] (or FAILED with fail_reason)
  POST /v2/video/query/?fields=...             counters of the account's posts (scope video.list)
  POST /v2/oauth/token/                         grant_type=refresh_token (form: client_key,
       client_secret, refresh_token) -> {access_token, expires_in, refresh_token,
       refresh_expires_in, open_id, scope, token_type}

Every API answer is {"data": {...}, "error": {"code", "message", "log_id"}}. Tokens: `tokens`
maps each valid access token to its scopes; revoke(token) invalidates one (access_token_invalid),
expire(token) makes it expire now (TikTok answers an expired token with access_token_invalid
too); an access token the token endpoint issued expires after `access_ttl` seconds.

The token endpoint (developers.tiktok.com/doc/oauth-user-access-token-management): `clients`
maps client_key -> client_secret (else invalid_client); `refresh_tokens` maps each valid
refresh token to its grant (scopes, open_id, expiry). A refresh issues a new access token and,
with `rotate_refresh_tokens` (the default, as TikTok documents: "always save the refresh_token
from the most recent response"), a new refresh token that keeps the old one's expiry; the old one
is retired and refused from then on, like a revoked (revoke_refresh) or expired one:
invalid_grant. Errors are TikTok's OAuth struct {"error", "error_description", "log_id"} with
HTTP `oauth_error_status` (400 by default: TikTok does not document the status; 200 is the other
reading). `refreshes` lists every refresh token presented, in order.

Where TikTok's documentation is ambiguous the fake takes the reading that accepts both
interpretations a client could reasonably make ("5 MB" as 5,000,000 bytes for the minimum,
"64 MB"/"128 MB" as MiB for the maxima). One check is stricter than TikTok documents: video/init
refuses disable_comment/duet/stitch that are not true where creator_info says the creator turned
them off (TikTok's guidelines require clients to honour those settings; the API's behaviour is
not documented). The status codes of chunk refusals (416 out of order, 400 a wrong range) are
this fake's choice: TikTok documents 206 and 201 only. What it does not model: upload URL expiry (an hour),
moderation delays, the daily post cap (unless daily_post_cap is set), PULL_FROM_URL (refused as
url_ownership_unverified), photo posts, inbox uploads, webhooks.

Test hooks: fail_chunk(index, ...) injects a fault (status, drop_after, ...) into the PUT of
chunk `index` (0-based) of the next upload; fail_processing(reason) makes processing end in
FAILED; add_pending_shares(n) adds n pending shares; set_counters(video_id, ...).
"""
import os
import re
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_platform import FakePlatform, Response, route, serve_main  # noqa: E402

MIN_CHUNK = 5_000_000
MAX_CHUNK = 64 * 1024 * 1024
MAX_LAST_CHUNK = 128 * 1024 * 1024
MAX_CHUNKS = 1000
MAX_TITLE_UTF16 = 2200
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR",
                  "SELF_ONLY")
CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def utf16_units(text):
    return len(text.encode("utf-16-le")) // 2


class Upload:
    """One video/init: the post's settings, the chunk plan and what has arrived."""

    def __init__(self, publish_id, token, post_info, video_size, chunk_size, chunk_count):
        self.publish_id = publish_id
        self.token = token
        self.post_info = post_info
        self.video_size = video_size
        self.chunk_size = chunk_size
        self.chunk_count = chunk_count
        self.upload_id = secrets.token_hex(8)
        self.upload_token = secrets.token_hex(12)
        self.chunks = []          # the bytes of each acknowledged chunk, in order
        self.created_at = time.time()
        self.polls_after_complete = 0
        self.post = None          # the post, once every chunk is in

    def received(self):
        return sum(len(chunk) for chunk in self.chunks)

    def chunk_range(self, index):
        first = index * self.chunk_size
        last = self.video_size - 1 if index == self.chunk_count - 1 else first + self.chunk_size - 1
        return first, last


class TikTokFake(FakePlatform):
    name = "tiktok"

    def __init__(self, port=0):
        super().__init__(port)
        self.tokens = {"tok-good": {"user.info.basic", "video.publish", "video.list"}}
        self.creator = {
            "creator_avatar_url": "https://p16.example/avatar.jpeg",
            "creator_username": "brand.official",
            "creator_nickname": "Brand",
            "privacy_level_options": list(PRIVACY_LEVELS),
            "comment_disabled": False,
            "duet_disabled": False,
            "stitch_disabled": False,
            "max_video_post_duration_sec": 600,
        }
        self.uploads = {}          # publish_id -> Upload
        self.posts = []            # published posts: dicts with id, publish_id, title, bytes...
        self.counters = {}         # video id -> {"view_count": ..., ...}
        self.init_times = {}       # token -> times of its video/init requests
        self.init_limit = 6        # video/init requests per token ...
        self.init_window = 60.0    # ... in this many seconds
        self.pending_share_limit = 5   # pending shares within 24 hours
        self.extra_pending = 0
        self.daily_post_cap = None
        self.processing_polls = 1  # status/fetch answers still processing this often after upload
        self.processing_failure = None
        self.ids_for_private_posts = False  # SELF_ONLY posts get no publicaly_available_post_id
        self.chunk_faults = {}     # chunk index -> fail_next keyword arguments
        self.init_bodies = []      # every video/init body accepted (for assertions)
        self.token_expiry = {}     # access token -> Unix time it expires (absent: never)
        self.clients = {"tiktok-client-key": "tiktok-client-secret"}
        self.refresh_tokens = {}   # refresh token -> {"scopes", "open_id", "expires_at"}
        self.retired_refresh_tokens = set()
        self.rotate_refresh_tokens = True
        self.access_ttl = 86400            # seconds an issued access token lives (24 hours) ...
        self.refresh_ttl = 365 * 86400     # ... and a new grant's refresh token (365 days)
        self.oauth_error_status = 400
        self.refreshes = []        # every refresh token presented to /v2/oauth/token/

    # ----------------------------------------------------------------------------------- hooks

    def revoke(self, token):
        with self.lock:
            self.tokens.pop(token, None)

    def expire(self, token):
        """The access token expires now (it stays known, as TikTok's do)."""
        with self.lock:
            self.token_expiry[token] = time.time()

    def add_refresh_token(self, token, scopes=("user.info.basic", "video.publish", "video.list"),
                          expires_in=None):
        """A refresh token of a user who authorized the app, as the code exchange gives."""
        with self.lock:
            self.refresh_tokens[token] = {
                "scopes": set(scopes), "open_id": "open-" + secrets.token_hex(6),
                "expires_at": time.time() + (self.refresh_ttl if expires_in is None
                                             else expires_in)}

    def revoke_refresh(self, token):
        """The user deauthorized the app: the refresh token no longer works."""
        with self.lock:
            self.refresh_tokens.pop(token, None)

    def bearers(self, pattern=r"^/v2/"):
        """The access token of every API request whose path matches, in order."""
        regex = re.compile(pattern)
        with self.lock:
            return [headers.get("Authorization", "")[7:] for method, path, headers, _
                    in self.requests if regex.search(path) and "/oauth/" not in path]

    def fail_chunk(self, index, **fault):
        """The PUT of chunk `index` (0-based) fails as fail_next(**fault) describes."""
        with self.lock:
            self.chunk_faults[index] = fault

    def fail_processing(self, reason):
        with self.lock:
            self.processing_failure = reason

    def add_pending_shares(self, count):
        with self.lock:
            self.extra_pending += count

    def set_counters(self, video_id, views=0, likes=0, comments=0, shares=0):
        with self.lock:
            self.counters[str(video_id)] = {"view_count": views, "like_count": likes,
                                            "comment_count": comments, "share_count": shares}

    def chunk_puts(self):
        """(Content-Range, body length or -1 when the connection dropped) of every chunk PUT."""
        with self.lock:
            return [(headers.get("Content-Range"), length)
                    for method, path, headers, length in self.requests
                    if method == "PUT" and path.startswith("/upload/")]

    # ------------------------------------------------------------------------------- plumbing

    @staticmethod
    def answer(status=200, data=None, code="ok", message="", headers=None):
        body = {"data": data if data is not None else {},
                "error": {"code": code, "message": message, "log_id": secrets.token_hex(10)}}
        return Response(status, body, headers)

    def authorize(self, request, scope):
        token = request.bearer()
        expiry = self.token_expiry.get(token)
        if token is None or token not in self.tokens or (expiry is not None
                                                          and time.time() >= expiry):
            return None, self.answer(401, code="access_token_invalid",
                                     message="The access token is invalid or not found in the "
                                             "request.")
        if scope not in self.tokens[token]:
            return None, self.answer(401, code="scope_not_authorized",
                                     message=f"The user did not authorize the scope required for "
                                             f"completing this request ({scope}).")
        return token, None

    def pending_shares(self):
        day_ago = time.time() - 24 * 3600
        return self.extra_pending + sum(
            1 for upload in self.uploads.values()
            if upload.created_at > day_ago and upload.post is None)

    # --------------------------------------------------------------------------------- routes

    def oauth_error(self, error, description):
        return Response(self.oauth_error_status,
                        {"error": error, "error_description": description,
                         "log_id": secrets.token_hex(10)})

    @route("POST", r"/v2/oauth/token/")
    def oauth_token(self, request):
        if not request.headers.get("Content-Type", "").startswith(
                "application/x-www-form-urlencoded"):
            return self.oauth_error("invalid_request",
                                    "Content-Type must be application/x-www-form-urlencoded")
        form = request.form()
        for field in ("client_key", "client_secret", "grant_type"):
            if not form.get(field):
                return self.oauth_error("invalid_request", f"{field} is required")
        if self.clients.get(form["client_key"]) != form["client_secret"]:
            return self.oauth_error("invalid_client", "Client key or secret is incorrect.")
        if form["grant_type"] != "refresh_token":
            return self.oauth_error("unsupported_grant_type",
                                    "this fake serves grant_type=refresh_token only")
        token = form.get("refresh_token", "")
        if not token:
            return self.oauth_error("invalid_request", "refresh_token is required")
        self.refreshes.append(token)
        grant = self.refresh_tokens.get(token)
        now = time.time()
        if grant is None or grant["expires_at"] <= now:
            self.refresh_tokens.pop(token, None)
            reason = ("was replaced by a newer refresh token"
                      if token in self.retired_refresh_tokens else "is invalid or expired")
            return self.oauth_error("invalid_grant", f"Refresh token {reason}.")
        access = "act." + secrets.token_hex(20)
        self.tokens[access] = set(grant["scopes"])
        self.token_expiry[access] = now + self.access_ttl
        new_refresh = token
        if self.rotate_refresh_tokens:
            new_refresh = "rft." + secrets.token_hex(20)
            del self.refresh_tokens[token]
            self.retired_refresh_tokens.add(token)
            self.refresh_tokens[new_refresh] = grant
        return {"open_id": grant["open_id"], "scope": ",".join(sorted(grant["scopes"])),
                "access_token": access, "expires_in": self.access_ttl,
                "refresh_token": new_refresh,
                "refresh_expires_in": int(grant["expires_at"] - now), "token_type": "Bearer"}

    @route("POST", r"/v2/post/publish/creator_info/query/")
    def creator_info(self, request):
        _, refusal = self.authorize(request, "video.publish")
        if refusal:
            return refusal
        return self.answer(data=dict(self.creator))

    @route("POST", r"/v2/post/publish/video/init/")
    def init(self, request):
        token, refusal = self.authorize(request, "video.publish")
        if refusal:
            return refusal
        now = time.time()
        times = [t for t in self.init_times.get(token, []) if t > now - self.init_window]
        if len(times) >= self.init_limit:
            wait = max(1, int(times[0] + self.init_window - now + 0.999))
            self.init_times[token] = times
            return self.answer(429, code="rate_limit_exceeded",
                               message="The API rate limit was exceeded. Please try again later.",
                               headers={"Retry-After": str(wait)})
        times.append(now)
        self.init_times[token] = times

        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return self.invalid("Content-Type must be application/json; charset=UTF-8")
        body = request.json()
        if not isinstance(body, dict):
            return self.invalid("the body is not a JSON object")
        post_info = body.get("post_info")
        source_info = body.get("source_info")
        if not isinstance(post_info, dict):
            return self.invalid("post_info is required")
        if not isinstance(source_info, dict):
            return self.invalid("source_info is required")

        privacy = post_info.get("privacy_level")
        if privacy not in self.creator["privacy_level_options"]:
            return self.answer(403, code="privacy_level_option_mismatch",
                               message="privacy_level is unspecified or not one of the "
                                       "privacy_level_options in the creator_info response.")
        title = post_info.get("title", "")
        if not isinstance(title, str) or utf16_units(title) > MAX_TITLE_UTF16:
            return self.invalid("post_info.title must be a string of at most 2200 UTF-16 runes")
        for flag in ("disable_comment", "disable_duet", "disable_stitch", "brand_content_toggle",
                     "brand_organic_toggle"):
            if flag in post_info and not isinstance(post_info[flag], bool):
                return self.invalid(f"post_info.{flag} must be a boolean")
        for flag, setting in (("disable_comment", "comment_disabled"),
                              ("disable_duet", "duet_disabled"),
                              ("disable_stitch", "stitch_disabled")):
            if self.creator.get(setting) and post_info.get(flag) is not True:
                return self.invalid(f"post_info.{flag} must be true: the creator turned it off")
        cover = post_info.get("video_cover_timestamp_ms", 0)
        if not isinstance(cover, int) or isinstance(cover, bool) or cover < 0:
            return self.invalid("post_info.video_cover_timestamp_ms must be a non-negative int")

        source = source_info.get("source")
        if source == "PULL_FROM_URL":
            return self.answer(403, code="url_ownership_unverified",
                               message="the domain or URL prefix of video_url is not verified")
        if source != "FILE_UPLOAD":
            return self.invalid("source_info.source must be FILE_UPLOAD or PULL_FROM_URL")
        problem = self.check_chunks(source_info)
        if problem:
            return self.invalid(problem)

        if self.pending_shares() >= self.pending_share_limit:
            return self.answer(403, code="spam_risk_too_many_pending_share",
                               message="The number of pending shares has reached the limit "
                                       "(5 within 24 hours).")
        if self.daily_post_cap is not None:
            day_ago = now - 24 * 3600
            if sum(1 for u in self.uploads.values() if u.created_at > day_ago) >= self.daily_post_cap:
                return self.answer(403, code="spam_risk_too_many_posts",
                                   message="The daily post cap from the API is reached for the "
                                           "current user.")

        publish_id = "v_pub_file~v2-1." + str(7_300_000_000_000_000_000 + len(self.uploads) + 1)
        upload = Upload(publish_id, token, dict(post_info), source_info["video_size"],
                        source_info["chunk_size"], source_info["total_chunk_count"])
        self.uploads[publish_id] = upload
        self.init_bodies.append(body)
        self.arm_chunk_fault(0)
        upload_url = (f"{self.url}/upload/video/{upload.upload_id}/"
                      f"?upload_id={upload.upload_id}&upload_token={upload.upload_token}")
        return self.answer(data={"publish_id": publish_id, "upload_url": upload_url})

    def invalid(self, message):
        return self.answer(400, code="invalid_params", message=message)

    @staticmethod
    def check_chunks(source_info):
        """The Media Transfer Guide's chunk restrictions; None when they hold."""
        video_size = source_info.get("video_size")
        chunk_size = source_info.get("chunk_size")
        count = source_info.get("total_chunk_count")
        for name, value in (("video_size", video_size), ("chunk_size", chunk_size),
                            ("total_chunk_count", count)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                return f"source_info.{name} is required and must be a positive integer"
        if count != video_size // chunk_size:
            return (f"source_info.total_chunk_count must be video_size / chunk_size rounded down "
                    f"({video_size // chunk_size}), not {count}")
        if not 1 <= count <= MAX_CHUNKS:
            return "source_info.total_chunk_count must be between 1 and 1000"
        if video_size < MIN_CHUNK:
            if chunk_size != video_size:
                return ("source_info.chunk_size must equal video_size for a video under 5 MB "
                        "(it is uploaded whole)")
            return None
        if chunk_size < MIN_CHUNK or chunk_size > MAX_CHUNK:
            return "source_info.chunk_size must be between 5 MB and 64 MB"
        last = video_size - (count - 1) * chunk_size
        if last > MAX_LAST_CHUNK:
            return "the last chunk would be larger than 128 MB"
        return None

    def arm_chunk_fault(self, index):
        fault = self.chunk_faults.pop(index, None)
        if fault is not None:
            self.fail_next("PUT", r"^/upload/", **fault)

    @route("PUT", r"/upload/video/(\w+)/")
    def put_chunk(self, request):
        upload_id = request.match.group(1)
        upload = next((u for u in self.uploads.values() if u.upload_id == upload_id), None)
        if upload is None or request.arg("upload_token") != upload.upload_token:
            return Response(404, {"error": "unknown upload"})
        if not request.headers.get("Content-Type", "").startswith("video/"):
            return Response(400, {"error": "Content-Type must be the video's MIME type"})
        match = CONTENT_RANGE.fullmatch(request.headers.get("Content-Range", ""))
        if not match:
            return Response(400, {"error": "Content-Range must be 'bytes FIRST-LAST/TOTAL'"})
        first, last, total = (int(group) for group in match.groups())
        if total != upload.video_size:
            return Response(400, {"error": f"Content-Range total {total} is not the video_size "
                                           f"{upload.video_size} given at init"})
        index = len(upload.chunks)
        if index >= upload.chunk_count:
            return Response(416, {"error": "every chunk was already received"})
        expected_first, expected_last = upload.chunk_range(index)
        if first != expected_first:
            return Response(416, {"error": f"chunks must be uploaded in order: expected the "
                                           f"chunk at byte {expected_first}, got {first}"})
        if last != expected_last:
            return Response(400, {"error": f"chunk {index + 1} must end at byte {expected_last}, "
                                           f"not {last}"})
        if len(request.body) != last - first + 1:
            return Response(400, {"error": f"the body is {len(request.body)} bytes; the "
                                           f"Content-Range says {last - first + 1}"})
        upload.chunks.append(request.body)
        self.arm_chunk_fault(index + 1)
        if len(upload.chunks) < upload.chunk_count:
            return Response(206, b"")
        self.publish(upload)
        return Response(201, b"")

    def publish(self, upload):
        """Every chunk is in: the post exists (TikTok still processes it)."""
        video_id = str(7_400_000_000_000_000_000 + len(self.posts) + 1)
        info = upload.post_info
        upload.post = {
            "id": video_id,
            "publish_id": upload.publish_id,
            "title": info.get("title", ""),
            "privacy_level": info.get("privacy_level"),
            "disable_comment": info.get("disable_comment", False),
            "disable_duet": info.get("disable_duet", False),
            "disable_stitch": info.get("disable_stitch", False),
            "video_cover_timestamp_ms": info.get("video_cover_timestamp_ms", 0),
            "chunk_sizes": [len(chunk) for chunk in upload.chunks],
            "bytes": b"".join(upload.chunks),
        }
        self.posts.append(upload.post)
        self.counters.setdefault(video_id, {"view_count": 0, "like_count": 0,
                                            "comment_count": 0, "share_count": 0})

    @route("POST", r"/v2/post/publish/status/fetch/")
    def status(self, request):
        token, refusal = self.authorize(request, "video.publish")
        if refusal:
            return refusal
        body = request.json() or {}
        upload = self.uploads.get(body.get("publish_id"))
        if upload is None or upload.token != token:
            return self.invalid("publish_id does not exist or does not belong to this user")
        data = {"status": "PROCESSING_UPLOAD", "uploaded_bytes": upload.received()}
        if upload.post is not None:
            upload.polls_after_complete += 1
            if upload.polls_after_complete > self.processing_polls:
                if self.processing_failure:
                    data = {"status": "FAILED", "fail_reason": self.processing_failure}
                else:
                    private = upload.post["privacy_level"] == "SELF_ONLY"
                    ids = [int(upload.post["id"])] if self.ids_for_private_posts or not private \
                        else []
                    data = {"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": ids,
                            "uploaded_bytes": upload.video_size}
        return self.answer(data=data)

    @route("POST", r"/v2/video/query/")
    def video_query(self, request):
        token, refusal = self.authorize(request, "video.list")
        if refusal:
            return refusal
        fields = [f for f in (request.arg("fields") or "").split(",") if f]
        if not fields:
            return self.invalid("fields is required")
        body = request.json() or {}
        ids = ((body.get("filters") or {}).get("video_ids")) or []
        if not isinstance(ids, list) or not 1 <= len(ids) <= 20:
            return self.invalid("filters.video_ids must list 1 to 20 video ids")
        mine = {u.post["id"] for u in self.uploads.values() if u.token == token and u.post}
        videos = []
        for video_id in ids:
            if str(video_id) not in mine:
                continue
            counters = self.counters.get(str(video_id), {})
            video = {"id": str(video_id)}
            for field in fields:
                if field != "id":
                    video[field] = counters.get(field, 0)
            videos.append(video)
        return self.answer(data={"videos": videos, "cursor": 0, "has_more": False})


if __name__ == "__main__":
    serve_main(TikTokFake)
