"""A local fake of the Kuaishou Open Platform's content API (open.kuaishou.com) and of its upload
gateway, as far as kuaishou.publish uses them: photo/start_upload, the gateway's fragment upload
(/api/upload/fragment, /api/upload/complete), photo/publish, photo/info and photo/list. Kuaishou
answers HTTP 200 with a `result` code (1 is success) and refuses:

- an access_token or app_id that is not the account's (result 100200102 / 100200101), an expired
  token (100200108), a revoked one (100200102);
- GET /oauth2/refresh_token (query: app_id, app_secret, refresh_token, grant_type=refresh_token,
  as documented) answers a new access token (expires_in 48 h; the old one stays valid until its
  own expiry) and a NEW refresh token that keeps the old one's expiry
  (refresh_token_expires_in); the old refresh token stops working at once. A rotated-away,
  revoked or unknown refresh token gets 100200105 (invalid grant), an expired one 100200113, a
  wrong app_id/app_secret 100200101, a missing field 100200100;
- fragments out of order (fragment_id from 0; sending an already received fragment again
  replaces it), an empty fragment or one above 10 MiB (MAX_FRAGMENT_BYTES);
- complete with a fragment_count other than the fragments received, or with one missing;
- publish before the upload is complete, a second publish of one upload_token, no cover or a
  cover that is not a JPEG/PNG image, a caption above MAX_CAPTION characters.

The fake names itself as the upload endpoint ("127.0.0.1:PORT"). A published photo stays
pending for `pending_polls` photo/info calls.

Fault injection on top of FakePlatform's (status codes, dropped connections, delays):
    fake.fail_fragment(1, drop_after=1000)     # the base class's faults, for one fragment id
    fake.fail_result_next(r"/photo/publish", 100200410, "api限流")  # a result code, once
    fake.drop_response_next("POST", r"/photo/publish")  # handle it, then hang up: no reply
    fake.expire_token()                         # the access tokens issued so far expire now
    fake.revoke_access_token()                  # the current access token is refused
    fake.revoke_refresh_token()                 # the current refresh token is refused
    fake.expire_refresh_token_in(86400)         # the current refresh token's remaining life
    fake.token_log                              # the refresh token sent by each refresh
    fake.tokens_used(r"/photo/publish")         # the access_token of each such API call

    python3 tests/fakes/kuaishou_fake.py --port 0
"""
import os
import re
import socket
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_platform import FakePlatform, Response, route, serve_main  # noqa: E402

MiB = 1024 * 1024


class KuaishouFake(FakePlatform):
    name = "kuaishou"
    MAX_FRAGMENT_BYTES = 10 * MiB
    MAX_CAPTION = 500

    ACCESS_TOKEN_SECONDS = 48 * 3600
    REFRESH_TOKEN_SECONDS = 180 * 86400

    def __init__(self, port=0, access_token="ChFvYXV0aC5hY2Nlc3NUb2tlbh-fake-0001",
                 app_id="ks000000000000000001", app_secret="fake-kuaishou-app-secret-01",
                 refresh_token="ChJvYXV0aC5yZWZyZXNoVG9rZW4-fake-0001"):
        super().__init__(port)
        self.clock = time.time
        self.access_token = access_token   # the first access token (the account's secret)
        self.current_access_token = access_token
        self.app_id = app_id
        self.app_secret = app_secret
        self.refresh_token = refresh_token  # the current refresh token
        now = self.clock()
        # token -> {"expires_at", "revoked"}; refresh token -> {"expires_at", "state"}
        self.access_tokens = {access_token: {"expires_at": now + self.ACCESS_TOKEN_SECONDS,
                                             "revoked": False}}
        self.refresh_tokens = {refresh_token: {"expires_at": now + self.REFRESH_TOKEN_SECONDS,
                                               "state": "valid"}}
        self.token_log = []      # the refresh token sent by each refresh
        self.api_log = []        # (path, access_token query) of every request
        self.issued = 0
        self.pending_polls = 1
        self.uploads = {}        # upload_token -> {"fragments": {id: bytes}, "bytes", "published"}
        self.photos = []         # published photos, oldest first
        self.fragment_log = []   # (upload_token, fragment_id, length) of every accepted fragment
        self.result_faults = []  # [regex, code, message, times]
        self.response_drops = []  # [method, regex, times]
        self.fragment_faults = []  # [fragment_id, fail_next kwargs]

    @property
    def endpoint(self):
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    # ---- fault injection ----------------------------------------------------------------

    def fail_result_next(self, pattern, code, message="", times=1):
        """The next `times` requests whose path matches get HTTP 200 with this result code (before
        the handler runs: nothing happens on the platform)."""
        with self.lock:
            self.result_faults.append([re.compile(pattern), code, message, times])

    def drop_response_next(self, method, pattern, times=1):
        """The next matching request is handled (its effect happens), then the connection is
        closed without a reply."""
        with self.lock:
            self.response_drops.append([method, re.compile(pattern), times])

    def fail_fragment(self, fragment_id, **fault):
        """fail_next(**fault) for the next upload of this fragment id."""
        with self.lock:
            self.fragment_faults.append([fragment_id, fault])

    def expire_token(self):
        """Every access token issued so far expires now (calls get 100200108)."""
        with self.lock:
            for state in self.access_tokens.values():
                state["expires_at"] = min(state["expires_at"], self.clock() - 1)

    def revoke_access_token(self, token=None):
        """The current access token (or `token`) is refused from now on (100200102)."""
        with self.lock:
            self.access_tokens[token or self.current_access_token]["revoked"] = True

    def revoke_refresh_token(self):
        with self.lock:
            self.refresh_tokens[self.refresh_token]["state"] = "revoked"

    def expire_refresh_token_in(self, seconds):
        with self.lock:
            self.refresh_tokens[self.refresh_token]["expires_at"] = self.clock() + seconds

    def tokens_used(self, pattern):
        """The access_token query parameter of every request whose path matches, in order."""
        regex = re.compile(pattern)
        with self.lock:
            return [token for path, token in self.api_log if regex.search(path)]

    def _serve(self, handler):
        split = urllib.parse.urlsplit(handler.path)
        if split.path == "/api/upload/fragment":
            fragment_id = (urllib.parse.parse_qs(split.query).get("fragment_id") or [""])[0]
            with self.lock:
                for entry in self.fragment_faults:
                    if str(entry[0]) == fragment_id:
                        self.fragment_faults.remove(entry)
                        self.fail_next("POST", r"^/api/upload/fragment$", **entry[1])
                        break
        super()._serve(handler)

    def _dispatch(self, request):
        with self.lock:
            self.api_log.append((request.path, request.arg("access_token")))
            for fault in self.result_faults:
                if fault[0].search(request.path) and fault[3] > 0:
                    fault[3] -= 1
                    if fault[3] == 0:
                        self.result_faults.remove(fault)
                    return self.error(fault[1], fault[2])
        return super()._dispatch(request)

    def _write(self, handler, response):
        path = urllib.parse.urlsplit(handler.path).path
        with self.lock:
            for drop in self.response_drops:
                if drop[0] == handler.command and drop[1].search(path) and drop[2] > 0:
                    drop[2] -= 1
                    if drop[2] == 0:
                        self.response_drops.remove(drop)
                    handler.close_connection = True
                    try:
                        handler.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
        FakePlatform._write(handler, response)

    # ---- replies ----------------------------------------------------------------------------

    @staticmethod
    def ok(fields=None):
        body = {"result": 1}
        body.update(fields or {})
        return Response(200, body)

    @staticmethod
    def error(code, message):
        return Response(200, {"result": code, "error_msg": message})

    def _auth(self, request):
        if request.arg("app_id") != self.app_id:
            return self.error(100200101, "invalid app_id")
        state = self.access_tokens.get(request.arg("access_token", ""))
        if state is None or state["revoked"]:
            return self.error(100200102, "request denied: invalid access_token")
        if self.clock() >= state["expires_at"]:
            return self.error(100200108, "access_token过期")
        return None

    def _upload(self, request):
        return self.uploads.get(request.arg("upload_token", ""))

    # ---- OAuth: token refresh ----------------------------------------------------------------

    @route("GET", r"/oauth2/refresh_token")
    def oauth_refresh_token(self, request):
        app_id, app_secret = request.arg("app_id"), request.arg("app_secret")
        refresh_token, grant_type = request.arg("refresh_token"), request.arg("grant_type")
        if not app_id or not app_secret or not refresh_token or not grant_type:
            return self.error(100200100, "invalid_request: a parameter is missing")
        if app_id != self.app_id or app_secret != self.app_secret:
            return self.error(100200101, "unauthorized_client")
        if grant_type != "refresh_token":
            return self.error(100200104, "unsupported_grant_type")
        self.token_log.append(refresh_token)
        state = self.refresh_tokens.get(refresh_token)
        if state is None or state["state"] != "valid":
            return self.error(100200105, "invalid_grant: invalid refresh_token")
        now = self.clock()
        if now >= state["expires_at"]:
            return self.error(100200113, "refresh_token过期")
        self.issued += 1
        self.current_access_token = f"ChFvYXV0aC5hY2Nlc3NUb2tlbh-fake-refreshed-{self.issued:04d}"
        self.access_tokens[self.current_access_token] = {
            "expires_at": now + self.ACCESS_TOKEN_SECONDS, "revoked": False}
        state["state"] = "rotated"  # the old refresh token stops working at once
        self.refresh_token = f"ChJvYXV0aC5yZWZyZXNoVG9rZW4-fake-rotated-{self.issued:04d}"
        self.refresh_tokens[self.refresh_token] = {"expires_at": state["expires_at"],
                                                   "state": "valid"}
        return self.ok({"access_token": self.current_access_token,
                        "expires_in": self.ACCESS_TOKEN_SECONDS,
                        "refresh_token": self.refresh_token,
                        "refresh_token_expires_in": int(state["expires_at"] - now),
                        "scopes": ["user_info", "user_video_publish"]})

    # ---- open API: upload session ----------------------------------------------------------

    @route("POST", r"/openapi/photo/start_upload")
    def start_upload(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        token = uuid.uuid4().hex[:15]
        self.uploads[token] = {"fragments": {}, "bytes": None, "published": None}
        return self.ok({"upload_token": token, "endpoint": self.endpoint})

    # ---- upload gateway ---------------------------------------------------------------------

    @route("POST", r"/api/upload/fragment")
    def upload_fragment(self, request):
        upload = self._upload(request)
        if upload is None:
            return self.error(100200100, "invalid upload_token")
        if upload["bytes"] is not None:
            return self.error(100200100, "the upload is already complete")
        try:
            fragment_id = int(request.arg("fragment_id", ""))
        except ValueError:
            return self.error(100200100, "fragment_id is missing or not a number")
        expected = len(upload["fragments"])
        if fragment_id < 0 or fragment_id > expected:
            return self.error(100200100, f"fragment_id {fragment_id} out of order: the next "
                                         f"fragment is {expected}")
        data = request.body
        if not data:
            return self.error(100200100, "empty fragment")
        if len(data) > self.MAX_FRAGMENT_BYTES:
            return self.error(100200100, f"fragment {fragment_id} has {len(data)} bytes, more "
                                         f"than {self.MAX_FRAGMENT_BYTES}")
        upload["fragments"][fragment_id] = data
        self.fragment_log.append((request.arg("upload_token"), fragment_id, len(data)))
        return self.ok()

    @route("POST", r"/api/upload/complete")
    def upload_complete(self, request):
        upload = self._upload(request)
        if upload is None:
            return self.error(100200100, "invalid upload_token")
        try:
            count = int(request.arg("fragment_count", ""))
        except ValueError:
            return self.error(100200100, "fragment_count is missing or not a number")
        fragments = upload["fragments"]
        if upload["bytes"] is not None:  # completing again is accepted (assumed idempotent)
            return self.ok() if count == len(fragments) else self.error(
                100200100, "fragment_count differs from the completed upload")
        for fragment_id in range(count):
            if fragment_id not in fragments:
                return self.error(100200100, f"fragment {fragment_id} is missing")
        if count != len(fragments) or count == 0:
            return self.error(100200100, f"fragment_count {count}, but {len(fragments)} "
                                         f"fragments were uploaded")
        upload["bytes"] = b"".join(fragments[i] for i in range(count))
        return self.ok()

    # ---- open API: photos -------------------------------------------------------------------

    @route("POST", r"/openapi/photo/publish")
    def publish(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        upload = self._upload(request)
        if upload is None:
            return self.error(100120002, "VIDEO_NOT_UPLOAD: invalid upload_token")
        if upload["bytes"] is None:
            return self.error(100120002, "VIDEO_NOT_UPLOAD: the upload is not complete")
        if upload["published"]:
            return self.error(100120003, "VIDEO_PUBLISH_FAIL: this upload_token was published")
        form = request.form()
        caption = form.get("caption", "")
        cover = form.get("cover")
        if not isinstance(caption, str) or len(caption) > self.MAX_CAPTION:
            return self.error(100200100, f"caption longer than {self.MAX_CAPTION} characters")
        if not isinstance(cover, bytes) or not cover:
            return self.error(100200100, "cover: missing (a JPEG or PNG image file part)")
        if not (cover.startswith(b"\xff\xd8\xff") or cover.startswith(b"\x89PNG\r\n\x1a\n")):
            return self.error(100200100, "cover: not a JPEG or PNG image")
        photo_id = "3x" + uuid.uuid4().hex[:13]
        photo = {"photo_id": photo_id, "caption": caption, "cover_bytes": cover,
                 "bytes": upload["bytes"], "create_time": int(self.clock() * 1000),
                 "polls": 0, "view_count": 0, "like_count": 0, "comment_count": 0}
        upload["published"] = photo_id
        self.photos.append(photo)
        return self.ok({"video_info": self._info(photo)})

    def _info(self, photo):
        return {"photo_id": photo["photo_id"], "caption": photo["caption"],
                "cover": f"https://p1.example/{photo['photo_id']}.jpg",
                "play_url": f"https://www.kuaishou.com/short-video/{photo['photo_id']}",
                "create_time": photo["create_time"], "like_count": photo["like_count"],
                "comment_count": photo["comment_count"], "view_count": photo["view_count"],
                "pending": photo["polls"] < self.pending_polls}

    @route("GET", r"/openapi/photo/info")
    def info(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        for photo in self.photos:
            if photo["photo_id"] == request.arg("photo_id"):
                info = self._info(photo)
                photo["polls"] += 1
                return self.ok({"video_info": info})
        return Response(200, {"result": 100120001, "error": "video_not_exist",
                              "error_msg": "VIDEO_NOT_EXIST"})

    @route("GET", r"/openapi/photo/list")
    def photo_list(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        try:
            count = int(request.arg("count", "20"))
        except ValueError:
            return self.error(100200100, "count")
        if not 1 <= count <= 200:
            return self.error(100200100, "count must be 1..200")
        newest_first = list(reversed(self.photos))
        return self.ok({"video_list": [self._info(photo) for photo in newest_first[:count]]})


if __name__ == "__main__":
    serve_main(KuaishouFake)
