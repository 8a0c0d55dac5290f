"""What the publisher tests share: a generated video, and `reelflow run` of a one-step workflow
that publishes it through a plugin against a fake platform server (tests/fakes).

    video = make_video(tmp, seconds=2)
    result = publish(REELFLOW, tmp, "youtube.publish", account={...}, options={...})
    result.ok, result.outputs (the step's outputs), result.error, result.stderr
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))


def make_video(directory, seconds=2, name="clip.mp4", size="320x568"):
    """A small real H.264 + AAC MP4 (ffmpeg's test pattern and a tone)."""
    path = os.path.join(directory, name)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", path],
        check=True)
    return path


class Result:
    def __init__(self, completed, record):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.record = record
        step = (record or {}).get("steps", [{}])[0] if record else {}
        self.state = step.get("state")
        self.outputs = step.get("outputs", {})
        # A workflow refused before it ran (invalid options) has no step record: its message is
        # on stderr.
        self.error = step.get("error", "") or ("" if record else completed.stderr.strip())

    @property
    def ok(self):
        return self.returncode == 0 and self.state == "succeeded"

    def __repr__(self):
        return (f"Result(returncode={self.returncode}, state={self.state}, error={self.error!r}, "
                f"outputs={self.outputs}, stderr={self.stderr[-2000:]!r})")


def yaml_value(value):
    """JSON is YAML: every option is written as a JSON value."""
    return json.dumps(value, ensure_ascii=False)


def publish(reelflow, directory, step_type, account, options, account_name="brand",
            timeout=120, extra_args=()):
    """Runs `reelflow run` on a workflow whose only step is `step_type` with `options` (account
    and video included by the caller or defaulted here), the account given as the secret
    account.<account_name>. Returns a Result."""
    options = dict(options)
    options.setdefault("account", account_name)
    workflow = os.path.join(directory, "publish.yaml")
    lines = ["name: publish-test", "on:", "  manual: {}", "steps:", "  - id: publish",
             f"    uses: {step_type}", "    with:"]
    for key, value in options.items():
        lines.append(f"      {key}: {yaml_value(value)}")
    with open(workflow, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    secrets = os.path.join(directory, "secrets")
    with open(secrets, "w") as handle:
        handle.write(f"account.{account_name}={json.dumps(account)}\n")
    os.chmod(secrets, 0o600)
    completed = subprocess.run(
        [reelflow, "run", workflow, "--json", "--secrets-file", secrets,
         "--artifacts", os.path.join(directory, "runs"),
         "--accounts", os.path.join(directory, "accounts"), *extra_args],
        capture_output=True, text=True, timeout=timeout)
    record = None
    try:
        record = json.loads(completed.stdout)
    except ValueError:
        pass
    return Result(completed, record)
