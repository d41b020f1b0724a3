"A TCP proxy on 127.0.0.1 whose connections a test can cut: reset them all and refuse new ones for a while."
import contextlib, socket, struct, threading, time

_LINGER_RESET = struct.pack('ii', 1, 0)  # close() then sends RST instead of FIN

class CutProxy:
    "Forward 127.0.0.1:`port` to 127.0.0.1:`target`; `cut(seconds)` resets every connection and refuses new ones for `seconds`."
    def __init__(self, target:int):
        self.target, self.refusing_until, self.closed = target, 0.0, False
        self.live, self.lock = {}, threading.Lock()  # id -> [client socket, upstream socket, pipe threads running]
        self.accepted = self.refused = 0
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.url = f'http://127.0.0.1:{self.port}'
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.closed:
            try: conn, _ = self.listener.accept()
            except (socket.timeout, OSError): continue
            if time.monotonic() < self.refusing_until:
                self.refused += 1
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                conn.close()
                continue
            try:
                up = socket.create_connection(('127.0.0.1', self.target), timeout=5)
                up.settimeout(None)  # create_connection leaves its timeout on the socket: an idle stream would "time out"
            except OSError:
                conn.close()
                continue
            self.accepted += 1
            pair = [conn, up, 2]
            with self.lock: self.live[id(pair)] = pair
            for a, b in ((conn, up), (up, conn)): threading.Thread(target=self._pipe, args=(a, b, pair), daemon=True).start()

    def _pipe(self, src, dst, pair):
        "Copy src to dst until either side ends; the last of a pair's two threads closes both sockets."
        try:
            while True:
                data = src.recv(65536)
                if not data: break
                dst.sendall(data)
        except OSError: pass
        for s in (src, dst):
            with contextlib.suppress(OSError): s.shutdown(socket.SHUT_RD)
        with self.lock:
            pair[2] -= 1
            last = pair[2] == 0
            if last: self.live.pop(id(pair), None)
        if last:
            for s in pair[:2]:
                with contextlib.suppress(OSError): s.close()

    def cut(self, seconds:float):
        "Reset every open connection now, and refuse (reset) new ones for `seconds`."
        self.refusing_until = time.monotonic() + seconds
        with self.lock: live = list(self.live.values())
        for conn, up, _ in live:
            for s in (conn, up):
                with contextlib.suppress(OSError): s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                # SHUT_RD wakes the pipe threads without sending anything; their close() then sends the RST
                with contextlib.suppress(OSError): s.shutdown(socket.SHUT_RD)
        return len(live)

    def close(self):
        self.closed = True
        self.cut(0)
        self.thread.join(5)
        self.listener.close()

@contextlib.contextmanager
def cut_proxy(target:int):
    proxy = CutProxy(target)
    try: yield proxy
    finally: proxy.close()
