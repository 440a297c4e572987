"""Playwright drives Debian's chromium; no browser is ever downloaded.

Where /usr/bin/chromium is missing (make test installs it when it runs as root with apt-get),
every browser test is skipped with the reason printed in the summary, never silently.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Chromium writes its profile and caches here rather than in the user's home.
_home = tempfile.mkdtemp(prefix="vsocare-chromium-")


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists() or shutil.which("chromium"):
        return
    skip = pytest.mark.skip(
        reason="Debian chromium is not installed (/usr/bin/chromium); "
        "run `make test` as root, or `apt-get install -y chromium`, to run the browser tests"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
        "env": {**os.environ, "HOME": _home, "XDG_CONFIG_HOME": _home, "XDG_CACHE_HOME": _home},
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(autouse=True)
def unhashed_static_files(settings):
    # The live server serves /static/ straight from the source folders, which hold no hashed
    # copies; with the manifest storage every stylesheet and script would be a 404 and axe
    # would judge unstyled pages. collectstatic with the manifest is still run once per session.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
