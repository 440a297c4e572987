"""The README's first command, as a newcomer runs it: `make run` on a fresh clone.

Run with the machine's python3 before anything else has built `.venv`, so the virtual environment
holds the runtime requirements only. It waits for /health/ to report the database, broker, worker
and beat up, sends a task through the broker for the worker to answer, checks the sign-in page,
presses Ctrl-C (SIGINT to the process group, as a terminal does) and checks that nothing is left
running or listening. Any failure prints the end of make run's output, where an import error of a
missing runtime package shows up. Standard library only: nothing else is installed yet.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
LOG = VAR_DIR / "make-run.log"
START_TIMEOUT = 600  # seconds: a first install downloads every package
HEALTHY = {"database", "broker", "worker", "beat"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    if LOG.exists():
        output = LOG.read_text(errors="replace")
        # The exception that stopped a process, often far above the end of a long traceback.
        errors = [line for line in output.splitlines() if re.search(r"\w(Error|Exception)\b", line)]
        print("--- errors in make run's output ---", *errors[-20:], sep="\n", file=sys.stderr)
        print("--- the end of make run's output ---", output[-6000:], sep="\n", file=sys.stderr)
    sys.exit(1)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_healthy(run: subprocess.Popen, port: int) -> dict:
    deadline = time.monotonic() + START_TIMEOUT
    body: dict = {}
    while time.monotonic() < deadline:
        if run.poll() is not None:
            fail(f"make run exited with status {run.returncode} before it was healthy")
        try:
            status, raw = get(f"http://127.0.0.1:{port}/health/")
            body = json.loads(raw)
            if status == 200 and all(body.get(part) is True for part in HEALTHY):
                return body
        except (OSError, ValueError):
            pass
        time.sleep(1)
    fail(f"/health/ was not 200 with every part up within {START_TIMEOUT} s; last: {body}")
    return body


def ours(pid: int) -> bool:
    """A process of this run: it names var/ on its command line or carries VSOCARE_VAR_DIR."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if str(VAR_DIR).encode() in cmdline:
            return True
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        return f"VSOCARE_VAR_DIR={VAR_DIR}".encode() in environ
    except OSError:
        return False


def leftovers() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and ours(int(entry.name)):
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    if (BASE_DIR / ".venv").exists():
        fail(".venv exists already: this check needs a fresh clone")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["VSOCARE_PORT"] = str(port)
    VAR_DIR.mkdir(exist_ok=True)
    print(f"make run on a fresh clone (port {port}); its output goes to {LOG}", flush=True)
    with LOG.open("w") as log:
        run = subprocess.Popen(
            ["make", "run"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
        try:
            started = time.monotonic()
            body = wait_until_healthy(run, port)
            print(f"healthy after {time.monotonic() - started:.0f} s: {body['detail']}")

            status, page = get(f"http://127.0.0.1:{port}/sign-in/")
            if status != 200 or b"Sign in to VSO Care" not in page:
                fail(f"the sign-in page answered {status}")

            ping = subprocess.run(
                [".venv/bin/python", "manage.py", "ping_worker", "--timeout", "60"],
                cwd=BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            print(ping.stdout.strip(), ping.stderr.strip())
            if ping.returncode != 0:
                fail("the ping task made no round trip through the broker and the worker")

            time.sleep(5)  # it stays up
            if run.poll() is not None or get(f"http://127.0.0.1:{port}/health/")[0] != 200:
                fail("make run did not stay up and healthy")

            os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C at the terminal does
            run.wait(120)
        except subprocess.TimeoutExpired:
            fail("make run did not stop within 120 s of Ctrl-C")
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)

    time.sleep(2)
    left = leftovers()
    if left or listening(port):
        fail(f"left behind after Ctrl-C: {left or f'something listening on {port}'}")
    runtime_only = (BASE_DIR / ".venv" / ".runtime").exists() and not (
        BASE_DIR / ".venv" / ".dev"
    ).exists()
    if not runtime_only:
        fail(".venv was not built from the runtime requirements alone")
    print("make run: served, healthy, answered a task, stopped cleanly on Ctrl-C")


if __name__ == "__main__":
    main()
