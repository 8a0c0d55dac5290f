#!/usr/bin/env python3
"""End-to-end tests of reelflowd as a real process: files dropped into a watched folder, the
control API over its Unix socket, restarts, kill -9 at many points, misbehaving plugins, SIGHUP
and SIGTERM. The dtest plugin's side effects land in files, so "each run completes once and no
irreversible effect happens twice" is checked from the outside.

Usage: daemon_test.py REELFLOWD REELFLOW DTEST_PLUGIN_DIR  (ctest passes these)
"""
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

import harness
from harness import UnixHTTPConnection, wait_for  # noqa: F401

REELFLOWD, REELFLOW, PLUGIN_DIR = sys.argv[1:4]
del sys.argv[1:4]


def drop(directory, name, content):
    """Writes a file the way an upload tool does: under a temporary name, then renamed in."""
    os.makedirs(directory, exist_ok=True)
    partial = os.path.join(directory, name + ".part")
    with open(partial, "w") as out:
        out.write(content)
    os.rename(partial, os.path.join(directory, name))


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as text:
        return [line for line in text.read().splitlines() if line]


class DaemonTest(harness.DaemonCase):
    reelflowd, plugin_dir, prefix = REELFLOWD, PLUGIN_DIR, "reelflowd-test-"

    def configure(self):
        return None  # no config file: the tests that need one (and secrets) write their own

    def setUp(self):
        super().setUp()
        self.effects = os.path.join(self.root, "effects.log")
        self.platform = os.path.join(self.root, "platform.log")
        self.inbox = os.path.join(self.root, "inbox")  # `path: inbox`, from the daemon's cwd

    def pipeline(self, name="pipeline", first_millis=150, publish_millis=100, after_millis=150):
        self.daemon.write_workflow(name, f"""
name: {name}
on:
  watch: {{path: inbox, patterns: ["*.mp4"], settle: 200ms}}
  manual: {{}}
concurrency: {{max_runs: 2}}
steps:
  - id: prepare
    uses: dtest.effect
    with: {{log: "{self.effects}", millis: {first_millis}}}
  - id: publish
    uses: dtest.publish
    with: {{platform: "{self.platform}", millis: {publish_millis}, after_millis: {after_millis}}}
  - id: report
    uses: dtest.effect
    with: {{log: "{self.effects}", millis: 50}}
""")

    def wait_finished(self, count, timeout=60):
        def done():
            runs = self.daemon.runs()
            finished = [r for r in runs if r["state"] in ("succeeded", "failed", "cancelled")]
            return runs if len(runs) >= count and len(finished) == len(runs) else None
        return wait_for(done, timeout, f"{count} finished runs")

    def test_a_dropped_file_runs_once_even_across_restarts(self):
        self.pipeline()
        self.daemon.start()
        drop(self.inbox, "launch.mp4", "video bytes")
        runs = self.wait_finished(1)
        self.assertEqual([r["state"] for r in runs], ["succeeded"])
        self.assertEqual(runs[0]["trigger"]["name"], "launch.mp4")
        status, shown = self.daemon.api("GET", "/v1/runs/" + runs[0]["id"])
        self.assertEqual(status, 200)
        self.assertEqual([s["id"] for s in shown["steps"]], ["prepare", "publish", "report"])
        self.assertEqual(shown["steps"][1]["outputs"]["post_id"], runs[0]["id"] + "/publish")
        self.assertEqual(self.daemon.stop(), 0)
        self.daemon.start()  # the start-up scan sees the same file again
        time.sleep(1.0)
        self.assertEqual(len(self.daemon.runs()), 1)
        self.assertEqual(len(lines(self.platform)), 1)

    def test_files_that_arrived_while_down_are_picked_up_once(self):
        self.pipeline()
        self.daemon.start()
        self.assertEqual(self.daemon.stop(), 0)
        for i in range(3):
            drop(self.inbox, f"offline-{i}.mp4", f"video {i}")
        os.makedirs(self.inbox, exist_ok=True)
        with open(os.path.join(self.inbox, ".hidden.mp4"), "w") as out:
            out.write("dotfiles are ignored")
        with open(os.path.join(self.inbox, "upload.mp4.part"), "w") as out:
            out.write("partial uploads are ignored")
        open(os.path.join(self.inbox, "empty.mp4"), "w").close()  # 0 bytes: not yet
        self.daemon.start()
        runs = self.wait_finished(3)
        time.sleep(0.6)
        runs = self.daemon.runs()
        self.assertEqual(sorted(r["trigger"]["name"] for r in runs),
                         ["offline-0.mp4", "offline-1.mp4", "offline-2.mp4"])
        self.assertTrue(all(r["state"] == "succeeded" for r in runs))

    def test_kill9_at_twenty_points_completes_every_run_once_with_one_post_each(self):
        self.pipeline()
        kill_points = [0.05 + 0.06 * i for i in range(20)]  # 50 ms .. 1.19 s into a life
        for i, delay in enumerate(kill_points):
            self.daemon.start()
            drop(self.inbox, f"clip-{i:02d}.mp4", f"clip {i}")
            time.sleep(delay)
            self.daemon.kill9()
        self.daemon.start()
        runs = self.wait_finished(20, timeout=120)
        self.assertEqual(len(runs), 20, [r["trigger"]["name"] for r in runs])
        failed = [(r["id"], r.get("error")) for r in runs if r["state"] != "succeeded"]
        self.assertEqual(failed, [])
        posts = lines(self.platform)
        self.assertEqual(len(posts), len(set(posts)), "a post was made twice")
        self.assertEqual(sorted(posts), sorted(r["id"] + "/publish" for r in runs))
        # Rerun-safe steps may run again after a kill; each run's steps still all succeeded.
        for run in runs:
            status, shown = self.daemon.api("GET", "/v1/runs/" + run["id"])
            succeeded = {s["id"] for s in shown["steps"] if s["state"] == "succeeded"}
            self.assertEqual(succeeded, {"prepare", "publish", "report"}, shown)
        self.assertEqual(self.daemon.stop(), 0)

    def test_a_crashing_plugin_fails_its_step_and_the_daemon_carries_on(self):
        self.daemon.write_workflow("crash", """
name: crash
on:
  manual: {}
steps:
  - id: boom
    uses: dtest.crash
""")
        self.pipeline()
        self.daemon.start()
        source = os.path.join(self.root, "input.mp4")
        with open(source, "w") as out:
            out.write("x")
        status, body = self.daemon.api("POST", "/v1/workflows/crash/trigger", {"input": source})
        self.assertEqual(status, 200, body)
        crashed = wait_for(lambda: [r for r in self.daemon.runs(workflow="crash")
                                    if r["state"] == "failed"], 30, "the crash run to fail")
        self.assertIn("crashed with SIGSEGV", crashed[0]["error"])
        self.assertIn(source, crashed[0]["error"])
        drop(self.inbox, "after.mp4", "still working")
        runs = wait_for(lambda: [r for r in self.daemon.runs(workflow="pipeline")
                                 if r["state"] == "succeeded"], 30, "a run after the crash")
        self.assertEqual(len(runs), 1)
        status, daemon_status = self.daemon.api("GET", "/v1/status")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(daemon_status["workers"]["crashes"], 1)
        status, _ = self.daemon.api("GET", "/v1/runs/" + crashed[0]["id"])
        self.assertEqual(status, 200)

    def test_a_step_not_safe_to_rerun_is_not_repeated_after_a_kill(self):
        self.daemon.write_workflow("once", f"""
name: once
on:
  manual: {{}}
steps:
  - id: only_once
    uses: dtest.once
    with: {{log: "{self.effects}", millis: 1500}}
""")
        self.daemon.start()
        status, body = self.daemon.api("POST", "/v1/workflows/once/trigger", {})
        self.assertEqual(status, 200, body)
        wait_for(lambda: self.daemon.runs(state="running"), 10, "the run to start")
        time.sleep(0.3)
        self.daemon.kill9()
        self.daemon.start()
        failed = wait_for(lambda: self.daemon.runs(state="failed"), 20, "the run to fail")
        self.assertIn("not marked safe to re-run", failed[0]["error"])
        self.assertIn("reelflow retry " + body["run_id"], failed[0]["error"])
        self.assertEqual(lines(self.effects), [])
        status, _ = self.daemon.api("POST", f"/v1/runs/{body['run_id']}/retry")
        self.assertEqual(status, 200)
        wait_for(lambda: self.daemon.runs(state="succeeded"), 20, "the retried run")
        self.assertEqual(len(lines(self.effects)), 1)

    def test_sighup_with_a_broken_workflow_keeps_the_running_version(self):
        self.pipeline()
        self.daemon.start()
        status, before = self.daemon.api("GET", "/v1/workflows")
        # The watch trigger as the daemon runs it: the watch plugin's watch.folder, with the
        # folder resolved against the daemon's working directory.
        inbox = os.path.realpath(self.inbox)  # as getcwd(3) gives it
        self.assertEqual(before["workflows"][0]["triggers"], [
            {"type": "watch", "trigger_type": "watch.folder",
             "options": {"path": inbox, "patterns": ["*.mp4"], "recursive": False,
                         "settle": 0.2},
             "summary": inbox + " *.mp4 settle=0.2s"},
            {"type": "manual"}])
        self.daemon.write_workflow("pipeline", "name: pipeline\non:\n  manual: {}\nsteps:\n"
                                   "  - id: a\n    uses: dtest.efect\n")
        self.daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "dtest.efect" in self.daemon.log(), 10, "the reload")
        self.assertIn("pipeline.yaml:6:11: error: unknown step type 'dtest.efect'", self.daemon.log())
        status, after = self.daemon.api("GET", "/v1/workflows")
        self.assertEqual(after, before)
        drop(self.inbox, "still.mp4", "still watched")
        runs = self.wait_finished(1)
        self.assertEqual(runs[0]["state"], "succeeded")

    def test_a_misbehaving_trigger_plugin_is_logged_and_the_daemon_carries_on(self):
        for name, mode in (("refuses", "fail_start"), ("garbage", "garbage")):
            self.daemon.write_workflow(name, f"""
name: {name}
on:
  dtest.misbehave: {{mode: {mode}}}
  manual: {{}}
steps:
  - id: effect
    uses: dtest.effect
    with: {{log: "{self.effects}"}}
""")
        self.daemon.start()
        runs = self.wait_finished(1)
        self.assertEqual([(r["workflow"], r["trigger"]) for r in runs],
                         [("garbage", {"event": "misbehave"})])
        log = self.daemon.log()
        self.assertIn("cannot start: refusing to start, as the test asked", log)
        self.assertIn("trigger dtest.misbehave of workflow 'refuses' did not start", log)
        for refusal in ("emitted trigger JSON that is not valid JSON: not json",
                        "emitted trigger JSON that is not an object: [1, 2]",
                        "keys starting with 'manual:' belong to the built-in triggers",
                        "emitted an event with an empty key",
                        "emitted an event without trigger JSON"):
            self.assertIn(refusal, log)
        # The workflow whose trigger did not start still runs by hand.
        status, body = self.daemon.api("POST", "/v1/workflows/refuses/trigger", {})
        self.assertEqual(status, 200, body)
        self.wait_finished(2)
        # A reload starts the triggers again: the same key starts no second run.
        self.daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: self.daemon.log().count("trigger dtest.misbehave of workflow 'refuses' "
                                                 "did not start") == 2, 10, "the reload")
        time.sleep(0.5)
        self.assertEqual(len(self.daemon.runs(workflow="garbage")), 1)
        self.assertEqual(self.daemon.stop(), 0)

    def test_control_api_pause_resume_cancel_and_errors(self):
        self.pipeline(first_millis=2000)
        self.daemon.start()
        self.assertEqual(self.daemon.api("POST", "/v1/workflows/pipeline/pause")[0], 200)
        status, body = self.daemon.api("POST", "/v1/workflows/pipeline/trigger", {})
        self.assertEqual(status, 409)
        self.assertIn("paused", body["error"])
        self.assertEqual(self.daemon.api("POST", "/v1/workflows/pipeline/resume")[0], 200)
        status, body = self.daemon.api("POST", "/v1/workflows/pipeline/trigger", {})
        self.assertEqual(status, 200)
        run_id = body["run_id"]
        wait_for(lambda: self.daemon.runs(state="running"), 10, "the run to start")
        self.assertEqual(self.daemon.api("POST", f"/v1/runs/{run_id}/cancel")[0], 200)
        cancelled = wait_for(lambda: self.daemon.runs(state="cancelled"), 15, "the cancel")
        self.assertEqual(cancelled[0]["id"], run_id)
        self.assertEqual(lines(self.platform), [])
        self.assertEqual(self.daemon.api("GET", "/v1/runs/nope")[0], 404)
        self.assertEqual(self.daemon.api("POST", "/v1/workflows/nope/trigger", {})[0], 404)
        self.assertEqual(self.daemon.api("POST", f"/v1/runs/{run_id}/cancel")[0], 409)
        status, body = self.daemon.api("POST", "/v1/workflows/pipeline/trigger",
                                       {"input": "relative.mp4"})
        self.assertEqual(status, 400)
        self.assertIn("absolute path", body["error"])

    def test_a_wait_survives_kill9_and_the_step_runs_once_after_it(self):
        self.daemon.write_workflow("scheduled", f"""
name: scheduled
on:
  manual: {{}}
steps:
  - id: prepare
    uses: dtest.effect
    with: {{log: "{self.effects}"}}
  - id: publish
    uses: dtest.publish
    wait: {{for: 2s}}
    with: {{platform: "{self.platform}"}}
""")
        self.daemon.start()
        status, body = self.daemon.api("POST", "/v1/workflows/scheduled/trigger", {})
        self.assertEqual(status, 200, body)
        triggered = time.monotonic()
        waiting = wait_for(lambda: self.daemon.runs(state="waiting"), 10, "the run to wait")
        self.assertEqual(waiting[0]["id"], body["run_id"])
        status, shown = self.daemon.api("GET", "/v1/runs/" + body["run_id"])
        wait_row = [s for s in shown["steps"] if s["id"] == "publish"][0]
        self.assertEqual(wait_row["state"], "waiting")
        self.assertIn("wait_until", wait_row["outputs"])
        self.daemon.kill9()
        self.assertEqual(lines(self.platform), [])
        self.daemon.start()
        done = wait_for(lambda: self.daemon.runs(state="succeeded"), 20, "the run after its wait")
        self.assertGreaterEqual(time.monotonic() - triggered, 2.0)
        self.assertEqual(lines(self.platform), [body["run_id"] + "/publish"])
        self.assertEqual(len(lines(self.effects)), 1)
        self.assertEqual(done[0]["id"], body["run_id"])

    def test_sighup_reloads_the_config_and_refuses_a_broken_one(self):
        config = os.path.join(self.root, "reelflowd.yaml")
        with open(config, "w") as out:
            out.write("log_level: info\nshutdown_grace: 30s\n")
        self.daemon.config = config
        self.pipeline()
        self.daemon.start()
        with open(config, "w") as out:
            out.write("log_level: debug\nshutdown_grace: 30s\ncontrol_group: staff\nworkres: 4\n")
        self.daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "the running settings stay" in self.daemon.log(), 10, "the refusal")
        self.assertIn("reelflowd.yaml:4:1: error: unknown key 'workres'", self.daemon.log())
        with open(config, "w") as out:
            out.write("log_level: debug\nshutdown_grace: 30s\ncontrol_group: staff\n")
        self.daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "applied only after a restart of reelflowd: control_group" in self.daemon.log(),
                 10, "the reload")
        drop(self.inbox, "debug.mp4", "x")
        self.wait_finished(1)
        self.assertIn("level=debug", self.daemon.log())  # the new log level is live
        self.assertEqual(self.daemon.stop(), 0)

    def test_artifacts_are_purged_after_the_retention_period(self):
        config = os.path.join(self.root, "reelflowd.yaml")
        with open(config, "w") as out:
            out.write("artifact_retention: 2s\n")
        self.daemon.config = config
        self.pipeline()
        self.daemon.start()
        drop(self.inbox, "old.mp4", "x")
        run = self.wait_finished(1)[0]
        artifacts = os.path.join(self.daemon.state, "artifacts", run["id"])
        self.assertTrue(os.path.isdir(artifacts))
        wait_for(lambda: not os.path.exists(artifacts), 10, "the artifacts to be purged")
        self.assertEqual(self.daemon.runs()[0]["state"], "succeeded")  # the record stays

    def test_metrics_and_sigterm(self):
        self.pipeline()
        self.daemon.start()
        drop(self.inbox, "m.mp4", "m")
        self.wait_finished(1)
        connection = UnixHTTPConnection(self.daemon.socket)
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        self.assertEqual(response.status, 200)
        self.assertIn('reelflow_runs{state="succeeded"} 1', text)
        self.assertIn('reelflow_step_duration_seconds_count{step_type="dtest.publish"} 1', text)
        started = time.monotonic()
        self.assertEqual(self.daemon.stop(), 0)
        self.assertLess(time.monotonic() - started, 10)
        self.assertFalse(os.path.exists(self.daemon.socket) and _socket_answers(self.daemon.socket))

    # --- what an operator trips over -------------------------------------------------------------

    def _pids_holding(self, path):
        """The processes with an open descriptor on path (from /proc)."""
        holders = set()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                        holders.add(int(pid))
            except OSError:
                continue
        return holders

    def test_a_second_daemon_on_the_same_state_dir_refuses_to_start(self):
        self.pipeline()
        self.daemon.start()
        drop(self.inbox, "first.mp4", "x")  # a step runs: worker processes exist
        self.wait_finished(1)
        lock = os.path.join(self.daemon.state, "reelflowd.lock")
        with open(lock) as text:
            self.assertEqual(text.read().strip(), str(self.daemon.process.pid))
        # Only the daemon holds the lock: the workers it exec'd do not inherit it.
        self.assertEqual(self._pids_holding(lock), {self.daemon.process.pid})
        other = os.path.join(self.root, "other")
        os.makedirs(other)
        second = subprocess.run(
            [REELFLOWD, "--state-dir", self.daemon.state, "--workflows", self.daemon.workflows,
             "--plugin-dir", PLUGIN_DIR, "--control", "unix:" + os.path.join(other, "c.sock"),
             "--listen", "127.0.0.1:0"],
            cwd=self.root, capture_output=True, text=True, timeout=30)
        self.assertEqual(second.returncode, 1, second.stderr)
        self.assertIn(f"another reelflowd (pid {self.daemon.process.pid}) is already running on "
                      f"the state dir {self.daemon.state}", second.stderr)
        self.assertFalse(os.path.exists(os.path.join(other, "c.sock")))
        # --check does not open the state, so it neither takes nor needs the lock.
        check = subprocess.run([REELFLOWD, "--state-dir", self.daemon.state, "--workflows",
                                self.daemon.workflows, "--plugin-dir", PLUGIN_DIR, "--check"],
                               cwd=self.root, capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        # The first daemon is untouched; after a kill -9 the lock is free at once.
        self.assertEqual(self.daemon.api("GET", "/v1/status")[0], 200)
        self.daemon.kill9()
        self.daemon.start()
        self.assertEqual(self.daemon.api("GET", "/v1/status")[0], 200)

    def test_sighup_applies_track_public_url_and_names_the_track_settings_it_cannot(self):
        config = os.path.join(self.root, "reelflowd.yaml")
        with open(config, "w") as out:
            out.write("track:\n  public_url: https://old.example.com\n")
        self.daemon.config = config
        self.pipeline()
        self.daemon.start()
        status, body = self.daemon.api("GET", "/v1/status")
        self.assertEqual(body["tracking"]["public_url"], "https://old.example.com")
        with open(config, "w") as out:
            out.write("track:\n  public_url: https://go.example.com/\n"
                      "  trust_forwarded_for: true\n  replay_window: 10m\n")
        self.daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "applied only after a restart of reelflowd: track.trust_forwarded_for, "
                         "track.replay_window" in self.daemon.log(), 10, "the restart warning")
        self.assertIn("track.public_url applied: new short links read "
                      "https://go.example.com/l/<code>", self.daemon.log())
        status, body = self.daemon.api("GET", "/v1/status")
        self.assertEqual(body["tracking"]["public_url"], "https://go.example.com")
        status, link = self.daemon.api("POST", "/v1/links",
                                       {"url": "https://shop.example.com/p", "campaign": "c"})
        self.assertIn(status, (200, 201), link)
        self.assertTrue(link["short_url"].startswith("https://go.example.com/l/"), link)

    def test_check_reports_every_problem_of_a_setup_and_passes_a_good_one(self):
        secrets = os.path.join(self.root, "secrets")
        with open(secrets, "w") as out:
            out.write("greeting=hi\n")
        os.chmod(secrets, 0o640)
        config = os.path.join(self.root, "reelflowd.yaml")
        with open(config, "w") as out:
            out.write(f"secrets_file: {secrets}\n")
        self.pipeline()
        os.makedirs(self.inbox)
        command = [REELFLOWD, "--config", config, "--state-dir", self.daemon.state,
                   "--workflows", self.daemon.workflows, "--plugin-dir", PLUGIN_DIR, "--check"]
        good = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=60)
        self.assertEqual(good.returncode, 0, good.stdout + good.stderr)
        self.assertIn("ok (1 workflow(s)", good.stdout)
        self.assertFalse(os.path.exists(self.daemon.state), "--check created the state dir")
        # Now break it: a world-readable secrets file, a workflow with a typo, a watch folder
        # that is a file.
        os.chmod(secrets, 0o644)
        self.daemon.write_workflow("broken", """
name: broken
on:
  manual: {}
steps:
  - id: s
    uses: dtest.efect
    with: {log: x}
""")
        self.daemon.write_workflow("files", """
name: files
on:
  watch: {path: not-a-folder}
steps:
  - id: s
    uses: dtest.effect
    with: {log: x}
""")
        with open(os.path.join(self.root, "not-a-folder"), "w") as out:
            out.write("x")
        bad = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=60)
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        self.assertIn(secrets + ": error: the secrets file is readable by every user", bad.stderr)
        broken = os.path.join(self.daemon.workflows, "broken.yaml")
        self.assertRegex(bad.stderr, re.escape(broken) + r":7:11: error: unknown step type "
                                                         r"'dtest.efect'")
        self.assertIn(f"watch.folder folder {os.path.join(self.root, 'not-a-folder')} "
                      "(workflow 'files') is not a directory", bad.stderr)
        self.assertIn("reelflowd --check: 3 problem(s)", bad.stderr)
        self.assertEqual(bad.stdout, "")

    def test_check_names_the_accounts_and_secrets_the_workflows_lack(self):
        secrets = os.path.join(self.root, "secrets")
        with open(secrets, "w") as out:
            out.write('account.ok={"platform": "folder", "options": {"path": "/tmp/handover"}}\n')
            out.write('account.wrongkind={"platform": "youtube"}\n')
            out.write('account.nopath={"platform": "folder"}\n')
        os.chmod(secrets, 0o600)
        config = os.path.join(self.root, "reelflowd.yaml")
        with open(config, "w") as out:
            out.write(f"secrets_file: {secrets}\n")
        self.daemon.write_workflow("pub", """
name: pub
on:
  manual: {}
steps:
  - {id: good, uses: folder.publish, with: {account: ok, video: /x.mp4}}
  - {id: missing, uses: folder.publish, with: {account: handover, video: /x.mp4}}
  - {id: other, uses: folder.publish, with: {account: wrongkind, video: /x.mp4}}
  - {id: bad, uses: folder.publish, with: {account: nopath, video: /x.mp4}}
  - {id: later, uses: folder.publish, with: {account: "${{ env.who }}", video: /x.mp4}}
  - {id: s, uses: dtest.effect, with: {log: "${{ secrets.log_target }}"}}
""")
        command = [REELFLOWD, "--config", config, "--state-dir", self.daemon.state,
                   "--workflows", self.daemon.workflows, "--plugin-dir", PLUGIN_DIR, "--check"]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        where = os.path.join(self.daemon.workflows, "pub.yaml") + ": workflow 'pub', step "
        self.assertIn(where + "'missing': error: folder.publish: account 'handover' is not "
                      "configured: give the daemon a secret named 'account.handover'", done.stderr)
        self.assertIn(where + "'other': error: folder.publish: account 'wrongkind' is a youtube "
                      "account, not folder", done.stderr)
        self.assertIn(where + "'bad': error: folder.publish account 'nopath': required option "
                      "'path' is missing", done.stderr)
        self.assertNotIn("'good'", done.stderr)
        self.assertNotIn("'later'", done.stderr, "an account from a template is known at run time")
        self.assertIn(f"warning: {where}'s' reads secrets.log_target, which is not set "
                      f"(secrets file: {secrets})", done.stderr)
        self.assertIn("reelflowd --check: 3 problem(s)", done.stderr)

    def test_the_visitor_salt_is_private_and_a_loose_one_is_tightened(self):
        self.pipeline()
        self.daemon.preexec = lambda: os.umask(0o022)
        self.daemon.start()
        salt = os.path.join(self.daemon.state, "visitor_salt")
        self.assertEqual(os.stat(salt).st_mode & 0o777, 0o600)
        with open(salt) as text:
            first = text.read()
        self.assertRegex(first, r"^[0-9a-f]{32}\n$")
        self.assertEqual(self.daemon.stop(), 0)
        os.chmod(salt, 0o644)
        self.daemon.start()
        self.assertEqual(os.stat(salt).st_mode & 0o777, 0o600)
        self.assertIn("the visitor salt was mode 0644 (readable by others); changed it to 0600",
                      self.daemon.log())
        with open(salt) as text:
            self.assertEqual(text.read(), first, "the salt changed")

    def test_a_step_reading_a_secret_that_is_not_set_names_it(self):
        secrets = os.path.join(self.root, "secrets")
        with open(secrets, "w") as out:
            out.write("other=x\n")
        os.chmod(secrets, 0o600)
        config = os.path.join(self.root, "reelflowd.yaml")
        with open(config, "w") as out:
            out.write(f"secrets_file: {secrets}\n")
        self.daemon.config = config
        self.daemon.write_workflow("secretive", """
name: secretive
on:
  manual: {}
steps:
  - id: s
    uses: dtest.effect
    with: {log: "${{ secrets.effect_log }}"}
""")
        self.daemon.start()
        status, body = self.daemon.api("POST", "/v1/workflows/secretive/trigger", {})
        self.assertEqual(status, 200, body)
        failed = wait_for(lambda: self.daemon.runs(state="failed"), 20, "the run to fail")
        status, shown = self.daemon.api("GET", "/v1/runs/" + failed[0]["id"])
        errors = " ".join(step.get("error", "") for step in shown["steps"]) + failed[0]["error"]
        self.assertIn(f"option 'log': secrets.effect_log is not set (secrets file: {secrets})",
                      errors)
        self.assertNotIn("got null", errors)

    def test_a_post_held_for_its_account_says_it_goes_on_by_itself(self):
        handover = os.path.join(self.root, "handover")
        secrets = os.path.join(self.root, "secrets")
        with open(secrets, "w") as out:
            out.write('account.agency={"platform": "folder", "options": {"path": "%s"}}\n'
                      % handover)
        os.chmod(secrets, 0o600)
        config = os.path.join(self.root, "reelflowd.yaml")
        with open(config, "w") as out:
            out.write(f"secrets_file: {secrets}\n")
        self.daemon.config = config
        # The account as the publish driver leaves it when the platform refused its refresh
        # token: the record grew from the secret as it is (seed = sha256 of its credentials).
        accounts = os.path.join(self.daemon.state, "accounts")
        os.makedirs(accounts)
        with open(os.path.join(accounts, "agency.json"), "w") as out:
            json.dump({"seed": hashlib.sha256(b"{}").hexdigest(), "status": "reconnect_needed",
                       "message": "the platform refused its tokens", "credentials": {}}, out)
        os.chmod(os.path.join(accounts, "agency.json"), 0o600)
        video = os.path.join(self.root, "clip.mp4")
        with open(video, "w") as out:
            out.write("x")
        self.daemon.write_workflow("handover", f"""
name: handover
on:
  manual: {{}}
steps:
  - id: publish
    uses: folder.publish
    with: {{account: agency, video: "{video}", title: t}}
""")
        self.daemon.start()
        status, body = self.daemon.api("POST", "/v1/workflows/handover/trigger", {})
        self.assertEqual(status, 200, body)
        wait_for(lambda: self.daemon.runs(state="waiting"), 20, "the post held for its account")
        # What the operator reads: `reelflow schedule` (the daemon's log says the same).
        schedule = subprocess.run([REELFLOW, "schedule", "--json", "--control",
                                   "unix:" + self.daemon.socket],
                                  capture_output=True, text=True, timeout=30)
        self.assertEqual(schedule.returncode, 0, schedule.stderr)
        held = json.loads(schedule.stdout)["posts"]
        self.assertEqual(len(held), 1, held)
        message = held[0]["rescheduled"]
        self.assertIn("account 'agency' needs to be connected again", message)
        self.assertIn("the post goes on by itself, no retry needed", message)
        self.assertNotIn("reelflow retry", message)
        self.assertNotIn("reelflow retry", self.daemon.log())


def _socket_answers(path):
    try:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.connect(path)
        probe.close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
