#!/usr/bin/python3
"""shoal benchmarks: `make bench` runs every benchmark below.

Each benchmark is a module in bench/ that measures shoal beside the
reference peers of ../shared/peers/peers.py in one run and prints ratios.
A module provides:

    NAME            the name used with --only
    TESTS           names of its measurements (--only NAME.TEST runs one)
    add_args(p)     its own command line options (argparse parser)
    run(args, tests, root) -> exit status (0, or 1 if something broke)

Usage (from the repository root):

    /usr/bin/python3 bench/run.py                      # everything, full size
    /usr/bin/python3 bench/run.py --only ftp --size-mib 64
    /usr/bin/python3 bench/run.py --only ftp.logins
    /usr/bin/python3 bench/run.py --peers-only --size-mib 16   # no shoal

Benchmarks report; they never assert timings.  The exit status is non-zero
only when something broke (a server did not start, a transfer failed or
the content did not match).
"""
import argparse
import importlib
import os
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.normpath(os.path.join(ROOT, "..", "shared", "peers")))

# name -> module in bench/, in the order `make bench` runs them
BENCHMARKS = {"ftp": "ftp_bench", "repl": "repl_bench", "http": "http_bench",
              "tracker": "tracker_bench", "replicas": "replicas_bench",
              "s3": "s3_bench", "dav": "dav_bench"}


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _select(only, modules):
    """Return [(module, tests)] for --only NAME, NAME.TEST or a bare TEST."""
    if not only:
        return [(m, list(m.TESTS)) for m in modules.values()]
    name, _, test = only.partition(".")
    if name in modules:
        m = modules[name]
        if not test:
            return [(m, list(m.TESTS))]
        if test in m.TESTS:
            return [(m, [test])]
        sys.exit("bench: %s has no measurement %r (it has: %s)"
                 % (name, test, ", ".join(m.TESTS)))
    owners = [m for m in modules.values() if only in m.TESTS]
    if len(owners) == 1:
        return [(owners[0], [only])]
    known = sorted(list(modules) + ["%s.%s" % (n, t) for n, m in modules.items()
                                    for t in m.TESTS])
    sys.exit("bench: unknown benchmark %r (known: %s)" % (only, ", ".join(known)))


def main():
    p = argparse.ArgumentParser(
        description="shoal benchmarks beside the reference peers")
    p.add_argument("--only", metavar="NAME",
                   help="run one benchmark (e.g. ftp) or one measurement "
                        "(e.g. ftp.upload)")
    p.add_argument("--size-mib", type=int, default=1024, metavar="N",
                   help="size of the big transfers in MiB (default 1024)")
    p.add_argument("--reps", type=int, default=3, metavar="N",
                   help="repetitions of each measurement; the median is "
                        "reported (default 3)")
    p.add_argument("--peers-only", action="store_true",
                   help="measure the reference peers only, without shoal")
    p.add_argument("--shoal-bin", metavar="PATH",
                   default=os.path.join(ROOT, "build", "shoal"),
                   help="the shoal binary (default build/shoal)")
    modules = {n: importlib.import_module(m) for n, m in BENCHMARKS.items()}
    for m in modules.values():
        m.add_args(p)
    args = p.parse_args()
    if args.size_mib < 1 or args.reps < 1:
        p.error("--size-mib and --reps must be at least 1")
    selected = _select(args.only, modules)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    status = 0
    try:
        for m, tests in selected:
            status = max(status, m.run(args, tests, ROOT))
    except KeyboardInterrupt:
        print("\nbench: interrupted; servers stopped and temporary data removed",
              file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
