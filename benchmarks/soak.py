"""Soak: the fault-injecting checker (tests/faultcheck.py) on N seeds of M minutes each, one after another.

    python benchmarks/soak.py --seeds 20 --minutes 5 [--first-seed 1] [--workers 2] [--faults all]

Prints each seed's full table as it finishes, then one Markdown table for RESULTS.md: seed, faults injected, streams,
messages published, events received, resets, violations. Exits non-zero if any seed found a violation."""
import argparse, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'tests'))
import faultcheck

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--seeds', type=int, default=20)
    ap.add_argument('--minutes', type=float, default=5)
    ap.add_argument('--first-seed', type=int, default=1)
    ap.add_argument('--workers', type=int, default=2, choices=(2, 3))
    ap.add_argument('--readers', type=int, default=60)
    ap.add_argument('--faults', default='all')
    a = ap.parse_args(argv)
    kinds, rows, t0 = faultcheck.parse_kinds(a.faults), [], time.monotonic()
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        rep = faultcheck.run(seed, a.minutes * 60, a.workers, a.readers, kinds, log=lambda m: None)
        print(rep.table(), flush=True)
        checks = sorted({v.check for v in rep.violations})
        rows.append(f"| {seed} | {rep.fault_summary()} | {rep.readers} | {sum(rep.published.values())} ({rep.published['ok']} ok) | "
                    f"{rep.events} | {rep.resets} | {len(rep.violations)}{(' (' + ', '.join(checks) + ')') if checks else ''} |")
    print(f'\n{a.seeds} seeds x {a.minutes:g} min, {a.workers} workers, {a.readers} readers, faults {a.faults}; {time.monotonic() - t0:.0f} s in all\n')
    print('| seed | faults injected | streams | messages published | events received | resets | violations |')
    print('|---:|---|---:|---:|---:|---:|---|')
    print('\n'.join(rows))
    return 0 if all(r.endswith('| 0 |') for r in rows) else 1

if __name__ == '__main__': sys.exit(main())
