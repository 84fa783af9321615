"""Run the atheris fuzz targets (tests/fuzz/targets/*.py) for a bounded time each.

    python -m icpurse.hil.fuzz                     every target, 60 s each
    python -m icpurse.hil.fuzz --seconds 10 --target journal_files
    python -m icpurse.hil.fuzz --runs 2000         a fixed number of inputs instead of a time

Each target runs in its own process (libFuzzer exits on the first crash) with a corpus kept in
build/fuzz/corpus/NAME (seeded from the target's SEEDS) and crash inputs written to
build/fuzz/crashes/. Exit status 1 if any target crashed: turn each crash input into a test in
tests/fuzz/test_regressions.py, fix, and run again.
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS_DIR = os.path.join(ROOT, "tests", "fuzz", "targets")
FIRMWARE_TESTS = os.path.join(ROOT, "tests", "firmware")  # helpers some targets reuse (crashfs, ...)
# Run in the targets' folder, so `import _common` and the other targets resolve from there.
_WRITE_SEEDS = """import os, sys
name, corpus = sys.argv[1:]
for i, seed in enumerate(getattr(__import__(name), "SEEDS", ())):
    with open(os.path.join(corpus, "seed-%03d" % i), "wb") as f:
        f.write(seed)
"""


def target_names():
    return sorted(f[:-3] for f in os.listdir(TARGETS_DIR) if f.endswith(".py") and not f.startswith("_"))


def _target_env():
    """The environment of a target process: tests/firmware on its import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([FIRMWARE_TESTS] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def _write_seeds(name, corpus):
    """Put the target's SEEDS into its corpus folder (imports the target module in a child process
    started in the targets' folder, like the fuzzing run; no atheris)."""
    os.makedirs(corpus, exist_ok=True)
    subprocess.run([sys.executable, "-c", _WRITE_SEEDS, name, corpus], cwd=TARGETS_DIR, env=_target_env(),
                   check=True, timeout=120)


def run_target(name, seconds=None, runs=None, work=None, quiet=False):
    """Fuzz one target; returns (ok, crash files, output tail)."""
    work = work or os.path.join(ROOT, "build", "fuzz")
    corpus = os.path.join(work, "corpus", name)
    crashes = os.path.join(work, "crashes")
    os.makedirs(crashes, exist_ok=True)
    _write_seeds(name, corpus)
    before = set(os.listdir(crashes))
    cmd = [sys.executable, os.path.join(TARGETS_DIR, name + ".py"), "-artifact_prefix=%s/%s-" % (crashes, name),
           "-print_final_stats=1", "-timeout=20"]  # one input running 20 s is a hang: a crash too
    if runs is not None:
        cmd.append("-atheris_runs=%d" % runs)
    if seconds is not None:
        cmd.append("-max_total_time=%d" % seconds)
    cmd.append(corpus)
    limit = (seconds or 600) * 2 + 60
    p = subprocess.run(cmd, cwd=TARGETS_DIR, env=_target_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=limit)
    out = p.stdout.decode("utf-8", "replace")
    new = sorted(os.path.join(crashes, f) for f in set(os.listdir(crashes)) - before)
    return p.returncode == 0 and not new, new, out


def _stats(out):
    """Inputs run, from libFuzzer's final stats or its "Done N runs in" / "Done N in" line."""
    for line in reversed(out.splitlines()):
        if line.startswith("stat::number_of_executed_units"):
            return line.split(":")[-1].strip()
        if line.startswith("Done "):
            return line.split()[1]
    return "?"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m icpurse.hil.fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=None, help="time per target (default 60 unless --runs)")
    ap.add_argument("--runs", type=int, default=None, help="inputs per target instead of a time limit")
    ap.add_argument("--target", action="append", choices=target_names(), help="only this target (repeatable)")
    ap.add_argument("--work", default=None, help="corpus and crash folder (default build/fuzz)")
    args = ap.parse_args(argv)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install 'icpurse[fuzz]' (or pip install atheris)", file=sys.stderr)
        return 2
    seconds = args.seconds if args.seconds is not None or args.runs is not None else 60
    failed = 0
    for name in args.target or target_names():
        t0 = time.monotonic()
        ok, crashes, out = run_target(name, seconds, args.runs, args.work)
        print("%-16s %-5s %8s inputs %6.1f s" % (name, "ok" if ok else "CRASH", _stats(out), time.monotonic() - t0))
        if not ok:
            failed += 1
            tail = [line for line in out.splitlines() if not line.startswith("#")][-25:]
            print("\n".join("    " + line for line in tail))
            for c in crashes:
                print("    crash input: %s" % c)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
