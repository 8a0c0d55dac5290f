"""The base of the local fake platform servers: a threaded HTTP/1.1 server on 127.0.0.1 that
routes requests to a subclass's handlers, records every request, and injects the failure modes
tests ask for. Each platform's fake (tests/fakes/<platform>_fake.py) implements that platform's
documented protocol on top of it: sessions, chunk rules, tokens, quotas, post state.

A test uses a fake in its own process (the server runs on a thread):

    fake = YouTubeFake()          # listens on 127.0.0.1:<free port>
    fake.start()
    ... fake.url ... fake.posts ...
    fake.fail_next("PUT", r"/upload/", status=503)     # the next matching request gets a 503
    fake.fail_next("PUT", r"/upload/", drop_after=1000) # read 1000 body bytes, then hang up
    fake.fail_next("POST", r"/publish", respond_then_drop=True)  # it takes effect, the answer
                                                                  # is lost
    fake.stop()

or as a process (the demo, manual trials): `python3 tests/fakes/youtube_fake.py --port 0` prints
"listening on http://127.0.0.1:PORT" and serves until killed.

Handlers: methods decorated with @route(METHOD, REGEX) take (self, request) and return a
Response, a (status, json_body) tuple, or a dict/list (200 with that JSON). Fault patterns match
the path; a pattern containing '?' matches the path with its query string. request has .method, .path, .query (dict of lists),
.headers (case-insensitive), .body (bytes, read whole), .match (the regex match), .json() and
.form() (dict). Handlers run one at a time (a lock), so platform state needs no more locking.
"""
import argparse
import email.parser
import http.server
import json
import re
import socket
import threading
import time
import urllib.parse


def route(method, pattern):
    def mark(function):
        function.fake_route = (method, re.compile(pattern))
        return function
    return mark


class Response:
    def __init__(self, status=200, body=b"", headers=None, content_type=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            content_type = content_type or "application/json"
        elif isinstance(body, str):
            body = body.encode()
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        if content_type:
            self.headers.setdefault("Content-Type", content_type)


class Request:
    def __init__(self, method, target, headers, body):
        parsed = urllib.parse.urlsplit(target)
        self.method = method
        self.target = target
        self.path = parsed.path
        self.query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.match = None

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def json(self):
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return None

    def form(self):
        """application/x-www-form-urlencoded or multipart/form-data fields as a dict: text fields
        as str, file parts as bytes."""
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser().parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + self.body)
            fields = {}
            for part in message.get_payload() or []:
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                fields[name] = payload if part.get_filename() else payload.decode("utf-8", "replace")
            return fields
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode("utf-8", "replace"),
                                                          keep_blank_values=True).items()}

    def bearer(self):
        value = self.headers.get("Authorization", "")
        return value[7:] if value.startswith("Bearer ") else None


class Fault:
    def __init__(self, method, pattern, times, status, body, headers, drop_after, delay,
                 respond_then_drop=False):
        self.respond_then_drop = respond_then_drop
        self.method = method
        self.pattern = re.compile(pattern)
        self.times = times
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.drop_after = drop_after
        self.delay = delay


class FakePlatform:
    """Subclasses add @route handlers and platform state."""

    name = "fake"

    def __init__(self, port=0):
        self.lock = threading.RLock()
        self.requests = []   # (method, path, headers dict, body length) of every request
        self.faults = []
        self.routes = []
        for attribute in dir(type(self)):
            function = getattr(type(self), attribute)
            if callable(function) and hasattr(function, "fake_route"):
                method, pattern = function.fake_route
                self.routes.append((method, pattern, getattr(self, attribute)))
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (ConnectionError, socket.timeout):
                    self.close_connection = True

            def _serve(self):
                fake._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, method, pattern, times=1, status=None, body=None, headers=None,
                  drop_after=None, delay=None, respond_then_drop=False):
        """The next `times` requests matching METHOD and the path regex fail: with `status`
        (and body/headers), by hanging up after reading `drop_after` body bytes (a dropped
        connection mid-upload), by handling the request normally and then hanging up instead of
        answering (`respond_then_drop`: the effect happened, the answer is lost), or after
        sleeping `delay` seconds (then handled normally unless something else is given)."""
        with self.lock:
            self.faults.append(Fault(method, pattern, times, status, body, headers, drop_after,
                                     delay, respond_then_drop))

    def count(self, method, pattern):
        """How many requests matched METHOD and the path regex so far."""
        regex = re.compile(pattern)
        with self.lock:
            return sum(1 for m, p, _, _ in self.requests if m == method and regex.search(p))

    def _take_fault(self, method, path, target):
        with self.lock:
            for fault in self.faults:
                subject = target if "?" in fault.pattern.pattern else path
                if fault.method == method and fault.pattern.search(subject) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _serve(self, handler):
        method = handler.command
        length = int(handler.headers.get("Content-Length") or 0)
        path = urllib.parse.urlsplit(handler.path).path
        fault = self._take_fault(method, path, handler.path)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.drop_after is not None:
            handler.rfile.read(min(length, fault.drop_after))
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            with self.lock:
                self.requests.append((method, path, dict(handler.headers), -1))
            return
        body = handler.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append((method, path, dict(handler.headers), len(body)))
        if fault and fault.status is not None:
            response = Response(fault.status, fault.body if fault.body is not None else
                                {"error": {"message": "injected fault"}}, fault.headers)
        else:
            request = Request(method, handler.path, handler.headers, body)
            response = self._dispatch(request)
            if fault and fault.respond_then_drop:
                handler.close_connection = True
                try:
                    handler.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
        self._write(handler, response)

    def _dispatch(self, request):
        for method, pattern, function in self.routes:
            if method != request.method:
                continue
            match = pattern.fullmatch(request.path)
            if match:
                request.match = match
                with self.lock:
                    try:
                        result = function(request)
                    except Exception as error:  # a bug in the fake: say so loudly
                        return Response(500, {"error": f"fake {self.name} crashed: {error!r}"})
                if isinstance(result, tuple):
                    result = Response(*result)
                elif isinstance(result, (dict, list)):
                    result = Response(200, result)
                return result
        return Response(404, {"error": f"fake {self.name}: no route for {request.method} "
                                       f"{request.path}"})

    @staticmethod
    def _write(handler, response):
        handler.send_response(response.status)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(response.body)


def serve_main(fake_class):
    """`python3 <platform>_fake.py [--port N]`: serve until killed."""
    parser = argparse.ArgumentParser(description=f"local fake {fake_class.name} API")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    fake = fake_class(port=args.port)
    print(f"listening on {fake.url}", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
