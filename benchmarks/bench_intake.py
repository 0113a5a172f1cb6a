"""Response intake over HTTP on loopback: how many survey responses per second the public
form path (``POST /i/TOKEN``, the "Submit" button) stores, on SQLite and PostgreSQL.

Run: ``python benchmarks/bench_intake.py [--db sqlite|postgresql|both] [--duration 10]
[--connections 32] [--workers 1] [--rate-limit-per-ip 0] [--rate-limit-per-token 0]
[--json out.json]``.

What it does, per database:

1. a fresh database (a SQLite file with WAL in a temporary folder, or a new schema in the
   PostgreSQL at ``ALLEGIANCE_TEST_POSTGRES_URL``, default
   ``postgresql+psycopg://postgres@127.0.0.1:5432/test``, dropped afterwards), migrated, with
   a published one-screen survey (an NPS score and a comment) and enough invitation tokens;
2. ``allegiance serve`` (``python -m allegiance serve --workers N``) as its own process on a
   free loopback port, rate limits as given (0 = off, the default here: one client address
   sends everything);
3. the load generator, an asyncio httpx client in its own process: ``--connections`` virtual
   respondents, each on one keep-alive connection, each first opening one form (for its CSRF
   cookie) and then submitting one token after another for ``--duration`` seconds (requests
   in flight at the end are finished, none is cancelled). A response is *acknowledged* when
   the ``303`` to ``/thanks`` arrives;
4. reports the sustained acknowledged responses per second, p50/p99 latency of the submit
   requests, CPU seconds used by the server (all its processes) and by the client (from
   ``/proc``), the server's peak resident memory (``VmHWM``, summed over its processes) and
   checks that the responses stored in the database are exactly the acknowledged ones.

``--smoke`` runs a tiny load (2 connections, 1 s) on SQLite: the test suite runs it so this
script cannot rot. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-intake-secret-" + "x" * 40
SLUG = "intake"

#: A survey of one screen: the NPS question and an optional comment.
SURVEY: dict[str, Any] = {
    "code": SLUG,
    "format": 1,
    "title": {"en": "Intake benchmark", "zh": "答卷接收基准"},
    "pages": [
        {
            "id": "p1",
            "questions": [
                {
                    "id": "nps",
                    "type": "nps",
                    "text": {"en": "Would you recommend us?", "zh": "您会推荐我们吗？"},
                },
                {
                    "id": "comment",
                    "type": "text",
                    "required": False,
                    "text": {"en": "Why?", "zh": "为什么？"},
                },
            ],
        }
    ],
}

_HIDDEN = re.compile(r'name="(csrf|screen)" value="([^"]*)"')
_CSRF_COOKIE = re.compile(r"al_csrf=([^;]+)")


# ----------------------------------------------------------------------------- databases


@contextlib.contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database of ``kind`` (sqlite: a file in ``folder``; postgresql: a
    new schema, dropped at the end)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from allegiance.store import db

    if kind == "sqlite":
        yield db.sqlite_url(folder / "intake.db")
        return
    base = os.environ.get("ALLEGIANCE_TEST_POSTGRES_URL", PG_DEFAULT_URL)
    admin = db.make_engine(base)
    schema = f"allegiance_bench_{secrets.token_hex(4)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(db.normalize_url(base)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def prepare(url: str, n_tokens: int) -> list[str]:
    """Migrate, publish the survey, make ``n_tokens`` invitations; returns their tokens."""
    from allegiance.store import db
    from allegiance.store import surveys as store

    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        with db.session_factory(engine)() as session:
            store.create_survey_from_definition(session, SURVEY, slug=SLUG)
            store.publish_survey(session, SLUG, wave="W1")
            tokens: list[str] = []
            while len(tokens) < n_tokens:
                batch = min(5000, n_tokens - len(tokens))
                made = store.create_invitations(session, SLUG, batch, language="en")
                tokens.extend(str(inv.token) for inv in made)
        return tokens
    finally:
        engine.dispose()


def stored_tokens(url: str) -> tuple[set[str], set[str]]:
    """(tokens with a stored response, tokens whose invitation is marked submitted)."""
    from sqlalchemy import select

    from allegiance.store import db
    from allegiance.store.models import Invitation, Response

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            answered = set(
                conn.execute(
                    select(Invitation.token).join(Response, Response.invitation_id == Invitation.id)
                ).scalars()
            )
            marked = set(
                conn.execute(
                    select(Invitation.token).where(Invitation.submitted_at.is_not(None))
                ).scalars()
            )
        return answered, marked
    finally:
        engine.dispose()


# -------------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """``allegiance serve`` running in its own process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            if sig == signal.SIGKILL:  # the whole tree at once, as a crash would
                for pid in self.pids():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            else:
                self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


def start_server(
    url: str,
    folder: Path,
    *,
    port: int | None = None,
    workers: int = 1,
    per_ip: int = 0,
    per_token: int = 0,
    timeout: float = 120.0,
) -> Server:
    """Start ``allegiance serve`` on ``url`` and wait until ``/healthz`` answers."""
    import httpx

    port = port or free_port()
    env = {
        **os.environ,
        "ALLEGIANCE_SECRET_KEY": SECRET,
        "ALLEGIANCE_RATE_LIMIT_PER_IP": str(per_ip),
        "ALLEGIANCE_RATE_LIMIT_PER_TOKEN": str(per_token),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("ALLEGIANCE_DATABASE_URL", None)
    log = folder / f"server-{port}-{time.monotonic_ns()}.log"
    command = [sys.executable, "-m", "allegiance", "serve", "--url", url, "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process=process, port=port, log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped at start:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.base_url + "/healthz", timeout=2).status_code == 200:
                return server
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"the server did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------------------- /proc


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from ``/proc/PID/task/*/children``)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (their own, not their waited-for children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / tick


def peak_rss_mb(pids: list[int]) -> float:
    """The sum of the processes' peak resident set (``VmHWM``), in MB."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total / 1024


# -------------------------------------------------------------------------------- client


@dataclass
class LoadResult:
    """What the load generator saw."""

    acknowledged: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    client_cpu_s: float = 0.0

    def error(self, exc: BaseException) -> None:
        """Count a request that got no answer (by the kind of failure)."""
        self.errors += 1
        kind = type(exc).__name__
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def form_data(html: str, *, score: int) -> dict[str, str]:
    """The submit of the benchmark survey's only screen (CSRF and screen from the page)."""
    hidden = dict(_HIDDEN.findall(html))
    return {
        "csrf": hidden["csrf"],
        "screen": hidden["screen"],
        "action": "submit",
        "lang": "en",
        "q.nps": str(score),
        "q.comment": "Fast and friendly 又快又好",
    }


async def drive(
    base_url: str,
    tokens: list[str],
    *,
    connections: int,
    duration: float,
    should_stop: Callable[[], bool] = lambda: False,
    timeout: float = 30.0,
    result: LoadResult | None = None,
) -> LoadResult:
    """``connections`` respondents submitting ``tokens`` until ``duration`` has passed, the
    tokens run out or ``should_stop()``; a connection error ends that respondent. What they
    see is gathered in ``result`` (a new one by default) as it happens."""
    import httpx

    result = result if result is not None else LoadResult()
    queue = list(reversed(tokens))
    ready = 0
    go = asyncio.Event()
    clock = {"deadline": 0.0}

    async def respondent(number: int) -> None:
        nonlocal ready
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
            try:  # before the clock starts: open one form for the CSRF cookie and token
                page = await client.get(f"/i/{queue[-1]}", timeout=max(timeout, 120.0))
            except httpx.HTTPError as exc:
                result.error(exc)
                return
            finally:
                ready += 1
                if ready == connections:
                    clock["deadline"] = time.perf_counter() + duration
                    go.set()
            data = form_data(page.text, score=number % 11)
            # the cookie is Secure (HTTPS behind a proxy in production): sent by hand here
            nonce = _CSRF_COOKIE.search(page.headers.get("set-cookie", ""))
            headers = {"cookie": f"al_csrf={nonce.group(1)}"} if nonce else {}
            await go.wait()
            while queue and time.perf_counter() < clock["deadline"] and not should_stop():
                token = queue.pop()
                began = time.perf_counter()
                try:
                    got = await client.post(f"/i/{token}", data=data, headers=headers)
                except httpx.HTTPError as exc:
                    result.error(exc)
                    return
                took = (time.perf_counter() - began) * 1000
                if got.status_code == 303 and got.headers.get("location", "").endswith("/thanks"):
                    result.acknowledged.append(token)
                    result.latencies_ms.append(took)
                else:
                    key = str(got.status_code)
                    result.refused[key] = result.refused.get(key, 0) + 1

    tasks = [asyncio.ensure_future(respondent(i)) for i in range(connections)]
    await go.wait()
    start = time.perf_counter()
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - start
    return result


def client_main(args: argparse.Namespace) -> None:
    """The load generator's own process: tokens from a file, results to a JSON file."""
    tokens = Path(args.tokens).read_text().split()
    began = time.process_time()
    result = asyncio.run(
        drive(args.base_url, tokens, connections=args.connections, duration=args.duration)
    )
    result.client_cpu_s = time.process_time() - began
    Path(args.out).write_text(json.dumps(asdict(result)))


# -------------------------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


def run_one(kind: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    n_tokens = max(200, int(args.expected_rate * args.duration * 1.5))
    with fresh_database(kind, folder) as url:
        tokens = prepare(url, n_tokens)
        token_file = folder / f"tokens-{kind}.txt"
        token_file.write_text("\n".join(tokens))
        server = start_server(
            url,
            folder,
            workers=args.workers,
            per_ip=args.rate_limit_per_ip,
            per_token=args.rate_limit_per_token,
        )
        out = folder / f"client-{kind}.json"
        try:
            pids = server.pids()
            cpu_before = cpu_seconds(pids)
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "client",
                    "--base-url",
                    server.base_url,
                    "--tokens",
                    str(token_file),
                    "--connections",
                    str(args.connections),
                    "--duration",
                    str(args.duration),
                    "--out",
                    str(out),
                ],
                check=True,
            )
            pids = server.pids()
            server_cpu = cpu_seconds(pids) - cpu_before
            rss = peak_rss_mb(pids)
        finally:
            server.stop()
        load = LoadResult(**json.loads(out.read_text()))
        answered, marked = stored_tokens(url)
    acknowledged = set(load.acknowledged)
    n = len(load.acknowledged)
    return {
        "database": kind,
        "load_generator": "asyncio httpx client, own process",
        "connections": args.connections,
        "duration_s": args.duration,
        "server_workers": args.workers,
        "rate_limit_per_ip": args.rate_limit_per_ip,
        "rate_limit_per_token": args.rate_limit_per_token,
        "acknowledged": n,
        "responses_per_s": n / load.elapsed_s if load.elapsed_s else 0.0,
        "p50_ms": percentile(load.latencies_ms, 0.50),
        "p99_ms": percentile(load.latencies_ms, 0.99),
        "refused": load.refused,
        "errors": load.errors,
        "error_kinds": load.error_kinds,
        "server_cpu_s": server_cpu,
        "client_cpu_s": load.client_cpu_s,
        "elapsed_s": load.elapsed_s,
        "server_peak_rss_mb": rss,
        "stored": len(answered),
        "stored_equals_acknowledged": answered == acknowledged and marked == acknowledged,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    client = sub.add_parser("client")
    client.add_argument("--base-url", required=True)
    client.add_argument("--tokens", required=True)
    client.add_argument("--connections", type=int, required=True)
    client.add_argument("--duration", type=float, required=True)
    client.add_argument("--out", required=True)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rate-limit-per-ip", type=int, default=0)
    parser.add_argument("--rate-limit-per-token", type=int, default=0)
    parser.add_argument("--expected-rate", type=float, default=1500.0, help="tokens to make per s")
    parser.add_argument("--smoke", action="store_true", help="a tiny load on SQLite (tests)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.command == "client":
        client_main(args)
        return 0
    if args.smoke:
        args.db, args.duration, args.connections, args.expected_rate = "sqlite", 1.0, 2, 100.0
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        for kind in kinds:
            results.append(run_one(kind, args, Path(tmp)))
    for r in results:
        print(
            f"{r['database']:<10} {r['connections']} connections x {r['duration_s']:g} s, "
            f"{r['server_workers']} worker(s), rate limits ip={r['rate_limit_per_ip']} "
            f"token={r['rate_limit_per_token']} (0 = off): "
            f"{r['responses_per_s']:.0f} responses/s ({r['acknowledged']} acknowledged), "
            f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
            f"CPU server {r['server_cpu_s']:.1f} s / client {r['client_cpu_s']:.1f} s "
            f"in {r['elapsed_s']:.1f} s, server peak RSS {r['server_peak_rss_mb']:.0f} MB, "
            f"refused {r['refused'] or '-'}, errors {r['error_kinds'] or 0}, "
            f"stored == acknowledged: {r['stored_equals_acknowledged']}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    ok = all(r["stored_equals_acknowledged"] and r["acknowledged"] > 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
