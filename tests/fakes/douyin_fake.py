"""A local fake of the Douyin Open Platform's video API (open.douyin.com), as far as douyin.publish
uses it: part upload (init, parts, complete), create_video, video_list and video_data, and the
OAuth token endpoints (/oauth/refresh_token/, /oauth/renew_refresh_token/), with the envelope
Douyin answers in ({"data": {"error_code", "description", ...}, "extra": {...}}, HTTP 200 even
for errors) and its refusals:

- the access-token header and the open_id query must be the account's; an expired token gets
  error 2190008, an unknown or revoked one 2190002, another account's open_id 2190015;
- tokens (as documented): an access token lives 15 days, a refresh token 30. /oauth/refresh_token/
  (form: client_key, grant_type=refresh_token, refresh_token) answers the same refresh token and
  its remaining life (refresh_expires_in), and an access token: a new one when the current one
  expired or was revoked, else the current one with a new expiry. /oauth/renew_refresh_token/
  (form: client_key, refresh_token) answers a NEW refresh token valid 30 days and invalidates
  the old one, at most MAX_RENEWALS times per authorization (then 10020). An expired, revoked,
  renewed-away or unknown refresh token gets 10010 (the only refusal code the docs give);
  a wrong client_key 10003, a missing field 10005;
- parts are numbered from 1 and must arrive in order (part N+1 only after part N; sending an
  already received part again replaces it, as object stores do); a part above 100 MiB is
  refused; complete_video_part_upload refuses a missing part and any part but the last that is
  under 5 MiB (MIN_PART_BYTES);
- create_video needs a video_id from complete_video_part_upload that no video used yet (Douyin:
  each create_video needs a new video_id), a text of at most 1000 characters, and, when given, a
  known poi_id (known_pois);
- video_list takes a count of 1..20 (an assumption: the page size cap is not documented).

Fault injection on top of FakePlatform's (status codes, dropped connections, delays):
    fake.fail_part(2, drop_after=1000)       # the base class's faults, for one part number
    fake.fail_code_next(r"/create_video/", 28003018, "frequency limit")  # an error code, once
    fake.drop_response_next("POST", r"/create_video/")  # handle it, then hang up: no reply
    fake.expire_token()                       # the access tokens issued so far expire now
    fake.revoke_access_token()                # the current access token is refused (2190002)
    fake.revoke_refresh_token()               # the current refresh token is refused (10010)
    fake.expire_refresh_token_in(2 * 86400)   # the current refresh token's remaining life
    fake.token_log                            # [("refresh" | "renew", refresh token sent)]
    fake.tokens_used(r"/create_video/")       # the access-token header of each such request

    python3 tests/fakes/douyin_fake.py --port 0
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

API = r"/api/douyin/v1/video/"
MiB = 1024 * 1024


class DouyinFake(FakePlatform):
    name = "douyin"
    MIN_PART_BYTES = 5 * MiB
    MAX_PART_BYTES = 100 * MiB
    MAX_TEXT = 1000
    ACCESS_TOKEN_SECONDS = 15 * 86400
    REFRESH_TOKEN_SECONDS = 30 * 86400
    MAX_RENEWALS = 5

    def __init__(self, port=0, access_token="act.fake-douyin-token-0001", open_id="open-id-0001",
                 refresh_token="rft.fake-douyin-refresh-0001", client_key="tt-fake-client-key-01"):
        super().__init__(port)
        self.clock = time.time  # tests may move it
        self.access_token = access_token    # the first access token (the account's secret)
        self.current_access_token = access_token
        self.open_id = open_id
        self.client_key = client_key
        self.refresh_token = refresh_token  # the current refresh token
        now = self.clock()
        # token -> {"expires_at", "revoked"}; refresh token -> {"expires_at", "renewals", "state"}
        self.access_tokens = {access_token: {"expires_at": now + self.ACCESS_TOKEN_SECONDS,
                                             "revoked": False}}
        self.refresh_tokens = {refresh_token: {"expires_at": now + self.REFRESH_TOKEN_SECONDS,
                                               "renewals": 0, "state": "valid"}}
        self.token_log = []    # ("refresh" | "renew", the refresh token sent)
        self.issued = 0
        self.known_pois = {"poi-1"}
        self.uploads = {}      # upload_id -> {"parts": {n: bytes}, "video_id": str or None}
        self.videos = {}       # video_id -> {"bytes": bytes, "used": bool}
        self.items = []        # created videos, oldest first
        self.part_log = []     # (upload_id, part_number, length) of every accepted part
        self.code_faults = []  # [regex, code, description, times]
        self.response_drops = []  # [method, regex, times]
        self.part_faults = []  # [part_number, fail_next kwargs]

    # ---- fault injection ----------------------------------------------------------------

    def fail_code_next(self, pattern, code, description="", times=1):
        """The next `times` requests whose path matches get HTTP 200 with this error code (before
        the handler runs: nothing happens on the platform)."""
        with self.lock:
            self.code_faults.append([re.compile(pattern), code, description, times])

    def drop_response_next(self, method, pattern, times=1):
        """The next matching request is handled (its effect happens), then the connection is
        closed without a reply: the client cannot know whether it took effect."""
        with self.lock:
            self.response_drops.append([method, re.compile(pattern), times])

    def fail_part(self, part_number, **fault):
        """fail_next(**fault) for the next upload of this part number."""
        with self.lock:
            self.part_faults.append([part_number, fault])

    def expire_token(self):
        """Every access token issued so far expires now (calls get 2190008)."""
        with self.lock:
            for state in self.access_tokens.values():
                state["expires_at"] = min(state["expires_at"], self.clock() - 1)

    def revoke_access_token(self, token=None):
        """The current access token (or `token`) is refused from now on (2190002), long before
        its expiry."""
        with self.lock:
            self.access_tokens[token or self.current_access_token]["revoked"] = True

    def revoke_refresh_token(self):
        """The current refresh token is refused from now on (10010)."""
        with self.lock:
            self.refresh_tokens[self.refresh_token]["state"] = "revoked"

    def expire_refresh_token_in(self, seconds):
        with self.lock:
            self.refresh_tokens[self.refresh_token]["expires_at"] = self.clock() + seconds

    def tokens_used(self, pattern):
        """The access-token header of every request whose path matches, in order."""
        regex = re.compile(pattern)
        with self.lock:
            return [headers.get("access-token") for _, path, headers, _ in self.requests
                    if regex.search(path)]

    def _serve(self, handler):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        path = urllib.parse.urlsplit(handler.path).path
        if path.endswith("/upload_video_part/"):
            number = (query.get("part_number") or [""])[0]
            with self.lock:
                for entry in self.part_faults:
                    if str(entry[0]) == number:
                        self.part_faults.remove(entry)
                        self.fail_next("POST", re.escape(path), **entry[1])
                        break
        super()._serve(handler)

    def _dispatch(self, request):
        with self.lock:
            for fault in self.code_faults:
                if fault[0].search(request.path) and fault[3] > 0:
                    fault[3] -= 1
                    if fault[3] == 0:
                        self.code_faults.remove(fault)
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

    # ---- envelope ---------------------------------------------------------------------------

    def _extra(self, code, description):
        return {"error_code": code, "description": description, "sub_error_code": 0,
                "sub_description": "", "logid": uuid.uuid4().hex.upper(),
                "now": int(self.clock() * 1000)}

    def ok(self, data):
        body = {"error_code": 0, "description": ""}
        body.update(data)
        return Response(200, {"data": body, "extra": self._extra(0, "")})

    def error(self, code, description):
        return Response(200, {"data": {"error_code": code, "description": description},
                              "extra": self._extra(code, description)})

    def _auth(self, request):
        state = self.access_tokens.get(request.headers.get("access-token", ""))
        if state is None or state["revoked"]:
            return self.error(2190002, "access_token无效")
        if self.clock() >= state["expires_at"]:
            return self.error(2190008, "access_token expired, please refresh or re-authorize")
        if request.arg("open_id") != self.open_id:
            return self.error(2190015, "access_token and open_id do not match")
        return None

    # ---- OAuth: token refresh ------------------------------------------------------------------

    def _refresh_refused(self, form, kind):
        """(state, None) for a usable refresh token in the form, else (None, error response)."""
        refresh_token = form.get("refresh_token", "")
        if not form.get("client_key") or not refresh_token:
            return None, self.error(10005, "缺少参数")
        if form["client_key"] != self.client_key:
            return None, self.error(10003, "client_key 不存在")
        self.token_log.append((kind, refresh_token))
        state = self.refresh_tokens.get(refresh_token)
        if state is None or state["state"] != "valid":
            return None, self.error(10010, "refresh_token 无效")
        if self.clock() >= state["expires_at"]:
            return None, self.error(10010, "refresh_token 过期")
        return state, None

    @route("POST", r"/oauth/refresh_token/")
    def oauth_refresh_token(self, request):
        form = request.form()
        if form.get("grant_type") != "refresh_token":
            return self.error(10005, "缺少参数: grant_type")
        state, refused = self._refresh_refused(form, "refresh")
        if refused:
            return refused
        now = self.clock()
        current = self.access_tokens[self.current_access_token]
        if current["revoked"] or now >= current["expires_at"]:
            self.issued += 1
            self.current_access_token = f"act.fake-douyin-token-refreshed-{self.issued:04d}"
            self.access_tokens[self.current_access_token] = {
                "expires_at": now + self.ACCESS_TOKEN_SECONDS, "revoked": False}
        else:  # documented: a valid access token keeps its value and gets a new expiry
            current["expires_at"] = now + self.ACCESS_TOKEN_SECONDS
        return Response(200, {"data": {
            "access_token": self.current_access_token, "description": "", "error_code": 0,
            "expires_in": self.ACCESS_TOKEN_SECONDS, "open_id": self.open_id,
            "refresh_expires_in": int(state["expires_at"] - now),
            "refresh_token": form["refresh_token"], "scope": "video.create,video.data"},
            "message": "success"})

    @route("POST", r"/oauth/renew_refresh_token/")
    def oauth_renew_refresh_token(self, request):
        state, refused = self._refresh_refused(request.form(), "renew")
        if refused:
            return refused
        if state["renewals"] >= self.MAX_RENEWALS:
            return self.error(10020, "超过刷新次数限制")
        self.issued += 1
        state["state"] = "renewed"  # the old refresh token stops working at once
        self.refresh_token = f"rft.fake-douyin-refresh-renewed-{self.issued:04d}"
        self.refresh_tokens[self.refresh_token] = {
            "expires_at": self.clock() + self.REFRESH_TOKEN_SECONDS,
            "renewals": state["renewals"] + 1, "state": "valid"}
        # expires_in as a string, as in the documented example
        return Response(200, {"data": {"description": "", "error_code": 0,
                                       "expires_in": str(self.REFRESH_TOKEN_SECONDS),
                                       "refresh_token": self.refresh_token},
                              "message": "success"})

    # ---- part upload -------------------------------------------------------------------------

    @route("POST", API + r"init_video_part_upload/")
    def init_upload(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        upload_id = "@" + uuid.uuid4().hex
        self.uploads[upload_id] = {"parts": {}, "video_id": None}
        return self.ok({"upload_id": upload_id})

    @route("POST", API + r"upload_video_part/")
    def upload_part(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        upload = self.uploads.get(request.arg("upload_id", ""))
        if upload is None:
            return self.error(2100005, "Parameter error: upload_id is unknown")
        if upload["video_id"]:
            return self.error(2100005, "Parameter error: the upload is already completed")
        try:
            number = int(request.arg("part_number", ""))
        except ValueError:
            return self.error(2100005, "Parameter error: part_number is missing or not a number")
        if number < 1:
            return self.error(2100005, "Parameter error: part_number starts at 1")
        expected = len(upload["parts"]) + 1
        if number > expected:
            return self.error(2100005, f"Parameter error: part_number {number} out of order: "
                                       f"the next part is {expected}")
        data = request.form().get("video")
        if not isinstance(data, bytes) or not data:
            return self.error(2100005, "Parameter error: no 'video' file part in the form")
        if len(data) > self.MAX_PART_BYTES:
            return self.error(2100005, f"Parameter error: part {number} has {len(data)} bytes, "
                                       f"more than {self.MAX_PART_BYTES}")
        upload["parts"][number] = data
        self.part_log.append((request.arg("upload_id"), number, len(data)))
        return self.ok({})

    @route("POST", API + r"complete_video_part_upload/")
    def complete_upload(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        upload = self.uploads.get(request.arg("upload_id", ""))
        if upload is None:
            return self.error(2100005, "Parameter error: upload_id is unknown")
        if upload["video_id"]:  # completing again answers the same video (assumed idempotent)
            return self.ok({"video": {"video_id": upload["video_id"], "width": 1080,
                                      "height": 1920}})
        parts = upload["parts"]
        if not parts:
            return self.error(2100005, "Parameter error: no part was uploaded")
        count = max(parts)
        for number in range(1, count + 1):
            if number not in parts:
                return self.error(2100005, f"Parameter error: part {number} is missing")
            if number < count and len(parts[number]) < self.MIN_PART_BYTES:
                return self.error(2100005, f"Parameter error: part {number} has "
                                           f"{len(parts[number])} bytes; every part but the last "
                                           f"needs at least {self.MIN_PART_BYTES}")
        video_id = "v0200f" + uuid.uuid4().hex[:26]
        upload["video_id"] = video_id
        self.videos[video_id] = {"bytes": b"".join(parts[n] for n in range(1, count + 1)),
                                 "used": False}
        return self.ok({"video": {"video_id": video_id, "width": 1080, "height": 1920}})

    # ---- videos -----------------------------------------------------------------------------

    @route("POST", API + r"create_video/")
    def create_video(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        body = request.json()
        if not isinstance(body, dict):
            return self.error(2100005, "Parameter error: the body is not a JSON object")
        video = self.videos.get(body.get("video_id", ""))
        if video is None:
            return self.error(2190007, "invalid video_id")
        if video["used"]:
            return self.error(2190007, "invalid video_id: already used by a video; upload again")
        text = body.get("text", "")
        if not isinstance(text, str) or len(text) > self.MAX_TEXT:
            return self.error(2100005, f"Parameter error: text longer than {self.MAX_TEXT}")
        cover_tsp = body.get("cover_tsp", 0)
        if not isinstance(cover_tsp, (int, float)) or cover_tsp < 0:
            return self.error(2100005, "Parameter error: cover_tsp")
        poi_id = body.get("poi_id")
        if poi_id is not None and poi_id not in self.known_pois:
            return self.error(2100005, f"Parameter error: poi_id {poi_id} does not exist")
        video["used"] = True
        item_id = "@9VwKzuuES8gmaHS" + uuid.uuid4().hex[:12]
        self.items.append({
            "item_id": item_id, "video_id": body["video_id"], "text": text,
            "cover_tsp": cover_tsp, "body": body, "bytes": video["bytes"],
            "create_time": int(self.clock()), "video_status": 1,
            "statistics": {"play_count": 0, "digg_count": 0, "comment_count": 0,
                           "share_count": 0, "download_count": 0, "forward_count": 0}})
        return self.ok({"item_id": item_id, "video_id": body["video_id"]})

    def _listed(self, item):
        return {"item_id": item["item_id"], "title": item["text"],
                "create_time": item["create_time"], "is_reviewed": True, "is_top": False,
                "video_status": item["video_status"], "cover": "https://p3.example/cover.jpg",
                "share_url": f"https://www.iesdouyin.com/share/video/{item['item_id']}/",
                "statistics": dict(item["statistics"])}

    @route("GET", API + r"video_list/")
    def video_list(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        try:
            cursor = int(request.arg("cursor", "0"))
            count = int(request.arg("count", "10"))
        except ValueError:
            return self.error(2100005, "Parameter error: cursor/count")
        if not 1 <= count <= 20:
            return self.error(2100005, "Parameter error: count must be 1..20")
        newest_first = list(reversed(self.items))
        page = newest_first[cursor:cursor + count]
        return self.ok({"list": [self._listed(item) for item in page],
                        "cursor": cursor + len(page),
                        "has_more": cursor + len(page) < len(newest_first)})

    @route("POST", API + r"video_data/")
    def video_data(self, request):
        refused = self._auth(request)
        if refused:
            return refused
        body = request.json()
        ids = body.get("item_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids:
            return self.error(2100005, "Parameter error: item_ids")
        return self.ok({"list": [self._listed(item) for item in self.items
                                 if item["item_id"] in ids]})


if __name__ == "__main__":
    serve_main(DouyinFake)
