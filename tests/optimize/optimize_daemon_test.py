#!/usr/bin/env python3
"""optimize.choose in the real daemon, on loopback: a workflow chooses a variant per run, mints a
tracked link carrying the variant (track.link) and publishes through the scripted ptest publisher
(whose metrics report 100 views per pull). People click the links of one variant through the real
redirect server; `reelflow optimize show --json` must then count the decisions, the clicks and the
views per arm and favour the clicked variant, and `--plot` must write a valid PNG.

Usage: optimize_daemon_test.py REELFLOWD PTEST_PLUGIN_DIR [unittest args]
"""
import http.client
import json
import os
import struct
import sys
import unittest
import urllib.parse
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

REELFLOWD, PLUGIN_DIR = sys.argv[1:3]
del sys.argv[1:3]
RUNS = 16


def browser(index):
    """A browser User-Agent; each index is another visitor (no repeat clicks)."""
    return ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/120.0.{index}.0 Safari/537.36")


def read_png(path):
    """(width, height, rows of RGB bytes) of an 8-bit RGB PNG, every chunk's CRC checked."""
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
    position, chunks = 8, []
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        crc, = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert zlib.crc32(kind + body) & 0xffffffff == crc, f"bad CRC in {kind}"
        chunks.append((kind, body))
        position += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (depth, color) == (8, 2), "expected 8-bit RGB"
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * 3 + 1
    assert len(raw) == stride * height
    rows = [raw[y * stride + 1:(y + 1) * stride] for y in range(height)]
    assert all(raw[y * stride] == 0 for y in range(height)), "unexpected row filter"
    return width, height, rows


class OptimizeDaemonTest(harness.DaemonCase):
    reelflowd, plugin_dir, prefix = REELFLOWD, PLUGIN_DIR, "reelflow-optimize-"

    def setUp(self):
        super().setUp()
        self.videos = os.path.join(self.root, "videos")
        os.makedirs(self.videos)

    def workflow(self, floor=0.5, extra="", extra_arms="", metrics_at="1s"):
        self.daemon.write_workflow("launch", f"""
name: launch
on:
  manual: {{}}
steps:
  - id: pick
    uses: optimize.choose
    with:
      experiment: cover
      arms:
        - {{name: cover-a, caption: "Warm colours"}}
        - {{name: cover-b, caption: "Cold colours"}}
{extra_arms}      floor: {floor}
      min_observations: 1
{extra}
  - id: link
    uses: track.link
    with:
      url: https://shop.example/winter
      campaign: winter
      variant: ${{{{ steps.pick.outputs.arm }}}}
  - id: publish
    uses: ptest.publish
    with:
      account: brand
      video: ${{{{ trigger.file }}}}
      title: "${{{{ steps.pick.outputs.value.caption }}}}"
      link: ${{{{ steps.link.outputs.url }}}}
      metrics_at: ["{metrics_at}"]
""")

    def trigger(self, count):
        for index in range(count):
            video = os.path.join(self.videos, f"clip-{index}.mp4")
            with open(video, "wb") as handle:
                handle.write(os.urandom(1024))
            status, body = self.daemon.api("POST", "/v1/workflows/launch/trigger", {"input": video})
            self.assertEqual(status, 200, body)

    def finished_runs(self, count):
        def done():
            runs = self.daemon.runs()
            finished = [r for r in runs if r["state"] in ("succeeded", "failed", "cancelled")]
            return runs if len(runs) >= count and len(finished) == len(runs) else None
        return wait_for(done, 120, f"{count} finished runs")

    def outputs(self, run_id):
        status, shown = self.daemon.api("GET", "/v1/runs/" + run_id)
        self.assertEqual(status, 200, shown)
        return {step["id"]: step["outputs"] for step in shown["steps"]}

    def show(self, *flags):
        return json.loads(self.cli("optimize", "show", "cover", "--json", *flags))

    def test_clicks_on_one_variants_links_make_it_the_favourite_and_the_plot_is_a_png(self):
        self.workflow()
        self.daemon.start()
        self.trigger(RUNS)
        runs = self.finished_runs(RUNS)
        self.assertTrue(all(r["state"] == "succeeded" for r in runs), self.daemon.log())

        tracking = urllib.parse.urlsplit(self.daemon.tracking())
        arms, clicks = {}, {"cover-a": 0, "cover-b": 0}
        visitor = 0
        for run in runs:
            steps = self.outputs(run["id"])
            pick, link = steps["pick"], steps["link"]
            self.assertEqual(pick["decision"], run["id"] + "/pick")
            self.assertIn(pick["arm"], ("cover-a", "cover-b"))
            self.assertEqual(pick["value"]["caption"],
                             {"cover-a": "Warm colours", "cover-b": "Cold colours"}[pick["arm"]])
            self.assertGreaterEqual(pick["propensity"], 0.5 - 1e-9)  # floor 0.5: even choices
            self.assertIn("utm_content=" + pick["arm"], link["target"])
            arms[pick["arm"]] = arms.get(pick["arm"], 0) + 1
            # People click only cover-b's links, three each, through the real redirect server.
            if pick["arm"] == "cover-b":
                for _ in range(3):
                    visitor += 1
                    connection = http.client.HTTPConnection(tracking.hostname, tracking.port,
                                                            timeout=10)
                    connection.request("GET", urllib.parse.urlsplit(link["url"]).path,
                                       headers={"User-Agent": browser(visitor)})
                    response = connection.getresponse()
                    response.read()
                    connection.close()
                    self.assertEqual(response.status, 302)
                    clicks["cover-b"] += 1
        self.assertEqual(len(arms), 2, f"both variants should have been chosen at least once: {arms}")

        # Each post's metrics are pulled 1 s after publishing (100 views); the clicks reach the
        # database through the click log. Wait until every decision has its result.
        def joined():
            shown = self.show()
            by_name = {arm["name"]: arm for arm in shown["arms"]}
            done = (shown["observations"] == RUNS and
                    by_name["cover-b"]["successes"] == clicks["cover-b"])
            return shown if done else None
        shown = wait_for(joined, 60, "every decision's views and clicks")
        by_name = {arm["name"]: arm for arm in shown["arms"]}
        self.assertEqual(shown["decisions"], RUNS)
        self.assertEqual(shown["pending"], 0)
        # The views of each arm's posts, as `reelflow posts` shows them (ptest reports 100 views
        # more with every pull it answers).
        arm_of_run = {run["id"]: self.outputs(run["id"])["pick"]["arm"] for run in runs}
        views = {"cover-a": 0, "cover-b": 0}
        for post in json.loads(self.cli("posts", "--json"))["posts"]:
            views[arm_of_run[post["run_id"]]] += post["metrics"]["1s"]["views"]
        for name in ("cover-a", "cover-b"):
            self.assertEqual(by_name[name]["pulls"], arms[name])
            self.assertEqual(by_name[name]["observations"], arms[name])
            self.assertEqual(by_name[name]["trials"], views[name])
        self.assertEqual(by_name["cover-a"]["successes"], 0)
        self.assertGreater(by_name["cover-b"]["probability_best"], 0.95)
        self.assertLess(by_name["cover-a"]["probability_best"], 0.05)
        self.assertGreater(by_name["cover-b"]["lower"], by_name["cover-a"]["upper"] - 0.02)
        self.assertEqual(shown["history"]["points"][-1]["decisions"], RUNS)

        # The listing, and the plot.
        listed = json.loads(self.cli("optimize", "list", "--json"))["experiments"]
        self.assertEqual([e["name"] for e in listed], ["cover"])
        self.assertEqual(listed[0]["leader"], "cover-b")
        self.assertEqual(listed[0]["workflow"], "launch")
        picture = os.path.join(self.root, "cover.png")
        text = self.cli("optimize", "show", "cover", "--plot", picture)
        self.assertIn("cover-b", text)
        self.assertIn("Plot written to", text)
        width, height, rows = read_png(picture)
        self.assertEqual((width, height), (1280, 720))
        colours = {bytes(row[x:x + 3]) for row in rows[::4] for x in range(0, width * 3, 12)}
        self.assertIn(bytes((78, 121, 167)), colours, "the first arm's line colour")
        self.assertIn(bytes((242, 142, 43)), colours, "the second arm's line colour")
        self.assertFalse(os.path.exists(picture + ".part"))

        # Errors: an unknown experiment, a plot that cannot be written.
        missing = self.cli_run("optimize", "show", "nope", ok=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("no experiment nope", missing.stderr)
        unwritable = self.cli_run("optimize", "show", "cover", "--plot",
                                  os.path.join(self.root, "no-such-dir", "x.png"), ok=False)
        self.assertNotEqual(unwritable.returncode, 0)
        self.assertIn("no-such-dir", unwritable.stderr)

    def test_a_bad_option_fails_naming_it_and_a_decision_stays_pending_until_its_metrics(self):
        # Three arms cannot each keep 40 %: only the daemon, which sees the arms, can tell.
        self.workflow(floor=0.4, extra_arms="        - {name: cover-c, caption: Grey}\n")
        self.daemon.start()
        self.trigger(1)
        run = self.finished_runs(1)[0]
        self.assertEqual(run["state"], "failed")
        status, shown = self.daemon.api("GET", "/v1/runs/" + run["id"])
        errors = " ".join(step.get("error", "") for step in shown["steps"])
        self.assertIn("option `floor`", errors)
        self.assertEqual(json.loads(self.cli("optimize", "list", "--json"))["experiments"], [])

        # Fixed, the retried run chooses once and the decision is the step's output.
        # Its metrics come in an hour: until then the decision is pending, even with clicks.
        self.workflow(floor=0.0, extra="      reward: ctr",
                      extra_arms="        - {name: cover-c, caption: Grey}\n", metrics_at="1h")
        self.daemon.stop()
        self.daemon.start()
        self.assertEqual(self.daemon.api("POST", f"/v1/runs/{run['id']}/retry")[0], 200)
        wait_for(lambda: self.daemon.runs()[0]["state"] in ("succeeded", "failed"), 60, "the retry")
        self.assertEqual(self.daemon.runs()[0]["state"], "succeeded", self.daemon.log())
        pick = self.outputs(run["id"])["pick"]
        link = self.outputs(run["id"])["link"]
        tracking = urllib.parse.urlsplit(self.daemon.tracking())
        connection = http.client.HTTPConnection(tracking.hostname, tracking.port, timeout=10)
        connection.request("GET", urllib.parse.urlsplit(link["url"]).path,
                           headers={"User-Agent": browser(1)})
        self.assertEqual(connection.getresponse().status, 302)
        connection.close()
        wait_for(lambda: json.loads(self.cli("links", "show", link["code"], "--json"))
                 ["clicks_human"] == 1, 30, "the click in the database")
        shown = self.show()
        self.assertEqual((shown["decisions"], shown["observations"], shown["pending"]), (1, 0, 1))
        self.assertEqual(shown["config"]["floor"], 0.0)
        self.assertEqual([a["pulls"] for a in shown["arms"] if a["name"] == pick["arm"]], [1])


if __name__ == "__main__":
    unittest.main()
