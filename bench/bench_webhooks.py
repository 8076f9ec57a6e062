"""Outgoing webhook delivery throughput to a local receiver.

A receiver process (http.server, answers 200 at once) stands in for a site. N deliveries are
queued for one trusted site (Standard Webhooks signing, the per-site limit raised to the worker
count), then sent through `webhooks.worker.deliver` — the function the django-q2 task runs —
by W worker processes (as a django-q2 cluster with W workers), each with its own database
connection and a share of the ids. Figures: deliveries/s over the wall time, CPU ms per delivery
in the workers, and the ratio to a bare `requests` loop posting the same bodies to the same
receiver with the same W processes (the HTTP cost alone), measured in the same run.

Knobs: BENCH_DELIVERIES (default 2000), BENCH_WORKERS (default "1,2"). Uses DATABASE_URL's
database (PostgreSQL for representative numbers) and deletes its rows afterwards.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from django.conf import settings
from django.db import connections
from django.utils import timezone


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one segment per answer: no 40 ms delayed-ACK stall per request

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def _serve(port_queue):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _deliver_worker(ids, out):
    connections.close_all()
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    from webhooks import worker

    started = time.process_time()
    outcomes = worker.deliver(ids)
    out.put((outcomes, time.process_time() - started))


def _raw_worker(url, n, body, out):
    session = requests.Session()
    started = time.process_time()
    for _ in range(n):
        session.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=5)
    out.put(({"done": n}, time.process_time() - started))


def _run(workers, target, args_for):
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=target, args=(*args_for(i), out)) for i in range(workers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    for result, _cpu in results:
        for key, value in result.items():
            outcomes[key] = outcomes.get(key, 0) + value
    return wall, sum(cpu for _, cpu in results), outcomes


def run() -> None:
    from webhooks import secrets
    from webhooks.models import Delivery, TrustedSite

    n = int(os.environ.get("BENCH_DELIVERIES", "2000"))
    worker_counts = [int(w) for w in os.environ.get("BENCH_WORKERS", "1,2").split(",")]
    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get()}/hook"
    body = '{"type": "point_add", "data": {"customer": "Bench-1", "points": 10}}'
    site, _ = TrustedSite.objects.update_or_create(
        name="bench-receiver",
        defaults={
            "url": url,
            "auth_method": "standard_webhooks",
            "max_concurrency": max(worker_counts) + 1,
            "secret_encrypted": secrets.encrypt(secrets.new_signing_secret()),
        },
    )
    print(f"{n} deliveries per measurement, database {connections['default'].vendor}")
    try:
        for workers in worker_counts:
            Delivery.objects.filter(site=site).delete()
            now = timezone.now()
            rows = Delivery.objects.bulk_create(
                Delivery(
                    site=site,
                    source="workflow",
                    msg_id=f"msg_bench_{workers}_{i}",
                    body=body,
                    next_attempt_at=now,
                    created_at=now,
                )
                for i in range(n)
            )
            ids = [r.pk for r in rows]
            connections.close_all()
            wall, cpu, outcomes = _run(workers, _deliver_worker, lambda i, ids=ids, w=workers: (ids[i::w],))
            done = outcomes.get("done", 0)
            raw_wall, raw_cpu, _ = _run(workers, _raw_worker, lambda i, w=workers: (url, n // w, body))
            rate, raw_rate = done / wall, n / raw_wall
            print(
                f"workers={workers}: {rate:7.0f} deliveries/s ({done}/{n} done, {outcomes}), "
                f"{cpu / max(done, 1) * 1000:.2f} ms CPU/delivery | bare HTTP loop {raw_rate:7.0f} posts/s, "
                f"{raw_cpu / n * 1000:.2f} ms CPU/post | delivery/bare = {rate / raw_rate:.2f}"
            )
    finally:
        Delivery.objects.filter(site=site).delete()
        site.delete()
        server.terminate()
