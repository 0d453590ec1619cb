"""A TCP socket on loopback that counts the connections it accepts and closes them at once.

A module pointed at it shows whether it refused its input before any request: zero connections.
Only the standard library is used.
"""

from __future__ import annotations

import socket
import threading


class ConnectionCounter:
    """Listens on 127.0.0.1 (a free port) until ``close()``; ``accepted`` counts the connections."""

    def __init__(self, scheme: str = "http"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
