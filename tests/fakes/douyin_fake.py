"""A local fake of the Douyin Open Platform's video API (open.douyin.com), as far as douyin.publish
uses it: part upload (init, parts, complete), create_video, video_list and video_data, with the
envelope Douyin answers in ({"data": {"error_code", "description", ...}, "extra": {...}}, HTTP
200 even for errors) and its refusals:

- the access-token header and the open_id query must be the account's; an expired token gets
  error 2190008, an unknown one 2190002, another account's open_id 2190015;
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
    fake.expire_token()                       # every call gets 2190008 from now on

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

    def __init__(self, port=0, access_token="act.fake-douyin-token-0001", open_id="open-id-0001"):
        super().__init__(port)
        self.access_token = access_token
        self.open_id = open_id
        self.token_expired = False
        self.known_pois = {"poi-1"}
        self.uploads = {}      # upload_id -> {"parts": {n: bytes}, "video_id": str or None}
        self.videos = {}       # video_id -> {"bytes": bytes, "used": bool}
        self.items = []        # created videos, oldest first
        self.part_log = []     # (upload_id, part_number, length) of every accepted part
        self.code_faults = []  # [regex, code, description, times]
        self.response_drops = []  # [method, regex, times]
        self.part_faults = []  # [part_number, fail_next kwargs]
        self.clock = time.time  # tests may move it

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
        with self.lock:
            self.token_expired = True

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
        token = request.headers.get("access-token", "")
        if token != self.access_token:
            return self.error(2190002, "access_token无效")
        if self.token_expired:
            return self.error(2190008, "access_token expired, please refresh or re-authorize")
        if request.arg("open_id") != self.open_id:
            return self.error(2190015, "access_token and open_id do not match")
        return None

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
