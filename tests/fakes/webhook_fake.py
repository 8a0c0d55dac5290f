"""A fake webhook receiver: what plugins/webhook/README.md asks of the team's own system, done
strictly, so that a publisher that signs the wrong bytes, forgets a header, sends media that do
not match their hashes or repeats a delivery is caught.

    fake = WebhookFake(secret="whsec_test", bearer=None).start()
    account options: {"url": fake.hook_url, "status_url": fake.status_url}
    fake.posts              # accepted deliveries, in order (dicts, see _store)
    fake.status_states      # what the status URL answers in turn ("processing", ...), then
                            # "published"
    fake.drop_after_storing(1)   # store the next delivery, then hang up without answering
    fake.fail_next(...)          # FakePlatform's faults (status codes, drops before storing)

POST /hook (the delivery), in this order, like a careful receiver:
  1. Authorization: Bearer <bearer> when the fake has one, else 401.
  2. X-Reelflow-Event: post.publish and an Idempotency-Key header, else 400.
  3. The body: multipart/form-data with a `post` part (application/json) and `video` / `cover`
     file parts, or application/json alone (media "url"); else 415/400.
  4. X-Reelflow-Signature "t=<unix>,v1=<hex>" = HMAC-SHA256(secret, "<t>." + the JSON part's
     exact bytes), t within 5 minutes of now; else 401 (Stripe's receivers refuse both alike).
  5. The JSON: required fields, idempotency_key equal to the header, platform "webhook", and
     the media: multipart parts whose bytes match video/cover size_bytes and sha256 and whose
     filename is the "file" field; with media "url", no file parts and a "url" ending in the
     URL-encoded file name (under media_base_url when the fake was given one). Else 400 naming
     the field.
  6. A key seen before: 409 with the first delivery's answer (nothing stored).
  7. Stored: 201 {"id": "wh-N", "url": "<fake>/posts/wh-N"}.

GET /status/<post id> (URL-decoded): the same bearer and signature checks (the signed payload is
empty), 404 for an unknown post, else {"state", "id", "url" | "error"}.

Not implemented: fetching media by URL in "url" mode (the fake only checks the URL's form), a
receiver's own processing (the states are scripted), TLS.
"""
import hashlib
import hmac
import json
import os
import re
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_platform import FakePlatform, Response, route, serve_main  # noqa: E402

TOLERANCE_SECONDS = 300
REQUIRED_FIELDS = ("id", "idempotency_key", "platform", "account", "title", "caption", "tags",
                   "link", "publish_at", "video", "cover", "options")
MEDIA_FIELDS = ("file", "size_bytes", "sha256")


class _HangUp(Response):
    """A handler's answer that closes the connection without a response."""


def parse_multipart(content_type, body):
    """multipart/form-data as a list of dicts {name, filename, content_type, data (bytes)},
    parsed by the RFC 7578 / RFC 2046 delimiters so that the bytes are exactly the sent ones.
    Raises ValueError on a malformed body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("multipart body without a boundary")
    delimiter = b"\r\n--" + match.group(1).encode()
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ValueError("multipart body without its closing delimiter")
    parts = []
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n"):
            raise ValueError("malformed multipart delimiter line")
        head, separator, data = chunk[2:].partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("a multipart part without a blank line after its headers")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if not disposition.startswith("form-data") or not name:
            raise ValueError("a multipart part without Content-Disposition: form-data; name=...")
        parts.append({"name": name.group(1), "filename": filename.group(1) if filename else None,
                      "content_type": headers.get("content-type", "text/plain"), "data": data})
    return parts


def verify_signature(secret, header, payload, now=None, tolerance=TOLERANCE_SECONDS):
    """None if header signs payload with secret within the tolerance, else why not."""
    fields = {}
    for item in (header or "").split(","):
        key, _, value = item.partition("=")
        fields.setdefault(key.strip(), []).append(value.strip())
    if "t" not in fields or "v1" not in fields:
        return "X-Reelflow-Signature must be t=<unix seconds>,v1=<hex HMAC-SHA256>"
    try:
        timestamp = int(fields["t"][0])
    except ValueError:
        return "X-Reelflow-Signature: t is not a number"
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return (f"signature timestamp {timestamp} is outside the {tolerance // 60}-minute "
                "tolerance (check the sender's clock)")
    expected = hmac.new(secret.encode(), str(timestamp).encode() + b"." + payload,
                        hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in fields["v1"]):
        return "signature verification failed: no v1 signature matches the payload"
    return None


class WebhookFake(FakePlatform):
    name = "webhook"

    def __init__(self, secret, bearer=None, media_base_url=None, port=0):
        super().__init__(port)
        self.secret = secret
        self.bearer = bearer
        self.media_base_url = media_base_url
        self.posts = []          # accepted deliveries, in order
        self.answers = {}        # Idempotency-Key -> the first delivery's answer body
        self.status_states = []  # the status URL's answers in turn, then "published"
        self.status_error = "rejected by the reviewer"
        self.refusals = []       # (status, message) of every refused request
        self._drops_after_store = 0

    @property
    def hook_url(self):
        return self.url + "/hook"

    @property
    def status_url(self):
        return self.url + "/status/{id}"

    def drop_after_storing(self, times=1):
        """The next `times` deliveries are stored, then the connection is closed unanswered."""
        with self.lock:
            self._drops_after_store += times

    # --- the delivery ---------------------------------------------------------------------

    def _refuse(self, status, message):
        self.refusals.append((status, message))
        return Response(status, {"error": message})

    def _check_bearer(self, request):
        if self.bearer is not None and request.bearer() != self.bearer:
            return self._refuse(401, "bearer token not accepted")
        return None

    @route("POST", r"/hook")
    def deliver(self, request):
        refused = self._check_bearer(request)
        if refused:
            return refused
        if request.headers.get("X-Reelflow-Event") != "post.publish":
            return self._refuse(400, "X-Reelflow-Event must be post.publish")
        key = request.headers.get("Idempotency-Key")
        if not key:
            return self._refuse(400, "the Idempotency-Key header is missing")

        content_type = request.headers.get("Content-Type", "")
        files = {}
        if content_type.startswith("multipart/form-data"):
            try:
                parts = parse_multipart(content_type, request.body)
            except ValueError as error:
                return self._refuse(400, str(error))
            names = [part["name"] for part in parts]
            if len(set(names)) != len(names):
                return self._refuse(400, f"repeated multipart parts: {names}")
            by_name = {part["name"]: part for part in parts}
            post_part = by_name.pop("post", None)
            if post_part is None:
                return self._refuse(400, "the multipart body has no 'post' part")
            if not post_part["content_type"].startswith("application/json"):
                return self._refuse(400, "the 'post' part must be application/json")
            if post_part["filename"] is not None:
                return self._refuse(400, "the 'post' part must not be a file")
            unknown = set(by_name) - {"video", "cover"}
            if unknown:
                return self._refuse(400, f"unexpected multipart parts: {sorted(unknown)}")
            raw = post_part["data"]
            files = by_name
            mode = "multipart"
        elif content_type.startswith("application/json"):
            raw = request.body
            mode = "url"
        else:
            return self._refuse(415, f"unsupported Content-Type {content_type!r}")

        problem = verify_signature(self.secret, request.headers.get("X-Reelflow-Signature"), raw)
        if problem:
            return self._refuse(401, problem)

        try:
            post = json.loads(raw)
        except ValueError:
            return self._refuse(400, "the post is not valid JSON")
        problem = self._check_post(post, key, mode, files)
        if problem:
            return self._refuse(400, problem)

        if key in self.answers:
            return Response(409, self.answers[key])
        answer = self._store(post, raw, request, mode, files)
        if self._drops_after_store > 0:
            self._drops_after_store -= 1
            return _HangUp(0)
        return Response(201, answer)

    def _check_post(self, post, key, mode, files):
        if not isinstance(post, dict):
            return "the post must be a JSON object"
        for field in REQUIRED_FIELDS:
            if field not in post:
                return f"missing field {field}"
        if post["idempotency_key"] != key:
            return "idempotency_key differs from the Idempotency-Key header"
        if post["platform"] != "webhook":
            return "platform must be webhook"
        if not isinstance(post["tags"], list):
            return "tags must be a list"
        for name in ("video", "cover"):
            media = post[name]
            if media is None and name == "cover":
                if "cover" in files:
                    return "a cover part was sent but cover is null"
                continue
            if not isinstance(media, dict):
                return f"{name} must be an object"
            for field in MEDIA_FIELDS:
                if field not in media:
                    return f"missing field {name}.{field}"
            if mode == "multipart":
                part = files.get(name)
                if part is None:
                    return f"the multipart body has no '{name}' part"
                if part["filename"] != media["file"]:
                    return f"the '{name}' part's filename is not {name}.file"
                if len(part["data"]) != media["size_bytes"]:
                    return (f"{name}.size_bytes is {media['size_bytes']} but the part holds "
                            f"{len(part['data'])} bytes")
                if hashlib.sha256(part["data"]).hexdigest() != media["sha256"]:
                    return f"{name}.sha256 does not match the part's bytes"
            else:
                url = media.get("url")
                if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                    return f"missing field {name}.url (media \"url\" mode)"
                if not url.endswith("/" + urllib.parse.quote(media["file"], safe="")):
                    return f"{name}.url does not end with the URL-encoded {name}.file"
                if self.media_base_url and not url.startswith(self.media_base_url):
                    return f"{name}.url is not under {self.media_base_url}"
        return None

    def _store(self, post, raw, request, mode, files):
        post_id = f"wh-{len(self.posts) + 1}"
        answer = {"id": post_id, "url": f"{self.url}/posts/{post_id}"}
        self.posts.append({
            "id": post_id, "json": post, "raw": raw, "mode": mode,
            "headers": {name: request.headers.get(name) for name in request.headers.keys()},
            "media": {name: part["data"] for name, part in files.items()},
            "content_types": {name: part["content_type"] for name, part in files.items()},
            "answer": answer})
        self.answers[post["idempotency_key"]] = answer
        return answer

    # --- status ---------------------------------------------------------------------------

    @route("GET", r"/status/(.+)")
    def status(self, request):
        refused = self._check_bearer(request)
        if refused:
            return refused
        problem = verify_signature(self.secret, request.headers.get("X-Reelflow-Signature"), b"")
        if problem:
            return self._refuse(401, problem)
        wanted = urllib.parse.unquote(request.match.group(1))
        post = next((p for p in self.posts if p["json"]["id"] == wanted), None)
        if post is None:
            return Response(404, {"error": f"no post with id {wanted}"})
        state = self.status_states.pop(0) if self.status_states else "published"
        answer = {"state": state, "id": post["id"]}
        if state == "published":
            answer["url"] = f"{self.url}/live/{post['id']}"
        elif state == "failed":
            answer["error"] = self.status_error
        return Response(200, answer)

    @route("GET", r"/posts/(.+)")
    def show(self, request):
        post = next((p for p in self.posts if p["id"] == request.match.group(1)), None)
        return Response(200, post["json"]) if post else Response(404, {"error": "no such post"})

    @staticmethod
    def _write(handler, response):
        if isinstance(response, _HangUp):
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        FakePlatform._write(handler, response)


class _ServedWebhookFake(WebhookFake):
    """For `python3 webhook_fake.py`: the secret from $WEBHOOK_SECRET (default "whsec_demo")."""

    def __init__(self, port=0):
        super().__init__(os.environ.get("WEBHOOK_SECRET", "whsec_demo"),
                         os.environ.get("WEBHOOK_BEARER"), port=port)


if __name__ == "__main__":
    serve_main(_ServedWebhookFake)
