"""Server load benchmark: `computeledger serve` on a ledger of N charges, R requests over C
concurrent clients on loopback, p50 and p95 latency per endpoint; against the same
questions asked of `computeledger.app` in this process, one at a time (the baseline).

Run by hand (not in CI):  python bench/serve.py [--rows 10M] [--requests 500] [--clients 20] [--dir D]

Data: the accounting benchmark's ledger (bench/accounting.py: one month of the lab's AWS
bill copied to 1M charges, ingested and allocated by the lab's rules, then replicated in
SQL to N charges with their allocation parts). The server runs in its own process, as a
user starts it; the first request waits for its snapshot, which is timed apart.
Three phases: one client, every question new (what the HTTP layer, the snapshot check
and a connection per request add); C clients, every question new (a cache-busting
parameter: each request runs on the engine, at most `serve --queries` at once, the rest
wait); C clients, the same questions repeated (the server keeps the answers it gave on
the snapshot's version). Ratio = server p50 / in-process median.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from accounting import grow  # noqa: E402
from economics import build  # noqa: E402
from scale import rows_of  # noqa: E402

#: (endpoint, the same question of the application layer)
ASKS = [
    ("/api/v1/summary?by=provider", lambda app, lg: app.summary(lg, "provider")),
    ("/api/v1/summary?by=provider,month", lambda app, lg: app.summary(lg, "provider,month")),
    ("/api/v1/summary?by=workload,model", lambda app, lg: app.summary(lg, "workload,model")),
    ("/api/v1/charges?limit=20", lambda app, lg: app.charges(lg, [], False, 20)),
    (
        "/api/v1/charges?where=provider=AWS&limit=20",
        lambda app, lg: app.charges(lg, ["provider=AWS"], False, 20),
    ),
    ("/api/v1/commitments", lambda app, lg: app.commitments(lg, False, None)),
    (
        "/api/v1/statement?period=month&basis=billed,effective",
        lambda app, lg: app.statement(lg, "month", "billed,effective"),
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="10M")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--fresh", type=int, default=140, help="requests in the every-question-new phase")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    n = rows_of(args.rows)
    work = Path(args.dir or tempfile.mkdtemp(prefix="cl-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    path = grow(build(work, min(n, 1_000_000), 100_000), work / f"serve-{n}.duckdb", n)

    import httpx

    from computeledger import app, open_ledger

    with open_ledger(path, read_only=True) as lg:
        charges = lg.charges.count().to_pyarrow().as_py()
        direct = {}
        for url, ask in ASKS:
            ask(app, lg)  # warm
            times = []
            for _ in range(5):
                t = time.perf_counter()
                ask(app, lg)
                times.append(time.perf_counter() - t)
            direct[url] = statistics.median(times)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-c", "from computeledger.cli import main; main()", "serve", "--ledger", str(path),
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=(work / "server.log").open("w"),
    )  # fmt: skip
    try:
        with httpx.Client(timeout=600) as client:
            for _ in range(600):
                try:
                    client.get(f"{base}/openapi.json")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            t = time.perf_counter()
            assert client.get(f"{base}/api/v1/status").status_code == 200
            first = time.perf_counter() - t

            def one(i: int, fresh: bool) -> tuple[str, float, int]:
                url = ASKS[i % len(ASKS)][0]
                t = time.perf_counter()
                r = client.get(
                    base + url + (f"&fresh={i}" if fresh and "?" in url else f"?fresh={i}" if fresh else "")
                )
                return url, time.perf_counter() - t, r.status_code

            phases = {}
            for name, count, fresh, clients in (
                ("one client, every question new", 3 * len(ASKS), True, 1),
                ("every question new", args.fresh, True, args.clients),
                ("the same questions repeated", args.requests, False, args.clients),
            ):
                t = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    got = list(pool.map(lambda i, f=fresh: one(i, f), range(count)))
                phases[name] = (got, time.perf_counter() - t, clients)
    finally:
        server.terminate()
        server.wait(30)
    print(
        f"ledger: {charges:,} charges ({path.stat().st_size / 1e9:.2f} GB); first request (snapshot): {first:.2f} s"
    )
    for name, (got, wall, clients) in phases.items():
        errors = sum(1 for _, _, code in got if code != 200)
        every = sorted(d for _, d, _ in got)
        print(f"\n{name}: {len(got)} requests over {clients} clients in {wall:.1f} s "
              f"({len(got) / wall:.1f}/s), {errors} not 200; p50 {_q(every, 0.5) * 1000:.0f} ms, "
              f"p95 {_q(every, 0.95) * 1000:.0f} ms")  # fmt: skip
        print("| endpoint | requests | p50 | p95 | in-process, alone | p50 / alone |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for url, _ in ASKS:
            mine = sorted(d for u, d, _ in got if u == url)
            p50 = _q(mine, 0.5)
            print(f"| `{url}` | {len(mine)} | {p50 * 1000:.0f} ms | {_q(mine, 0.95) * 1000:.0f} ms | "
                  f"{direct[url] * 1000:.0f} ms | {p50 / direct[url]:.1f}x |")  # fmt: skip


def _q(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


if __name__ == "__main__":
    main()
