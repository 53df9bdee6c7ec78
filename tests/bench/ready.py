"""Spawn-to-ready: starts a server command N times and reports the median
time from spawn until GET <url> answers 200.

Usage: ready.py <runs> <url> -- <command>...
"""
import http.client
import statistics
import subprocess
import sys
import time
import urllib.parse


def once(url, command):
    parts = urllib.parse.urlsplit(url)
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < 10:
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=1)
                conn.request("GET", parts.path)
                if conn.getresponse().status == 200:
                    return (time.perf_counter() - started) * 1000
            except OSError:
                time.sleep(0.0005)
            if server.poll() is not None:
                sys.exit(f"{command[0]} exited with {server.returncode} before it was ready")
        sys.exit(f"{command[0]} was not ready within 10 s")
    finally:
        server.terminate()
        server.wait()


def main():
    runs, url = int(sys.argv[1]), sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1 :]
    times = [once(url, command) for _ in range(runs)]
    print(f"{statistics.median(times):.1f} ms (median of {runs}; min {min(times):.1f}, max {max(times):.1f})")


if __name__ == "__main__":
    main()
