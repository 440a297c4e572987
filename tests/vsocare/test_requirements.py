"""The requirements files: fully pinned and hashed, complete, and enough on their own to run.

`make run` installs requirements.txt alone. A module that only the development requirements bring
in (kombu 5.7's Redis transport imports `packaging` without declaring it) would crash the worker
on a newcomer's first command while every test here still passed, because the test environment
has the development packages too. The last test below imports the app with nothing on its path
but the packages requirements.txt pins.
"""

import ast
import importlib.metadata as metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BASE_DIR = Path(settings.BASE_DIR)
# The project's own packages: the layers of the import-linter contract.
PROJECT_PACKAGES = tuple(
    tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["tool"]["importlinter"][
        "root_packages"
    ]
)
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)(?:\s*;\s*([^\\]+))?")


def pins(filename: str, *, here_only: bool = False) -> dict[str, str]:
    """{canonical name: version} for every package a compiled requirements file pins; with
    `here_only`, only those whose environment marker holds on this machine."""
    text = (BASE_DIR / filename).read_text()
    found = {}
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{match.group(1)} has no hash in {filename}"
            marker = match.group(3)
            if here_only and marker and not Marker(marker.strip()).evaluate():
                continue
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def requested(filename: str) -> list[Requirement]:
    lines = (BASE_DIR / filename).read_text().splitlines()
    return [
        Requirement(line.split("#")[0].strip())
        for line in lines
        if line.split("#")[0].strip() and not line.startswith("-")
    ]


def test_every_line_of_both_files_is_an_exact_pin_with_hashes():
    for filename in ("requirements.txt", "requirements-dev.txt"):
        text = (BASE_DIR / filename).read_text()
        for line in text.splitlines():
            if line and not line.startswith((" ", "#")):
                assert PIN.match(line), f"{filename}: {line!r} is not pinned with =="
        assert pins(filename)


def test_every_package_asked_for_is_pinned_and_dev_pins_the_runtime_versions():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")

    for requirement in requested("requirements.in"):
        name = canonicalize_name(requirement.name)
        assert name in runtime, f"{name} is in requirements.in but not requirements.txt"
        assert requirement.specifier.contains(runtime[name], prereleases=True)
    for requirement in requested("requirements-dev.in"):
        assert canonicalize_name(requirement.name) in dev
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_runtime_pins_include_every_dependency_of_every_pinned_package():
    runtime = pins("requirements.txt", here_only=True)
    extras = {canonicalize_name(r.name): r.extras for r in requested("requirements.in")}
    missing = []
    for name in runtime:
        for raw in metadata.requires(name) or []:
            dependency = Requirement(raw)
            wanted = dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra})
                for extra in {"", *extras.get(name, ())}
            )
            if wanted and canonicalize_name(dependency.name) not in pins("requirements.txt"):
                missing.append(f"{name} needs {dependency}")
    assert missing == []


def third_party_imports() -> set[str]:
    stdlib = set(sys.stdlib_module_names)
    found = set()
    for package in PROJECT_PACKAGES:
        for path in (BASE_DIR / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found - stdlib - set(PROJECT_PACKAGES)


def test_every_module_the_app_imports_comes_from_a_runtime_package():
    runtime = pins("requirements.txt")
    providers = metadata.packages_distributions()

    outside = {
        module: providers.get(module)
        for module in third_party_imports()
        if not any(canonicalize_name(d) in runtime for d in providers.get(module, []))
    }

    assert outside == {}


@pytest.fixture(scope="module")
def runtime_only_path(tmp_path_factory) -> Path:
    """A folder holding links to the installed files of the runtime packages, and nothing else."""
    folder = tmp_path_factory.mktemp("runtime-only")
    for name in pins("requirements.txt", here_only=True):
        distribution = metadata.distribution(name)
        for file in distribution.files or []:
            top = file.parts[0]
            if top in ("..", "__pycache__") or top.endswith(".pth"):
                continue
            link = folder / top
            if not link.exists():
                link.symlink_to(Path(distribution.locate_file(top)))
    return folder


def test_the_app_the_worker_and_beat_import_with_only_the_runtime_packages(runtime_only_path):
    script = f"""
import importlib, pkgutil, sys
import django
django.setup()
from vsocare.celery import app
app.loader.import_default_modules()
for module in ("kombu.transport.redis", "celery.bin.worker", "celery.bin.beat",
               "celery.concurrency.prefork", "gunicorn.app.wsgiapp", "vsocare.wsgi",
               "vsocare.beat", "vsocare.launcher", "vsocare.embedded", "honcho.command"):
    importlib.import_module(module)
for package in {PROJECT_PACKAGES!r}:
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(info.name)
import django.urls
django.urls.get_resolver().url_patterns
print("imported", len(sys.modules), "modules")
"""
    env = {
        **os.environ,
        "PYTHONPATH": f"{runtime_only_path}{os.pathsep}{BASE_DIR}",
        "DJANGO_SETTINGS_MODULE": "vsocare.settings",
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
    }

    # -S leaves site-packages (with the development packages) off the path.
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported" in result.stdout
