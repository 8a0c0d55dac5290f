#!/usr/bin/env python3
"""workflows/evergreen.yaml in the real daemon, on loopback. A "launch" workflow publishes five
posts through the scripted ptest publisher (each with a tracked link and one metrics pull);
people click their links through the real redirect server, a different number of times each.
The posts are then aged by 40 days in the database (the daemon stopped), the video of the best
one is deleted, and the evergreen workflow - the real file, with its YouTube parts turned into
ptest ones - is triggered by hand. It must re-post the next three best by clicks per view, each
with a new title from its hook, a fresh link whose variant says it is a re-post, on the original
account; report the deleted video; and a second run must not re-post them again.

Usage: evergreen_daemon_test.py REELFLOWD PTEST_PLUGIN_DIR EVERGREEN_YAML [unittest args]
"""
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import unittest
import urllib.parse

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

REELFLOWD, PLUGIN_DIR, EVERGREEN = sys.argv[1:4]
del sys.argv[1:4]
REELFLOW = os.path.join(os.path.dirname(REELFLOWD), "reelflow")
CLICKS = [7, 0, 13, 3, 11]  # per seeded post; no two posts can tie on clicks per view
DAY_MS = 86400000

LAUNCH = """
name: launch
on:
  manual: {}
steps:
  - id: link
    uses: track.link
    with:
      url: https://shop.example/spring?ref=launch
      platform: ptest
      campaign: spring
      variant: original
  - id: publish
    uses: ptest.publish
    with:
      account: brand
      video: ${{ trigger.file }}
      title: "Tip ${{ stem(trigger.file) }}"
      caption: "Caption of ${{ stem(trigger.file) }}"
      tags: [spring, "${{ stem(trigger.file) }}"]
      link: ${{ steps.link.outputs.url }}
      metrics_at: ["1s"]
"""


def evergreen_for_ptest():
    """workflows/evergreen.yaml with ptest in YouTube's place: the same steps, links and
    expressions; the publisher, the platform filters, YouTube's own option and the hooks' title
    templates (ptest's limit is 20 characters) changed, and the monthly schedule left out (only
    the manual trigger)."""
    with open(EVERGREEN) as handle:
        workflow = yaml.safe_load(handle)
    if True in workflow:  # PyYAML reads YAML 1.1, where a bare `on` is true; reelflow reads 1.2
        workflow["on"] = workflow.pop(True)
    del workflow["on"]["schedule"]
    steps = {step["id"]: step for step in workflow["steps"]}
    assert steps["top"]["with"]["platform"] == "youtube"
    steps["top"]["with"]["platform"] = "ptest"
    steps["link"]["with"]["platform"] = "ptest"
    # ptest refuses titles over 20 characters: shorter hooks of the same shape ("{0}" and a
    # word of the arm's name); the captions stay as they are.
    for arm in steps["hook"]["with"]["arms"]:
        assert "{0}" in arm["title"], arm
        arm["title"] = "{0} (" + arm["name"][:6] + ")"
    assert steps["repost"]["uses"] == "youtube.publish"
    steps["repost"]["uses"] = "ptest.publish"
    del steps["repost"]["with"]["privacy"]
    return workflow


def browser(index):
    return ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/121.0.{index}.0 Safari/537.36")


class EvergreenDaemonTest(harness.DaemonCase):
    reelflowd, plugin_dir, prefix = REELFLOWD, PLUGIN_DIR, "reelflow-evergreen-"

    def setUp(self):
        super().setUp()
        self.videos = os.path.join(self.root, "videos")
        os.makedirs(self.videos)

    def outputs(self, run_id):
        """{step id: its outputs}; a for_each step's: the list of its items' outputs in order."""
        status, shown = self.daemon.api("GET", "/v1/runs/" + run_id)
        self.assertEqual(status, 200, shown)
        steps, items = {}, {}
        for step in shown["steps"]:
            if step["state"] != "succeeded":
                continue
            if "item" in step:
                items.setdefault(step["id"], {})[step["item"]] = step["outputs"]
            else:
                steps[step["id"]] = step["outputs"]
        for step_id, by_item in items.items():
            steps[step_id] = [by_item[index] for index in sorted(by_item)]
        return steps

    def run_to_end(self, workflow, body):
        status, answer = self.daemon.api("POST", f"/v1/workflows/{workflow}/trigger", body)
        self.assertEqual(status, 200, answer)
        run_id = answer["run_id"]

        def finished():
            run = next((r for r in self.daemon.runs() if r["id"] == run_id), None)
            return run if run and run["state"] in ("succeeded", "failed", "cancelled") else None
        run = wait_for(finished, 120, f"run {run_id} of {workflow}")
        self.assertEqual(run["state"], "succeeded", self.daemon.log())
        return run_id

    def posts(self):
        return json.loads(self.cli("posts", "--json"))["posts"]

    def click(self, url, visitor):
        tracking = urllib.parse.urlsplit(self.daemon.tracking())
        connection = http.client.HTTPConnection(tracking.hostname, tracking.port, timeout=10)
        connection.request("GET", urllib.parse.urlsplit(url).path,
                           headers={"User-Agent": browser(visitor)})
        response = connection.getresponse()
        response.read()
        connection.close()
        self.assertEqual(response.status, 302)

    def seed(self):
        """Five posts of the launch workflow with their clicks and one metrics pull each; the
        originals by run id: {"video", "title", "views", "clicks", "link"}."""
        self.daemon.write_workflow("launch", LAUNCH)
        self.daemon.start()
        originals, visitor = {}, 0
        for index, clicks in enumerate(CLICKS):
            video = os.path.join(self.videos, f"clip-{index}.mp4")
            with open(video, "wb") as handle:
                handle.write(os.urandom(2048))
            run_id = self.run_to_end("launch", {"input": video})
            link = self.outputs(run_id)["link"]
            for _ in range(clicks):
                visitor += 1
                self.click(link["url"], visitor)
            originals[run_id] = {"video": video, "title": f"Tip clip-{index}", "clicks": clicks,
                                 "link": link["url"], "caption": f"Caption of clip-{index}"}

        def pulled():
            posts = self.posts()
            return posts if len(posts) == len(CLICKS) and all(
                "1s" in post.get("metrics", {}) for post in posts) else None
        for post in wait_for(pulled, 60, "a metrics pull of every post"):
            originals[post["run_id"]]["views"] = post["metrics"]["1s"]["views"]
            originals[post["run_id"]]["account"] = post["account"]
        return originals

    def stored_posts(self, run_id):
        """The run's posts as the database holds them: {item: {"account", "options"}}."""
        database = sqlite3.connect(os.path.join(self.daemon.state, "reelflow.db"), timeout=10)
        rows = database.execute("SELECT item, account, options_json FROM posts WHERE run_id = ?",
                                (run_id,)).fetchall()
        database.close()
        return {item: {"account": account, "options": json.loads(options)}
                for item, account, options in rows}

    def age_posts(self, days):
        """Moves every post `days` into the past (the daemon must be stopped)."""
        database = sqlite3.connect(os.path.join(self.daemon.state, "reelflow.db"))
        with database:
            database.execute("UPDATE posts SET published_at = published_at - ?", (days * DAY_MS,))
        database.close()

    def test_evergreen_reposts_the_best_with_new_captions_and_fresh_links_and_not_twice(self):
        originals = self.seed()
        ranked = sorted(originals, key=lambda run: -originals[run]["clicks"] /
                        originals[run]["views"])
        self.assertEqual(self.daemon.stop(), 0)
        self.age_posts(40)
        os.remove(originals[ranked[0]]["video"])  # the best one's video is gone
        self.daemon.write_workflow("evergreen", yaml.safe_dump(evergreen_for_ptest()))
        self.daemon.start()

        run_id = self.run_to_end("evergreen", {})
        steps = self.outputs(run_id)
        top = steps["top"]
        self.assertEqual(top["considered"], 5)
        self.assertEqual(top["skipped_missing_video"], 1)
        self.assertEqual(top["skipped"][0]["key"].split("/")[0], ranked[0])
        self.assertIn(originals[ranked[0]]["video"], top["skipped"][0]["reason"])
        self.assertIn("no longer exists", top["skipped"][0]["reason"])
        self.assertIn("no longer exists", self.daemon.log())  # the step logs why
        picked = [post["run_id"] for post in top["posts"]]
        self.assertEqual(picked, ranked[1:4])
        self.assertEqual(top["count"], 3)

        hooks, links = steps["hook"], steps["link"]
        self.assertEqual(len(hooks), 3)
        self.assertEqual(len(links), 3)
        reposts = self.stored_posts(run_id)
        self.assertEqual(sorted(reposts), [0, 1, 2])
        old_links = {original["link"] for original in originals.values()}
        for index, source in enumerate(ranked[1:4]):
            original, hook, link = originals[source], hooks[index], links[index]
            repost = reposts[index]
            options = repost["options"]
            # A new title from the hook's template around the original title.
            self.assertEqual(options["title"],
                             hook["value"]["title"].replace("{0}", original["title"]))
            self.assertNotEqual(options["title"], original["title"])
            self.assertEqual(options["caption"],
                             hook["value"]["caption"] + "\n\n" + original["caption"])
            # The same video, on the original's account, with a fresh link to the same page.
            self.assertEqual(options["video"], original["video"])
            self.assertEqual(repost["account"], original["account"])
            self.assertEqual(options["link"], link["url"])
            self.assertNotIn(link["url"], old_links)
            self.assertIn("utm_content=repost-" + hook["arm"], link["target"])
            self.assertIn("utm_campaign=evergreen", link["target"])
            self.assertTrue(link["target"].startswith("https://shop.example/spring?ref=launch"),
                            link["target"])
        with open(os.path.join(self.platform, "posts.log")) as handle:
            self.assertEqual(len(handle.read().splitlines()), len(CLICKS) + 3)

        # The next month: what was re-posted is left out, the one left is re-posted, and the
        # missing video is still reported.
        again = self.run_to_end("evergreen", {})
        top = self.outputs(again)["top"]
        self.assertEqual(top["excluded_reposted"], 3)
        self.assertEqual([post["run_id"] for post in top["posts"]], ranked[4:])
        self.assertEqual(top["skipped_missing_video"], 1)
        self.assertEqual(len(self.stored_posts(again)), 1)

        # The experiment counts a decision per re-post.
        shown = json.loads(self.cli("optimize", "show", "evergreen-hook", "--json"))
        self.assertEqual(shown["decisions"], 4)

    def test_posts_top_needs_the_daemon_in_reelflow_run(self):
        path = os.path.join(self.root, "evergreen.yaml")
        with open(path, "w") as handle:
            yaml.safe_dump(evergreen_for_ptest(), handle)
        done = subprocess.run([REELFLOW, "run", path, "--plugin-dir", PLUGIN_DIR,
                               "--artifacts", os.path.join(self.root, "runs")],
                              capture_output=True, text=True, timeout=60)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("posts.top: the daemon refused the query: posts.top needs the daemon: "
                      "run this workflow in reelflowd", done.stdout + done.stderr)


if __name__ == "__main__":
    unittest.main()
