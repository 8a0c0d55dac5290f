"""A reelflowd process for end-to-end tests: started on a temporary state dir and workflow dir,
talked to over its control socket, killed with SIGKILL or stopped with SIGTERM, started again on
the same state. Shared by tests/daemon and tests/publish.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Daemon:
    """One reelflowd life after another on the same state dir."""

    def __init__(self, reelflowd, plugin_dir, root, workers=2, config=None, env=None):
        self.reelflowd = reelflowd
        self.plugin_dir = plugin_dir
        self.env = env
        self.config = config
        self.root = root
        self.state = os.path.join(root, "state")
        self.workflows = os.path.join(root, "workflows")
        self.socket = os.path.join(root, "control.sock")
        self.log_path = os.path.join(root, "daemon.log")
        self.workers = workers
        self.listen = "127.0.0.1:0"  # the tracking listener: a free port
        self.preexec = None  # run in the daemon's process before exec (e.g. set an rlimit)
        self.process = None
        os.makedirs(self.workflows, exist_ok=True)

    def write_workflow(self, name, text):
        with open(os.path.join(self.workflows, name + ".yaml"), "w") as out:
            out.write(text)

    def start(self):
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [self.reelflowd, "--state-dir", self.state, "--workflows", self.workflows,
             "--plugin-dir", self.plugin_dir, "--control", "unix:" + self.socket,
             "--workers", str(self.workers), "--listen", self.listen]
            + (["--config", self.config] if self.config else []),
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self.root,
            env=None if self.env is None else {**os.environ, **self.env},
            preexec_fn=self.preexec)
        log.close()
        wait_for(self._answers, 20, "the control socket")

    def _answers(self):
        if self.process.poll() is not None:
            raise AssertionError(f"reelflowd exited with {self.process.returncode}:\n{self.log()}")
        try:
            return self.api("GET", "/v1/status")[0] == 200
        except OSError:
            return False

    def api(self, method, path, body=None):
        connection = UnixHTTPConnection(self.socket)
        try:
            payload = None if body is None else json.dumps(body)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def runs(self, **query):
        suffix = "&".join(f"{key}={value}" for key, value in query.items())
        status, body = self.api("GET", "/v1/runs?limit=1000" + ("&" + suffix if suffix else ""))
        assert status == 200, body
        return body["runs"]

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def tracking(self):
        """The tracking listener's base URL (http://127.0.0.1:PORT), once started."""
        status, body = self.api("GET", "/v1/status")
        assert status == 200, body
        return "http://" + body["tracking"]["listen"]

    def log(self):
        with open(self.log_path) as text:
            return text.read()
