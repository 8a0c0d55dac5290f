"""A local fake of the Instagram Graph API's Reels publishing with resumable uploads, as the
Instagram Platform docs describe it (developers.facebook.com/docs/instagram-platform):

  GET  /{v}/{ig-user-id}/content_publishing_limit?fields=quota_usage,config
  POST /{v}/{ig-user-id}/media   media_type=REELS, upload_type=resumable, caption, share_to_feed,
                                 thumb_offset -> {"id": container, "uri": upload URL}
  POST /ig-api-upload/{v}/{container}   Authorization: OAuth <token>, offset, file_size headers,
                                 the bytes from offset -> {"success": true}
  GET  /ig-api-upload/{v}/{container}   how many bytes arrived -> {"offset": N}  (an assumption:
                                 the docs say uploads resume but not how the offset is learned;
                                 this mirrors the Graph Resumable Upload API's GET /upload:<id>)
  GET  /{v}/{container}?fields=status_code,status   IN_PROGRESS | FINISHED | PUBLISHED | ERROR |
                                 EXPIRED
  POST /{v}/{ig-user-id}/media_publish   creation_id -> {"id": media}
  GET  /{v}/{media}?fields=permalink
  GET  /{v}/{ig-user-id}/media?fields=id,caption,timestamp   newest first
  GET  /{v}/{media}/insights?metric=views,likes,comments,shares,saved
  GET  /{v}/oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&
       fb_exchange_token   Facebook Login's long-lived token exchange (the token refresh):
                                 {"access_token", "token_type": "bearer", "expires_in"}, a new
                                 token valid for `long_lived_lifetime` seconds (about 60 days);
                                 the token exchanged keeps working until its own expiry (an
                                 assumption: the docs only say the new one is a different string
                                 to store instead). An expired token answers code 190 subcode 463,
                                 a revoked or unknown one 190 subcode 460/467 (an expired token
                                 cannot be exchanged), an unknown app code 101, a wrong app
                                 secret code 1, a missing parameter code 100. Every exchange is
                                 in `exchanges`.

Graph calls take the token as "Authorization: Bearer" (or OAuth) or access_token; a wrong one
answers the Graph error object with code 190. Errors are {"error": {message, type, code,
error_subcode, is_transient, fbtrace_id}} with HTTP 400; the upload host answers
{"debug_info": {retriable, type, message}}.

Refusals it makes like the platform: media_type other than REELS, a missing upload_type, a
caption over 2200 characters / 30 hashtags / 20 @mentions (code 100), an unknown IG user (code
100, subcode 33), an upload whose offset leaves a gap or whose file_size changes, media_publish of
a container that is not FINISHED (code 9007, subcode 2207027) or already published, media_publish
beyond the 24-hour quota (code 9, subcode 2207042), and the deprecated insights metric `plays`
(code 100).

Tokens: add_app(app_id, secret), add_token(token, expires_in=None), revoke_token(token) (code
190 from then on: a password change, the app removed), expire_token(token) (code 190 subcode 463),
long_lived_lifetime.

Test knobs: in_progress_checks (status checks answering IN_PROGRESS after the upload, before
FINISHED), drop_upload_after (keep that many bytes of the next upload, then drop the connection),
drop_next_publish_response (media_publish takes effect, then the connection drops), quota_total /
quota_usage, fail_processing (the container ends in ERROR).
"""
import os
import random
import re
import socket
import string
import sys
import time
import urllib.parse
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_platform import FakePlatform, Request, Response, route, serve_main  # noqa: E402

VERSION = r"v\d+\.\d+"
METRICS = ("views", "likes", "comments", "shares", "saved", "reach", "total_interactions")


def graph_error(message, code, subcode=None, status=400, transient=False, user_message=None):
    error = {"message": message, "type": "OAuthException", "code": code,
             "is_transient": transient, "fbtrace_id": os.urandom(6).hex()}
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_message:
        error["error_user_msg"] = user_message
    return Response(status, {"error": error})


def upload_error(status, kind, message, retriable=False):
    return Response(status, {"debug_info": {"retriable": retriable, "type": kind,
                                            "message": message}})


def utf16_length(text):
    return len(text.encode("utf-16-le")) // 2


class InstagramFake(FakePlatform):
    name = "instagram"

    def __init__(self, port=0, ig_user_id="17841400000000001", access_token="ig-user-token"):
        super().__init__(port)
        self.ig_user_id = ig_user_id
        self.access_tokens = {access_token: None}  # token -> time.time() it expires at, or None
        self.revoked_tokens = set()
        self.apps = {}          # app id -> app secret
        self.exchanges = []     # every oauth/access_token call: dicts with grant_type, client_id,
        #                         fb_exchange_token, outcome ("issued" or the error), access_token
        self.long_lived_lifetime = 5183944
        self.containers = {}   # id -> dict
        self.media = []        # published, oldest first
        self.publish_times = []
        self.quota_total = 50
        self.in_progress_checks = 0
        self.drop_upload_after = None
        self.drop_next_publish_response = False
        self.fail_processing = False
        self.upload_log = []   # (container, offset header, file_size header, body length)
        self.status_log = []   # (container, status_code answered)

    def _dispatch(self, request):
        result = super()._dispatch(request)
        return Response(200, result) if isinstance(result, (dict, list)) else result

    # ---- shared checks -------------------------------------------------------------------------

    def _token(self, request):
        value = request.headers.get("Authorization", "")
        for scheme in ("Bearer ", "OAuth "):
            if value.startswith(scheme):
                return value[len(scheme):]
        params = self._params(request)
        return params.get("access_token")

    def _params(self, request):
        params = {k: v[0] for k, v in request.query.items()}
        if request.method == "POST" and request.body:
            content_type = request.headers.get("Content-Type", "")
            if content_type.startswith("application/json"):
                params.update({k: str(v) for k, v in (request.json() or {}).items()})
            else:
                params.update(request.form())
        return params

    # ---- tokens --------------------------------------------------------------------------------

    def add_app(self, app_id, app_secret):
        with self.lock:
            self.apps[app_id] = app_secret

    def add_token(self, token, expires_in=None):
        with self.lock:
            self.access_tokens[token] = None if expires_in is None else time.time() + expires_in

    def revoke_token(self, token):
        """The token is invalidated before its expiry (a password change, the app removed)."""
        with self.lock:
            self.access_tokens.pop(token, None)
            self.revoked_tokens.add(token)

    def expire_token(self, token):
        with self.lock:
            self.access_tokens[token] = time.time() - 1

    def issued_tokens(self):
        with self.lock:
            return [e["access_token"] for e in self.exchanges if e.get("access_token")]

    def bearers(self, method, pattern):
        """The token of every request matching METHOD and the path regex (Authorization: Bearer
        or OAuth), in order."""
        regex = re.compile(pattern)
        with self.lock:
            found = []
            for m, p, headers, _ in self.requests:
                if m == method and regex.search(p):
                    value = headers.get("Authorization") or ""
                    found.append(value.split(" ", 1)[1] if " " in value else value)
            return found

    def _token_refusal(self, token):
        """None when `token` is valid, else the Graph error Meta answers for it."""
        if token in self.access_tokens:
            expires = self.access_tokens[token]
            if expires is None or time.time() < expires:
                return None
            when = datetime.fromtimestamp(expires, timezone.utc).strftime("%A, %d-%b-%y %H:%M:%S")
            return graph_error(f"Error validating access token: Session has expired on {when} "
                               f"PST.", 190, 463)
        if token in self.revoked_tokens:
            return graph_error("Error validating access token: The session has been invalidated "
                               "because the user changed their password or Facebook has changed "
                               "the session for security reasons.", 190, 460)
        return graph_error("Invalid OAuth access token - Cannot parse access token", 190, 467)

    def _unauthorized(self, request):
        return self._token_refusal(self._token(request))

    @route("GET", rf"/{VERSION}/oauth/access_token")
    def exchange_token(self, request):
        params = {k: v[0] for k, v in request.query.items()}
        log = {"grant_type": params.get("grant_type"), "client_id": params.get("client_id"),
               "fb_exchange_token": params.get("fb_exchange_token"), "outcome": None,
               "access_token": None}
        self.exchanges.append(log)

        def refuse(answer, outcome):
            log["outcome"] = outcome
            return answer

        for name in ("grant_type", "client_id", "client_secret", "fb_exchange_token"):
            if not params.get(name):
                return refuse(graph_error(f"Missing {name} parameter.", 100), "missing")
        if params["grant_type"] != "fb_exchange_token":
            return refuse(graph_error("(#100) Invalid grant_type", 100), "grant_type")
        if params["client_id"] not in self.apps:
            return refuse(graph_error("Error validating application. Invalid application ID.",
                                      101), "app")
        if self.apps[params["client_id"]] != params["client_secret"]:
            return refuse(graph_error("Error validating client secret.", 1), "secret")
        refused = self._token_refusal(params["fb_exchange_token"])
        if refused:
            return refuse(refused, "token")
        fresh = "EAAfake" + "".join(random.choice(string.ascii_letters + string.digits)
                                    for _ in range(40))
        self.access_tokens[fresh] = time.time() + self.long_lived_lifetime
        log["outcome"] = "issued"
        log["access_token"] = fresh
        return {"access_token": fresh, "token_type": "bearer",
                "expires_in": self.long_lived_lifetime}

    def _user(self, request, user_id):
        refused = self._unauthorized(request)
        if refused:
            return refused
        if user_id != self.ig_user_id:
            return graph_error(f"Unsupported request - method type: {request.method.lower()}. "
                               f"Object with ID '{user_id}' does not exist, cannot be loaded due "
                               f"to missing permissions, or does not support this operation.",
                               100, 33)
        return None

    def _quota_usage(self):
        now = time.time()
        self.publish_times = [t for t in self.publish_times if now - t < 86400]
        return len(self.publish_times)

    @property
    def quota_usage(self):
        return self._quota_usage()

    @quota_usage.setter
    def quota_usage(self, value):
        self.publish_times = [time.time()] * value

    # ---- the IG user ---------------------------------------------------------------------------

    @route("GET", rf"/{VERSION}/(\d+)/content_publishing_limit")
    def publishing_limit(self, request):
        refused = self._user(request, request.match.group(1))
        if refused:
            return refused
        return {"data": [{"quota_usage": self._quota_usage(),
                          "config": {"quota_total": self.quota_total, "quota_duration": 86400}}]}

    @route("POST", rf"/{VERSION}/(\d+)/media")
    def create_container(self, request):
        refused = self._user(request, request.match.group(1))
        if refused:
            return refused
        params = self._params(request)
        if params.get("media_type") != "REELS":
            return graph_error("(#100) The parameter media_type must be REELS for a video", 100)
        if params.get("upload_type") != "resumable" and not params.get("video_url"):
            return graph_error("(#100) The parameter video_url is required", 100)
        caption = params.get("caption", "")
        if utf16_length(caption) > 2200:
            return graph_error("(#100) Param caption must be at most 2200 characters long", 100)
        if len(re.findall(r"(?:^|\s)#\w", caption)) > 30:
            return graph_error("(#100) The caption has more than 30 hashtags", 100)
        if len(re.findall(r"(?:^|\s)@\w", caption)) > 20:
            return graph_error("(#100) The caption mentions more than 20 accounts", 100)
        if params.get("share_to_feed", "true") not in ("true", "false"):
            return graph_error("(#100) Param share_to_feed must be a boolean", 100)
        container = str(random.randrange(10**16, 10**17))
        version = request.path.split("/")[1]
        self.containers[container] = {
            "caption": caption, "share_to_feed": params.get("share_to_feed", "true"),
            "thumb_offset": params.get("thumb_offset"), "file_size": None, "data": bytearray(),
            "done": False, "checks_left": None, "published": None, "created": time.time(),
        }
        return {"id": container, "uri": f"{self.url}/ig-api-upload/{version}/{container}"}

    @route("GET", rf"/{VERSION}/(\d+)/media")
    def list_media(self, request):
        refused = self._user(request, request.match.group(1))
        if refused:
            return refused
        try:
            limit = max(1, min(100, int(request.arg("limit", "25"))))
        except ValueError:
            return graph_error("(#100) Param limit must be an integer", 100)
        fields = (request.arg("fields") or "id").split(",")
        newest = list(reversed(self.media))[:limit]
        return {"data": [{k: m[k] for k in fields if k in m} for m in newest],
                "paging": {"cursors": {"before": "b", "after": "a"}}}

    @route("POST", rf"/{VERSION}/(\d+)/media_publish")
    def media_publish(self, request):
        refused = self._user(request, request.match.group(1))
        if refused:
            return refused
        container_id = self._params(request).get("creation_id", "")
        container = self.containers.get(container_id)
        if container is None:
            return graph_error("(#100) Param creation_id is not a valid container id", 100)
        if container["published"]:
            return graph_error("(#100) The container was already published", 100, 2207008)
        if self._status_code(container_id, container, peek=True) != "FINISHED":
            return graph_error("Media ID is not available", 9007, 2207027,
                               user_message="The media is not ready for publishing, please wait "
                                            "for a moment")
        if self._quota_usage() >= self.quota_total:
            return graph_error("Application request limit reached", 9, 2207042,
                               user_message="You reached maximum number of posts that is allowed "
                                            "to be published by Content Publishing API.")
        media_id = str(random.randrange(10**16, 10**17))
        shortcode = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(11))
        self.publish_times.append(time.time())
        container["published"] = media_id
        self.media.append({
            "id": media_id, "caption": container["caption"],
            "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "permalink": f"https://www.instagram.com/reel/{shortcode}/",
            "media_type": "VIDEO", "media_product_type": "REELS",
            "bytes": bytes(container["data"]), "container": container_id,
            "share_to_feed": container["share_to_feed"],
        })
        return {"id": media_id}

    # ---- containers and media by id ------------------------------------------------------------

    def _status_code(self, container_id, container, peek=False):
        if container["published"]:
            return "PUBLISHED"
        if time.time() - container["created"] > 86400:
            return "EXPIRED"
        if not container["done"]:
            return "IN_PROGRESS"
        if self.fail_processing:
            return "ERROR"
        if container["checks_left"] is None:
            container["checks_left"] = self.in_progress_checks
        if container["checks_left"] > 0:
            if not peek:
                container["checks_left"] -= 1
            return "IN_PROGRESS"
        return "FINISHED"

    @route("GET", rf"/{VERSION}/(\d+)")
    def read_node(self, request):
        refused = self._unauthorized(request)
        if refused:
            return refused
        node = request.match.group(1)
        fields = (request.arg("fields") or "id").split(",")
        if node in self.containers:
            code = self._status_code(node, self.containers[node])
            self.status_log.append((node, code))
            answer = {"id": node, "status_code": code}
            if "status" in fields:
                answer["status"] = ("Error: 2207026 the video format is not supported"
                                    if code == "ERROR" else code.capitalize())
            return answer
        for media in self.media:
            if media["id"] == node:
                return {k: media[k] for k in ["id"] + fields if k in media}
        return graph_error(f"Unsupported get request. Object with ID '{node}' does not exist, "
                           f"cannot be loaded due to missing permissions, or does not support "
                           f"this operation.", 100, 33)

    @route("GET", rf"/{VERSION}/(\d+)/insights")
    def insights(self, request):
        refused = self._unauthorized(request)
        if refused:
            return refused
        media_id = request.match.group(1)
        if not any(m["id"] == media_id for m in self.media):
            return graph_error(f"Object with ID '{media_id}' does not exist", 100, 33)
        data = []
        for metric in (request.arg("metric") or "").split(","):
            if metric not in METRICS:
                return graph_error(f"(#100) metric[{metric}] must be one of the following values: "
                                   + ", ".join(METRICS), 100)
            value = {"views": 321, "likes": 21, "comments": 4, "shares": 3,
                     "saved": 2}.get(metric, 1)
            data.append({"name": metric, "period": "lifetime", "values": [{"value": value}],
                         "title": metric.capitalize(),
                         "id": f"{media_id}/insights/{metric}/lifetime"})
        return {"data": data}

    # ---- the upload host -----------------------------------------------------------------------

    def _upload_target(self, request):
        container_id = request.match.group(1)
        if self._token_refusal(self._token(request)) is not None:
            return None, upload_error(401, "NotAuthorizedError",
                                      "User not authorized to perform this request")
        container = self.containers.get(container_id)
        if container is None:
            return None, upload_error(400, "ProcessingFailedError",
                                      f"Request processing failed: no container {container_id}")
        return container, None

    @route("GET", rf"/ig-api-upload/{VERSION}/(\d+)")
    def upload_offset(self, request):
        container, refused = self._upload_target(request)
        if refused:
            return refused
        return {"offset": len(container["data"]), "file_size": container["file_size"]}

    @route("POST", rf"/ig-api-upload/{VERSION}/(\d+)")
    def upload(self, request):
        container, refused = self._upload_target(request)
        if refused:
            return refused
        return self._store(request.match.group(1), container, request.headers, request.body)

    def _store(self, container_id, container, headers, body, complete=True):
        try:
            offset = int(headers.get("offset", ""))
            file_size = int(headers.get("file_size", ""))
        except ValueError:
            return upload_error(400, "BadRequest", "the offset and file_size headers are required")
        self.upload_log.append((container_id, offset, file_size, len(body)))
        if container["file_size"] not in (None, file_size):
            return upload_error(400, "BadRequest", "file_size differs from the first upload's")
        if offset > len(container["data"]):
            return upload_error(400, "BadRequest",
                                f"offset {offset} is beyond the {len(container['data'])} bytes "
                                f"received")
        container["file_size"] = file_size
        del container["data"][offset:]
        container["data"] += body
        if len(container["data"]) > file_size:
            return upload_error(400, "BadRequest", "more bytes than file_size")
        if not complete:
            return None
        if len(container["data"]) != file_size:
            return upload_error(400, "BadRequest", "the body ended before file_size bytes",
                                retriable=True)
        container["done"] = True
        return Response(200, {"success": True, "message": "Upload successful."})

    def _serve(self, handler):
        """Faults that need the connection: an upload cut off after some bytes (which the host
        keeps, as a resumable upload host does) and media_publish answered by a dropped
        connection after it took effect."""
        path = urllib.parse.urlsplit(handler.path).path
        upload = re.fullmatch(rf"/ig-api-upload/{VERSION}/(\d+)", path)
        if handler.command == "POST" and upload and self.drop_upload_after is not None:
            keep, self.drop_upload_after = self.drop_upload_after, None
            length = int(handler.headers.get("Content-Length") or 0)
            body = handler.rfile.read(min(length, keep))
            with self.lock:
                container = self.containers.get(upload.group(1))
                if container is not None:
                    self._store(upload.group(1), container, handler.headers, body, complete=False)
            self._hang_up(handler, path)
            return
        if (handler.command == "POST" and path.endswith("/media_publish")
                and self.drop_next_publish_response):
            self.drop_next_publish_response = False
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


if __name__ == "__main__":
    serve_main(InstagramFake)
