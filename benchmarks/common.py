"Helpers shared by the benchmark processes: standard library only, because they run in the main env and in the anchors' venv."
import json, os, re, statistics, time

SIDES = ('ours', 'original', 'sse-starlette', 'ideal')
TEXT = 'x' * 64  # the filler every payload carries, so that all sides move the same number of bytes
TOKEN = re.compile(rb'"bseq": ?(\d+), ?"bts": ?([0-9.eE+-]+)')  # finds the payload in any side's wire format

def payload(seq):
    "The data of message `seq`: its number, the server's clock when it was made, and filler."
    return {'bseq': seq, 'bts': time.time(), 'text': TEXT}

def median(xs): return statistics.median(xs) if xs else float('nan')

def pct(xs, p):
    "The `p`th percentile (0-100) of `xs`, nearest rank; nan when empty."
    if not xs: return float('nan')
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]

CLK_TCK = os.sysconf('SC_CLK_TCK')

def cpu_seconds(pid):
    "User + system CPU seconds used so far by process `pid`, all its threads."
    with open(f'/proc/{pid}/stat') as f: fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK

def rss_bytes(pid):
    "Resident set size of process `pid`."
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'): return int(line.split()[1]) * 1024
    return 0

def send_json(stream, obj):
    stream.write(json.dumps(obj) + '\n')
    stream.flush()
