"""The embedded servers start, answer, and stop when their owner goes."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from vsocare import embedded

BASE_DIR = Path(embedded.BASE_DIR)


def processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(path) in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture
def var_dir(tmp_path_factory):
    # Short path: Unix socket paths are limited to about 100 characters.
    path = Path(f"/tmp/vsocare-test-{os.getpid()}-{time.monotonic_ns()}")
    path.mkdir()
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_postgres_starts_for_a_command_and_stops_when_it_exits(var_dir):
    script = (
        "import psycopg; from vsocare import embedded; "
        "url = embedded.postgres_url(); "
        "print(psycopg.connect(url).execute('select current_database()').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={**os.environ, "VSOCARE_VAR_DIR": str(var_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.strip() == "vsocare", result.stderr
    assert (var_dir / "pg" / "PG_VERSION").exists()
    assert processes_using(var_dir / "pg") == []


def test_a_dead_holders_pid_does_not_keep_postgres_running(var_dir):
    pgdata = var_dir / "pg"
    pgdata.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (pgdata / ".handle_pids.json").write_text(json.dumps([dead.pid]))

    embedded._prune_dead_handles(pgdata)

    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []


def test_redis_is_started_once_and_stopped_only_by_its_owner(var_dir):
    owner = embedded.ensure_redis(var_dir)
    try:
        assert owner is not None
        assert embedded.redis_answers(embedded.redis_socket(var_dir))
        # Someone else asking finds it running and so does not own it.
        assert embedded.ensure_redis(var_dir) is None
    finally:
        owner.stop()

    assert not embedded.redis_answers(embedded.redis_socket(var_dir))


def test_the_holder_serves_both_and_stops_both_on_sigterm(var_dir):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    holder = subprocess.Popen(
        [sys.executable, "-m", "vsocare.embedded", str(os.getpid())],
        cwd=BASE_DIR,
        env={**env, "VSOCARE_VAR_DIR": str(var_dir)},
        stdout=subprocess.PIPE,
        text=True,
    )
    urls = json.loads(holder.stdout.readline())
    with psycopg.connect(urls["DATABASE_URL"]) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    assert embedded.redis_answers(Path(urls["REDIS_URL"].removeprefix("redis+socket://")))

    holder.terminate()
    holder.wait(60)

    assert holder.returncode == 0
    assert processes_using(var_dir) == []
