"""The bounded fault-injection set `make test` runs: fixed seeds (each one
a schedule that once found a defect, or a plain mix) and one random seed,
printed in the test's name so a failure can be replayed with
`make chaos SEED=N` (the summary prints the whole replay line, with the
fault kinds when they are not the default).  `make chaos MINUTES=60` runs
new seeds for longer."""

import os
import random

import pytest

import chaos

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

# 397018259: a node killed between a fetched file's rename and its row
# came back with the file as a change of its own, which beat the author's
# later rename: the file reappeared (store.c adopt_fetches).
FIXED = [1, 397018259]

# Seeds of the newer fault kinds (Faults.MORE), drawn with the kinds
# given: the seeds above keep the schedules they had before those kinds
# existed.  26, with a tracker: oneway, slow, skew (twice), kill and full.
# Without rot, whose choice of file draws a varying number of values, so
# the schedule is the same every run.
NEWER = [(26, ("kill", "pause", "partition", "full", "skew", "slow",
               "oneway"), True)]


@pytest.mark.parametrize("seed", FIXED)
def test_no_acknowledged_write_is_lost(seed):
    r = chaos.run(seed, nodes=3, seconds=40)
    print(chaos.summary(r))
    assert not r["violations"], chaos.summary(r)


@pytest.mark.parametrize("seed,kinds,tracker", NEWER,
                         ids=[str(s) for s, _, _ in NEWER])
def test_no_acknowledged_write_is_lost_newer_faults(seed, kinds, tracker):
    r = chaos.run(seed, nodes=3, seconds=40, kinds=kinds, tracker=tracker)
    print(chaos.summary(r))
    assert not r["violations"], chaos.summary(r)


# Every kind, old and new.
@pytest.mark.parametrize("seed", [random.randrange(1 << 30)])
def test_no_acknowledged_write_is_lost_random_seed(seed):
    r = chaos.run(seed, nodes=3, seconds=40, kinds=chaos.Faults.ALL)
    print(chaos.summary(r))
    assert not r["violations"], chaos.summary(r)
