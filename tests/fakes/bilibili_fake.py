"""A local fake of the Bilibili open platform's server-side video submission API (服务端视频稿件
投递), as documented on open.bilibili.com/doc (mirrored at apifox.com/apidoc/docs-site/1106400):

  POST /arcopen/fn/archive/video/init             {name, utype} -> {upload_token}
  POST /video/v2/part/upload?upload_token&part_number=N   (the upload host, openupos)
  POST /arcopen/fn/archive/video/complete?upload_token    merge the parts
  POST /arcopen/fn/archive/cover/upload           multipart "file" -> {url}
  POST /arcopen/fn/archive/add-by-utoken?upload_token {title, cover, tid, no_reprint, desc, tag,
                                                   copyright, source} -> {resource_id}
  GET  /arcopen/fn/archive/view?resource_id       the archive, addit_info.state
  GET  /arcopen/fn/archive/viewlist?pn&ps         the account's archives, newest first
  GET  /arcopen/fn/data/arc/stat?resource_id      view, like, reply, share, ...
  POST /x/account-oauth2/v1/refresh_token?client_id&client_secret&grant_type&refresh_token
                                                  (api.bilibili.com, unsigned) -> {access_token,
                                                   refresh_token, expires_in, scopes}

Every member.bilibili.com request is checked as the platform documents (接口签名实现标准):
the x-bili-* headers, access-token and Authorization must be there (else 127000), the accesskeyid
must be the app's client_id (127004), the timestamp within 10 minutes and the nonce unused, the
content MD5 must match the body (the empty string for GET, an empty body, or a multipart body of
files only) and Authorization must be the hex HMAC-SHA256, keyed with the app secret, of the
sorted "name:value" x-bili-* lines joined by "\\n" (127012). The access token must be valid
(127001). Responses are the envelope {"code", "message", "data"} with HTTP 200, as the platform
answers.

Refusals it makes like the platform: parts out of order or of unequal size (all but the last),
parts above 8 MiB, merging with a gap, submitting before the merge or twice with one upload_token
(127022), a missing title/tid/tag/copyright, source missing for a repost, title of 80 characters
or more, desc of 250 or more, tags of 200 or more (127100), an unknown category (127207), a title
reused within 10 minutes (127100), and the 6th submission of a day (非正式会员单日最多投递5个稿件;
the docs give no code for it: 127009, "api请求次数达到上限", is used, an assumption).

Tokens: `access_tokens` holds the valid access tokens; one the refresh endpoint issued expires
after `access_ttl` seconds (the docs give no lifetime: 30 days here), expire(token) ends one now
and revoke(token) forgets it, both answered 127001 like an unknown one. `refresh_tokens` maps each
valid refresh token to its expiry; a refresh consumes it (the docs: 每个refresh_token只能使用一次)
and issues the next, which keeps the old one's expiry; a used, revoked (revoke_refresh) or expired
one is refused with 122007 (refreshToken不合法), a wrong client_id with 122000, a wrong secret with
122001, all with HTTP 200 like every other answer. expires_in is the access token's expiry as
Unix seconds, as the docs define it ("过期时间", example 1630220614); `expires_in_is_ttl` answers
seconds from now instead (the other reading some clients make). The parameters are read from the
query string (as documented) or, failing that, a form body; `refresh_params_in` records which.
`refreshes` lists every refresh token presented.

Test knobs: expect_secret (sign-check with another secret), review_views (views answering
"processing" before the archive opens), reject_reason (the review rejects it), part_faults
({part_number: "drop" | status}) for one-shot faults on a given part, drop_next_submit_response
(add-by-utoken takes effect, then the connection drops before the answer).
"""
import hashlib
import hmac
import os
import random
import re
import socket
import string
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_platform import FakePlatform, Request, Response, route, serve_main  # noqa: E402

MAX_PART_BYTES = 8 * 1024 * 1024
SIGNED_HEADERS = ("x-bili-accesskeyid", "x-bili-content-md5", "x-bili-signature-method",
                  "x-bili-signature-nonce", "x-bili-signature-version", "x-bili-timestamp")
CATEGORIES = {17: "单机游戏", 21: "日常", 160: "生活", 201: "科学科普", 207: "财经商业"}


def envelope(code=0, message="0", data=None):
    body = {"code": code, "message": message, "ttl": 1, "request_id": os.urandom(8).hex()}
    if data is not None:
        body["data"] = data
    return Response(200, body)


def characters(text):
    return len(text or "")


class BilibiliFake(FakePlatform):
    name = "bilibili"

    def __init__(self, port=0, client_id="bili-app-id", client_secret="bili-app-secret",
                 access_token="bili-user-token"):
        super().__init__(port)
        self.client_id = client_id
        self.client_secret = client_secret
        self.expect_secret = client_secret
        self.access_tokens = {access_token}
        self.uploads = {}        # upload_token -> {name, utype, parts {n: bytes}, merged, used}
        self.covers = {}         # url -> bytes
        self.archives = []       # newest last
        self.nonces = set()
        self.daily_limit = 5
        self.submissions_today = 0
        self.review_views = 1
        self.reject_reason = None
        self.part_faults = {}
        self.drop_next_submit_response = False
        self.signature_failures = 0
        self.part_log = []       # (upload_token, part_number, size) of every part stored
        self.access_expiry = {}  # access token -> Unix time it expires (absent: never)
        self.access_ttl = 30 * 86400
        self.refresh_tokens = {}     # refresh token -> Unix time it expires
        self.retired_refresh_tokens = set()
        self.refresh_ttl = 180 * 86400
        self.expires_in_is_ttl = False
        self.refreshes = []          # every refresh token presented
        self.refresh_params_in = []  # "query" or "form", per refresh request

    # ---- tokens ------------------------------------------------------------------------------

    def add_refresh_token(self, token, expires_in=None):
        with self.lock:
            self.refresh_tokens[token] = time.time() + (self.refresh_ttl if expires_in is None
                                                        else expires_in)

    def revoke_refresh(self, token):
        with self.lock:
            self.refresh_tokens.pop(token, None)

    def revoke(self, token):
        with self.lock:
            self.access_tokens.discard(token)

    def expire(self, token):
        with self.lock:
            self.access_expiry[token] = time.time()

    def tokens_used(self, pattern=r"^/arcopen/"):
        """The access-token header of every signed request whose path matches, in order."""
        regex = re.compile(pattern)
        with self.lock:
            return [{k.lower(): v for k, v in headers.items()}.get("access-token")
                    for _, path, headers, _ in self.requests if regex.search(path)]

    @route("POST", r"/x/account-oauth2/v1/refresh_token")
    def refresh_token(self, request):
        params = {k: v[0] for k, v in request.query.items()}
        where = "query"
        if not params.get("refresh_token"):
            params = request.form() if request.body else {}
            where = "form"
        self.refresh_params_in.append(where)
        if params.get("client_id") != self.client_id:
            return envelope(122000, "client_id错误")
        if params.get("client_secret") != self.client_secret:
            return envelope(122001, "client_secret 错误")
        if params.get("grant_type") != "refresh_token":
            return envelope(127100, "请求参数错误: grant_type must be refresh_token")
        token = params.get("refresh_token", "")
        self.refreshes.append(token)
        now = time.time()
        expiry = self.refresh_tokens.pop(token, None)
        if expiry is None or expiry <= now:
            return envelope(122007, "refreshToken不合法")
        self.retired_refresh_tokens.add(token)
        access = os.urandom(16).hex()
        self.access_tokens.add(access)
        self.access_expiry[access] = now + self.access_ttl
        following = os.urandom(16).hex()
        self.refresh_tokens[following] = expiry
        expires_in = self.access_ttl if self.expires_in_is_ttl else int(now + self.access_ttl)
        return envelope(data={"access_token": access, "refresh_token": following,
                              "expires_in": expires_in,
                              "scopes": ["USER_INFO", "ATC_DATA", "ATC_BASE"]})

    # ---- the signature, as the docs define it ---------------------------------------------

    def _check_signature(self, request, body_md5):
        headers = {k.lower(): v for k, v in request.headers.items()}
        required = SIGNED_HEADERS + ("access-token", "authorization")
        missing = [name for name in required if not headers.get(name)]
        if missing:
            self.signature_failures += 1
            return envelope(127000, "缺少鉴权参数: " + ",".join(missing))
        if headers["x-bili-accesskeyid"] != self.client_id:
            return envelope(127004, "client_id验证错误")
        if (headers["x-bili-signature-method"] != "HMAC-SHA256"
                or headers["x-bili-signature-version"] != "2.0"):
            self.signature_failures += 1
            return envelope(127012, "鉴权错误: unsupported signature method or version")
        try:
            skew = abs(time.time() - int(headers["x-bili-timestamp"]))
        except ValueError:
            skew = 1e9
        if skew > 600:
            self.signature_failures += 1
            return envelope(127012, "鉴权错误: x-bili-timestamp is more than 10 minutes off")
        if headers["x-bili-content-md5"] != body_md5:
            self.signature_failures += 1
            return envelope(127012, "鉴权错误: x-bili-content-md5 does not match the body")
        canonical = "\n".join(f"{name}:{headers[name]}" for name in sorted(SIGNED_HEADERS))
        expected = hmac.new(self.expect_secret.encode(), canonical.encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers["authorization"].lower()):
            self.signature_failures += 1
            return envelope(127012, "鉴权错误: Authorization is not the request's signature")
        nonce = headers["x-bili-signature-nonce"]
        if nonce in self.nonces:
            self.signature_failures += 1
            return envelope(127012, "鉴权错误: x-bili-signature-nonce was used before")
        self.nonces.add(nonce)
        token = headers["access-token"]
        expiry = self.access_expiry.get(token)
        if token not in self.access_tokens or (expiry is not None and time.time() >= expiry):
            return envelope(127001, "access_token验证错误")
        return None

    def _authorized(self, request):
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            fields = request.form()
            text = "".join(v for v in fields.values() if isinstance(v, str))
            body_md5 = hashlib.md5(text.encode()).hexdigest()
        else:
            body_md5 = hashlib.md5(request.body or b"").hexdigest()
        return self._check_signature(request, body_md5)

    # ---- upload ------------------------------------------------------------------------------

    @route("POST", r"/arcopen/fn/archive/video/init")
    def video_init(self, request):
        refused = self._authorized(request)
        if refused:
            return refused
        body = request.json() or {}
        name = body.get("name")
        utype = str(body.get("utype", "0"))
        if not name or "." not in name:
            return envelope(127100, "请求参数错误: name (the file name, with its extension)")
        if utype not in ("0", "1"):
            return envelope(127100, "请求参数错误: utype must be 0 or 1")
        token = os.urandom(16).hex()
        self.uploads[token] = {"name": name, "utype": utype, "parts": {}, "merged": None,
                               "used": False}
        return envelope(data={"upload_token": token})

    @route("POST", r"/video/v2/part/upload")
    def part_upload(self, request):
        token = request.arg("upload_token", "")
        upload = self.uploads.get(token)
        if upload is None:
            return envelope(127022, "upload_token验证错误")
        if upload["utype"] != "0":
            return envelope(127100, "请求参数错误: utype 1 uploads take no parts")
        if upload["merged"] is not None:
            return envelope(127100, "请求参数错误: the upload was already merged")
        try:
            part = int(request.arg("part_number", ""))
        except ValueError:
            return envelope(127100, "请求参数错误: part_number")
        fault = self.part_faults.pop(part, None)
        if isinstance(fault, int):
            return Response(fault, {"code": -500, "message": "injected fault"})
        if part < 1 or part > len(upload["parts"]) + 1:
            return envelope(127100, f"请求参数错误: part_number {part} out of order "
                                    f"(have {len(upload['parts'])} parts)")
        if not request.body:
            return envelope(127100, "请求参数错误: empty part")
        if len(request.body) > MAX_PART_BYTES:
            return envelope(127100, "请求参数错误: a part is larger than 8 MiB")
        md5 = request.headers.get("x-bili-content-md5")
        if md5 is not None and md5 != hashlib.md5(request.body).hexdigest():
            return envelope(127100, "请求参数错误: the part's MD5 does not match")
        upload["parts"][part] = request.body
        self.part_log.append((token, part, len(request.body)))
        return envelope()

    def _serve(self, handler):
        """One-shot faults that need the connection: a part upload dropped mid-body, and
        add-by-utoken answered by a dropped connection after it took effect."""
        path = urllib.parse.urlsplit(handler.path).path
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        if handler.command == "POST" and path == "/video/v2/part/upload":
            part = int((query.get("part_number") or ["0"])[0] or 0)
            if self.part_faults.get(part) == "drop":
                del self.part_faults[part]
                length = int(handler.headers.get("Content-Length") or 0)
                handler.rfile.read(min(length, 1000))
                self._hang_up(handler, path)
                return
        if (handler.command == "POST" and path == "/arcopen/fn/archive/add-by-utoken"
                and self.drop_next_submit_response):
            self.drop_next_submit_response = False
            length = int(handler.headers.get("Content-Length") or 0)
            body = handler.rfile.read(length) if length else b""
            self._dispatch(Request("POST", handler.path, handler.headers, body))
            self._hang_up(handler, path)
            return
        super()._serve(handler)

    def _hang_up(self, handler, path):
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        with self.lock:
            self.requests.append((handler.command, path, dict(handler.headers), -1))

    @route("POST", r"/arcopen/fn/archive/video/complete")
    def video_complete(self, request):
        refused = self._authorized(request)
        if refused:
            return refused
        upload = self.uploads.get(request.arg("upload_token", ""))
        if upload is None:
            return envelope(127022, "upload_token验证错误")
        if upload["merged"] is not None:
            return envelope()  # merging again changes nothing
        parts = upload["parts"]
        if not parts:
            return envelope(127100, "请求参数错误: no parts were uploaded")
        numbers = sorted(parts)
        if numbers != list(range(1, len(numbers) + 1)):
            return envelope(127100, "请求参数错误: the parts have a gap")
        sizes = [len(parts[n]) for n in numbers]
        if any(size != sizes[0] for size in sizes[:-1]) or sizes[-1] > sizes[0]:
            return envelope(127100, "请求参数错误: every part but the last must have one size")
        upload["merged"] = b"".join(parts[n] for n in numbers)
        upload["part_sizes"] = sizes
        return envelope()

    @route("POST", r"/arcopen/fn/archive/cover/upload")
    def cover_upload(self, request):
        refused = self._authorized(request)
        if refused:
            return refused
        file = request.form().get("file")
        if not isinstance(file, bytes) or not file:
            return envelope(127100, "请求参数错误: file")
        if len(file) > 5 * 1024 * 1024:
            return envelope(127100, "请求参数错误: the cover is larger than 5 MB")
        if not (file.startswith(b"\xff\xd8") or file.startswith(b"\x89PNG")):
            return envelope(127102, "文件类型错误: the cover must be a JPEG or PNG")
        url = f"https://archive.biliimg.com/bfs/archive/{hashlib.sha1(file).hexdigest()}.jpg"
        self.covers[url] = file
        return envelope(data={"url": url})

    # ---- the archive ---------------------------------------------------------------------------

    @route("POST", r"/arcopen/fn/archive/add-by-utoken")
    def add_by_utoken(self, request):
        refused = self._authorized(request)
        if refused:
            return refused
        upload = self.uploads.get(request.arg("upload_token", ""))
        if upload is None or upload["used"]:
            return envelope(127022, "upload_token验证错误")
        if upload["merged"] is None:
            return envelope(127100, "请求参数错误: the video's parts were not merged (complete)")
        body = request.json()
        if not isinstance(body, dict):
            return envelope(127100, "请求参数错误: the body is not JSON")
        for field in ("title", "tid", "tag", "copyright"):
            if body.get(field) in (None, ""):
                return envelope(127100, f"请求参数错误: {field} is required")
        title, tag, desc = body["title"], body["tag"], body.get("desc", "")
        if characters(title) >= 80:
            return envelope(127100, "请求参数错误: title must be shorter than 80")
        if characters(desc) >= 250:
            return envelope(127100, "请求参数错误: desc must be shorter than 250")
        if characters(tag) >= 200:
            return envelope(127100, "请求参数错误: tag must be shorter than 200")
        if body["copyright"] not in (1, 2):
            return envelope(127100, "请求参数错误: copyright must be 1 or 2")
        if body["copyright"] == 2 and not body.get("source"):
            return envelope(127100, "请求参数错误: source is required for copyright 2")
        if body.get("no_reprint", 0) not in (0, 1):
            return envelope(127100, "请求参数错误: no_reprint must be 0 or 1")
        if body.get("cover") and body["cover"] not in self.covers:
            return envelope(127100, "请求参数错误: cover must come from cover/upload")
        if body["tid"] not in CATEGORIES:
            return envelope(127207, "此分区暂不可用")
        now = int(time.time())
        if any(a["title"] == title and now - a["ctime"] < 600 for a in self.archives):
            return envelope(127100, "请求参数错误: the same title was submitted moments ago")
        if self.submissions_today >= self.daily_limit:
            return envelope(127009, "api请求次数达到上限")
        self.submissions_today += 1
        upload["used"] = True
        resource_id = "BV1" + "".join(random.choice(string.ascii_letters + string.digits)
                                      for _ in range(9))
        self.archives.append({
            "resource_id": resource_id, "title": title, "cover": body.get("cover", ""),
            "tid": body["tid"], "no_reprint": body.get("no_reprint", 0), "desc": desc,
            "tag": tag, "copyright": body["copyright"], "source": body.get("source", ""),
            "ctime": now, "ptime": now, "video": upload["merged"],
            "part_sizes": upload.get("part_sizes"), "views": 0,
        })
        return envelope(data={"resource_id": resource_id})

    def _archive(self, resource_id):
        for archive in self.archives:
            if archive["resource_id"] == resource_id:
                return archive
        return None

    def _state(self, archive):
        if self.reject_reason is not None:
            return -2, "打回", self.reject_reason
        if archive["views"] <= self.review_views:
            return -1, "待审", ""
        return 0, "开放浏览", ""

    def _describe(self, archive):
        state, desc, reason = self._state(archive)
        return {
            "resource_id": archive["resource_id"], "title": archive["title"],
            "cover": archive["cover"], "tid": archive["tid"],
            "no_reprint": archive["no_reprint"], "desc": archive["desc"], "tag": archive["tag"],
            "copyright": archive["copyright"], "ctime": archive["ctime"],
            "ptime": archive["ptime"],
            "video_info": {"cid": 1, "filename": "n" + archive["resource_id"],
                           "duration": 1, "share_url": "https://b23.tv/" + archive["resource_id"]},
            "addit_info": {"state": state, "state_desc": desc, "reject_reason": reason},
        }

    @route("GET", r"/arcopen/fn/archive/view")
    def archive_view(self, request):
        refused = self._authorized(request)
        if refused:
            return refused
        archive = self._archive(request.arg("resource_id", ""))
        if archive is None:
            return envelope(127124, "不存在该稿件")
        archive["views"] += 1
        return envelope(data=self._describe(archive))

    @route("GET", r"/arcopen/fn/archive/viewlist")
    def archive_list(self, request):
        refused = self._authorized(request)
        if refused:
            return refused
        try:
            pn = max(1, int(request.arg("pn", "1")))
            ps = max(1, min(50, int(request.arg("ps", "10"))))
        except ValueError:
            return envelope(127100, "请求参数错误: pn/ps")
        newest = list(reversed(self.archives))[(pn - 1) * ps:pn * ps]
        return envelope(data={"page": {"pn": pn, "ps": ps, "total": len(self.archives)},
                              "list": [self._describe(a) for a in newest]})

    @route("GET", r"/arcopen/fn/data/arc/stat")
    def archive_stat(self, request):
        refused = self._authorized(request)
        if refused:
            return refused
        archive = self._archive(request.arg("resource_id", ""))
        if archive is None:
            return envelope(127124, "不存在该稿件")
        return envelope(data={"title": archive["title"], "ptime": archive["ptime"], "view": 120,
                              "danmaku": 3, "reply": 7, "favorite": 5, "coin": 2, "share": 4,
                              "like": 30})


if __name__ == "__main__":
    serve_main(BilibiliFake)
