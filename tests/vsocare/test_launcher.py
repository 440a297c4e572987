"""`make run` end to end: embedded servers, migrate, demo data, web + worker + beat, Ctrl-C."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_of(var_dir: Path) -> list[psutil.Process]:
    """Every process started for this run: it carries VSOCARE_VAR_DIR or names the folder."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if process.pid == os.getpid():
                continue
            in_cmdline = any(str(var_dir) in part for part in process.info["cmdline"] or [])
            if in_cmdline or process.environ().get("VSOCARE_VAR_DIR") == str(var_dir):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def wait_for(url: str, timeout: float) -> bytes:
    """The body of the first 200 from url; a 503 from /health/ is an OSError here too."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture
def var_dir():
    path = Path(f"/tmp/vsocare-run-{os.getpid()}-{time.monotonic_ns()}")
    path.mkdir()
    yield path
    for process in processes_of(path):
        process.kill()
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_make_run_serves_the_app_with_a_working_worker_and_ctrl_c_stops_everything(var_dir):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(VSOCARE_VAR_DIR=str(var_dir), VSOCARE_PORT=str(port), WEB_CONCURRENCY="1")
    env.update(CELERY_CONCURRENCY="1")
    log = (var_dir / "run.log").open("w")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "vsocare.launcher"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        health = json.loads(wait_for(f"http://127.0.0.1:{port}/health/", timeout=180))
        assert {part: health[part] for part in ("database", "broker", "worker", "beat")} == {
            "database": True, "broker": True, "worker": True, "beat": True,
        }  # fmt: skip
        assert b"Sign in to VSO Care" in wait_for(f"http://127.0.0.1:{port}/sign-in/", 10)

        # A task enqueued from another process is answered by make run's own worker, on the
        # default queue and on the reports' (a run id that names no run: nothing to compute).
        answer = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from vsocare.tasks import ping; "
                "from referrals.tasks import prepare_report; "
                "print(ping.delay().get(timeout=60), prepare_report.delay(0).get(timeout=60))",
            ],
            cwd=BASE_DIR,
            env={**env, "DJANGO_SETTINGS_MODULE": "vsocare.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert answer.stdout.split() == ["pong", "None"], answer.stderr

        os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C at the terminal does
        launcher.wait(90)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
        log.close()

    output = (var_dir / "run.log").read_text()
    assert "Demo sign-ins" in output
    assert f"http://127.0.0.1:{port}/" in output
    time.sleep(1)
    leftovers = [p.info["cmdline"] for p in processes_of(var_dir)]
    assert leftovers == [], output[-3000:]
