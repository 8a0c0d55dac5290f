#!/usr/bin/env python3
"""Retraining the engagement model in the real daemon: a published scored clip becomes a training
example with its outcome; workflows/retrain.yaml (models.examples -> models.train in a worker with
LibTorch -> models.register) promotes a better candidate, rejects one that is not better enough,
and `reelflow models rollback` goes back, refusing a corrupt file and a corrupt candidate while
the active model stays.

Usage: models_daemon_test.py REELFLOWD PTEST_PLUGIN_DIR MODELS_SEED REPO_DIR [unittest args]
"""
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

REELFLOWD, PLUGIN_DIR, MODELS_SEED, REPO = sys.argv[1:5]
del sys.argv[1:5]
DAY_MS = 86_400_000


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def clip(sharpness, face):
    return {"path": "/clips/c.mp4", "start": 2.0, "end": 20.0, "score": 0.7,
            "features": {"sharpness": sharpness, "face_ratio": face, "silence_ratio": 0.1,
                         "loudness_lufs": None},
            "score_details": {"model": "prior", "embedding": [0.25 * i for i in range(16)]}}


class ModelsDaemonTest(harness.DaemonCase):
    reelflowd, plugin_dir, prefix = REELFLOWD, PLUGIN_DIR, "reelflow-models-"

    def setUp(self):
        super().setUp()
        self.state = self.daemon.state
        self.installed = os.path.join(self.state, "models", "engagement.pt")

    # --- helpers ---

    def seed(self, count, start, drift=False):
        """Synthetic published posts with metrics and examples, through the real store."""
        words = [MODELS_SEED, self.state, str(count), "--start", str(start)]
        done = subprocess.run(words + (["--drift"] if drift else []), capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)

    def models(self):
        return json.loads(self.cli("models", "--json"))

    def run_workflow(self, name, body=None, timeout=180):
        status, answer = self.daemon.api("POST", f"/v1/workflows/{name}/trigger", body or {})
        self.assertEqual(status, 200, answer)
        run_id = answer["run_id"]

        def finished():
            status, shown = self.daemon.api("GET", "/v1/runs/" + run_id)
            return shown if shown["state"] in ("succeeded", "failed", "cancelled") else None
        return wait_for(finished, timeout, f"run {run_id} of {name}")

    @staticmethod
    def step(run, step_id):
        return [step for step in run["steps"] if step["id"] == step_id][-1]

    def use_retrain_workflow(self):
        """The shipped workflow, without its nightly schedule (a fire during the test would add a
        run the test did not ask for); manual triggers as in production."""
        with open(os.path.join(REPO, "workflows", "retrain.yaml")) as handle:
            text = handle.read()
        schedule = text[text.index("  schedule:\n"):text.index("  manual:")]
        self.assertIn("cron:", schedule)
        self.daemon.write_workflow("retrain", text.replace(schedule, ""))

    # --- tests ---

    def test_a_published_scored_clip_becomes_a_training_example_with_its_outcome(self):
        video = os.path.join(self.root, "v.mp4")
        with open(video, "wb") as handle:
            handle.write(os.urandom(2048))
        items = [clip(400, 0.6), clip(90, 0.1), {"path": "/renders/no-clip.mp4"}]
        self.daemon.write_workflow("post", f"""
name: post
on: {{manual: {{}}}}
steps:
  - id: publish
    uses: ptest.publish
    for_each: {json.dumps(items)}
    with:
      account: brand
      video: ${{{{ trigger.file }}}}
      title: launch
      metrics_at: ["1s"]
""")
        self.daemon.write_workflow("export", """
name: export
on: {manual: {}}
steps:
  - id: examples
    uses: models.examples
    with: {min_views: 1, min_examples: 20, label: 1s}
""")
        self.daemon.write_workflow("export24", """
name: export24
on: {manual: {}}
steps:
  - {id: examples, uses: models.examples}
""")
        self.daemon.start()
        run = self.run_workflow("post", {"input": video})
        self.assertEqual(run["state"], "succeeded", run)
        with sqlite3.connect(os.path.join(self.state, "reelflow.db")) as db:
            rows = db.execute("SELECT post_key, features_json FROM model_examples "
                              "ORDER BY post_key").fetchall()
        self.assertEqual([key for key, _ in rows],
                         [run["id"] + "/publish/0", run["id"] + "/publish/1"],
                         "two scored clips, and no example for the item without one")
        first = json.loads(rows[0][1])
        self.assertEqual(first["features"], {"sharpness": 400, "face_ratio": 0.6,
                                             "silence_ratio": 0.1, "duration": 18.0})
        self.assertEqual(len(first["embedding"]), 16)
        self.assertIn(first["hour"], range(24))

        def pulled():
            posts = json.loads(self.cli("posts", "--json"))["posts"]
            return posts if len(posts) == 3 and all(p["metrics"] for p in posts) else None
        wait_for(pulled, 30, "the 1s metrics of three posts")

        # The default outcome is at 24h, which no post has reached.
        export = self.run_workflow("export24")
        self.assertEqual(export["state"], "succeeded", export)
        outputs = self.step(export, "examples")["outputs"]
        self.assertEqual((outputs["examples"], outputs["skipped"]["no_metrics"]), (0, 2))
        self.assertFalse(outputs["ready"])
        self.assertEqual(outputs["outcome"],
                         "(likes + comments + shares) / views at 24h, weight min(views, 10000)")

        export = self.run_workflow("export")
        self.assertEqual(export["state"], "succeeded", export)
        outputs = self.step(export, "examples")["outputs"]
        self.assertEqual(outputs["examples"], 2, outputs)
        self.assertFalse(outputs["ready"])
        self.assertIn("fewer than min_examples (20)", outputs["reason"])
        self.assertTrue(outputs["path"].startswith(os.path.join(self.state, "artifacts")))
        with open(outputs["path"]) as handle:
            lines = [json.loads(line) for line in handle]
        # ptest's pulls: views 100 per pull, likes 10, comments 1, shares 0, counted across the
        # three posts in whatever order their pulls ran: the two clips' weights are two of 100,
        # 200 and 300.
        self.assertEqual([line["engagement"] for line in lines], [0.11, 0.11])
        weights = sorted(line["weight"] for line in lines)
        self.assertEqual(len(set(weights)), 2, weights)
        self.assertTrue(set(weights) <= {100, 200, 300}, weights)
        self.assertEqual(lines[0]["platform"], "ptest")
        self.assertEqual(lines[0]["example"]["features"]["sharpness"], 400)

    def test_retraining_promotes_a_better_model_rejects_one_that_is_not_and_rolls_back(self):
        start = 1_700_000_000_000
        self.seed(1000, start)
        self.use_retrain_workflow()
        self.daemon.write_workflow("strict", """
name: strict
on: {manual: {}}
steps:
  - {id: examples, uses: models.examples, with: {min_new_examples: 0}}
  - {id: train, uses: models.train, with: {examples: "${{ steps.examples.outputs }}"}}
  - id: register
    uses: models.register
    with: {candidate: "${{ steps.train.outputs }}", min_improvement: 0.5}
""")
        self.daemon.write_workflow("score", """
name: score
on: {manual: {}}
steps:
  - id: score
    uses: video.score
    with:
      clips: [{features: {sharpness: 600, face_ratio: 0.8}}, {features: {sharpness: 40}}]
      platform: douyin
      model: MODEL
      missing_model: prior
""".replace("MODEL", self.installed))
        self.daemon.start()

        # Before any version: video.score falls back to the prior.
        scored = self.run_workflow("score")
        self.assertEqual(scored["state"], "succeeded", scored)
        self.assertEqual(self.step(scored, "score")["outputs"]["model"], "prior")

        run = self.run_workflow("retrain")
        self.assertEqual(run["state"], "succeeded", run)
        trained = self.step(run, "train")["outputs"]
        holdout = trained["metrics"]["holdout"]
        exported = self.step(run, "examples")["outputs"]["examples"]
        self.assertGreater(exported, 990)
        self.assertEqual(holdout["examples"], round(0.2 * exported), "the most recent 20 %")
        self.assertLess(holdout["candidate"]["bce"], holdout["current"]["bce"])
        registered = self.step(run, "register")["outputs"]
        self.assertEqual((registered["version"], registered["status"]), (1, "active"))
        listing = self.models()
        self.assertEqual(listing["active"], {"engagement": 1})
        v1 = listing["models"][0]
        self.assertEqual(sha256(self.installed), v1["sha256"])
        self.assertEqual(v1["metrics"]["data"]["examples"], 1000)

        # video.score now scores with the installed version.
        scored = self.run_workflow("score")
        self.assertEqual(self.step(scored, "score")["outputs"]["model"], self.installed)

        # Nothing new since v1: the nightly run skips training.
        again = self.run_workflow("retrain")
        self.assertEqual(again["state"], "succeeded", again)
        self.assertFalse(self.step(again, "examples")["outputs"]["ready"])
        self.assertEqual(self.step(again, "train")["state"], "skipped")
        self.assertEqual(len(self.models()["models"]), 1)

        # Not better by 50 %: kept as rejected, with the reason; v1 stays.
        strict = self.run_workflow("strict")
        self.assertEqual(strict["state"], "succeeded", strict)
        outputs = self.step(strict, "register")["outputs"]
        self.assertEqual((outputs["version"], outputs["status"], outputs["active"]),
                         (2, "rejected", 1))
        self.assertIn("not better by at least 50% (min_improvement)", outputs["reason"])
        self.assertEqual(self.models()["active"], {"engagement": 1})
        self.assertEqual(sha256(self.installed), v1["sha256"])

        # The audience changes: newer posts reward the opposite. v1 is worse on them, so the
        # next candidate (trained from v1 on old and new posts) wins on the most recent ones.
        self.daemon.stop()
        self.seed(1000, start + DAY_MS, drift=True)
        self.daemon.start()
        run = self.run_workflow("retrain")
        self.assertEqual(run["state"], "succeeded", run)
        registered = self.step(run, "register")["outputs"]
        self.assertEqual((registered["version"], registered["status"]), (3, "active"), registered)
        listing = self.models()
        versions = {m["version"]: m for m in listing["models"]}
        self.assertEqual(versions[3]["parent"], 1)
        self.assertEqual(versions[1]["status"], "retired")
        self.assertEqual(sha256(self.installed), versions[3]["sha256"])
        table = self.cli("models")
        self.assertIn("rejected", table)
        self.assertIn("Active: engagement v3", table)

        # Roll back to v1, then to the previous one (v3) again.
        rolled = self.cli("models", "rollback", "v1")
        self.assertIn("engagement: v1 is active again (was v3)", rolled)
        self.assertEqual(sha256(self.installed), versions[1]["sha256"])
        scored = self.run_workflow("score")
        self.assertEqual(scored["state"], "succeeded", scored)
        self.cli("models", "rollback")
        self.assertEqual(self.models()["active"], {"engagement": 3})
        self.assertEqual(sha256(self.installed), versions[3]["sha256"])

        # v1's stored file is damaged: the rollback is refused, naming it; v3 stays.
        with open(versions[1]["file"], "r+b") as handle:
            handle.seek(os.path.getsize(versions[1]["file"]) // 2)
            byte = handle.read(1)
            handle.seek(-1, os.SEEK_CUR)
            handle.write(bytes([byte[0] ^ 0x40]))
        refused = self.cli_run("models", "rollback", "1", ok=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn(f"model file '{versions[1]['file']}' of version 1 is corrupt",
                      refused.stderr)
        self.assertIn("the active model stays v3 (HTTP 409)", refused.stderr)
        refused = self.cli_run("models", "rollback", "2", ok=False)
        self.assertIn("version 2 was rejected", refused.stderr)
        self.assertEqual(self.models()["active"], {"engagement": 3})
        self.assertEqual(sha256(self.installed), versions[3]["sha256"])

    def test_a_corrupt_candidate_is_refused_and_the_active_model_stays(self):
        self.seed(600, 1_700_000_000_000)
        self.use_retrain_workflow()
        garbage = os.path.join(self.root, "candidate.pt")
        with open(garbage, "wb") as handle:
            handle.write(b"PK\x03\x04" + os.urandom(5000))
        candidate = {"candidate": garbage, "name": "engagement", "parent": 1,
                     "metrics": {"holdout": {"current": {"bce": 0.5, "mse": 0.1},
                                             "candidate": {"bce": 0.1, "mse": 0.01}}}}
        self.daemon.write_workflow("bad", f"""
name: bad
on: {{manual: {{}}}}
steps:
  - id: register
    uses: models.register
    with:
      candidate: {json.dumps(candidate)}
""")
        self.daemon.start()
        self.assertEqual(self.run_workflow("retrain")["state"], "succeeded")
        before = self.models()
        self.assertEqual(before["active"], {"engagement": 1})
        installed = sha256(self.installed)

        run = self.run_workflow("bad")
        self.assertEqual(run["state"], "failed")
        error = self.step(run, "register")["error"]
        self.assertIn(f"models.register: candidate model file '{garbage}': not a readable model "
                      "archive", error)
        self.assertIn("nothing was registered", error)
        after = self.models()
        self.assertEqual(after["models"], before["models"])
        self.assertEqual(sha256(self.installed), installed)


if __name__ == "__main__":
    unittest.main()
