"""A page-load stand-in for the loop-hold measurement, run by load.py in a process of its own:
`python ping.py PORT RATE SECONDS`. It makes `GET /ping` at RATE per second on one keep-alive connection for SECONDS and
prints one JSON line: how many, and their latency percentiles in ms. Latency counts from the moment a ping was due, so a
ping that had to wait behind a slow one is charged for the wait (no coordinated omission)."""
import json, socket, sys, time
from common import pct

def connect(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, s.makefile('rb')

def ping(s, f):
    s.sendall(b'GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    status, size = f.readline(), 0
    while (line := f.readline()) not in (b'\r\n', b''):
        if line.lower().startswith(b'content-length:'): size = int(line.split(b':')[1])
    f.read(size)
    if b' 200 ' not in status: raise RuntimeError(f'GET /ping answered {status!r}')

def main(port, rate, seconds):
    s, f = connect(port)
    ping(s, f)  # the route warm, not counted
    lat, t0, i = [], time.monotonic(), 0
    while (due := t0 + i / rate) - t0 < seconds:
        if (delay := due - time.monotonic()) > 0: time.sleep(delay)
        try: ping(s, f)
        except (OSError, RuntimeError):  # the server closed the keep-alive connection: once more on a new one
            s.close(); s, f = connect(port); ping(s, f)
        lat.append(time.monotonic() - due)
        i += 1
    s.close()
    print(json.dumps({'pings': len(lat), 'ping_p50_ms': pct(lat, 50) * 1e3, 'ping_p99_ms': pct(lat, 99) * 1e3,
                      'ping_max_ms': max(lat) * 1e3}), flush=True)

if __name__ == '__main__': main(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]))
