#!/usr/bin/env python3
"""measure.py [--runs N] [--quiet-wait SECONDS] -- COMMAND...

Runs COMMAND N times (default 3), each started once the machine is quiet (a 1 s window with every
core at least 90 % idle, from /proc/stat; waits at most --quiet-wait seconds, default 60, then runs
anyway and counts the run as not quiet). Prints one line:

    MEDIAN_WALL_S PEAK_RSS_MB NOT_QUIET_RUNS MEDIAN_CPU_S

CPU is user + system time of the command (and the descendants it waited for), the steadier figure
on a shared machine. Peak RSS is the largest ru_maxrss over the runs, in MB (10^6 bytes). A run
that fails prints the end of its stderr and exits 1.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time


def idle_fraction(seconds=1.0):
    def sample():
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:8]]
        return sum(fields), fields[3]  # total, idle (iowait is not idle: the disk is busy)

    total1, idle1 = sample()
    time.sleep(seconds)
    total2, idle2 = sample()
    return (idle2 - idle1) / max(1, total2 - total1)


def wait_quiet(limit):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if idle_fraction() >= 0.90:
            return True
    return False


def main(argv):
    runs, quiet_wait = 3, 60.0
    while argv and argv[0] != "--":
        flag, value = argv[0], argv[1]
        if flag == "--runs":
            runs = int(value)
        elif flag == "--quiet-wait":
            quiet_wait = float(value)
        else:
            sys.exit(f"measure.py: unknown option {flag}")
        argv = argv[2:]
    command = argv[1:]
    walls, cpus, peak_kib, not_quiet = [], [], 0, 0
    for _ in range(runs):
        if not wait_quiet(quiet_wait):
            not_quiet += 1
        with tempfile.TemporaryFile() as err:
            start = time.monotonic()
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(child.pid, 0)
            walls.append(time.monotonic() - start)
            child.returncode = os.waitstatus_to_exitcode(status)
            cpus.append(usage.ru_utime + usage.ru_stime)
            peak_kib = max(peak_kib, usage.ru_maxrss)
            if child.returncode != 0:
                err.seek(0)
                sys.stderr.write(err.read().decode(errors="replace")[-3000:])
                sys.stderr.write(f"measure.py: {command[0]} failed ({child.returncode})\n")
                return 1
    print(f"{statistics.median(walls):.3f} {peak_kib * 1.024 / 1000:.0f} {not_quiet} "
          f"{statistics.median(cpus):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
