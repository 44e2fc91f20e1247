"""The wheel installs whole: templates, static files and migrations ship inside it, so an
app installed from it (not from the checkout) brings a new database up and serves pages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "bot", "templates", "db")

SERVE = """
import bot
from pathlib import Path
assert "site-packages" in bot.__file__, bot.__file__  # the wheel's, not the checkout's
app = bot.create_app()
client = app.test_client()
page = client.get("/signin")
style = client.get("/static/style.css")
patients = client.get("/patients")
print(page.status_code, "Sign in" in page.get_data(as_text=True), style.status_code,
      patients.status_code, patients.headers.get("Location"))
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="lists the checkout's files")
def test_the_wheel_installs_whole_outside_the_checkout(tmp_path):
    source = tmp_path / "source"  # a copy: the build writes nothing into the checkout
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    [wheel] = wheels.glob("*.whl")

    # A fresh venv outside the checkout; the wheel in it, the dependencies beside it (this
    # venv's, by a path entry: its editable link to the checkout is not read from there).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), wheel],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    shipped = site / "bot"
    migrations = [f"migrations/versions/{p.name}" for p in (ROOT / "db/versions").glob("*.py")]
    for inside in ["templates/signin.html", "static/style.css", "static/reply.js",
                   "migrations/env.py", "migrations/alembic.ini", *migrations]:  # fmt: skip
        assert (shipped / inside).is_file(), inside

    elsewhere = tmp_path / "elsewhere"  # not the checkout: nothing of it on the path
    elsewhere.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}",
        "SPOOL_DIR": str(tmp_path / "spool"),
        "PYTHONPATH": "",
    }
    upgrade = subprocess.run(
        [python, "-m", "flask", "--app", "bot", "db", "upgrade"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr[-3000:]
    assert upgrade.stderr.count("Running upgrade") == len(migrations)
    served = subprocess.run(
        [python, "-c", SERVE], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert served.returncode == 0, served.stderr[-3000:]
    assert served.stdout.split() == ["200", "True", "200", "302", "/signin?next=%2Fpatients"]
