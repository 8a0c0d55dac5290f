#!/usr/bin/env python3
"""`publish_at: best` learns an account's best hours in the real daemon: reelflowd with worker
processes and its SQLite store, whose history of posts and metrics is seeded (16 weeks cannot be
published in a test) with rows like the ones the daemon writes when it publishes and pulls
metrics. The scripted ptest.limited publisher declares one posting window (Mon 03:00-04:00), so
a post that goes anywhere else went where the learned hours sent it.

Usage: best_time_daemon_test.py REELFLOWD PTEST_PLUGIN_DIR [unittest args]
"""
import datetime
import json
import os
import sqlite3
import subprocess
import sys
import time
import unittest
import zoneinfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

REELFLOWD, PLUGIN_DIR = sys.argv[1:3]
del sys.argv[1:3]
REELFLOW = os.path.join(os.path.dirname(REELFLOWD), "reelflow")

HOUR = 3600
DAY = 86400
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [line for line in handle.read().splitlines() if line]


def zone_away_from_the_hour():
    """A zone whose local hour is between :05 and :50 now, so that the hour under way does not
    end during the test: Asia/Tokyo (whole hours) or Asia/Kolkata (+05:30)."""
    minute = time.gmtime().tm_min
    return "Asia/Tokyo" if 5 <= minute < 50 else "Asia/Kolkata"


def hour_start(zone, timestamp):
    """The local hour under way at `timestamp` as an aware datetime."""
    local = datetime.datetime.fromtimestamp(timestamp, zoneinfo.ZoneInfo(zone))
    return local.replace(minute=0, second=0, microsecond=0)


def hour_of_week(local):
    return local.weekday() * 24 + local.hour


def describe(hour):
    return f"{DAYS[hour // 24]} {hour % 24:02d}:00"


def pull(rate, views=1000):
    engaged = round(rate * views)
    return {"24h": {"views": views, "likes": engaged, "comments": 0, "shares": 0}}


class BestTimeDaemonTest(harness.DaemonCase):
    reelflowd, plugin_dir, prefix = REELFLOWD, PLUGIN_DIR, "reelflow-best-time-"
    workers = 1

    def setUp(self):
        self.zone = zone_away_from_the_hour()
        super().setUp()

    def accounts(self):
        return {name: self.ptest_account(limits={"time_zone": self.zone})
                for name in ("brand", "fresh")}

    def workflow(self, name, account):
        os.makedirs(os.path.join(self.root, "inbox-" + name), exist_ok=True)
        self.daemon.write_workflow(name, f"""
name: {name}
on:
  watch: {{path: inbox-{name}, patterns: ["*.mp4"], settle: 200ms}}
steps:
  - id: publish
    uses: ptest.limited
    with:
      account: {account}
      video: ${{{{ trigger.file }}}}
      title: launch
      publish_at: best
""")

    def drop(self, workflow, name):
        inbox = os.path.join(self.root, "inbox-" + workflow)
        partial = os.path.join(inbox, name + ".part")
        with open(partial, "wb") as handle:
            handle.write(os.urandom(2048))
        os.rename(partial, os.path.join(inbox, name))

    def seed(self, account, posts):
        """Writes published posts with their 24h metrics into the stopped daemon's store."""
        database = os.path.join(self.daemon.state, "reelflow.db")
        connection = sqlite3.connect(database)
        try:
            with connection:
                for index, (published_at, metrics) in enumerate(posts):
                    key = f"seed-{account}-{index}"
                    at_ms = int(published_at * 1000)
                    connection.execute(
                        "INSERT INTO posts (idempotency_key, run_id, step_id, item, step_type, "
                        "platform, account, post_id, url, published_at, options_json) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (key, "seeded", "publish", -1, "ptest.limited", "ptest", account,
                         f"old-{index}", f"https://ptest.invalid/{index}", at_ms,
                         json.dumps({"account": account})))
                    for label, values in metrics.items():
                        connection.execute(
                            "INSERT INTO post_metrics (idempotency_key, label, taken_at, "
                            "metrics_json) VALUES (?, ?, ?, ?)",
                            (key, label, at_ms + DAY * 1000, json.dumps(values)))
        finally:
            connection.close()

    def history(self, peaks, weeks=12):
        """`weeks` of posts: three a day at hours that move from day to day, engaging 3%, and one
        at 10 past each of the `peaks` (aware datetimes of upcoming hours) in every past week,
        engaging 12%; plus two posts whose metrics are unusable."""
        now = time.time()
        peak_hours = {hour_of_week(peak) for peak in peaks}
        posts = []
        for day in range(1, weeks * 7):
            for slot in range(3):
                at = now - day * DAY + ((day * 7 + slot * 8) % 24 - 12) * HOUR
                local = datetime.datetime.fromtimestamp(at, zoneinfo.ZoneInfo(self.zone))
                if hour_of_week(local) in peak_hours or at >= now:
                    continue
                posts.append((at, pull(0.03)))
        for peak in peaks:
            for week in range(1, weeks + 1):
                posts.append(((peak - datetime.timedelta(days=7 * week)).timestamp() + 600,
                              pull(0.12)))
        posts.append((now - 3 * DAY, {"24h": {"views": 0, "likes": 0}}))
        posts.append((now - 4 * DAY, {"24h": {"likes": 4}}))
        return posts

    def scheduled(self):
        return {post["account"]: post
                for post in json.loads(self.cli("schedule", "--json"))["posts"]}

    def start_with_history(self, histories):
        # The first life creates the store's schema; the history goes in while it is stopped.
        self.daemon.start()
        self.daemon.stop()
        for account, posts in histories.items():
            self.seed(account, posts)
        self.daemon.start()

    def test_publish_at_best_follows_the_hours_learned_from_results(self):
        now = time.time()
        # The learned peak: the local hour starting 50 hours from the one under way (never the
        # platform's Monday 03:00 window).
        peak = hour_start(self.zone, now) + datetime.timedelta(hours=50)
        if hour_of_week(peak) == 3:
            peak += datetime.timedelta(hours=1)
        history = self.history([peak])
        usable = len(history) - 2
        thin = [(now - (d + 1) * DAY, pull(0.2)) for d in range(3)]
        self.workflow("learned", "brand")
        self.workflow("thin", "fresh")
        self.start_with_history({"brand": history, "fresh": thin})
        self.drop("learned", "a.mp4")
        self.drop("thin", "b.mp4")
        wait_for(lambda: len([r for r in self.daemon.runs() if r["state"] == "waiting"]) == 2, 30,
                 "both runs to wait for their time")

        posts = self.scheduled()
        self.assertEqual(posts["brand"]["due_at_ms"], int(peak.timestamp()) * 1000, posts)
        log = self.daemon.log()
        self.assertIn(f"publish_at: best: learned from {usable} posts of account brand "
                      f"({self.zone}): {describe(hour_of_week(peak))} (score ", log)
        # Three posts are too few: the platform's window decides, and the log says why.
        monday_three = hour_start(self.zone, now)
        while hour_of_week(monday_three) != 3 or monday_three.timestamp() <= now:
            monday_three += datetime.timedelta(hours=1)
        self.assertEqual(posts["fresh"]["due_at_ms"], int(monday_three.timestamp()) * 1000, posts)
        self.assertIn("publish_at: best: the next posting window (a test, " + self.zone +
                      ") starts at", log)
        self.assertIn("only 3 posts of account fresh with metrics in the last 16 weeks "
                      "(10 needed to learn its best hours)", log)
        self.assertEqual(lines(os.path.join(self.platform, "posts.log")), [])

        # The same hours, read-only, through the control API and the CLI.
        status, shown = self.daemon.api("GET", "/v1/best-times?account=brand")
        self.assertEqual(status, 200, shown)
        self.assertEqual((shown["posts"], shown["skipped"], shown["time_zone"]),
                         (usable, 2, self.zone))
        self.assertEqual(shown["top"][0]["hour_of_week"], hour_of_week(peak))
        self.assertEqual(shown["publish_at_best"]["by"], "learned")
        self.assertEqual(shown["next"]["at_ms"], int(peak.timestamp()) * 1000)
        self.assertEqual(shown["windows"], ["Mon 03:00-04:00"])
        self.assertEqual(len(shown["scores"]), 168)
        status, thin_shown = self.daemon.api("GET", "/v1/best-times?account=fresh")
        self.assertEqual(status, 200, thin_shown)
        self.assertEqual((thin_shown["posts"], thin_shown["publish_at_best"]["by"]),
                         (3, "windows"))
        self.assertEqual(self.daemon.api("GET", "/v1/best-times?account=nobody")[0], 404)
        self.assertEqual(self.daemon.api("GET", "/v1/best-times")[0], 400)
        mars = self.daemon.api("GET", "/v1/best-times?account=brand&time_zone=Mars/Base")
        self.assertEqual(mars[0], 200, "the account's own zone wins over the query's")

        table = self.cli("optimize", "times", "--account", "brand", "--top", "3")
        self.assertIn(f"Best hours to post for account brand (ptest, {self.zone}), from {usable} "
                      "posts with metrics in the last 16 weeks (2 more without usable metrics).",
                      table)
        self.assertIn("publish_at: best follows the learned hours", table)
        rows = [line.split() for line in table.splitlines() if line.startswith("     1  ")]
        self.assertEqual(rows[0][1:3], describe(hour_of_week(peak)).split(), table)
        self.assertIn("  Mon  ", table)
        as_json = json.loads(self.cli("optimize", "times", "--account", "brand", "--json"))
        self.assertEqual(as_json["top"][0]["hour_of_week"], hour_of_week(peak))
        missing = subprocess.run([REELFLOW, "optimize", "times", "--control",
                                  "unix:" + self.daemon.socket],
                                 capture_output=True, text=True, timeout=30)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("--account is required", missing.stderr)

    def test_a_learned_hour_under_way_publishes_now_outside_the_platforms_window(self):
        now = time.time()
        under_way = hour_start(self.zone, now)
        if hour_of_week(under_way) == 3:
            self.skipTest("the hour under way is the platform's own window")
        self.workflow("learned", "brand")
        self.start_with_history({"brand": self.history([under_way])})
        self.drop("learned", "c.mp4")
        wait_for(lambda: len(lines(os.path.join(self.platform, "posts.log"))) == 1, 30,
                 "the post to go out at once")
        self.assertIn("publish_at: best: learned from", self.daemon.log())
        runs = wait_for(
            lambda: [r for r in self.daemon.runs() if r["state"] == "succeeded"] or None,
            30, "the run to succeed")
        self.assertEqual(len(runs), 1)
        time.sleep(1)
        self.assertEqual(len(lines(os.path.join(self.platform, "posts.log"))), 1)


if __name__ == "__main__":
    unittest.main()
