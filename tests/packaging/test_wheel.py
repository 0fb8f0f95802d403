"""The built wheel, installed the way an operator installs it (not editable), in a fresh virtualenv, runs
`govflow init`, `govflow demo`, `govflow audit verify`, `govflow schedule` and `govflow serve` from a folder
that holds nothing of the repository: the migrations, the policy and the templates ship inside the package, and
nothing but ``govflow`` lands in site-packages."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from govflow.models.migrate import head as migrate_head

pytestmark = pytest.mark.slow
UNIT_COMMAND = re.compile(r"^Exec\w*=[-@:+!]*/opt/govflow/venv/bin/(\S+)", re.MULTILINE)
ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "tests", "bench", "__pycache__", "*.db", "*.egg-info"
)


def run(args: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the tracked tree (so a stray build/ in the checkout proves nothing)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=SKIP)
    run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", base / "dist", source],
        base,
        dict(os.environ),
    )
    (found,) = (base / "dist").glob("govflow-*.whl")
    return found


def test_the_wheel_holds_one_namespace_with_its_migrations(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"govflow"}, sorted(tops)
    for needed in (
        "govflow/states/phases.py",
        "govflow/states/default-policy.yaml",
        "govflow/models/tables.py",
        "govflow/flows/governance.py",
        "govflow/notifications/templates.py",
        "govflow/migrations/env.py",
        "govflow/migrations/script.py.mako",
        "govflow/data/demo-portfolio.yaml",
    ):
        assert needed in names, needed
    versions = [n for n in names if n.startswith("govflow/migrations/versions/") and n.endswith(".py")]
    shipped = sorted(Path(n).name for n in versions)
    assert shipped == sorted(p.name for p in (ROOT / "alembic" / "versions").glob("*.py"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_installed_wheel_runs_init_demo_verify_schedule_and_serve(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path, dict(os.environ))
    pip = venv / "bin" / "pip"
    run([pip, "install", "-q", "--disable-pip-version-check", wheel], tmp_path, dict(os.environ), timeout=900)
    work = tmp_path / "office"  # an operator's folder: nothing of the repository in it
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GOVFLOW_", "PREFECT_", "VIRTUAL_ENV", "PYTHON"))
    }
    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "PREFECT_HOME": str(work / ".prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COLUMNS": "250",  # rich wraps tables to the terminal width
    }
    govflow = venv / "bin" / "govflow"
    python = venv / "bin" / "python"
    # the systemd units (deploy/systemd, checked by test_systemd.py) run these from /opt/govflow/venv/bin
    units = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
    named = {m.group(1) for u in units for m in UNIT_COMMAND.finditer(u.read_text(encoding="utf-8"))}
    assert named == {"govflow", "prefect"} and all((venv / "bin" / n).is_file() for n in named), named

    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, env).strip()
    generic = {"states", "models", "flows", "notifications", "alembic_migrations"} & set(os.listdir(site))
    assert not generic, generic
    located = run([python, "-c", "import govflow.models.migrate as m; print(m.ALEMBIC_DIR)"], work, env)
    assert located.strip().startswith(site), located

    assert migrate_head() in run([govflow, "init"], work, env)
    demo = run([govflow, "demo"], work, env, timeout=900)
    assert "审计链完整" in demo
    assert "审计链完整" in run([govflow, "audit", "verify"], work, env)
    key = work / "anchor.key"
    key.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    anchored = env | {"GOVFLOW_ANCHOR_FILE": str(work / "anchors.jsonl"), "GOVFLOW_ANCHOR_KEY_FILE": str(key)}
    assert "已写入锚点" in run([govflow, "audit", "anchor"], work, anchored)
    assert "与 1 个锚点相符" in run([govflow, "audit", "verify"], work, anchored)
    assert "govflow-all" in run([govflow, "--lang", "en", "schedule"], work, env)

    port = _free_port()
    server = subprocess.Popen(
        [govflow, "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/web/login", timeout=5) as resp:
                    body = resp.read().decode("utf-8")
                break
            except OSError:
                time.sleep(0.3)
        assert "govflow" in body and "登录" in body, body[:500]
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err, err
