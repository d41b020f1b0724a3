"""The fault-injecting checker (tests/faultcheck.py) on one short fixed seed: a real cluster of two uvicorn workers and a
redis-server, 60 resuming readers, every kind of publish, and every kind of fault at least once.

It fails with the checker's table (which names the seed that reproduces it) when the invariant is violated anywhere."""
import pytest
from helpers import require_program
import faultcheck

SEED, DURATION = 18, 50.0 # 50 s of publishing and faults: about 60 s in all when it passes, 100 s when presence never converges

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
    if not report.ok: pytest.fail('the invariant was violated:\n' + report.table(), pytrace=False)

# The checker's rules on hand-made histories, so that a rule that can't fail, or flags a correct history, shows up here
# without a cluster.
from faultcheck import Checker, Pub, Reader, Rec

def judge(tmp_path, recs, pubs, redis_ids=None, channels=('room-a',), cid_idx=0, others=()):
    "The violations the checker finds in one reader's history `recs` ((t, kind, id, tag)), given `pubs` and the ids Redis gave."
    ck = Checker(0, 10, kinds=(), folder=tmp_path)
    ck.t_start = ck.wall0 = 0.0
    rd = Reader(cid_idx, 'u0', channels, 'direct', 0, None)
    rd.recs = [Rec(*r) for r in recs]
    ck.readers, ck.users, ck.workers = [rd, *others], ['u0'], []
    ck.pubs = {p.tag: p for p in pubs}
    for tag, i in (redis_ids or {}).items(): ck.redis_ids[tag].add(i)
    ck._check()
    return sorted((v.check, v.detail.split(' (')[0]) for v in ck.report.violations)

def pub(tag, t=1.0, **kw): return Pub(tag, kw.pop('kind', 'broadcast'), 0, t, t1=t + 0.1, outcome=kw.pop('outcome', 'ok'), **kw)

def test_a_clean_history_passes(tmp_path):
    recs = [(0, 'pos', 10, None), (1, 'msg', 11, 'a'), (2, 'msg', 12, 'b'), (3, 'msg', 14, 'c')]
    pubs = [pub('early', kind='broadcast'), pub('a'), pub('b'), pub('c'), pub('late'), pub('other-room', channel='room-b'),
            pub('excluded', exclude=('r0',)), pub('failed', outcome='unknown'), pub('declined', kind='send_to', target='r0', result=False)]
    ids = {'early': 9, 'a': 11, 'b': 12, 'c': 14, 'late': 15, 'other-room': 13, 'excluded': 13, 'failed': 13, 'declined': 13}
    assert judge(tmp_path, recs, pubs, ids) == []

def test_a_gap_is_missing_unless_a_reset_or_a_later_same_key_message_covers_it(tmp_path):
    recs = [(0, 'pos', 10, None), (1, 'msg', 11, 'a'), (3, 'msg', 14, 'c')]
    ids = {'a': 11, 'b': 12, 'c': 14}
    assert judge(tmp_path, recs, [pub('a'), pub('b'), pub('c')], ids) == [('missing', 'r0')]
    assert judge(tmp_path, recs[:2] + [(2, 'reset', 13, None)] + recs[2:], [pub('a'), pub('b'), pub('c')], ids) == []
    assert judge(tmp_path, recs, [pub('a'), pub('b', key='k'), pub('c', key='k')], ids) == []
    assert judge(tmp_path, recs, [pub('a'), pub('b', key='k', channel='room-a'), pub('c', key='k')], ids) == [('missing', 'r0')]
    assert judge(tmp_path, recs, [pub('a'), pub('b', kind='send_to', target='r0', result=True), pub('c')], ids) == [('missing', 'r0')]
    assert judge(tmp_path, recs, [pub('a'), pub('b', kind='send_to_user', user='u0'), pub('c')], ids) == [('missing', 'r0')]

def test_a_message_with_no_id_anywhere_is_owed_by_time(tmp_path):
    recs = [(0, 'pos', 10, None), (1, 'msg', 11, 'a'), (9, 'msg', 14, 'c')]
    assert judge(tmp_path, recs, [pub('a'), pub('lost', t=4.0), pub('c')], {'a': 11, 'c': 14}) == [('missing', 'r0')]
    assert judge(tmp_path, recs[:2] + [(5, 'reset', 13, None)] + recs[2:], [pub('a'), pub('lost', t=4.0), pub('c')], {'a': 11, 'c': 14}) == []
    assert judge(tmp_path, recs[:2] + [(3, 'reset', 13, None)] + recs[2:], [pub('a'), pub('lost', t=4.0), pub('c')], {'a': 11, 'c': 14}) \
        == [('missing', 'r0')], 'a reset before the publish covers nothing of it'
    late = [(0, 'pos', 10, None), (1, 'msg', 11, 'a'), (40, 'reset', 13, None), (41, 'msg', 14, 'c')]
    assert judge(tmp_path, late, [pub('a'), pub('lost', t=4.0), pub('c')], {'a': 11, 'c': 14}) == [('missing', 'r0')], 'a reset 36 s later is not about it'
    # a local id that another worker gave it is not its place in the cluster's order: it is judged by time
    other = Reader(1, 'u1', (), 'direct', 1, None)
    other.recs = [Rec(4.5, 'msg', 99, 'lost')]
    assert judge(tmp_path, recs, [pub('a'), pub('lost', t=4.0), pub('c')], {'a': 11, 'c': 14}, others=[other]) == [('missing', 'r0')]

def test_duplicates_leaks_and_ids_out_of_order_are_violations(tmp_path):
    ids = {'a': 11, 'b': 12}
    assert judge(tmp_path, [(0, 'pos', 10, None), (1, 'msg', 11, 'a'), (2, 'msg', 12, 'b'), (3, 'msg', 13, 'a')], [pub('a'), pub('b')], ids) \
        == [('duplicate', 'r0 got a 2 times')]
    got = judge(tmp_path, [(0, 'pos', 10, None), (1, 'msg', 12, 'b'), (2, 'msg', 11, 'a')], [pub('a'), pub('b')], ids)
    assert ('ids increase', 'r0 got id 11') in got
    got = judge(tmp_path, [(0, 'pos', 10, None), (1, 'msg', 11, 'a'), (2, 'msg', 12, 'b'), (3, 'msg', None, 'a')], [pub('a'), pub('b')], ids)
    assert {c for c, _ in got} == {'duplicate', 'event has an id'}
    got = judge(tmp_path, [(0, 'pos', 10, None), (1, 'msg', 11, 'a')], [pub('a', channel='room-b')], {'a': 11})
    assert [c for c, _ in got] == ['not meant for it']
    got = judge(tmp_path, [(0, 'pos', 10, None), (1, 'msg', 11, 'a')], [pub('a', exclude=('r0',))], {'a': 11})
    assert [c for c, _ in got] == ['not meant for it']

def presence_violations(tmp_path, lines_by_worker):
    "The presence-order violations found in hook files holding `lines_by_worker` ((time, kind, user) per worker)."
    from types import SimpleNamespace
    ck = Checker(0, 10, kinds=(), folder=tmp_path)
    ck.t_start = ck.wall0 = 0.0
    ck.workers = []
    for i, lines in enumerate(lines_by_worker):
        (tmp_path / f'p{i}').write_text(''.join(f'{t} 1 {k} {u}\n' for t, k, u in lines))
        ck.workers.append(SimpleNamespace(idx=i, presence=tmp_path / f'p{i}'))
    V = []
    ck._check_presence_order(V)
    return [v.detail.split(' at ')[0] for v in V]

def test_presence_hooks_must_alternate_per_user_across_workers(tmp_path):
    assert presence_violations(tmp_path, [[(1, 'online', 'u0'), (3, 'offline', 'u0')], [(5, 'online', 'u0'), (7, 'offline', 'u0')]]) == []
    assert presence_violations(tmp_path, [[(1, 'online', 'u0')], [(5, 'online', 'u0')]]) == ['user u0: online on w1']
    assert presence_violations(tmp_path, [[(1, 'online', 'u0'), (3.2, 'offline', 'u0')], [(3.0, 'online', 'u0')]]) == [], 'two workers, lines 0.2 s out of order'
    assert presence_violations(tmp_path, [[(1, 'offline', 'u1')]]) == ['user u1: offline on w0']
