"""`make run`: embedded servers if needed, migrate, demo data, then web + worker + beat.

The embedded PostgreSQL and Redis run in a holder process in its own session, so Ctrl-C at the
terminal reaches the web, worker and beat processes first; only when they have stopped does this
launcher stop the holder, and with it the servers. Nothing is left running.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from vsocare import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent


def _start_holder(env: dict) -> tuple[subprocess.Popen, dict]:
    holder = subprocess.Popen(
        [sys.executable, "-m", "vsocare.embedded", str(os.getpid())],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert holder.stdout is not None  # stdout=PIPE
    line = holder.stdout.readline()
    if not line:
        holder.wait()
        raise SystemExit("The embedded PostgreSQL or Redis did not start; see the messages above.")
    return holder, json.loads(line)


def _stop(process: subprocess.Popen | None, sig: int, timeout: float) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _banner(port: str) -> str:
    return (
        f"\nVSO Care is starting at http://127.0.0.1:{port}/ (sign in with a demo account above).\n"
        "Press Ctrl-C to stop the web server, worker, scheduler and embedded servers.\n"
    )


def main() -> int:
    env = os.environ.copy()
    env["VSOCARE_VAR_DIR"] = str(embedded.var_dir())
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("VSOCARE_PORT", "8000")
    env.setdefault("PYTHONUNBUFFERED", "1")

    def terminate(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)

    holder = honcho = None
    try:
        if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
            holder, urls = _start_holder(env)
            env.update(urls)
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        for command in (
            ["migrate", "--noinput", "--verbosity", "0"],
            ["collectstatic", "--noinput", "--verbosity", "0"],
            ["seed_demo"],  # prints the demo sign-ins
        ):
            subprocess.run([*manage, *command], cwd=BASE_DIR, env=env, check=True)
        print(_banner(env["VSOCARE_PORT"]), flush=True)
        honcho = subprocess.Popen(
            [str(BIN_DIR / "honcho"), "start", "--procfile", str(BASE_DIR / "Procfile")],
            cwd=BASE_DIR,
            env=env,
        )
        return honcho.wait()
    except KeyboardInterrupt:
        # The terminal sent SIGINT to honcho as well; let it stop its own processes first.
        if honcho is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                honcho.wait(30)
        return 0
    except subprocess.CalledProcessError as error:
        print(f"Start-up step failed: {' '.join(error.cmd[2:])}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop(honcho, signal.SIGTERM, 30)
        _stop(holder, signal.SIGTERM, 30)


if __name__ == "__main__":
    sys.exit(main())
