#!/usr/bin/env python3
"""folder.publish through `reelflow run`: the post lands whole in its own directory, with the
video, the cover and post.json; bad accounts and inputs fail with messages that name them.

Usage: folder_test.py REELFLOW [unittest args]  (ctest passes REELFLOW)
"""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "tests", "publish"))
from publish_support import make_video, publish  # noqa: E402

REELFLOW = sys.argv.pop(1)


class FolderPublishTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.video = make_video(self.dir, seconds=1)
        self.out = os.path.join(self.dir, "agency")
        self.account = {"platform": "folder", "options": {"path": self.out}}

    def tearDown(self):
        self.tmp.cleanup()

    def test_a_post_lands_whole_with_video_cover_and_metadata(self):
        cover = os.path.join(self.dir, "cover.jpg")
        with open(cover, "wb") as handle:
            handle.write(b"\xff\xd8\xff\xe0 not really a jpeg, but a file")
        result = publish(REELFLOW, self.dir, "folder.publish", self.account,
                         {"video": self.video, "cover": cover, "title": "冬季 Launch",
                          "caption": "New #winter drop", "tags": ["winter", "sale"],
                          "link": "https://rf.example/l/abc"})
        self.assertTrue(result.ok, result)
        self.assertEqual(result.outputs["state"], "published")
        posts = os.listdir(self.out)
        self.assertEqual(posts, [result.outputs["post_id"]], "exactly one post, no partial left")
        post_dir = os.path.join(self.out, posts[0])
        self.assertEqual(sorted(os.listdir(post_dir)), ["cover.jpg", "post.json", "video.mp4"])
        with open(os.path.join(post_dir, "video.mp4"), "rb") as copy, open(self.video, "rb") as original:
            self.assertEqual(copy.read(), original.read())
        with open(os.path.join(post_dir, "post.json")) as handle:
            metadata = json.load(handle)
        self.assertEqual(metadata["title"], "冬季 Launch")
        self.assertEqual(metadata["tags"], ["winter", "sale"])
        self.assertEqual(metadata["link"], "https://rf.example/l/abc")
        self.assertEqual(metadata["cover"], "cover.jpg")
        self.assertEqual(result.outputs["url"], "file://" + post_dir)

    def test_an_unconfigured_account_names_the_secret_to_add(self):
        result = publish(REELFLOW, self.dir, "folder.publish", self.account,
                         {"video": self.video, "account": "nobody"})
        self.assertFalse(result.ok)
        self.assertIn("account 'nobody' is not configured", result.error)
        self.assertIn("account.nobody", result.error)

    def test_an_account_of_another_platform_is_refused(self):
        result = publish(REELFLOW, self.dir, "folder.publish",
                         {"platform": "youtube", "options": {}}, {"video": self.video})
        self.assertFalse(result.ok)
        self.assertIn("is a youtube account, not folder", result.error)

    def test_a_missing_video_is_named(self):
        missing = os.path.join(self.dir, "gone.mp4")
        result = publish(REELFLOW, self.dir, "folder.publish", self.account, {"video": missing})
        self.assertFalse(result.ok)
        self.assertIn(missing, result.error)
        self.assertFalse(os.path.exists(self.out) and os.listdir(self.out))

    def test_an_account_without_its_path_option_is_refused_before_anything_happens(self):
        result = publish(REELFLOW, self.dir, "folder.publish", {"platform": "folder"},
                         {"video": self.video})
        self.assertFalse(result.ok)
        self.assertIn("path", result.error)


if __name__ == "__main__":
    unittest.main()
