#!/usr/bin/env python3
"""Exactly-once publishing in the real daemon: reelflowd with worker processes and a SQLite
store publishes through the scripted ptest publisher (its "platform" is a directory), and is
killed with SIGKILL during an upload, between "published" and "recorded", at random points, and
while a scheduled post waits. After each restart the post must exist exactly once.

Usage: publish_daemon_test.py REELFLOWD PTEST_PLUGIN_DIR [unittest args]
"""
import json
import os
import random
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

REELFLOWD, PLUGIN_DIR = sys.argv[1:3]
del sys.argv[1:3]


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [line for line in handle.read().splitlines() if line]


class PublishDaemonTest(harness.DaemonCase):
    reelflowd, plugin_dir, prefix = REELFLOWD, PLUGIN_DIR, "reelflow-publish-"
    credentials = {"access_token": "tok-SECRET-456"}
    cli_env = {"TZ": "Asia/Shanghai"}

    def setUp(self):
        super().setUp()
        self.inbox = os.path.join(self.root, "inbox")
        os.makedirs(self.inbox)

    def workflow(self, **options):
        with_lines = "\n".join(f"      {key}: {json.dumps(value)}" for key, value in options.items())
        self.daemon.write_workflow("post", f"""
name: post
on:
  watch: {{path: inbox, patterns: ["*.mp4"], settle: 200ms}}
steps:
  - id: publish
    uses: ptest.publish
    with:
      account: brand
      video: ${{{{ trigger.file }}}}
      title: launch
{with_lines}
""")

    def drop(self, name):
        partial = os.path.join(self.inbox, name + ".part")
        with open(partial, "wb") as handle:
            handle.write(os.urandom(2048))
        os.rename(partial, os.path.join(self.inbox, name))

    def wait_finished(self, count, timeout=60):
        def done():
            runs = self.daemon.runs()
            finished = [r for r in runs if r["state"] in ("succeeded", "failed", "cancelled")]
            return runs if len(runs) >= count and len(finished) == len(runs) else None
        return wait_for(done, timeout, f"{count} finished runs")

    def posts(self):
        return lines(os.path.join(self.platform, "posts.log"))

    def reached(self, stage):
        return os.path.exists(os.path.join(self.platform, stage + ".reached"))

    def step_outputs(self, run_id):
        """The publish step's last execution as the control API shows it."""
        status, shown = self.daemon.api("GET", "/v1/runs/" + run_id)
        self.assertEqual(status, 200, shown)
        return [step for step in shown["steps"] if step["id"] == "publish"][-1]

    def test_kill9_during_the_upload_resumes_it_and_posts_once(self):
        self.workflow(chunks=6, chunk_millis=300)
        self.daemon.start()
        self.drop("a.mp4")
        wait_for(lambda: len(lines(os.path.join(self.platform, "chunks.log"))) >= 2, 30,
                 "two chunks uploaded")
        self.daemon.kill9()
        before = len(lines(os.path.join(self.platform, "chunks.log")))
        self.daemon.start()
        runs = self.wait_finished(1)
        self.assertEqual(runs[0]["state"], "succeeded", self.daemon.log())
        self.assertEqual(len(self.posts()), 1)
        self.assertEqual(lines(os.path.join(self.platform, "starts.log")), ["s1"],
                         "the upload session was resumed, not started again")
        chunks = lines(os.path.join(self.platform, "chunks.log"))
        self.assertEqual(chunks, [f"s1 {i}" for i in range(6)],
                         f"each chunk sent once ({before} before the kill)")
        self.assertEqual(self.step_outputs(runs[0]["id"])["outputs"]["post_id"], "p-s1")
        self.assertNotIn("tok-SECRET-456", self.daemon.log())

    def test_kill9_between_published_and_recorded_posts_once(self):
        self.workflow(finalize_millis=4000)
        self.daemon.start()
        self.drop("b.mp4")
        wait_for(lambda: self.reached("finalize"), 30, "the post to exist on the platform")
        self.daemon.kill9()
        self.assertEqual(len(self.posts()), 1)
        self.daemon.start()
        runs = self.wait_finished(1)
        self.assertEqual(runs[0]["state"], "succeeded", self.daemon.log())
        self.assertEqual(len(self.posts()), 1, "reconciled, not posted again")
        self.assertTrue(self.reached("reconcile"))
        self.assertEqual(self.step_outputs(runs[0]["id"])["outputs"]["post_id"], "p-s1")

    def test_kill9_at_random_points_never_posts_twice(self):
        self.workflow(chunks=3, chunk_millis=150, finalize_millis=300, poll_processing=1)
        random.seed(20261130)
        self.daemon.start()
        deadline = time.monotonic() + 120
        rounds = 0
        for i in range(8):
            if time.monotonic() > deadline:
                break
            self.drop(f"r{i}.mp4")
            time.sleep(0.3 + random.random() * 1.6)
            self.daemon.kill9()
            self.daemon.start()
            rounds += 1
        runs = self.wait_finished(rounds, timeout=120)
        self.assertEqual(len(runs), rounds)
        keys = [line.split()[1] for line in self.posts()]
        self.assertEqual(len(keys), len(set(keys)), f"a post made twice: {self.posts()}")
        for run in runs:
            self.assertEqual(run["state"], "succeeded", self.daemon.log()[-4000:])
            self.assertEqual(keys.count(run["id"] + "/publish"), 1)

    def test_a_scheduled_post_survives_a_restart_and_fires_once(self):
        self.workflow(publish_at="+4s")
        self.daemon.start()
        dropped = time.time()
        self.drop("c.mp4")
        wait_for(lambda: [r for r in self.daemon.runs() if r["state"] == "waiting"], 20,
                 "the run waiting for its publish time")
        self.daemon.kill9()
        self.assertFalse(self.reached("start"))
        self.daemon.start()
        runs = self.wait_finished(1, timeout=40)
        self.assertEqual(runs[0]["state"], "succeeded", self.daemon.log())
        self.assertEqual(len(self.posts()), 1)
        self.assertGreaterEqual(os.path.getmtime(os.path.join(self.platform, "start.reached")),
                                dropped + 3.5)

    def test_a_post_due_while_down_longer_than_max_delay_is_skipped(self):
        self.workflow(publish_at="+2s", max_delay="1s")
        self.daemon.start()
        self.drop("d.mp4")
        wait_for(lambda: [r for r in self.daemon.runs() if r["state"] == "waiting"], 20,
                 "the run waiting for its publish time")
        self.assertEqual(self.daemon.stop(), 0)
        time.sleep(4)
        self.daemon.start()
        runs = self.wait_finished(1, timeout=30)
        self.assertEqual(runs[0]["state"], "failed")
        self.assertIn("skipped: the post was due at", self.step_outputs(runs[0]["id"])["error"])
        self.assertEqual(self.posts(), [])
        self.assertFalse(self.reached("start"))

    def test_a_post_over_a_platform_quota_is_rescheduled_and_published_once(self):
        self.workflow(quota_times=1, quota_seconds=3)
        self.daemon.start()
        began = time.time()
        self.drop("q.mp4")
        wait_for(lambda: [r for r in self.daemon.runs() if r["state"] == "waiting"], 20,
                 "the run waiting for the quota to reset")
        posts = json.loads(self.cli("schedule", "--json"))["posts"]
        self.assertEqual(len(posts), 1)
        self.assertIn("quota", posts[0]["rescheduled"])
        self.assertEqual(self.posts(), [])
        runs = self.wait_finished(1, timeout=30)
        self.assertEqual(runs[0]["state"], "succeeded", self.daemon.log()[-3000:])
        self.assertEqual(len(self.posts()), 1)
        self.assertGreaterEqual(time.time() - began, 1.5)  # not_before has whole seconds

    def test_metrics_are_pulled_at_their_ages_into_the_store(self):
        self.workflow(metrics_at=["1s", "2s"])
        self.daemon.start()
        self.drop("m.mp4")
        self.wait_finished(1)

        def pulled():
            posts = json.loads(self.cli("posts", "--json"))["posts"]
            return posts if posts and len(posts[0]["metrics"]) == 2 else None
        posts = wait_for(pulled, 20, "two metrics pulls")
        post = posts[0]
        self.assertEqual((post["platform"], post["account"], post["post_id"]),
                         ("ptest", "brand", "p-s1"))
        self.assertEqual(post["metrics"]["1s"]["views"], 100)
        self.assertEqual(post["metrics"]["2s"]["views"], 200)
        self.assertEqual(lines(os.path.join(self.platform, "metrics.log")), ["p-s1 1", "p-s1 2"])
        table = self.cli("posts")
        self.assertIn("2s: 200 views, 20 likes, 2 comments, 0 shares", table)
        # A restart neither pulls again nor loses what was pulled.
        self.daemon.kill9()
        self.daemon.start()
        time.sleep(1)
        self.assertEqual(len(lines(os.path.join(self.platform, "metrics.log"))), 2)
        self.assertEqual(json.loads(self.cli("posts", "--json"))["posts"][0]["metrics"]["2s"]["views"],
                         200)

    def test_a_token_near_its_expiry_is_refreshed_without_any_post(self):
        with open(os.path.join(self.platform, "tokens.json"), "w") as handle:
            json.dump({"access": "current", "refresh": "current-refresh"}, handle)
        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1800))
        far = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))
        self.write_secrets({
            "brand": {"platform": "ptest", "options": {"dir": self.platform},
                      "credentials": {"access_token": "current", "refresh_token": "current-refresh",
                                      "expires_at": soon}},
            "later": {"platform": "ptest", "options": {"dir": self.platform},
                      "credentials": {"access_token": "x", "refresh_token": "y",
                                      "expires_at": far}}})
        self.workflow()
        self.daemon.start()
        record = os.path.join(self.root, "state", "accounts", "brand.json")
        wait_for(lambda: os.path.exists(record), 30, "the account check to refresh the token")
        with open(record) as handle:
            stored = json.load(handle)
        self.assertEqual(stored["credentials"]["refresh_token"], "refresh-1")
        self.assertEqual(stored["credentials"]["expires_at"], "2999-01-01T00:00:00Z")
        self.assertEqual(lines(os.path.join(self.platform, "refresh.log")), ["current-refresh"],
                         "only the account near its expiry")
        listing = {a["name"]: a for a in json.loads(self.cli("accounts", "--json"))["accounts"]}
        self.assertEqual(listing["brand"]["refresh_count"], 1)
        self.assertIn("refreshed ahead of expiry", self.daemon.log())

    def test_an_accounts_limits_pace_its_posts_and_survive_a_restart(self):
        # A zone where it is about noon now, so that "today" does not end during the test.
        utc_hour = time.gmtime().tm_hour
        east = (12 - utc_hour) % 24
        east = east - 24 if east > 12 else east
        zone = f"Etc/GMT{-east:+d}" if east else "UTC"
        self.write_secrets({"brand": {"platform": "ptest", "options": {"dir": self.platform},
                                      "credentials": {"access_token": "tok"},
                                      "limits": {"per_day": 3, "min_spacing": "2s",
                                                 "time_zone": zone}}})
        self.fan_out_workflow("ptest.publish", 4)
        self.daemon.start()
        self.drop("p.mp4")
        wait_for(lambda: len(self.posts()) >= 1, 20, "the first post")
        self.daemon.kill9()  # while the second waits for its spacing
        self.daemon.start()
        wait_for(lambda: len(self.posts()) >= 3, 30, "three posts")
        time.sleep(2.5)
        self.assertEqual(len(self.posts()), 3, "the day's limit holds the fourth")
        published, stamps = self.published_times()
        for earlier, later in zip(stamps, stamps[1:]):
            self.assertGreaterEqual(later - earlier, 1.9, published)
        waiting = [r for r in self.daemon.runs() if r["state"] == "waiting"]
        self.assertEqual(len(waiting), 1)
        held = json.loads(self.cli("schedule", "--days", "2", "--json"))["posts"]
        self.assertEqual(len(held), 1)
        self.assertIn("paced", held[0]["rescheduled"])
        self.assertGreater(held[0]["due_at_ms"], time.time() * 1000 + 3600 * 1000,
                           "the fourth post waits for the next day in the account's zone")
        keys = [line.split()[1] for line in self.posts()]
        self.assertEqual(len(keys), len(set(keys)))

    def test_a_platforms_quota_reschedules_a_post_instead_of_sending_it(self):
        # ptest.limited declares 2 uploads in any 6 s; the account raises nothing.
        self.fan_out_workflow("ptest.limited", 3)
        self.daemon.start()
        self.drop("q.mp4")
        wait_for(lambda: len(self.posts()) >= 3, 30, "three posts")
        # The platform has the third post a moment before the daemon records it as published.
        wait_for(lambda: len(self.published_times()[1]) >= 3, 10, "three posts recorded")
        published, stamps = self.published_times()
        self.assertGreaterEqual(stamps[2] - stamps[0], 5.9, published)
        self.assertIn("step waits until", self.daemon.log(), "held by the host, not refused")
        self.assertNotIn("LATER", self.daemon.log())

        # An account that lifts the quota (0) posts all three together.
        self.write_secrets({"brand": {"platform": "ptest", "options": {"dir": self.platform},
                                      "credentials": {"access_token": "tok"},
                                      "limits": {"quotas": {"uploads": 0}}}})
        self.daemon.stop()
        self.daemon.start()
        before = len(self.posts())
        self.drop("r.mp4")
        wait_for(lambda: len(self.posts()) >= before + 3, 30, "three more posts")
        wait_for(lambda: len(self.published_times()[1]) >= before + 3, 10, "them recorded")
        published, stamps = self.published_times()
        published, stamps = published[-3:], stamps[-3:]
        self.assertLess(stamps[2] - stamps[0], 5, published)

    def test_publish_at_best_waits_for_the_next_posting_window(self):
        # The account's window opens two hours from now (whole minutes, UTC).
        start = time.gmtime(time.time() + 7200)
        end = time.gmtime(time.time() + 7200 + 3600)
        days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        window = (f"{days[start.tm_wday]} {start.tm_hour:02d}:{start.tm_min:02d}-"
                  f"{'24' if end.tm_mday != start.tm_mday else f'{end.tm_hour:02d}'}:"
                  f"{'00' if end.tm_mday != start.tm_mday else f'{end.tm_min:02d}'}")
        self.write_secrets({
            "brand": {"platform": "ptest", "options": {"dir": self.platform},
                      "credentials": {"access_token": "tok"},
                      "limits": {"windows": [window], "time_zone": "UTC"}},
            "plain": {"platform": "ptest", "options": {"dir": self.platform},
                      "credentials": {"access_token": "tok"}}})
        self.daemon.write_workflow("post", """
name: post
on:
  watch: {path: inbox, patterns: ["*.mp4"], settle: 200ms}
steps:
  - id: publish
    uses: ptest.limited
    with:
      account: ${{ env.account }}
      video: ${{ trigger.file }}
      title: launch
      publish_at: best
env:
  account: brand
""")
        self.daemon.start()
        self.drop("b.mp4")
        wait_for(lambda: any(r["state"] == "waiting" for r in self.daemon.runs()), 20,
                 "the run to wait for the window")
        posts = json.loads(self.cli("schedule", "--json"))["posts"]
        self.assertEqual(len(posts), 1)
        expected = (int(time.time() + 7200) // 60) * 60 * 1000
        self.assertLess(abs(posts[0]["due_at_ms"] - expected), 61_000, posts[0])
        self.assertIn("publish_at: best: the next posting window (the account's limits, UTC)",
                      self.daemon.log())
        self.assertEqual(self.posts(), [])

        # ptest.publish declares no windows and the account none: a clear error, no post.
        self.daemon.write_workflow("post", """
name: post
on:
  watch: {path: inbox, patterns: ["*.mp4"], settle: 200ms}
steps:
  - id: publish
    uses: ptest.publish
    with:
      account: plain
      video: ${{ trigger.file }}
      title: launch
      publish_at: best
""")
        self.daemon.stop()
        self.daemon.start()
        self.drop("c.mp4")
        wait_for(lambda: any(r["state"] == "failed" for r in self.daemon.runs()), 20,
                 "the run without windows to fail")
        failed = [r for r in self.daemon.runs() if r["state"] == "failed"][0]
        self.assertIn("publish_at: best needs posting windows, and ptest.publish declares none",
                      self.step_outputs(failed["id"])["error"])
        self.assertEqual(self.posts(), [])

    def fan_out_workflow(self, uses, count):
        """A workflow whose one step publishes `count` posts ("part 1", ...) through `uses`, all
        items allowed at once: whatever spaces them out is the host's pacing."""
        items = ", ".join(str(i) for i in range(1, count + 1))
        self.daemon.write_workflow("post", f"""
name: post
on:
  watch: {{path: inbox, patterns: ["*.mp4"], settle: 200ms}}
steps:
  - id: publish
    uses: {uses}
    for_each: [{items}]
    max_parallel: {count}
    with:
      account: brand
      video: ${{{{ trigger.file }}}}
      title: "part ${{{{ item }}}}"
""")

    def published_times(self):
        """The published_at of every post (sorted ISO texts) and the same as epoch seconds."""
        published = sorted(p["published_at"] for p in
                           json.loads(self.cli("posts", "--json"))["posts"])
        stamps = [time.mktime(time.strptime(p[:19], "%Y-%m-%dT%H:%M:%S")) + float(p[19:23])
                  for p in published]
        return published, stamps

    def test_schedule_shows_moves_and_cancels_posts(self):
        self.workflow(publish_at="+2h", max_delay="1d")
        self.daemon.start()
        self.drop("e.mp4")
        self.drop("f.mp4")
        wait_for(lambda: len([r for r in self.daemon.runs() if r["state"] == "waiting"]) == 2, 20,
                 "two runs waiting for their publish time")
        posts = json.loads(self.cli("schedule", "--json"))["posts"]
        self.assertEqual(len(posts), 2)
        in_two_hours = (time.time() + 7200) * 1000
        for post in posts:
            self.assertEqual((post["platform"], post["account"], post["title"]),
                             ("ptest", "brand", "launch"))
            self.assertLess(abs(post["due_at_ms"] - in_two_hours), 60_000)
        ids = {post["run_id"]: post["id"] for post in posts}
        first, second = sorted(ids)

        calendar = self.cli("schedule")
        self.assertIn("(times in Asia/Shanghai)", calendar)
        self.assertEqual(calendar.count('ptest      brand        "launch"'), 2, calendar)
        self.assertEqual(json.loads(self.cli("schedule", "--days", "1", "--json"))["posts"][0]["id"],
                         posts[0]["id"])

        self.assertIn("moved post", self.cli("schedule", "move", str(ids[first]), "+1s"))
        self.assertIn("cancelled post", self.cli("schedule", "cancel", str(ids[second])))
        runs = self.wait_finished(2, timeout=40)
        states = {r["id"]: r["state"] for r in runs}
        self.assertEqual(states[first], "succeeded", self.daemon.log()[-3000:])
        self.assertEqual(states[second], "cancelled")
        self.assertEqual([line.split()[1] for line in self.posts()], [first + "/publish"])
        self.assertEqual(json.loads(self.cli("schedule", "--json"))["posts"], [])

    def test_a_moved_post_keeps_its_new_time_across_a_restart(self):
        self.workflow(publish_at="+2h", max_delay="1d")
        self.daemon.start()
        self.drop("g.mp4")
        wait_for(lambda: [r for r in self.daemon.runs() if r["state"] == "waiting"], 20,
                 "the run waiting for its publish time")
        post = json.loads(self.cli("schedule", "--json"))["posts"][0]
        self.cli("schedule", "move", str(post["id"]), "+3s")
        self.daemon.kill9()
        self.daemon.start()
        runs = self.wait_finished(1, timeout=40)
        self.assertEqual(runs[0]["state"], "succeeded", self.daemon.log()[-3000:])
        self.assertEqual(len(self.posts()), 1)
    def test_accounts_show_status_and_a_revoked_one_holds_its_posts_until_reconnected(self):
        with open(os.path.join(self.platform, "tokens.json"), "w") as handle:
            json.dump({"access": "current", "refresh": "current-refresh"}, handle)
        self.write_secrets(
            {"brand": {"platform": "ptest", "options": {"dir": self.platform},
                       "credentials": {"access_token": "stale", "refresh_token": "stale-refresh",
                                       "expires_at": "2030-01-01T00:00:00Z"}},
             "tube": {"platform": "youtube", "credentials": {"access_token": "yt-SECRET"}},
             "nowhere": {"platform": "myspace"}},
            extra="account.broken=not json\n")
        self.workflow()
        self.daemon.start()
        listing = {a["name"]: a for a in json.loads(self.cli("accounts", "--json"))["accounts"]}
        self.assertEqual(listing["brand"]["status"], "ok")
        self.assertEqual(listing["brand"]["publisher"], "ptest.publish")
        self.assertEqual(listing["brand"]["expires_at"], "2030-01-01T00:00:00Z")
        self.assertEqual(listing["tube"]["publisher"], "youtube.publish")
        self.assertEqual(listing["broken"]["status"], "invalid")
        self.assertIn("no loaded plugin publishes to myspace", listing["nowhere"]["message"])
        self.drop("h.mp4")
        # The post is held, not failed, while the account needs reconnecting.
        wait_for(lambda: [r for r in self.daemon.runs() if r["state"] == "waiting"], 20,
                 "the post held for its account")
        table = self.cli("accounts")
        self.assertIn("RECONNECT NEEDED", table)
        self.assertIn("To reconnect an account", table)
        for secret in ("stale", "yt-SECRET", "current-refresh"):
            self.assertNotIn(secret, table + self.cli("accounts", "--json"))
        record = os.path.join(self.root, "state", "accounts", "brand.json")
        self.assertEqual(os.stat(record).st_mode & 0o777, 0o600)
        held = json.loads(self.cli("schedule", "--json"))["posts"]
        self.assertEqual(len(held), 1)
        self.assertIn("held: ", held[0]["rescheduled"])
        self.assertRegex(held[0]["rescheduled"], "(must|needs to) be connected again")
        self.assertEqual(self.posts(), [])
        # Reconnected: new credentials in the secret, a reload, and the post goes on (moved to now
        # rather than waiting for the next look in five minutes).
        self.write_secrets({"brand": {"platform": "ptest", "options": {"dir": self.platform},
                                      "credentials": {"access_token": "current",
                                                      "refresh_token": "current-refresh"}}})
        self.daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "ok" in [a["status"] for a in
                                  json.loads(self.cli("accounts", "--json"))["accounts"]],
                 10, "the reloaded secret")
        self.cli("schedule", "move", str(held[0]["id"]), "+1s")
        runs = self.wait_finished(1, timeout=30)
        self.assertEqual(runs[0]["state"], "succeeded", self.daemon.log()[-3000:])
        self.assertEqual(len(self.posts()), 1)


if __name__ == "__main__":
    unittest.main()
