#!/usr/bin/env python3
"""The tracking server in the real daemon, on loopback: short links redirect after the click is
stored (also under kill -9 while a bounded load runs), bots and previewers are flagged, repeat
clicks are duplicates, conversions are signed and idempotent, hostile requests get 4xx and a slow
client does not hold up others.

Usage: track_daemon_test.py REELFLOWD PLUGIN_DIR [unittest args]
"""
import hashlib
import hmac
import http.client
import json
import os
import resource
import socket
import sqlite3
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import harness  # noqa: E402
from harness import wait_for  # noqa: E402

REELFLOWD, PLUGIN_DIR = sys.argv[1:3]
del sys.argv[1:3]
SECRET = "shop-secret-123"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")


class TrackDaemonTest(harness.DaemonCase):
    reelflowd, plugin_dir, prefix = REELFLOWD, PLUGIN_DIR, "reelflow-track-"
    workers = 1
    secrets_extra = f"conversion.shop={SECRET}\n"
    config_extra = "track:\n  request_timeout: 2s\n"

    def setUp(self):
        super().setUp()
        self.start()

    def accounts(self):
        return {}  # only the conversion source's secret; a test adds an account of its own

    def start(self):
        """Starts the daemon; its tracking listener gets a new free port each time."""
        self.daemon.start()
        self.base = self.daemon.tracking()
        self.host, self.port = self.base[len("http://"):].rsplit(":", 1)

    def create(self, url="https://shop.example/p?sku=7#top", *flags):
        return json.loads(self.cli("links", "create", url, "--platform", "douyin", "--campaign",
                                   "launch", "--variant", "cover-b", *flags, "--json"))

    def request(self, method, path, headers=None, body=None, connection=None):
        own = connection is None
        connection = connection or http.client.HTTPConnection(self.host, int(self.port),
                                                              timeout=15)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            if own:
                connection.close()

    def show(self, code):
        return json.loads(self.cli("links", "show", code, "--json"))

    def database(self):
        return sqlite3.connect(os.path.join(self.daemon.state, "reelflow.db"), timeout=10)

    def signed(self, body, secret=SECRET, at=None):
        t = str(int(at if at is not None else time.time()))
        digest = hmac.new(secret.encode(), (t + "." + body).encode(), hashlib.sha256).hexdigest()
        return {"X-Reelflow-Source": "shop", "X-Reelflow-Signature": f"t={t},v1={digest}",
                "Content-Type": "application/json"}

    def test_a_link_redirects_with_utm_and_a_click_id_and_counts_people_apart_from_bots(self):
        link = self.create()
        self.assertEqual(len(link["code"]), 12)
        self.assertEqual(link["short_url"], self.base + "/l/" + link["code"])
        target = urllib.parse.urlsplit(link["target"])
        query = urllib.parse.parse_qs(target.query)
        self.assertEqual(query["utm_source"], ["douyin"])
        self.assertEqual(query["utm_content"], ["cover-b"])
        self.assertEqual(query["utm_medium"], ["social"])
        self.assertEqual(query["sku"], ["7"])
        self.assertEqual(target.fragment, "top")

        status, headers, _ = self.request("GET", "/l/" + link["code"], {"User-Agent": CHROME})
        self.assertEqual(status, 302)
        self.assertEqual(headers["Cache-Control"], "no-store")
        location = urllib.parse.urlsplit(headers["Location"])
        click = urllib.parse.parse_qs(location.query)["rf_click"][0]
        self.assertEqual(location.fragment, "top")
        self.assertTrue(location.geturl().startswith("https://shop.example/p?sku=7&utm_source="))
        # The same person again within the hour, a previewer, a crawler and a HEAD request.
        self.assertEqual(self.request("GET", "/l/" + link["code"], {"User-Agent": CHROME})[0], 302)
        self.assertEqual(self.request("GET", "/l/" + link["code"], {
            "User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"})[0], 302)
        self.assertEqual(self.request("GET", "/l/" + link["code"], {
            "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"})[0], 302)
        self.assertEqual(self.request("HEAD", "/l/" + link["code"], {"User-Agent": CHROME})[0], 302)
        shown = self.show(link["code"])
        self.assertEqual((shown["clicks_total"], shown["clicks_human"], shown["clicks_duplicate"],
                          shown["clicks_bot"]), (5, 1, 1, 3))
        with self.database() as db:
            row = db.execute("SELECT kind, ip, visitor FROM clicks WHERE id = ?", (click,)).fetchone()
        self.assertEqual(row[0], "human")
        self.assertEqual(row[1], "127.0.0.0", "addresses are kept as their /24")
        self.assertEqual(len(row[2]), 32)

        self.assertEqual(self.request("GET", "/l/NoSuchCode99")[0], 404)
        self.assertEqual(self.request("GET", "/l/../../etc/passwd")[0], 404)
        self.cli("links", "disable", link["code"])
        self.assertEqual(self.request("GET", "/l/" + link["code"])[0], 410)
        self.cli("links", "enable", link["code"])
        self.assertEqual(self.request("GET", "/l/" + link["code"])[0], 302)
        listed = self.cli("links")
        self.assertIn(link["code"], listed)
        connection = harness.UnixHTTPConnection(self.daemon.socket)
        connection.request("GET", "/metrics")
        metrics = connection.getresponse().read().decode()
        connection.close()
        self.assertIn("reelflow_track_redirects_total 6", metrics)  # the 410 is not one
        self.assertIn("reelflow_track_not_found_total 2", metrics)

    def test_a_workflow_mints_a_link_per_variant_and_the_post_carries_it(self):
        published = os.path.join(self.root, "published")
        secrets = os.path.join(self.root, "secrets")
        with open(secrets, "a") as handle:
            handle.write("account.agency=" + json.dumps(
                {"platform": "folder", "options": {"path": published}}) + "\n")
        inbox = os.path.join(self.root, "inbox")
        os.makedirs(inbox)
        self.daemon.write_workflow("launch", """
name: launch
on:
  watch: {path: inbox, patterns: ["*.mp4"], settle: 200ms}
steps:
  - id: link
    uses: track.link
    for_each: ["cover-a", "cover-b"]
    with:
      url: https://shop.example/winter
      platform: folder
      campaign: winter
      variant: ${{ item }}
      video: ${{ trigger.file }}
  - id: publish
    uses: folder.publish
    for_each: ${{ steps.link.outputs.items }}
    with:
      account: agency
      video: ${{ trigger.file }}
      title: "winter ${{ item.code }}"
      link: ${{ item.url }}
""")
        self.daemon.stop()
        self.start()
        with open(os.path.join(inbox, "v.mp4.part"), "wb") as handle:
            handle.write(os.urandom(4096))
        os.rename(os.path.join(inbox, "v.mp4.part"), os.path.join(inbox, "v.mp4"))
        wait_for(lambda: any(r["state"] in ("succeeded", "failed") for r in self.daemon.runs()),
                 30, "the run")
        run = self.daemon.runs()[0]
        self.assertEqual(run["state"], "succeeded", self.daemon.log())
        links = json.loads(self.cli("links", "--campaign", "winter", "--json"))["links"]
        self.assertEqual(sorted(link["variant"] for link in links), ["cover-a", "cover-b"])
        posts = []
        for root, _, files in os.walk(published):
            if "post.json" in files:
                with open(os.path.join(root, "post.json")) as handle:
                    posts.append(json.load(handle))
        self.assertEqual(sorted(p["link"] for p in posts), sorted(l["short_url"] for l in links))
        status, headers, _ = self.request("GET", urllib.parse.urlsplit(posts[0]["link"]).path,
                                          {"User-Agent": CHROME})
        self.assertEqual(status, 302)
        self.assertIn("utm_campaign=winter", headers["Location"])
        report = json.loads(self.cli("report", "--campaign", "winter", "--by", "variant",
                                     "--json"))
        self.assertEqual(report["totals"]["posts"], 2)
        self.assertEqual(report["totals"]["clicks_human"], 1)

    def test_kill9_during_a_bounded_load_loses_no_click_that_was_redirected(self):
        code = self.create()["code"]
        seen, lock, stop = [], threading.Lock(), threading.Event()

        def client(index):
            connection = None
            for n in range(400):  # bounded in count; the kill ends it sooner
                if stop.is_set():
                    return
                try:
                    connection = connection or http.client.HTTPConnection(
                        self.host, int(self.port), timeout=5)
                    connection.request("GET", "/l/" + code,
                                       headers={"User-Agent": f"{CHROME} client/{index}/{n}"})
                    response = connection.getresponse()
                    response.read()
                    if response.status == 302:
                        click = urllib.parse.parse_qs(urllib.parse.urlsplit(
                            response.getheader("Location")).query)["rf_click"][0]
                        with lock:
                            seen.append(click)
                except (OSError, http.client.HTTPException):
                    connection = None
                    if stop.is_set():
                        return
                    time.sleep(0.01)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(seen) >= 150, 30, "150 redirects")
        self.daemon.kill9()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        # The daemon's start copies what the click log (the write-ahead) holds into the database.
        self.daemon.start()
        with self.database() as db:
            stored = {row[0] for row in db.execute("SELECT id FROM clicks WHERE code = ?", (code,))}
        missing = [click for click in seen if click not in stored]
        self.assertEqual(missing, [], f"{len(missing)} of {len(seen)} redirected clicks lost")
        self.assertGreaterEqual(self.show(code)["clicks_total"], len(seen))

    def test_conversions_are_signed_idempotent_and_attributed_to_the_click(self):
        code = self.create()["code"]
        _, headers, _ = self.request("GET", "/l/" + code, {"User-Agent": CHROME})
        click = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)["rf_click"][0]
        body = json.dumps({"click": click, "event": "purchase", "value": 49.9, "currency": "EUR",
                           "order_id": "A-1001"})
        status, _, answer = self.request("POST", "/c", self.signed(body), body)
        self.assertEqual(status, 200, answer)
        answer = json.loads(answer)
        self.assertEqual((answer["attributed"], answer["link"], answer["click"], answer["duplicate"]),
                         (True, code, click, False))
        # The shop retries the same postback: acknowledged, not counted twice.
        status, _, again = self.request("POST", "/c", self.signed(body), body)
        self.assertEqual(status, 200)
        self.assertTrue(json.loads(again)["duplicate"])
        shown = self.show(code)
        self.assertEqual(len(shown["conversions"]), 1)
        self.assertAlmostEqual(shown["revenue"], 49.9)

        # Refused: a wrong secret, a tampered body, an old timestamp (replay), an unknown source,
        # an unknown click, a body that is not a conversion.
        self.assertEqual(self.request("POST", "/c", self.signed(body, secret="guess"), body)[0], 401)
        tampered = body.replace("49.9", "4990")
        self.assertEqual(self.request("POST", "/c", self.signed(body), tampered)[0], 401)
        self.assertEqual(self.request("POST", "/c", self.signed(body, at=time.time() - 3600), body)[0], 401)
        foreign = dict(self.signed(body), **{"X-Reelflow-Source": "other"})
        self.assertEqual(self.request("POST", "/c", foreign, body)[0], 401)
        unknown = json.dumps({"click": "NoSuchClick0000", "event": "lead"})
        self.assertEqual(self.request("POST", "/c", self.signed(unknown), unknown)[0], 404)
        bad = json.dumps({"code": code, "event": "purchase", "value": -5, "currency": "EUR"})
        status, _, answer = self.request("POST", "/c", self.signed(bad), bad)
        self.assertEqual(status, 400)
        self.assertIn("value", json.loads(answer)["error"])

        # A form postback by link code, and the pixel.
        form = urllib.parse.urlencode({"code": code, "event": "lead"})
        headers = dict(self.signed(form), **{"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(self.request("POST", "/c", headers, form)[0], 200)
        t = str(int(time.time()))
        query = urllib.parse.urlencode({"source": "shop", "click": click, "event": "purchase",
                                        "value": "10", "currency": "EUR", "order_id": "A-1002",
                                        "t": t})
        sig = hmac.new(SECRET.encode(), (t + "." + query).encode(), hashlib.sha256).hexdigest()
        status, headers, gif = self.request("GET", "/p.gif?" + query + "&sig=" + sig)
        self.assertEqual((status, headers["Content-Type"]), (200, "image/gif"))
        self.assertTrue(gif.startswith(b"GIF89a"))
        self.assertEqual(self.request("GET", "/p.gif?" + query + "&sig=" + "0" * 64)[0], 401)
        self.assertEqual(len(self.show(code)["conversions"]), 3)

        report = json.loads(self.cli("report", "--json"))
        self.assertEqual(report["totals"]["conversions"], 3)
        self.assertAlmostEqual(report["totals"]["revenue"], 59.9)
        self.assertEqual(report["rows"][0]["key"], "douyin")
        page = os.path.join(self.root, "report.html")
        self.cli("report", "--by", "variant", "--html", page)
        with open(page) as handle:
            self.assertIn("<svg", handle.read())

    def test_hostile_requests_get_4xx_and_a_slow_client_does_not_hold_up_others(self):
        code = self.create()["code"]
        big = "x" * (70 * 1024)
        self.assertEqual(self.request("POST", "/c", self.signed(big), big)[0], 413)
        self.assertEqual(self.request("GET", "/l/" + code, {"X-Junk": "y" * 20000})[0], 431)
        with socket.create_connection((self.host, int(self.port)), timeout=5) as raw:
            raw.sendall(b"GARBAGE\r\n\r\n")
            self.assertIn(b" 400 ", raw.recv(4096))
        self.assertEqual(self.request("POST", "/l/" + code)[0], 405)
        self.assertEqual(self.request("GET", "/admin")[0], 404)

        # Slow loris: a client that sends its headers a byte at a time.
        slow = socket.create_connection((self.host, int(self.port)), timeout=10)
        slow.sendall(b"GET /l/" + code.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        started = time.time()
        for _ in range(3):
            self.assertEqual(self.request("GET", "/l/" + code, {"User-Agent": CHROME})[0], 302)
        self.assertLess(time.time() - started, 2, "others are served while the slow one waits")
        closed = False
        deadline = time.time() + 8
        try:
            while time.time() < deadline:
                slow.sendall(b"X")
                time.sleep(0.3)
                slow.settimeout(0.01)
                try:
                    if slow.recv(1) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
        except OSError:
            closed = True
        slow.close()
        self.assertTrue(closed, "the slow client is closed after the request timeout")
        self.assertLess(time.time() - started, 8)
        self.assertEqual(self.daemon.process.poll(), None)

    def test_a_full_disk_answers_503_and_keeps_every_redirected_click(self):
        code = self.create()["code"]
        self.daemon.stop()
        # A file-size limit stands in for a full disk: writes past it fail (EFBIG) like ENOSPC.
        files = [os.path.join(self.daemon.state, name) for name in ("reelflow.db", "reelflow.db-wal")]
        limit = max(os.path.getsize(f) for f in files if os.path.exists(f)) + 512 * 1024
        self.daemon.preexec = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        self.start()
        redirected, refused = [], 0
        connection = http.client.HTTPConnection(self.host, int(self.port), timeout=15)
        for n in range(20000):  # bounded: the limit is reached after a few thousand clicks
            connection.request("GET", "/l/" + code, headers={"User-Agent": f"{CHROME} {n}"})
            response = connection.getresponse()
            response.read()
            if response.status == 302:
                redirected.append(urllib.parse.parse_qs(urllib.parse.urlsplit(
                    response.getheader("Location")).query)["rf_click"][0])
            else:
                self.assertEqual(response.status, 503)
                refused += 1
                if refused >= 3:
                    break
        connection.close()
        self.assertGreater(len(redirected), 20)
        self.assertEqual(refused, 3, "the full disk is answered with 503")
        self.assertIn("answering 503, a click could not be stored", self.daemon.log())
        self.assertIsNone(self.daemon.process.poll(), "the daemon is still running")
        self.daemon.kill9()
        self.daemon.preexec = None
        self.daemon.start()  # with room again: what the click log kept goes into the database
        with self.database() as db:
            stored = {row[0] for row in db.execute("SELECT id FROM clicks WHERE code = ?", (code,))}
        self.assertEqual([c for c in redirected if c not in stored], [])

    def test_a_locked_database_delays_the_clicks_but_loses_none(self):
        code = self.create()["code"]
        self.assertEqual(self.request("GET", "/l/" + code)[0], 302)  # the link is cached now
        db = sqlite3.connect(os.path.join(self.daemon.state, "reelflow.db"), timeout=10,
                             isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        clicks = []
        try:
            # The click log takes the clicks while the database cannot: people are redirected.
            for n in range(3):
                status, headers, _ = self.request("GET", "/l/" + code,
                                                  {"User-Agent": f"{CHROME} locked/{n}"})
                self.assertEqual(status, 302)
                clicks.append(urllib.parse.parse_qs(urllib.parse.urlsplit(
                    headers["Location"]).query)["rf_click"][0])
            wait_for(lambda: "cannot copy" in self.daemon.log(), 15,
                     "the log to say the clicks cannot be copied yet")
            self.assertIn("database is locked", self.daemon.log())
        finally:
            db.execute("ROLLBACK")
            db.close()
        self.assertEqual(self.show(code)["clicks_total"], 4)
        with self.database() as check:
            stored = {row[0] for row in check.execute("SELECT id FROM clicks WHERE code = ?",
                                                      (code,))}
        self.assertEqual([c for c in clicks if c not in stored], [])

if __name__ == "__main__":
    unittest.main()
