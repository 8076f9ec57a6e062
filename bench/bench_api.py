"""API over HTTP: gunicorn on PostgreSQL, a load generator on the same machine (concurrency 16).

Scenarios, each BENCH_API_SECONDS long (default 10) after a short warm-up:
  trivial  GET /api/status            a plain Django view (no auth, no database): the baseline
  ping     GET /api/ping              signed, authenticated DRF view (key lookup, rate limit)
  read     GET /api/customers/{id}    signed, the Customer API object
  events   POST /api/events           signed point_add to a random customer

Prints requests/s, p50/p95/p99 latency, the ratio to the trivial view, and the server's CPU time
per request (gunicorn workers plus the PostgreSQL backends of the benchmark database, from /proc;
also split as app + db) with the throughput two idle cores could give at that cost ("2-core
cap"): on a machine shared with other work, that column tells a slow server from a busy machine. Targets (2 cores):
events >= 300/s with p95 <= 100 ms; reads >= 500/s with p95 <= 50 ms.

The database is its own (BENCH_API_DATABASE_URL, default .../loyalty_api_bench): created,
migrated and seeded with 1,000 customers through the engine on first use. The benchmark key's
rate limit is raised. Requests are signed before the clock starts (signatures stay valid 300 s),
so the load generator only sends bytes: `wrk` (apt install wrk) with a Lua script when it is
installed, otherwise 2 Python processes x 8 threads, one keep-alive connection each.
Rate-limit counters and caches live in Redis (REDIS_URL, default redis://127.0.0.1:6379/5), as in
production with several workers. After seeding, the database is `VACUUM ANALYZE`d (autovacuum may
be off, and a plan made without statistics once cost 2 ms per customer lookup).

Knobs (environment): BENCH_API_SECONDS (per scenario), BENCH_API_SCENARIOS (comma-separated
subset of trivial,ping,read,events; trivial always runs as the baseline), gunicorn's
BENCH_API_WORKER_CLASS (gthread with BENCH_API_THREADS, or sync) and BENCH_API_WORKERS (default
gthread 3 x 4), BENCH_API_CLIENT=python (the Python load generator instead of wrk),
BENCH_API_DATABASE_URL, BENCH_API_REDIS_URL, BENCH_API_LOG (gunicorn's stderr).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATABASE_URL = os.environ.get(
    "BENCH_API_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loyalty_api_bench"
)
REDIS_URL = os.environ.get("BENCH_API_REDIS_URL", "redis://127.0.0.1:6379/5")
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "10"))
CUSTOMERS = 1000
CONCURRENCY = 16
PROCESSES = 2
# gunicorn gthread, 3 workers x 4 threads on 2 cores: an event request waits on PostgreSQL for
# about half its time, so threads keep the cores busy (events 312-338/s against 220-240/s with
# 3 sync workers). Sync workers give tighter read tails (p99 ~30 ms against 50-300 ms) at fewer
# requests per second; BENCH_API_WORKER_CLASS=sync measures them.
WORKER_CLASS = os.environ.get("BENCH_API_WORKER_CLASS", "gthread")
WORKERS = int(os.environ.get("BENCH_API_WORKERS", "3"))
THREADS = int(os.environ.get("BENCH_API_THREADS", "4"))  # gthread only
HOST = "127.0.0.1"
LOG_PATH = Path(os.environ.get("BENCH_API_LOG", "/tmp/bench_api_gunicorn.log"))
SCENARIOS = ("trivial", "ping", "read", "events")


def selected_scenarios() -> list[str]:
    wanted = {s.strip() for s in os.environ.get("BENCH_API_SCENARIOS", "").split(",") if s.strip()}
    unknown = wanted - set(SCENARIOS)
    if unknown:
        raise SystemExit(
            f"BENCH_API_SCENARIOS: unknown {', '.join(sorted(unknown))}; use {', '.join(SCENARIOS)}"
        )
    return [s for s in SCENARIOS if not wanted or s in wanted or s == "trivial"]


def _server_env(port: int) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + secrets.token_hex(16),
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "600",
            "DJANGO_SETTINGS_MODULE": "loyalty.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.pop("LOYALTY_TESTING", None)
    return env


PREPARE = r"""
import json, django
django.setup()
from customers.models import Customer
from events.engine import register_event
from loyalty.api.keys import create_api_key, client_config
have = set(Customer.objects.filter(environment="live", customer_id__startswith="bench-").values_list("customer_id", flat=True))
for i in range(%(customers)d):
    cid = f"bench-{i:05d}"
    if cid not in have:
        register_event(environment="live", customer=cid, action="opt_in", data={"email": f"{cid}@example.com", "first_name": "Bench"})
        register_event(environment="live", customer=cid, action="point_add", data={"points": 100})
from loyalty.api.models import ApiKey
ApiKey.objects.filter(name="benchmark").delete()
api_key, secret = create_api_key(name="benchmark", environment="live", rate_limit=10_000_000)
print(json.dumps(client_config(api_key, secret)))
"""


def _ensure_database() -> None:
    import psycopg

    base, name = DATABASE_URL.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _vacuum_analyze() -> None:
    """Fresh statistics and visibility maps: autovacuum may be off on the benchmark machine, and
    the planner's guesses without statistics cost milliseconds per lookup."""
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def prepare(env: dict) -> dict:
    _ensure_database()
    subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [PYTHON, "-c", PREPARE % {"customers": CUSTOMERS}],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    _vacuum_analyze()
    return json.loads(out.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(env: dict, port: int) -> subprocess.Popen:
    gunicorn = str(Path(PYTHON).with_name("gunicorn"))
    process = subprocess.Popen(
        [
            gunicorn,
            "loyalty.wsgi:application",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            WORKER_CLASS,
            *(["--threads", str(THREADS)] if WORKER_CLASS == "gthread" else []),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(LOG_PATH, "w"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/api/status")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start; see " + str(LOG_PATH) + "")


# Load generation -------------------------------------------------------------------------------


def build_requests(scenario: str, config: dict | None, port: int, count: int, seed: int) -> list[tuple]:
    """(method, path, body, headers) tuples, signed up front."""
    from loyalty.api.auth import sign

    rng = random.Random(seed)
    host = f"{HOST}:{port}"
    built = []
    for _ in range(count):
        body = ""
        if scenario == "trivial":
            method, path = "GET", "/api/status"
        elif scenario == "ping":
            method, path = "GET", "/api/ping"
        elif scenario == "read":
            method, path = "GET", f"/api/customers/bench-{rng.randrange(CUSTOMERS):05d}"
        else:
            method, path = "POST", "/api/events"
            body = json.dumps(
                {
                    "customer": f"bench-{rng.randrange(CUSTOMERS):05d}",
                    "action": "point_add",
                    "data": {"points": 1},
                }
            )
        headers = {"Host": host}
        if body:
            headers["Content-Type"] = "application/json"
        if config is not None and scenario != "trivial":
            signed = sign(method, path, key=config["key"], secret=config["secret"], host=host, body=body)
            headers.update(
                {name: value for name, value in signed if name.lower() in ("authorization", "date")}
            )
        built.append((method, path, body.encode(), headers))
    return built


def _client_process(scenario, config, port, threads, start_at, stop_at, seed, queue):
    requests = build_requests(scenario, config, port, 4000, seed)
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def worker(offset):
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        mine, bad = [], 0
        i = offset
        while time.time() < start_at:
            time.sleep(0.001)
        while True:
            method, path, body, headers = requests[i % len(requests)]
            i += threads
            started = time.perf_counter()
            if time.time() >= stop_at:
                break
            try:
                conn.request(method, path, body=body or None, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                ok = False
            mine.append(time.perf_counter() - started)
            if not ok:
                bad += 1
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    queue.put((latencies, failures[0]))


def load(scenario: str, config: dict, port: int, seconds: float) -> dict:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 3.0  # time to sign the requests before the clock starts
    stop_at = start_at + seconds
    procs = [
        context.Process(
            target=_client_process,
            args=(scenario, config, port, CONCURRENCY // PROCESSES, start_at, stop_at, n, queue),
        )
        for n in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    latencies, failures = [], 0
    for _ in procs:
        part, bad = queue.get()
        latencies.extend(part)
        failures += bad
    for proc in procs:
        proc.join()
    latencies.sort()

    def pct(p):
        return (
            latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else float("nan")
        )

    return {
        "scenario": scenario,
        "requests": len(latencies),
        "failures": failures,
        "rps": len(latencies) / seconds,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


WRK_SCRIPT = r"""
local reqs = {}
local idx = 0
init = function(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    local m, p, a, d, b = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local h = {}
    if a ~= "" then h["Authorization"] = a; h["Date"] = d end
    if b ~= "" then h["Content-Type"] = "application/json" else b = nil end
    table.insert(reqs, wrk.format(m, p, h, b))
  end
  f:close()
  idx = math.random(#reqs)
end
request = function()
  idx = idx % #reqs + 1
  return reqs[idx]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %f %f %f\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def load_wrk(scenario: str, config: dict, port: int, seconds: float) -> dict:
    """wrk (C, epoll) with a Lua script cycling through pre-signed requests: a light client, so
    most of the two cores serve requests."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        script, data = Path(tmp) / "bench.lua", Path(tmp) / "requests.tsv"
        script.write_text(WRK_SCRIPT)
        lines = []
        for method, path, body, headers in build_requests(scenario, config, port, 4000, 1):
            lines.append(
                "\t".join(
                    [method, path, headers.get("Authorization", ""), headers.get("Date", ""), body.decode()]
                )
            )
        data.write_text("\n".join(lines) + "\n")
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{CONCURRENCY}",
                f"-d{int(seconds)}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://{HOST}:{port}",
                "--",
                str(data),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(item for item in out.splitlines() if item.startswith("RESULT "))
    requests, failures, duration_us, p50, p95, p99 = (float(x) for x in line.split()[1:])
    return {
        "scenario": scenario,
        "requests": int(requests),
        "failures": int(failures),
        "rps": requests / (duration_us / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
    }


def use_wrk() -> bool:
    import shutil

    return os.environ.get("BENCH_API_CLIENT", "wrk") == "wrk" and shutil.which("wrk") is not None


def _process_cpu_seconds(pids) -> dict[int, float]:
    """{pid: utime + stime} from /proc, so a busy machine can be told from a slow server."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings, by the processes alive at both (a backend that
    exits in between takes its time with it: the figure is then a little low, never negative)."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def _server_pids(master: int) -> tuple[list[int], list[int]]:
    """(gunicorn's master and workers, the PostgreSQL backends serving the benchmark database)."""
    import psycopg

    pids = [master]
    backends: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    base, name = DATABASE_URL.rsplit("/", 1)
    try:
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]).fetchall()
        backends.extend(row[0] for row in rows)
    except psycopg.Error:
        pass
    return pids, backends


TARGETS = {"events": (300, 100), "read": (500, 50)}


def run() -> None:
    port = _free_port()
    env = _server_env(port)
    config = prepare(env)
    server = start_server(env, port)
    results = {}
    run_load = load_wrk if use_wrk() else load
    try:
        for scenario in selected_scenarios():
            run_load(scenario, config, port, 1.0)  # warm-up: connections, caches
            app, db = _server_pids(server.pid)
            before = _process_cpu_seconds(app), _process_cpu_seconds(db)
            results[scenario] = run_load(scenario, config, port, SECONDS)
            requests = max(results[scenario]["requests"], 1)
            results[scenario]["app_ms"] = _cpu_used(before[0], _process_cpu_seconds(app)) * 1000 / requests
            results[scenario]["db_ms"] = _cpu_used(before[1], _process_cpu_seconds(db)) * 1000 / requests
            results[scenario]["cpu_ms"] = results[scenario]["app_ms"] + results[scenario]["db_ms"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    baseline = results["trivial"]["rps"]
    client = (
        f"wrk 2 threads x {CONCURRENCY} connections"
        if run_load is load_wrk
        else f"python {PROCESSES} processes x {CONCURRENCY // PROCESSES} keep-alive connections"
    )
    print(
        f"gunicorn {WORKER_CLASS} {WORKERS} workers"
        + (f" x {THREADS} threads" if WORKER_CLASS == "gthread" else "")
        + ", PostgreSQL, Redis cache; "
        f"load generator: {client}; {SECONDS:.0f} s each; load average at the end: {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'scenario':<10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs trivial':>12}"
        f"{'CPU ms/req':>12}{'(app':>6}{'+ db)':>7}{'2-core cap':>12}  target"
    )
    for name, r in results.items():
        target = TARGETS.get(name)
        verdict = ""
        if target:
            met = r["rps"] >= target[0] and r["p95"] <= target[1] and not r["failures"]
            verdict = f">={target[0]}/s p95<={target[1]}ms: {'met' if met else 'MISSED'}"
        print(
            f"{name:<10}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}{r['failures']:>8}"
            f"{r['rps'] / baseline:>11.2f}x{r['cpu_ms']:>12.2f}{r['app_ms']:>6.2f}{r['db_ms']:>7.2f}{2000 / max(r['cpu_ms'], 0.001):>10.0f}/s  {verdict}"
        )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
    import django

    django.setup()
    run()
