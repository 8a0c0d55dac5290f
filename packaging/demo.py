#!/usr/bin/env python3
"""The demo behind `packaging/dev demo`: the whole loop of workflows/demo.yaml on a generated video.

  1. a fresh directory (build/demo/) with a sample video (four shots, a moving subject, a voice
     from espeak-ng over music, an English + Chinese .srt sidecar) and a logo;
  2. a local stand-in for YouTube's upload API (tests/fakes/youtube_fake.py) on loopback;
  3. reelflowd on SQLite, with its control socket and tracking server on loopback, watching
     build/demo/inbox; the sample is dropped there and the run's steps are shown as they finish;
  4. a simulated audience, clearly labelled: views on the stand-in, clicks on the tracked links
     and signed conversion postbacks, all through the daemon's real HTTP endpoints;
  5. the report, the experiment, and where everything is.

Usage: demo.py BUILD_DIR [--keep-running] [--dir DIR] [--seconds N]
  --keep-running  leave reelflowd and the stand-in running until Ctrl-C (or SIGTERM)
  --dir DIR       where to put it all (default BUILD_DIR/demo; emptied first)
  --seconds N     length of the sample video (default 12; the end-to-end test uses less)

Exit status 0 when every stage did what it should; otherwise 1 with the reason and the log.
"""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))
sys.path.insert(0, os.path.join(ROOT, "tests", "daemon"))
from youtube_fake import YouTubeFake  # noqa: E402
from harness import UnixHTTPConnection  # noqa: E402  (the control API over its unix socket)

CONVERSION_SECRET = "demo-shop-secret"   # the shop's signing secret: conversion.shop in secrets
CAMPAIGN = "winter-launch"
EXPERIMENT = "demo-headline"


class DemoError(Exception):
    pass


def say(text):
    print(f"\033[1m==> {text}\033[0m", file=sys.stderr, flush=True)


def detail(text):
    print(f"    {text}", file=sys.stderr, flush=True)


def run_quiet(command, what):
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
        raise DemoError(f"{what}: {command[0]} is not installed (packaging/dev deps installs it)")
    if done.returncode != 0:
        raise DemoError(f"{what} failed ({' '.join(command[:2])} ...):\n{done.stdout}")
    return done.stdout


# --- 1. the sample ---------------------------------------------------------------------------

SRT = """1
00:00:00,300 --> 00:00:03,000
Meet the new collection
认识我们的新系列

2
00:00:03,000 --> 00:00:06,000
Made for winter, light as air
为冬天而生，轻盈如风

3
00:00:06,000 --> 00:00:{end:02d},500
Order today — 今天下单
"""


def make_sample(demo, seconds):
    """inbox-to-be/sample.mp4 + sample.srt and brand/logo.png; returns the video's path."""
    staging = os.path.join(demo, "sample")
    os.makedirs(staging)
    os.makedirs(os.path.join(demo, "brand"))
    shot = seconds / 4
    # The voice: espeak-ng in English, then Mandarin, over a quiet chord (music bed).
    english = os.path.join(staging, "voice-en.wav")
    chinese = os.path.join(staging, "voice-zh.wav")
    run_quiet(["espeak-ng", "-v", "en-us", "-s", "155", "-w", english,
               "Meet the new collection. Made for winter, light as air. Order today."],
              "espeak-ng (English voice)")
    run_quiet(["espeak-ng", "-v", "cmn", "-s", "150", "-w", chinese, "认识我们的新系列，今天下单"],
              "espeak-ng (Mandarin voice)")
    video = os.path.join(staging, "sample.mp4")
    size = "640x360"
    # Four shots: a bright ball moving over a gradient (the subject the crop follows), colour
    # bars, a zooming fractal and a cellular automaton; cut, not faded.
    sources = [
        f"testsrc2=size={size}:rate=30:duration={shot}",
        f"smptehdbars=size={size}:rate=30:duration={shot}",
        f"mandelbrot=size={size}:rate=30,trim=duration={shot}",
        f"cellauto=size={size}:rate=30:rule=110,trim=duration={shot}",
    ]
    ball = (f"color=c=0xF2C94C:size=120x120:rate=30:duration={seconds},format=rgba,"
            "geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(hypot(X-60,Y-60),58),255,0)'")
    graph = (
        "[0:v][1:v][2:v][3:v]concat=n=4:v=1:a=0[shots];"
        "[shots][4:v]overlay=x='40+(W-160)*(0.5+0.5*sin(t*1.3))':y='60+(H-180)*(0.5+0.5*cos(t*0.9))'"
        ":shortest=1,format=yuv420p[v];"
        f"[5:a]adelay=300:all=1[en];[6:a]adelay={int(min(seconds - 3.5, 6.5) * 1000)}:all=1[zh];"
        f"[7:a]volume=0.08[bed];[en][zh][bed]amix=inputs=3:duration=longest:normalize=0,"
        f"atrim=duration={seconds},aresample=48000[a]")
    inputs = []
    for source in sources:
        inputs += ["-f", "lavfi", "-i", source]
    inputs += ["-f", "lavfi", "-i", ball, "-i", english, "-i", chinese,
               "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=48000:duration={seconds}"]
    run_quiet(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *inputs,
               "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264",
               "-preset", "veryfast", "-c:a", "aac", "-movflags", "+faststart", video],
              "ffmpeg (sample video)")
    with open(os.path.join(staging, "sample.srt"), "w", encoding="utf-8") as handle:
        handle.write(SRT.format(end=max(7, int(seconds) - 1)))
    # The logo: a red disc with a white ring, transparent around it (alpha honoured).
    run_quiet(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
               "color=c=black:size=256x256,format=rgba,"
               "geq=r='if(lt(hypot(X-128,Y-128),96),230,255)':g='if(lt(hypot(X-128,Y-128),96),57,255)'"
               ":b='if(lt(hypot(X-128,Y-128),96),70,255)':a='if(lt(hypot(X-128,Y-128),120),255,0)'",
               "-frames:v", "1", os.path.join(demo, "brand", "logo.png")], "ffmpeg (logo)")
    return video


# --- 2. the platform stand-in ----------------------------------------------------------------

def start_youtube_stand_in():
    return YouTubeFake(port=0).start()


# --- 3. the daemon ---------------------------------------------------------------------------

class Daemon:
    def __init__(self, build, demo, youtube_url):
        self.build = build
        self.demo = demo
        self.socket = os.path.join(demo, "control.sock")
        self.log_path = os.path.join(demo, "reelflowd.log")
        self.process = None
        secrets = os.path.join(demo, "secrets")
        accounts = {
            # Posts handed over as folders (plugins/folder).
            "account.agency": {"platform": "folder",
                               "options": {"path": os.path.join(demo, "published")}},
            # YouTube, pointed at the local stand-in: a real account has the real token and no
            # api_base / token_base (plugins/youtube/README.md).
            "account.shorts": {"platform": "youtube",
                               "options": {"api_base": youtube_url, "token_base": youtube_url},
                               "credentials": {"access_token": "yt-access-token"}},
        }
        with open(secrets, "w", encoding="utf-8") as handle:
            for name, value in accounts.items():
                handle.write(f"{name}={json.dumps(value)}\n")
            handle.write(f"conversion.shop={CONVERSION_SECRET}\n")
        os.chmod(secrets, 0o600)
        self.config = os.path.join(demo, "reelflowd.yaml")
        with open(self.config, "w", encoding="utf-8") as handle:
            handle.write(f"secrets_file: {secrets}\n")
        os.makedirs(os.path.join(demo, "workflows"))
        shutil.copy(os.path.join(ROOT, "workflows", "demo.yaml"),
                    os.path.join(demo, "workflows", "demo.yaml"))

    def start(self):
        command = [os.path.join(self.build, "bin", "reelflowd"), "--config", self.config,
                   "--state-dir", os.path.join(self.demo, "state"),
                   "--workflows", os.path.join(self.demo, "workflows"),
                   "--listen", "127.0.0.1:0", "--control", "unix:" + self.socket,
                   "--workers", "2"]
        # The watch path `inbox` and the logo path are relative to the daemon's directory.
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=self.demo, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DemoError(f"reelflowd exited with status {self.process.returncode}; "
                                f"its log:\n{self.log_tail()}")
            try:
                return self.api("GET", "/v1/status")
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
        raise DemoError("reelflowd did not answer on its control socket within 30 s")

    def api(self, method, path, body=None):
        connection = UnixHTTPConnection(self.socket)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            connection.request(method, path, body=payload,
                               headers={"Content-Type": "application/json"} if payload else {})
            response = connection.getresponse()
            data = response.read()
            if response.status >= 400:
                raise DemoError(f"{method} {path}: {response.status} {data.decode(errors='replace')}")
            return json.loads(data)
        finally:
            connection.close()

    def cli(self, *args):
        """A `reelflow` command's standard output (as a user would type it)."""
        done = subprocess.run([os.path.join(self.build, "bin", "reelflow"),
                               "--control", "unix:" + self.socket, *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise DemoError(f"reelflow {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def summary(step):
    """A few words on what a finished step made."""
    outputs = step.get("outputs") or {}
    sid = step["id"]
    if sid == "extract":
        n = len(outputs.get("clips", []))
        return f"{n} clip{'s' if n != 1 else ''}, contact sheet {outputs.get('contact_sheet', '')}"
    if sid == "score":
        clips = outputs.get("clips", [])
        scores = ", ".join(f"{c.get('score', 0):.2f}" for c in clips)
        return f"scores, best first: {scores}"
    if sid == "render":
        return (f"{outputs.get('preset')}: {outputs.get('width')}x{outputs.get('height')}, "
                f"{outputs.get('duration', 0):.1f} s, "
                f"{(outputs.get('audio') or {}).get('lufs', float('nan')):.1f} LUFS")
    if sid == "headline":
        return f"arm '{outputs.get('arm')}' (p = {outputs.get('propensity', 0):.2f})"
    if sid == "link":
        return f"{outputs.get('url')}"
    if sid in ("handover", "youtube"):
        return f"{outputs.get('url') or outputs.get('post_id', '')}"
    return ""


def follow_run(daemon, timeout):
    """Waits for the demo's run and prints each step as it finishes; returns the finished run."""
    deadline = time.monotonic() + timeout
    run_id, shown, said_waiting = None, set(), False
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise DemoError(f"reelflowd exited; its log:\n{daemon.log_tail()}")
        if run_id is None:
            runs = daemon.api("GET", "/v1/runs?workflow=demo").get("runs", [])
            if runs:
                run_id = runs[0]["id"]
                detail(f"run {run_id} started by the watch trigger")
        if run_id is not None:
            run = daemon.api("GET", f"/v1/runs/{run_id}")
            for step in run["steps"]:
                key = (step["id"], step.get("item"), step["attempt"], step["state"])
                item = f"[{step['item']}]" if "item" in step else ""
                if step["state"] == "running" and key not in shown and step["id"] == "render":
                    shown.add(key)   # the one slow step: say it started
                    detail(f"{'...':7} {step['id'] + item:12} {'':>8}  rendering")
                    continue
                if key in shown or step["state"] not in ("succeeded", "failed", "skipped"):
                    continue
                if step["state"] == "succeeded" and "seconds" not in step:
                    continue   # a publish_at wait that ended; the attempt after it follows
                shown.add(key)
                took = f"{step.get('seconds', 0):5.1f} s" if "seconds" in step else ""
                mark = {"succeeded": "ok", "failed": "FAILED", "skipped": "skipped"}[step["state"]]
                text = step.get("error") if step["state"] == "failed" else summary(step)
                detail(f"{mark:7} {step['id'] + item:12} {took:>8}  {text}")
            if run["state"] == "waiting" and not said_waiting:
                said_waiting = True
                detail("waiting for publish_at (the run holds no worker); `reelflow schedule`:")
                for line in daemon.cli("schedule").rstrip().splitlines():
                    detail("  " + line)
            if run["state"] in ("succeeded", "failed", "cancelled"):
                return run
        time.sleep(0.3)
    raise DemoError(f"the run did not finish within {timeout} s; the daemon's log:\n"
                    f"{daemon.log_tail()}")


# --- 4. the simulated audience ---------------------------------------------------------------

def browser(index):
    return ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Mobile/15E148 aweme/28.{index % 10}.{index} NetType/WIFI")


def click(tracking, code, user_agent):
    """One visit to the short link; returns the click id the landing page would receive."""
    parsed = urllib.parse.urlsplit(tracking)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        connection.request("GET", f"/l/{code}", headers={"User-Agent": user_agent})
        response = connection.getresponse()
        response.read()
        if response.status != 302:
            raise DemoError(f"GET /l/{code} answered {response.status}, not 302")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.getheader("Location")).query)
        return query.get("rf_click", [None])[0]
    finally:
        connection.close()


def convert(tracking, click_id, order, value):
    """The shop's signed postback for one purchase (docs/tracking.md, Conversions)."""
    body = json.dumps({"click": click_id, "event": "purchase", "value": value,
                       "currency": "CNY", "order_id": order}).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(CONVERSION_SECRET.encode(), stamp.encode() + b"." + body,
                         hashlib.sha256).hexdigest()
    parsed = urllib.parse.urlsplit(tracking)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        connection.request("POST", "/c", body=body, headers={
            "Content-Type": "application/json", "X-Reelflow-Source": "shop",
            "X-Reelflow-Signature": f"t={stamp},v1={signature}"})
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise DemoError(f"POST /c answered {response.status}: {answer.decode(errors='replace')}")
    finally:
        connection.close()


def simulate_audience(daemon, fake, run, rng):
    """Views on the stand-in, then clicks and purchases on each post's link. The audience
    likes one headline more than the other, so the experiment has something to find."""
    tracking = "http://" + daemon.api("GET", "/v1/status")["tracking"]["listen"]
    steps = {}
    for step in run["steps"]:
        if step["state"] == "succeeded":
            steps.setdefault(step["id"], {})[step.get("item")] = step.get("outputs") or {}
    video_id = steps["youtube"][None]["post_id"]
    with fake.lock:
        fake.videos[video_id]["statistics"].update(
            {"viewCount": "1840", "likeCount": "96", "commentCount": "12"})
    detail(f"YouTube stand-in: video {video_id} now reports 1,840 views, 96 likes, 12 comments")
    # How many people each headline draws to the link, and the chance that one of them buys.
    taste = {"new-arrivals": (90, 0.06), "light-as-air": (140, 0.15)}
    visitors, order = 0, 0
    totals = []
    for item in sorted(steps["link"]):
        code = steps["link"][item]["code"]
        arm = steps["headline"][item]["arm"]
        people, buy_chance = taste[arm]
        bought = 0
        for _ in range(people):
            visitors += 1
            click_id = click(tracking, code, browser(visitors))
            if rng.random() < buy_chance:
                order += 1
                bought += 1
                convert(tracking, click_id, f"DEMO-{order:04d}", round(rng.uniform(99, 399), 2))
        # Two chat apps drawing a preview card: recorded, flagged, not counted as people.
        click(tracking, code, "WhatsApp/2.23.20.0 A")
        click(tracking, code, "TelegramBot (like TwitterBot)")
        totals.append({"code": code, "arm": arm, "people": people, "bought": bought})
        detail(f"link {code} ({arm}): {people} people clicked, {bought} bought, "
               "2 link previews (flagged, not counted)")
    return totals


def wait_for_views(daemon, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        posts = daemon.api("GET", "/v1/posts").get("posts", [])
        for post in posts:
            pulls = (post.get("metrics") or {}).values()   # by label: {"10s": {"views": ...}}
            views = max((pull.get("views", 0) for pull in pulls), default=0)
            if post.get("platform") == "youtube" and views:
                return post, views
        time.sleep(0.5)
    raise DemoError(f"the daemon pulled no views from the stand-in within {timeout} s "
                    "(metrics_at: [10s]); its log:\n" + daemon.log_tail())


# --- the whole demo --------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description="the reelflow demo")
    parser.add_argument("build")
    parser.add_argument("--keep-running", action="store_true")
    parser.add_argument("--dir")
    parser.add_argument("--seconds", type=float, default=12)
    args = parser.parse_args(argv)
    build = os.path.abspath(args.build)
    demo = os.path.abspath(args.dir or os.path.join(build, "demo"))
    started = time.monotonic()
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(os.path.join(demo, "control.sock"))
        print(f"demo: a demo's reelflowd is still running in {demo} (started with "
              "--keep-running); stop it first (Ctrl-C in its terminal)", file=sys.stderr)
        return 1
    except OSError:
        pass
    finally:
        probe.close()
    if os.path.isdir(demo):
        shutil.rmtree(demo)
    os.makedirs(os.path.join(demo, "inbox"))

    fake, daemon, stopping = None, None, []

    def on_signal(number, frame):
        stopping.append(number)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        for program in ("reelflow", "reelflowd"):
            if not os.access(os.path.join(build, "bin", program), os.X_OK):
                raise DemoError(f"{build}/bin/{program} is missing: build first "
                                "(packaging/dev demo does)")
        say(f"generating a {args.seconds:g}-second sample video: four shots, a moving subject, "
            "a voice (espeak-ng), English + Chinese captions")
        sample = make_sample(demo, args.seconds)
        detail(sample)

        say("checking the workflow: reelflow validate workflows/demo.yaml")
        detail(run_quiet([os.path.join(build, "bin", "reelflow"), "validate",
                          os.path.join(ROOT, "workflows", "demo.yaml")],
                         "reelflow validate").strip())

        fake = start_youtube_stand_in()
        say(f"LOCAL STAND-IN for YouTube's upload API on {fake.url} "
            "(tests/fakes/youtube_fake.py): nothing leaves this machine")
        daemon = Daemon(build, demo, fake.url)
        say("starting reelflowd: SQLite in build/demo/state, control socket and tracking "
            "server on loopback, watching build/demo/inbox")
        status = daemon.start()
        detail(f"tracking server http://{status['tracking']['listen']}, "
               f"control unix:{daemon.socket}, log {daemon.log_path}")

        say("dropping sample.mp4 (and its sample.srt) into the inbox")
        staging = os.path.dirname(sample)
        shutil.copy(os.path.join(staging, "sample.srt"), os.path.join(demo, "inbox"))
        os.rename(sample, os.path.join(demo, "inbox", "sample.mp4"))
        run = follow_run(daemon, timeout=300)
        if run["state"] != "succeeded":
            raise DemoError(f"run {run['id']} {run['state']}: {run.get('error', '')}; "
                            f"`reelflow run show {run['id']}` has the details")

        say("SIMULATED AUDIENCE (not real people): views on the stand-in, clicks on the "
            "tracked links and signed purchases from a shop, over real HTTP")
        audience = simulate_audience(daemon, fake, run, random.Random(7))
        post, views = wait_for_views(daemon)
        detail(f"the daemon pulled the YouTube post's metrics: {views} views")

        say("the funnel: reelflow report --by variant")
        print(daemon.cli("report", "--by", "variant", "--campaign", CAMPAIGN), flush=True)
        report = os.path.join(demo, "report.html")
        daemon.cli("report", "--html", report)

        say(f"the experiment: reelflow optimize show {EXPERIMENT}")
        print(daemon.cli("optimize", "show", EXPERIMENT), flush=True)
        plot = os.path.join(demo, "experiment.png")
        daemon.cli("optimize", "show", EXPERIMENT, "--plot", plot)

        artifacts = os.path.join(demo, "state", "artifacts", run["id"])
        say(f"done in {time.monotonic() - started:.0f} s. Everything is under {demo}")
        print(f"""
  sample video      {demo}/inbox/sample.mp4 (+ sample.srt)
  contact sheet     {artifacts}/extract/contact_sheet.png   <- open this first
  clips, covers     {artifacts}/extract/clips/  {artifacts}/extract/covers/
  renders           {artifacts}/render/  (Douyin and YouTube Shorts, 1080x1920)
  published folder  {demo}/published/  (one folder per post: video.mp4, cover.jpg, post.json)
  YouTube post      on the stand-in only: {post.get('url', '')}
  funnel report     {report}  (reelflow report, --by platform|variant|video|day)
  experiment        {plot}  (reelflow optimize show {EXPERIMENT})
  daemon            state {demo}/state (SQLite reelflow.db), log {daemon.log_path}
""", flush=True)
        if not args.keep_running:
            print("reelflowd is stopped when the demo ends; `packaging/dev demo --keep-running` "
                  "leaves it (and the stand-in) running to try the CLI, until Ctrl-C.\n",
                  flush=True)
        # What the demo did, for tools and the end-to-end test (tests/e2e) to check against.
        with open(os.path.join(demo, "demo.json"), "w", encoding="utf-8") as handle:
            json.dump({"run_id": run["id"], "control": "unix:" + daemon.socket,
                       "daemon_pid": daemon.process.pid, "youtube_stand_in": fake.url,
                       "youtube_token": "yt-access-token", "youtube_post": post,
                       "tracking": "http://" + status["tracking"]["listen"],
                       "audience": audience, "report_html": report, "experiment_plot": plot},
                      handle, indent=2)
        if args.keep_running:
            say("reelflowd and the YouTube stand-in keep running. Try:")
            print(f"""
  export REELFLOW_CONTROL=unix:{daemon.socket}
  {build}/bin/reelflow status
  {build}/bin/reelflow runs
  {build}/bin/reelflow run show {run['id']}
  {build}/bin/reelflow links
  cp another.mp4 {demo}/inbox/       # a new run

Stop both with Ctrl-C here (or: kill {os.getpid()}).
""", flush=True)
            while True:
                time.sleep(3600)
        return 0
    except KeyboardInterrupt:
        if not stopping and not args.keep_running:
            say("interrupted")
            return 130
        return 0
    except DemoError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    finally:
        if daemon:
            say("stopping reelflowd (SIGTERM: running steps finish, then it exits)")
            daemon.stop()
        if fake:
            fake.stop()
        print("Nothing was left running.", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
