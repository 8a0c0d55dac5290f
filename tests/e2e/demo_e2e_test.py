#!/usr/bin/env python3
"""The demo's path, end to end, checked stage by stage: `packaging/demo.py --keep-running` on a
short sample (the same script, workflow and daemon as `packaging/dev demo`), then every stage's
output is read back from where it landed — the daemon's control API and CLI, its SQLite file,
the files on disk (ffprobe), the folder publisher's hand-over and the YouTube stand-in's own
API — and compared with what the demo's simulated audience sent. Finally SIGTERM to the demo
must stop the daemon and the stand-in.

No wall-clock schedule is slept on: the workflow's YouTube post uses a 20 s publish_at and a
10 s metrics pull.

Usage: demo_e2e_test.py BUILD_DIR [unittest args]
"""
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1])
del sys.argv[1]
REELFLOW = os.path.join(BUILD, "bin", "reelflow")
SAMPLE_SECONDS = 8


def ffprobe(path):
    done = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json",
                           path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 0, f"ffprobe {path}: {done.stderr}"
    return json.loads(done.stdout)


class DemoEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="reelflow-e2e-")
        cls.dir = os.path.join(cls.root, "demo")
        cls.output = open(os.path.join(cls.root, "demo-output.txt"), "w+")
        cls.demo = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "packaging", "demo.py"), BUILD, "--dir", cls.dir,
             "--seconds", str(SAMPLE_SECONDS), "--keep-running"],
            stdout=cls.output, stderr=subprocess.STDOUT)
        # The demo writes demo.json once every stage is done, then keeps running.
        facts = os.path.join(cls.dir, "demo.json")
        deadline = time.monotonic() + 280
        while time.monotonic() < deadline and not os.path.exists(facts):
            if cls.demo.poll() is not None:
                break
            time.sleep(0.5)
        if not os.path.exists(facts):
            cls.stop_demo()
            raise AssertionError("the demo did not finish its stages:\n" + cls.demo_output())
        time.sleep(0.2)   # written in one go, but let the writer close it
        with open(facts, encoding="utf-8") as handle:
            cls.facts = json.load(handle)
        cls.run_record = cls.cli_json("run", "show", cls.facts["run_id"])
        cls.outputs = {}
        for step in cls.run_record["steps"]:
            if step["state"] == "succeeded" and step.get("outputs"):
                cls.outputs.setdefault(step["id"], {})[step.get("item")] = step["outputs"]

    @classmethod
    def tearDownClass(cls):
        cls.stop_demo()
        cls.output.close()
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def stop_demo(cls):
        if cls.demo.poll() is None:
            cls.demo.send_signal(signal.SIGTERM)
            try:
                cls.demo.wait(timeout=90)
            except subprocess.TimeoutExpired:
                cls.demo.kill()
                cls.demo.wait()

    @classmethod
    def demo_output(cls):
        cls.output.flush()
        cls.output.seek(0)
        return cls.output.read()[-6000:]

    @classmethod
    def cli_json(cls, *args):
        done = subprocess.run([REELFLOW, "--control", cls.facts["control"], *args, "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert done.returncode == 0, f"reelflow {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout)

    def database(self):
        return sqlite3.connect(f"file:{os.path.join(self.dir, 'state', 'reelflow.db')}?mode=ro",
                               uri=True, timeout=10)

    # --- extract and score ---

    def test_1_clips_are_cut_and_scored(self):
        self.assertEqual(self.run_record["state"], "succeeded")
        clips = self.outputs["extract"][None]["clips"]
        self.assertGreaterEqual(len(clips), 1)
        for clip in clips:
            self.assertGreaterEqual(clip["start"], 0)
            self.assertLessEqual(clip["end"], SAMPLE_SECONDS + 0.05)
            self.assertTrue(os.path.isfile(clip["path"]), clip["path"])
        self.assertTrue(os.path.isfile(self.outputs["extract"][None]["contact_sheet"]))
        scored = self.outputs["score"][None]["clips"]
        self.assertEqual(len(scored), len(clips))
        scores = [clip["score"] for clip in scored]
        for score in scores:
            self.assertIsInstance(score, float)
            self.assertTrue(0 <= score <= 1, score)
        self.assertEqual(scores, sorted(scores, reverse=True), "clips come back best first")

    # --- render ---

    def test_2_renders_are_valid_platform_videos(self):
        best = self.outputs["score"][None]["clips"][0]
        presets = []
        for item in sorted(self.outputs["render"]):
            render = self.outputs["render"][item]
            presets.append(render["preset"])
            probe = ffprobe(render["path"])
            video = [s for s in probe["streams"] if s["codec_type"] == "video"]
            audio = [s for s in probe["streams"] if s["codec_type"] == "audio"]
            self.assertEqual(len(video), 1)
            self.assertEqual((video[0]["codec_name"], video[0]["width"], video[0]["height"]),
                             ("h264", 1080, 1920))
            self.assertEqual([s["codec_name"] for s in audio], ["aac"])
            duration = float(probe["format"]["duration"])
            self.assertAlmostEqual(duration, best["end"] - best["start"], delta=0.2)
            # Loudness normalised to the workflow's -14 LUFS (measured by the render, EBU R128).
            self.assertAlmostEqual(render["audio"]["lufs"], -14, delta=1.0)
            # faststart: the index (moov) before the media (mdat), so playback starts at once.
            with open(render["path"], "rb") as handle:
                head = handle.read(1 << 20)
            self.assertIn(b"moov", head)
            mdat = head.find(b"mdat")
            self.assertTrue(mdat < 0 or head.index(b"moov") < mdat, "moov after mdat")
        self.assertEqual(presets, ["douyin", "youtube-shorts"])

    # --- publish ---

    def test_3_the_folder_has_both_posts(self):
        published = os.path.join(self.dir, "published")
        folders = sorted(name for name in os.listdir(published) if not name.startswith("."))
        self.assertEqual(len(folders), 2, folders)
        posts = []
        for name in folders:
            with open(os.path.join(published, name, "post.json"), encoding="utf-8") as handle:
                posts.append(json.load(handle))
            self.assertTrue(os.path.isfile(os.path.join(published, name, "cover.jpg")))
        renders = {os.path.getsize(r["path"]) for r in self.outputs["render"].values()}
        links = {self.outputs["link"][item]["url"]: item for item in self.outputs["link"]}
        seen = set()
        for name, post in zip(folders, posts):
            self.assertIn(os.path.getsize(os.path.join(published, name, "video.mp4")), renders)
            self.assertIn(post["link"], links, "each post carries its own tracked link")
            item = links[post["link"]]
            seen.add(item)
            self.assertEqual(post["title"], self.outputs["headline"][item]["value"]["text"],
                             "the title is the headline the experiment chose for this post")
        self.assertEqual(seen, set(self.outputs["link"]))

    def test_4_one_post_on_the_youtube_stand_in(self):
        with self.database() as db:
            rows = db.execute("SELECT post_id, url FROM posts WHERE platform = 'youtube'").fetchall()
        self.assertEqual(len(rows), 1, rows)
        video_id = rows[0][0]
        self.assertEqual(video_id, self.facts["youtube_post"]["post_id"])
        # Ask the stand-in itself, through its videos.list API.
        parsed = urllib.parse.urlsplit(self.facts["youtube_stand_in"])
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        connection.request("GET", f"/youtube/v3/videos?part=snippet,status,statistics&id={video_id}",
                           headers={"Authorization": "Bearer " + self.facts["youtube_token"]})
        response = connection.getresponse()
        listing = json.loads(response.read())
        connection.close()
        self.assertEqual(response.status, 200, listing)
        self.assertEqual(len(listing["items"]), 1)
        video = listing["items"][0]
        headline = self.outputs["headline"][1]["value"]["text"]
        self.assertEqual(video["snippet"]["title"], headline + " #Shorts")
        self.assertIn(self.outputs["link"][1]["url"], video["snippet"]["description"])
        self.assertEqual(video["status"]["privacyStatus"], "public")
        # The daemon pulled the post's views back from the stand-in (metrics_at: [10s]).
        pulls = self.facts["youtube_post"]["metrics"].values()
        self.assertEqual(max(pull["views"] for pull in pulls),
                         int(video["statistics"]["viewCount"]))

    # --- track ---

    def test_5_clicks_and_sales_belong_to_their_post_and_variant(self):
        with self.database() as db:
            for sent in self.facts["audience"]:
                item = next(i for i in self.outputs["link"]
                            if self.outputs["link"][i]["code"] == sent["code"])
                platform, variant = db.execute(
                    "SELECT platform, variant FROM links WHERE code = ?", (sent["code"],)).fetchone()
                self.assertEqual(platform, ["douyin", "youtube"][item])
                self.assertEqual(variant, self.outputs["headline"][item]["arm"])
                self.assertEqual(variant, sent["arm"])
                people = db.execute("SELECT count(*) FROM clicks WHERE code = ? AND kind = 'human' "
                                    "AND duplicate = 0", (sent["code"],)).fetchone()[0]
                self.assertEqual(people, sent["people"])
                flagged = db.execute("SELECT count(*) FROM clicks WHERE code = ? AND kind != "
                                     "'human'", (sent["code"],)).fetchone()[0]
                self.assertEqual(flagged, 2, "the two link previews are kept, flagged")
                sales = db.execute("SELECT count(*) FROM conversions WHERE code = ? AND "
                                   "attributed = 1", (sent["code"],)).fetchone()[0]
                self.assertEqual(sales, sent["bought"])
        # The report agrees, by variant.
        report = self.cli_json("report", "--by", "variant", "--campaign", "winter-launch")
        rows = {row["key"]: row for row in report["rows"]}
        for arm in {sent["arm"] for sent in self.facts["audience"]}:
            self.assertEqual(rows[arm]["clicks_human"],
                             sum(s["people"] for s in self.facts["audience"] if s["arm"] == arm))
            self.assertEqual(rows[arm]["conversions"],
                             sum(s["bought"] for s in self.facts["audience"] if s["arm"] == arm))
        self.assertTrue(os.path.getsize(self.facts["report_html"]) > 1000)

    # --- optimize ---

    def test_6_the_experiment_counts_every_result(self):
        shown = self.cli_json("optimize", "show", "demo-headline")
        self.assertEqual(shown["decisions"], 2)
        arms = {arm["name"]: arm for arm in shown["arms"]}
        for name, arm in arms.items():
            sent = [s for s in self.facts["audience"] if s["arm"] == name]
            self.assertEqual(arm["pulls"], len(sent))
            self.assertEqual(arm["pending"], 0)
            self.assertEqual(arm["trials"], sum(s["people"] for s in sent))
            self.assertEqual(arm["successes"], sum(s["bought"] for s in sent))
            if sent:   # the posterior moved from the prior (mean 0.5) to the observed rate
                rate = arm["successes"] / arm["trials"]
                self.assertAlmostEqual(arm["mean"], rate, delta=0.02)
                self.assertLess(arm["upper"] - arm["lower"], 0.3)
            else:
                self.assertAlmostEqual(arm["mean"], 0.5, delta=1e-9)
        with open(self.facts["experiment_plot"], "rb") as handle:
            self.assertEqual(handle.read(8), b"\x89PNG\r\n\x1a\n")

    # --- shutdown ---

    def test_9_sigterm_stops_everything(self):
        daemon_pid = self.facts["daemon_pid"]
        self.stop_demo()
        self.assertEqual(self.demo.returncode, 0, self.demo_output())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{daemon_pid}"):
            time.sleep(0.1)
        self.assertFalse(os.path.exists(f"/proc/{daemon_pid}"), "reelflowd is still running")
        parsed = urllib.parse.urlsplit(self.facts["youtube_stand_in"])
        with self.assertRaises(OSError):
            socket.create_connection((parsed.hostname, parsed.port), timeout=2).close()
        self.assertIn("Nothing was left running.", self.demo_output())


if __name__ == "__main__":
    unittest.main(verbosity=2)
