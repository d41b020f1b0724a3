"""The fault-injecting checker (tests/faultcheck.py) on one short fixed seed: a real cluster of two uvicorn workers and a
redis-server, 60 resuming readers, every kind of publish, and every kind of fault at least once.

It fails with the checker's table (which names the seed that reproduces it) when the invariant is violated anywhere."""
import pytest
from helpers import require_program
import faultcheck

SEED, DURATION = 18, 50.0 # 50 s of publishing and faults; with set-up and the final checks, about 70-90 s

pytestmark = pytest.mark.timeout(400)

def test_schedule_covers_every_fault_kind():
    kinds = [f.kind for f in faultcheck.schedule(SEED, DURATION)]
    assert set(kinds) == set(faultcheck.FAULT_KINDS), kinds
    assert faultcheck.schedule(SEED, DURATION) == faultcheck.schedule(SEED, DURATION), 'the schedule must depend on the seed only'

def test_invariant_holds_under_faults():
    require_program('redis-server', 'apt-get install redis-server')
    report = faultcheck.run(SEED, DURATION, workers=2, readers=60, log=lambda m: None)
    assert report.faults and {f.kind for f in report.faults} == set(faultcheck.FAULT_KINDS), report.table()
    assert report.published['ok'] > 100 and report.events > 1000, report.table()
    assert report.ok, '\n' + report.table()
