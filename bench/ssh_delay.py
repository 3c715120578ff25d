"""An ssh ProxyCommand that adds a fixed delay each way: a network with a round-trip time, for benchmarks.

    ProxyCommand python3 bench/ssh_delay.py %h %p MILLISECONDS

It connects to HOST:PORT and relays stdin to the socket and the socket to stdout, each chunk leaving
MILLISECONDS after it arrived (a delay line: order and throughput are kept, only latency grows), so every
exchange of the ssh connection, and of the sessions multiplexed over it, waits 2 x MILLISECONDS more.
"""

from __future__ import annotations

import os
import queue
import socket
import sys
import threading
import time

CHUNK = 65536


def delay_line(read, write, delay: float) -> None:
    """Copy read() to write() with each chunk held for `delay` seconds; an empty chunk ends it."""
    pending: queue.Queue = queue.Queue()

    def receive() -> None:
        while True:
            data = read()
            pending.put((time.monotonic() + delay, data))
            if not data:
                return

    threading.Thread(target=receive, daemon=True).start()
    while True:
        due, data = pending.get()
        time.sleep(max(0.0, due - time.monotonic()))
        write(data)
        if not data:
            return


def main(host: str, port: str, milliseconds: str) -> None:
    delay = float(milliseconds) / 1000
    connection = socket.create_connection((host, int(port)))

    def to_socket(data: bytes) -> None:
        if data:
            connection.sendall(data)
        else:
            connection.shutdown(socket.SHUT_WR)

    def to_stdout(data: bytes) -> None:
        while data:
            data = data[os.write(1, data):]

    outgoing = threading.Thread(target=delay_line, daemon=True,
                                args=(lambda: os.read(0, CHUNK), to_socket, delay))
    outgoing.start()
    delay_line(lambda: connection.recv(CHUNK), to_stdout, delay)


if __name__ == "__main__":
    main(*sys.argv[1:4])
