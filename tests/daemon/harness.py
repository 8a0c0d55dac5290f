"""A reelflowd process for end-to-end tests: started on a temporary state dir and workflow dir,
talked to over its control socket, killed with SIGKILL or stopped with SIGTERM, started again on
the same state; and DaemonCase, the setUp/tearDown and `reelflow` CLI helper the daemon tests
share. Used by the *_daemon_test.py files under tests/.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest


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


class DaemonCase(unittest.TestCase):
    """A test case around one Daemon (not started) on a fresh temporary root, removed afterwards
    unless KEEP_TEST_DIRS is set. By default the root holds a `platform` dir, a secrets file
    (mode 600) with a ptest account `brand` publishing into it, and a reelflowd.yaml naming the
    secrets file. A subclass sets `reelflowd` and `plugin_dir` (from its command line) and, where
    it differs, the other class attributes or `accounts()`; `configure()` returning None gives a
    daemon without a config file."""

    reelflowd = None  # the reelflowd binary; `reelflow` is taken from the same directory
    plugin_dir = None
    prefix = "reelflow-test-"  # of the temporary root's name
    workers = 2
    credentials = {"access_token": "tok"}  # of the ptest account
    secrets_extra = ""  # lines after the accounts in the secrets file
    config_extra = ""  # lines after `secrets_file:` in reelflowd.yaml
    cli_env = None  # variables added to the environment of `reelflow`

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix=self.prefix)
        self.daemon = Daemon(self.reelflowd, self.plugin_dir, self.root, workers=self.workers,
                             config=self.configure())

    def tearDown(self):
        if self.daemon.process and self.daemon.process.poll() is None:
            self.daemon.kill9()
        if os.environ.get("KEEP_TEST_DIRS"):
            print("kept", self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def configure(self):
        """Writes the platform dir, the secrets file and reelflowd.yaml; returns the config's
        path."""
        self.platform = os.path.join(self.root, "platform")
        os.makedirs(self.platform)
        self.secrets = os.path.join(self.root, "secrets")
        self.write_secrets(self.accounts(), self.secrets_extra)
        config = os.path.join(self.root, "reelflowd.yaml")
        with open(config, "w") as handle:
            handle.write(f"secrets_file: {self.secrets}\n{self.config_extra}")
        return config

    def accounts(self):
        """{name: account} for the secrets file written at setUp."""
        return {"brand": self.ptest_account()}

    def ptest_account(self, **more):
        return {"platform": "ptest", "options": {"dir": self.platform},
                "credentials": dict(self.credentials), **more}

    def write_secrets(self, accounts, extra=""):
        """Writes the secrets file: one `account.NAME=JSON` line per account, then `extra`."""
        with open(self.secrets, "w") as handle:
            for name, account in accounts.items():
                handle.write(f"account.{name}={json.dumps(account)}\n")
            handle.write(extra)
        os.chmod(self.secrets, 0o600)

    def cli_run(self, *words, ok=True):
        """`reelflow WORDS --control <the daemon's socket>`, finished; asserts it succeeded unless
        ok is False."""
        done = subprocess.run(
            [os.path.join(os.path.dirname(self.reelflowd), "reelflow"), *words,
             "--control", "unix:" + self.daemon.socket],
            capture_output=True, text=True, timeout=60,
            env=None if self.cli_env is None else {**os.environ, **self.cli_env})
        if ok:
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done

    def cli(self, *words):
        """The standard output of a `reelflow` command that must succeed."""
        return self.cli_run(*words).stdout
