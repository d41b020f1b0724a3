"""Profile one side's server under load with py-spy: `python benchmarks/profile_http.py [SIDE] [--clients C] [--rate R]`.

Runs the same server and load client as run.py (C clients, R messages per second), attaches py-spy to the server
for a few seconds while it publishes, writes the collapsed stacks to `benchmarks/.profile-SIDE.txt` and prints where
the samples fell, by file and by line. py-spy is installed on demand into `benchmarks/.venv-tools`."""
import argparse, collections, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402

TOOLS = HERE / '.venv-tools'

def py_spy():
    exe = TOOLS / 'bin' / 'py-spy'
    if not exe.exists():
        subprocess.run([sys.executable, '-m', 'venv', str(TOOLS)], check=True, timeout=300)
        subprocess.run([str(TOOLS / 'bin' / 'python'), '-m', 'pip', 'install', '-q', 'py-spy==0.4.3'], check=True, timeout=600)
    return str(exe)

def summary(path, top=25):
    "Share of samples by file and by innermost line."
    by_file, by_line, total = collections.Counter(), collections.Counter(), 0
    for line in open(path):
        stack, _, n = line.rstrip().rpartition(' ')
        if not n.isdigit(): continue
        n, leaf = int(n), stack.split(';')[-1]
        total += n
        by_line[leaf] += n
        by_file[leaf.split(' (')[-1].split(':')[0] if ' (' in leaf else leaf] += n
    print(f'{total} samples\n-- by file')
    for f, n in by_file.most_common(top): print(f'{n / total * 100:5.1f}%  {f}')
    print('-- by line')
    for f, n in by_line.most_common(top): print(f'{n / total * 100:5.1f}%  {f}')

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('side', nargs='?', default='ours', choices=run.SIDES)
    ap.add_argument('--clients', type=int, default=1000)
    ap.add_argument('--rate', type=int, default=30)
    ap.add_argument('--seconds', type=int, default=6)
    args = ap.parse_args()
    spy = py_spy()
    run.raise_nofile()
    if args.side in ('original', 'sse-starlette'): run.ensure_venv()
    out = HERE / f'.profile-{args.side}.txt'
    messages = args.rate * (args.seconds + 4)
    with tempfile.TemporaryDirectory() as tmp, run.server(args.side, Path(tmp)) as (srv, port):
        client = run.load({'port': port, 'path': run.STREAM_PATH[args.side], 'clients': args.clients, 'rate': args.rate,
                           'messages': messages, 'server_pid': srv.pid, 'mode': 'deliver', 'timeout': 300})
        try:
            time.sleep(2 + args.clients / 1000)  # connected and publishing
            subprocess.run([spy, 'record', '--pid', str(srv.pid), '--duration', str(args.seconds), '--rate', '400',
                            '--format', 'raw', '--nonblocking', '-o', str(out)], check=True, timeout=args.seconds + 60,
                           capture_output=True)
            res = run.read_json(client, 300)
        finally: run.stop(client)
    print(f'{args.side}: {res["cpu_us_per_delivery"]:.1f} µs CPU per delivery, p99 {res["lat_p99_ms"]:.1f} ms; stacks in {out}')
    summary(out)

if __name__ == '__main__': main()
