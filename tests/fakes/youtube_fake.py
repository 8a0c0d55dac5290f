"""YouTubeFake: a local stand-in for the parts of the YouTube Data API v3 that youtube.publish
uses, strict where YouTube is documented to be strict, so that a test against it catches a
publisher that would fail against the real API.

Implemented (plugins/youtube/README.md cites the documentation pages):
  POST /upload/youtube/v3/videos?uploadType=resumable&part=...   videos.insert, resumable: checks
      the bearer token, the quota, X-Upload-Content-Length / X-Upload-Content-Type, the video
      resource (snippet.title required, <= 100 characters, no '<' '>'; description <= 5000 bytes,
      no '<' '>'; tags <= 500 characters as YouTube counts them; a known categoryId;
      privacyStatus; publishAt only with private and in the future; selfDeclaredMadeForKids a
      boolean) and answers 200 with the session URI in Location.
  PUT <session URI>   a chunk "Content-Range: bytes a-b/total": refused with 400 when it does not
      start at the next expected byte, when its length is not b-a+1, or when a chunk that is not
      the last is not a multiple of 256 KiB; answered 308 with "Range: bytes=0-N" (no Range while
      nothing is stored), and on the last byte with 200 and the new video resource, created once
      per session. The probe "Content-Range: bytes */total" with an empty body answers the same
      way (308, or 200 with the video once it exists). An unknown or expired session is 404.
  POST /upload/youtube/v3/thumbnails/set?videoId=ID   JPEG/PNG up to 2 MB; 403 when switched off.
  GET /youtube/v3/videos?part=...&id=...   videos.list with the parts asked for (status,
      processingDetails, statistics, snippet). A new video answers uploadStatus "uploaded" to the
      last chunk and moves to `next_upload_status` ("processed" unless a test says otherwise) on
      its first listing.
  POST /token   Google's OAuth 2.0 token endpoint (oauth2.googleapis.com/token),
      application/x-www-form-urlencoded, grant_type=refresh_token with client_id, client_secret
      and refresh_token: 200 {"access_token", "expires_in": 3599, "scope", "token_type":
      "Bearer"}, a new access token valid for `access_token_lifetime` seconds; the refresh token
      is kept (Google does not rotate it, so the answer has none). An unknown, revoked or expired
      refresh token, or one issued to another client, answers 400 {"error": "invalid_grant",
      "error_description": "Token has been expired or revoked."}; an unknown client or a wrong
      secret 401 invalid_client; another grant_type 400 unsupported_grant_type; a missing
      parameter 400 invalid_request. Every call is in `token_requests`.
  Errors in Google's envelope: {"error": {"code", "message", "errors": [{"domain", "reason",
  "message", "location"?}]}}.

Switches for tests: expire_token() (every access token answers 401 authError from then on),
revoke_access_token(token) (that one only), add_client(id, secret) and
add_refresh_token(token, client_id, expires_in=None) (what refresh may use; expires_in: a
"Testing" app's refresh token that lapses), revoke_refresh_token(token),
access_token_lifetime (seconds the tokens it issues last),
revoke_token_after_chunks(n), expire_sessions() and expire_sessions_after_chunks(n) (404),
exhaust_quota(reason) (403 quotaExceeded, or 400 uploadLimitExceeded), lock_private (an
unaudited API project: every video becomes private), thumbnails_forbidden,
next_upload_status = ("rejected", "duplicate"), drop_chunk(start, after) (the chunk PUT
starting at byte `start` is cut off after `after` body bytes: nothing of it is stored),
fail_chunk(start, status, keep) (stores the first `keep` bytes of that chunk, then answers
`status`), and fail_next(...) from FakePlatform.

What is not implemented: other upload types (media, multipart), parts other than snippet/status
on insert, localizations, the quota arithmetic (a switch stands in for it), the authorization
code grant (the account arrives with its tokens), Google's limits on live refresh tokens, and
the session expiring on its own after a week.

`python3 tests/fakes/youtube_fake.py --port 0` serves it; the access token it accepts is
"yt-access-token".
"""
import datetime
import os
import random
import re
import socket
import string
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_platform import FakePlatform, Response, route, serve_main  # noqa: E402

CHUNK_GRANULARITY = 256 * 1024
TITLE_MAX_CHARS = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX_CHARS = 500
THUMBNAIL_MAX_BYTES = 2_000_000
# Categories a US channel may assign (videoCategories.list regionCode=US, assignable=true).
ASSIGNABLE_CATEGORIES = {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26",
                         "27", "28", "29"}
PRIVACY_VALUES = {"public", "unlisted", "private"}
INSERT_PARTS = {"snippet", "status", "contentDetails", "id", "processingDetails", "statistics"}


def google_error(status, reason, message, domain="youtube.video", location=None):
    error = {"message": message, "domain": domain, "reason": reason}
    if location:
        error["location"] = location
        error["locationType"] = "other"
    return Response(status, {"error": {"code": status, "message": message, "errors": [error]}})


def utf16_length(text):
    return len(text.encode("utf-16-le")) // 2


def tags_length(tags):
    total = max(len(tags) - 1, 0)
    for tag in tags:
        total += utf16_length(tag) + (2 if " " in tag else 0)
    return total


def parse_time(text):
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return value if value.tzinfo else None


class YouTubeFake(FakePlatform):
    name = "youtube"

    def __init__(self, port=0, token="yt-access-token"):
        super().__init__(port)
        self.tokens = {token: None}  # access token -> time.time() it expires at (None: never)
        self.clients = {}            # OAuth client id -> secret
        self.refresh_tokens = {}     # refresh token -> {"client_id", "expires", "revoked"}
        self.token_requests = []     # every POST /token: dicts with grant_type, refresh_token,
        #                              client_id, outcome ("issued" or the error), access_token
        self.access_token_lifetime = 3599
        self.sessions = {}     # upload_id -> session dict
        self.videos = {}       # video_id -> video resource (what videos.list serves)
        self.video_bytes = {}  # video_id -> the uploaded file
        self.thumbnails = {}   # video_id -> (content type, bytes)
        self.chunks = []       # every chunk PUT and probe: dicts with upload_id, kind, start, end,
        #                        length, outcome ("stored", "dropped", "failed", "refused", "probe")
        self.timeline = []     # (time.monotonic(), method, path) of every request
        self.quota_reason = None
        self.lock_private = False
        self.thumbnails_forbidden = False
        self.next_upload_status = ("processed", None)
        self._revoke_after_chunks = None
        self._expire_after_chunks = None
        self._chunk_faults = []  # dicts: start, drop_after | status, keep, headers

    # ---------------------------------------------------------------- switches for tests

    def expire_token(self):
        with self.lock:
            self.tokens.clear()

    def revoke_access_token(self, token):
        """That access token answers 401 from now on (revoked before its expiry)."""
        with self.lock:
            self.tokens.pop(token, None)

    def add_access_token(self, token, expires_in=None):
        with self.lock:
            self.tokens[token] = None if expires_in is None else time.time() + expires_in

    def add_client(self, client_id, client_secret):
        with self.lock:
            self.clients[client_id] = client_secret

    def add_refresh_token(self, refresh_token, client_id, expires_in=None):
        """A refresh token issued to `client_id`; expires_in: seconds until it lapses (an
        unverified app in "Testing" publishing status gets refresh tokens that last 7 days)."""
        with self.lock:
            self.refresh_tokens[refresh_token] = {
                "client_id": client_id, "revoked": False,
                "expires": None if expires_in is None else time.time() + expires_in}

    def revoke_refresh_token(self, refresh_token):
        """The user removed the app's access: the refresh token and every access token it
        issued stop working."""
        with self.lock:
            entry = self.refresh_tokens.get(refresh_token)
            if entry is not None:
                entry["revoked"] = True
                for token in entry.get("issued", []):
                    self.tokens.pop(token, None)

    def issued_tokens(self):
        """The access tokens /token issued, oldest first."""
        with self.lock:
            return [r["access_token"] for r in self.token_requests if r.get("access_token")]

    def bearers(self, method, pattern):
        """The bearer token of every request matching METHOD and the path regex, in order."""
        regex = re.compile(pattern)
        with self.lock:
            return [(h.get("Authorization") or "")[7:] for m, p, h, _ in self.requests
                    if m == method and regex.search(p)]

    def revoke_token_after_chunks(self, count):
        """The token stops working once `count` more chunks have been stored."""
        with self.lock:
            self._revoke_after_chunks = count

    def expire_sessions_after_chunks(self, count):
        """Every session expires once `count` more chunks have been stored."""
        with self.lock:
            self._expire_after_chunks = count

    def expire_sessions(self):
        with self.lock:
            for session in self.sessions.values():
                session["expired"] = True

    def exhaust_quota(self, reason="quotaExceeded"):
        with self.lock:
            self.quota_reason = reason

    def drop_chunk(self, start, after=1000):
        """Cut off the connection of the chunk PUT starting at byte `start` after `after` body
        bytes (nothing of that chunk is stored)."""
        with self.lock:
            self._chunk_faults.append({"start": start, "drop_after": after})

    def fail_chunk(self, start, status=503, keep=0, headers=None):
        """Store the first `keep` bytes (a multiple of 256 KiB) of the chunk PUT starting at byte
        `start`, then answer `status` (as a backend that persisted part of it before failing)."""
        assert keep % CHUNK_GRANULARITY == 0
        with self.lock:
            self._chunk_faults.append({"start": start, "status": status, "keep": keep,
                                       "headers": headers or {}})

    # ---------------------------------------------------------------- what tests read

    @property
    def posts(self):
        """The videos created, oldest first."""
        with self.lock:
            return list(self.videos.values())

    def insert_metadata(self):
        """The video resources sent to videos.insert (one per session), oldest first."""
        with self.lock:
            return [session["metadata"] for session in self.sessions.values()]

    def times_of(self, method, pattern):
        regex = re.compile(pattern)
        with self.lock:
            return [t for t, m, p in self.timeline if m == method and regex.search(p)]

    # ---------------------------------------------------------------- the server

    def _serve(self, handler):
        path = urllib.parse.urlsplit(handler.path).path
        with self.lock:
            self.timeline.append((time.monotonic(), handler.command, path))
        if handler.command == "PUT":
            fault = self._take_chunk_fault(handler.headers.get("Content-Range", ""), "drop_after")
            if fault is not None:
                length = int(handler.headers.get("Content-Length") or 0)
                handler.rfile.read(min(length, fault["drop_after"]))
                handler.close_connection = True
                try:
                    handler.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                start, end, _ = self._parse_range(handler.headers.get("Content-Range", ""))
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
                with self.lock:
                    self.requests.append(("PUT", path, dict(handler.headers), -1))
                    self.chunks.append({"upload_id": (query.get("upload_id") or [""])[0],
                                        "kind": "chunk", "start": start, "end": end,
                                        "length": length, "outcome": "dropped"})
                return
        super()._serve(handler)

    def _take_chunk_fault(self, content_range, kind):
        start, _, _ = self._parse_range(content_range)
        if start is None:
            return None
        with self.lock:
            for fault in self._chunk_faults:
                if fault["start"] == start and kind in fault:
                    self._chunk_faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _parse_range(content_range):
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range.strip())
        if not match:
            return None, None, None
        return int(match.group(1)), int(match.group(2)), int(match.group(3))

    def _token_valid(self, token):
        if token is None or token not in self.tokens:
            return False
        expires = self.tokens[token]
        return expires is None or time.time() < expires

    def _auth(self, request):
        token = request.bearer()
        if not self._token_valid(token):
            return Response(401, {"error": {
                "code": 401,
                "message": "Request had invalid authentication credentials. Expected OAuth 2 "
                           "access token, login cookie or other valid authentication credential.",
                "errors": [{"message": "Invalid Credentials", "domain": "global",
                            "reason": "authError", "location": "Authorization",
                            "locationType": "header"}],
                "status": "UNAUTHENTICATED"}})
        return None

    def _quota(self):
        if self.quota_reason == "quotaExceeded":
            return google_error(403, "quotaExceeded",
                                "The request cannot be completed because you have exceeded your "
                                "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
                                domain="youtube.quota")
        if self.quota_reason == "uploadLimitExceeded":
            return google_error(400, "uploadLimitExceeded",
                                "The user has exceeded the number of videos they may upload.")
        return None

    @route("POST", r"/token")
    def token(self, request):
        """Google's OAuth 2.0 token endpoint, the refresh_token grant."""
        fields = request.form() if request.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded") else {}
        log = {"grant_type": fields.get("grant_type"), "client_id": fields.get("client_id"),
               "refresh_token": fields.get("refresh_token"), "outcome": None,
               "access_token": None}
        self.token_requests.append(log)

        def refuse(status, error, description):
            log["outcome"] = error
            return Response(status, {"error": error, "error_description": description})

        if not fields:
            return refuse(400, "invalid_request", "the body must be "
                          "application/x-www-form-urlencoded parameters")
        if fields.get("grant_type") != "refresh_token":
            return refuse(400, "unsupported_grant_type", "Invalid grant_type: "
                          + str(fields.get("grant_type")))
        for name in ("client_id", "client_secret", "refresh_token"):
            if not fields.get(name):
                return refuse(400, "invalid_request", f"Missing required parameter: {name}")
        if self.clients.get(fields["client_id"]) != fields["client_secret"]:
            return refuse(401, "invalid_client", "Unauthorized")
        entry = self.refresh_tokens.get(fields["refresh_token"])
        if (entry is None or entry["revoked"] or entry["client_id"] != fields["client_id"]
                or (entry["expires"] is not None and time.time() >= entry["expires"])):
            return refuse(400, "invalid_grant", "Token has been expired or revoked.")
        access_token = "ya29.fake-" + "".join(
            random.choices(string.ascii_letters + string.digits, k=32))
        self.tokens[access_token] = time.time() + self.access_token_lifetime
        entry.setdefault("issued", []).append(access_token)
        log["outcome"] = "issued"
        log["access_token"] = access_token
        return Response(200, {"access_token": access_token,
                              "expires_in": self.access_token_lifetime,
                              "scope": "https://www.googleapis.com/auth/youtube.upload",
                              "token_type": "Bearer"})

    @route("POST", r"/upload/youtube/v3/videos")
    def insert(self, request):
        refusal = self._auth(request) or self._quota()
        if refusal:
            return refusal
        if request.arg("uploadType") != "resumable":
            return google_error(400, "invalidUploadType",
                                "this fake implements uploadType=resumable only",
                                domain="global", location="uploadType")
        parts = [p for p in (request.arg("part") or "").split(",") if p]
        if not parts:
            return google_error(400, "missingRequiredParameter",
                                "No filter selected. Expected one of: part", domain="global",
                                location="part")
        unknown = [p for p in parts if p not in INSERT_PARTS]
        if unknown:
            return google_error(400, "unexpectedPart", f"unknown part {unknown[0]}",
                                location="part")
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return google_error(400, "parseError", "the metadata must be application/json",
                                domain="global")
        try:
            total = int(request.headers.get("X-Upload-Content-Length", ""))
        except ValueError:
            total = 0
        if total <= 0:
            return google_error(400, "badContent",
                                "X-Upload-Content-Length must give the size of the video",
                                domain="global", location="X-Upload-Content-Length")
        content_type = request.headers.get("X-Upload-Content-Type", "")
        if not (content_type.startswith("video/") or content_type == "application/octet-stream"):
            return google_error(400, "badContent",
                                "Media type '" + content_type + "' is not supported.",
                                domain="global", location="X-Upload-Content-Type")
        metadata = request.json()
        if not isinstance(metadata, dict):
            return google_error(400, "parseError", "Parse Error", domain="global")
        refusal = self._check_metadata(metadata)
        if refusal:
            return refusal
        upload_id = "".join(random.choices(string.ascii_letters + string.digits, k=24))
        self.sessions[upload_id] = {"metadata": metadata, "parts": parts, "total": total,
                                    "content_type": content_type, "data": bytearray(),
                                    "video_id": None, "expired": False}
        location = f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
        return Response(200, b"", {"Location": location})

    @staticmethod
    def _check_metadata(metadata):
        snippet = metadata.get("snippet") or {}
        status = metadata.get("status") or {}
        title = snippet.get("title")
        if not isinstance(title, str) or not title.strip():
            return google_error(400, "invalidTitle", "The request metadata specifies an invalid "
                                "or empty video title.", location="body.snippet.title")
        if utf16_length(title) > TITLE_MAX_CHARS or "<" in title or ">" in title:
            return google_error(400, "invalidTitle",
                                "The request metadata specifies an invalid video title.",
                                location="body.snippet.title")
        description = snippet.get("description", "")
        if (not isinstance(description, str) or len(description.encode()) > DESCRIPTION_MAX_BYTES
                or "<" in description or ">" in description):
            return google_error(400, "invalidDescription",
                                "The request metadata specifies an invalid video description.",
                                location="body.snippet.description")
        tags = snippet.get("tags", [])
        if (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
                or tags_length(tags) > TAGS_MAX_CHARS):
            return google_error(400, "invalidTags",
                                "The request metadata specifies invalid video keywords.",
                                location="body.snippet.tags")
        category = snippet.get("categoryId")
        if category is not None and category not in ASSIGNABLE_CATEGORIES:
            return google_error(400, "invalidCategoryId",
                                "The <code>snippet.categoryId</code> property specifies an "
                                "invalid category ID.", location="body.snippet.categoryId")
        privacy = status.get("privacyStatus", "public")
        if privacy not in PRIVACY_VALUES:
            return google_error(400, "invalidVideoMetadata",
                                "The request metadata is invalid (status.privacyStatus).",
                                location="body.status.privacyStatus")
        if "publishAt" in status:
            when = parse_time(status["publishAt"]) if isinstance(status["publishAt"], str) else None
            if (privacy != "private" or when is None
                    or when <= datetime.datetime.now(datetime.timezone.utc)):
                return google_error(400, "invalidPublishAt",
                                    "The request metadata specifies an invalid scheduled "
                                    "publishing time.", location="body.status.publishAt")
        if "selfDeclaredMadeForKids" in status and not isinstance(
                status["selfDeclaredMadeForKids"], bool):
            return google_error(400, "invalidVideoMetadata",
                                "status.selfDeclaredMadeForKids must be a boolean",
                                location="body.status.selfDeclaredMadeForKids")
        return None

    @route("PUT", r"/upload/youtube/v3/videos")
    def put(self, request):
        upload_id = request.arg("upload_id", "")
        session = self.sessions.get(upload_id)
        if session is None or session["expired"]:
            return google_error(404, "notFound", "The upload session was not found or expired.",
                                domain="global")
        refusal = self._auth(request)
        if refusal:
            return refusal
        content_range = request.headers.get("Content-Range", "").strip()
        probe = re.fullmatch(r"bytes \*/(\d+)", content_range)
        if probe:
            self.chunks.append({"upload_id": upload_id, "kind": "probe", "start": None,
                                "end": None, "length": len(request.body), "outcome": "probe"})
            if request.body or int(probe.group(1)) != session["total"]:
                return google_error(400, "badContent", "a status query has an empty body and "
                                    "the session's total size", domain="global")
            return self._progress(session)
        start, end, total = self._parse_range(content_range)
        log = {"upload_id": upload_id, "kind": "chunk", "start": start, "end": end,
               "length": len(request.body), "outcome": "refused"}
        self.chunks.append(log)
        if start is None:
            return google_error(400, "badContent", "Content-Range must be 'bytes a-b/total' or "
                                "'bytes */total'", domain="global")
        if session["video_id"] is not None:
            return self._progress(session)
        expected = len(session["data"])
        if total != session["total"]:
            return google_error(400, "badContent", f"Content-Range total {total} differs from "
                                f"X-Upload-Content-Length {session['total']}", domain="global")
        if start != expected:
            return google_error(400, "badContent", f"Content-Range starts at byte {start}; the "
                                f"next expected byte is {expected}", domain="global")
        if end < start or end >= total or len(request.body) != end - start + 1:
            return google_error(400, "badContent", f"Content-Range {start}-{end} does not match "
                                f"the {len(request.body)} bytes sent", domain="global")
        if end + 1 < total and len(request.body) % CHUNK_GRANULARITY:
            return google_error(400, "badContent", f"a chunk other than the last must be a "
                                f"multiple of {CHUNK_GRANULARITY} bytes; got {len(request.body)}",
                                domain="global")
        fault = None
        for candidate in self._chunk_faults:
            if candidate["start"] == start and "status" in candidate:
                fault = candidate
                break
        if fault:
            self._chunk_faults.remove(fault)
            session["data"] += request.body[:fault["keep"]]
            log["outcome"] = "failed"
            log["kept"] = fault["keep"]
            return Response(fault["status"], {"error": {
                "code": fault["status"], "message": "Backend Error",
                "errors": [{"domain": "global", "reason": "backendError",
                            "message": "Backend Error"}]}}, fault["headers"])
        session["data"] += request.body
        log["outcome"] = "stored"
        if self._revoke_after_chunks is not None:
            self._revoke_after_chunks -= 1
            if self._revoke_after_chunks <= 0:
                self._revoke_after_chunks = None
                self.tokens.clear()
        if self._expire_after_chunks is not None:
            self._expire_after_chunks -= 1
            if self._expire_after_chunks <= 0:
                self._expire_after_chunks = None
                for other in self.sessions.values():
                    other["expired"] = True
        if len(session["data"]) == session["total"]:
            self._create_video(session)
        return self._progress(session)

    def _progress(self, session):
        if session["video_id"] is not None:
            video = self.videos[session["video_id"]]
            parts = set(session["parts"]) | {"id"}
            return Response(200, self._resource(video, parts))
        received = len(session["data"])
        headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
        return Response(308, b"", headers)

    def _create_video(self, session):
        video_id = "".join(random.choices(string.ascii_letters + string.digits + "-_", k=11))
        metadata = session["metadata"]
        snippet = dict(metadata.get("snippet") or {})
        status_in = metadata.get("status") or {}
        privacy = status_in.get("privacyStatus", "public")
        if self.lock_private:
            privacy = "private"
        made_for_kids = bool(status_in.get("selfDeclaredMadeForKids", False))
        status = {"uploadStatus": "uploaded", "privacyStatus": privacy, "license": "youtube",
                  "embeddable": True, "publicStatsViewable": True, "madeForKids": made_for_kids,
                  "selfDeclaredMadeForKids": made_for_kids}
        if "publishAt" in status_in:
            status["publishAt"] = status_in["publishAt"]
        snippet.setdefault("categoryId", "22")
        snippet["channelId"] = "UCfakechannel000000000000"
        snippet["publishedAt"] = datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        self.videos[video_id] = {
            "kind": "youtube#video", "id": video_id, "snippet": snippet, "status": status,
            "processingDetails": {"processingStatus": "processing"},
            "statistics": {"viewCount": "0", "likeCount": "0", "favoriteCount": "0",
                           "commentCount": "0"}}
        self.video_bytes[video_id] = bytes(session["data"])
        session["video_id"] = video_id

    @staticmethod
    def _resource(video, parts):
        return {key: value for key, value in video.items() if key in parts or key == "kind"}

    @route("GET", r"/youtube/v3/videos")
    def list_videos(self, request):
        refusal = self._auth(request) or self._quota()
        if refusal:
            return refusal
        parts = [p for p in (request.arg("part") or "").split(",") if p]
        if not parts:
            return google_error(400, "missingRequiredParameter",
                                "No filter selected. Expected one of: part", domain="global",
                                location="part")
        ids = [i for i in (request.arg("id") or "").split(",") if i]
        items = []
        for video_id in ids:
            video = self.videos.get(video_id)
            if video is None:
                continue
            status = video["status"]
            if status["uploadStatus"] == "uploaded":
                upload_status, reason = self.next_upload_status
                status["uploadStatus"] = upload_status
                if upload_status == "processed":
                    video["processingDetails"]["processingStatus"] = "succeeded"
                elif upload_status == "rejected":
                    status["rejectionReason"] = reason or "duplicate"
                    video["processingDetails"]["processingStatus"] = "terminated"
                elif upload_status == "failed":
                    status["failureReason"] = reason or "codec"
                    video["processingDetails"]["processingStatus"] = "failed"
            items.append(self._resource(video, set(parts) | {"id"}))
        return Response(200, {"kind": "youtube#videoListResponse", "items": items,
                              "pageInfo": {"totalResults": len(items),
                                           "resultsPerPage": len(items)}})

    @route("POST", r"/upload/youtube/v3/thumbnails/set")
    def set_thumbnail(self, request):
        refusal = self._auth(request) or (self._quota() if self.quota_reason == "quotaExceeded"
                                          else None)
        if refusal:
            return refusal
        video_id = request.arg("videoId", "")
        if video_id not in self.videos:
            return google_error(404, "videoNotFound",
                                "The video that you are trying to update cannot be found.",
                                location="videoId")
        if self.thumbnails_forbidden:
            return google_error(403, "forbidden", "The authenticated user doesn't have "
                                "permissions to upload and set custom video thumbnails.")
        content_type = request.headers.get("Content-Type", "")
        if not request.body:
            return google_error(400, "mediaBodyRequired",
                                "The request does not include the image content.")
        if content_type not in ("image/jpeg", "image/png", "application/octet-stream"):
            return google_error(400, "invalidImage", "The provided image content is invalid.")
        if len(request.body) > THUMBNAIL_MAX_BYTES:
            return google_error(413, "mediaBodyTooLarge", "The image is larger than 2MB.",
                                domain="global")
        self.thumbnails[video_id] = (content_type, bytes(request.body))
        return Response(200, {"kind": "youtube#thumbnailSetResponse", "items": [
            {"default": {"url": f"{self.url}/vi/{video_id}/default.jpg", "width": 120,
                         "height": 90}}]})


if __name__ == "__main__":
    serve_main(YouTubeFake)
