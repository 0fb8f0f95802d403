"""The systemd units of ``deploy/systemd`` (the web server, the Prefect server and a Prefect worker) are accepted by
``systemd-analyze verify``, and every command they run is a console script of the installed package that accepts
the options the unit gives it.

The units run ``/opt/govflow/venv/bin/govflow`` and ``…/prefect``: the wheel installed into a virtualenv at
``/opt/govflow/venv`` (README, "Running in production"). ``systemd-analyze verify`` checks that each command
exists and is executable, so the test verifies copies of the units in which that prefix is replaced by the bin
folder of a virtualenv where govflow is installed — this test run's own here (its console scripts are the ones
a wheel install writes), and the fresh virtualenv the built wheel is installed into in ``test_wheel.py``. Nothing
else of the units is changed. ``systemd-analyze`` reports unknown keys and bad values as warnings with exit 0,
so any output fails the test too.

Without a working ``systemd-analyze`` (Debian package ``systemd``) the test is skipped, unless
``GOVFLOW_REQUIRE_SYSTEMD=1`` (CI, which installs it) makes that an error.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from govflow.settings import Settings, weak_secret

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "systemd"
#: where the units expect the virtualenv the wheel is installed into
PREFIX = "/opt/govflow/venv/bin/"
REQUIRE = os.environ.get("GOVFLOW_REQUIRE_SYSTEMD") == "1"
UNITS = ("govflow-web.service", "govflow-prefect-server.service", "govflow-worker.service")
COMMAND = re.compile(r"^(ExecStart|ExecStartPre)=[-@:+!]*(\S+)(.*)$", re.MULTILINE)


def analyzer() -> str:
    """``systemd-analyze`` if it runs here; a skip (or, under ``GOVFLOW_REQUIRE_SYSTEMD=1``, a failure) if not."""
    found = shutil.which("systemd-analyze")
    why = "systemd-analyze is not installed (apt-get install systemd)"
    if found:
        probe = subprocess.run([found, "--version"], capture_output=True, text=True, check=False, timeout=60)
        if probe.returncode == 0:
            return found
        why = f"systemd-analyze does not run here: {probe.stderr.strip() or probe.returncode}"
    if REQUIRE:
        pytest.fail(f"{why} and GOVFLOW_REQUIRE_SYSTEMD=1", pytrace=False)
    pytest.skip(f"{why}; GOVFLOW_REQUIRE_SYSTEMD=1 to fail")


def commands(unit: Path) -> list[tuple[str, list[str]]]:
    """(executable, arguments) of every ExecStart/ExecStartPre line of a unit."""
    return [(m.group(2), shlex.split(m.group(3))) for m in COMMAND.finditer(unit.read_text(encoding="utf-8"))]


def with_venv(bin_dir: Path, dest: Path) -> list[Path]:
    """Copies of the units in ``dest`` running the console scripts of ``bin_dir`` (nothing else changed)."""
    dest.mkdir(parents=True, exist_ok=True)
    copies = []
    for name in UNITS:
        copy = dest / name
        copy.write_text((DEPLOY / name).read_text(encoding="utf-8").replace(PREFIX, f"{bin_dir}/"), "utf-8")
        copies.append(copy)
    return copies


def accepted(units: list[Path]) -> None:
    """``systemd-analyze verify`` accepts the unit files, without a word of warning."""
    proc = subprocess.run(
        [analyzer(), "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    said = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0 and not said, f"systemd-analyze verify exited {proc.returncode}:\n{said}"


def verify_units(bin_dir: Path, dest: Path) -> None:
    """The shipped units, run from the virtualenv ``bin_dir``, pass ``systemd-analyze verify``."""
    accepted(with_venv(bin_dir, dest))


def test_the_three_units_and_the_environment_example_are_shipped() -> None:
    assert sorted(p.name for p in DEPLOY.iterdir()) == sorted([*UNITS, "govflow.env.example"])


def test_every_command_is_an_installed_console_script(tmp_path: Path) -> None:
    here = Path(sys.executable).parent
    for name in UNITS:
        for exe, _ in commands(DEPLOY / name):
            assert exe.startswith(PREFIX), f"{name}: {exe} is not in {PREFIX}"
            assert (here / exe.removeprefix(PREFIX)).is_file(), f"{name}: no {exe} in an installed virtualenv"


def test_every_command_accepts_the_options_the_unit_gives(tmp_path: Path) -> None:
    """Each command's help (its subcommand words, then ``--help``) succeeds and names every option the unit uses;
    a renamed option of govflow or Prefect would otherwise fail only on the server."""
    here = Path(sys.executable).parent
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "DO_NOT_TRACK": "1", "COLUMNS": "200"}
    for name in UNITS:
        for exe, args in commands(DEPLOY / name):
            words = list(itertools.takewhile(lambda a: not a.startswith("-"), args))
            options = [a for a in args if a.startswith("--")]
            proc = subprocess.run(
                [here / exe.removeprefix(PREFIX), *words, "--help"],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
                env=env,
                cwd=tmp_path,
            )
            assert proc.returncode == 0, f"{name}: {exe} {' '.join(words)} --help: {proc.stderr}"
            missing = [o for o in options if o not in proc.stdout]
            assert not missing, f"{name}: {exe} {' '.join(words)} has no {missing}"


def test_systemd_analyze_accepts_the_units(tmp_path: Path) -> None:
    verify_units(Path(sys.executable).parent, tmp_path / "units")


def test_a_broken_unit_would_be_caught(tmp_path: Path) -> None:
    """The check is not blind: a bad value (exit 0, a warning) and a missing executable both fail it."""
    copies = with_venv(Path(sys.executable).parent, tmp_path / "units")
    web = copies[0]
    web.write_text(web.read_text(encoding="utf-8").replace("Type=exec", "Type=sometimes"), encoding="utf-8")
    with pytest.raises(AssertionError, match="Failed to parse service type"):
        accepted(copies)
    with pytest.raises(AssertionError, match="is not executable"):
        verify_units(tmp_path / "no-venv" / "bin", tmp_path / "units-without-venv")


def test_the_environment_example_holds_no_secret() -> None:
    """Every setting it names is one govflow reads; the session key is a placeholder production refuses, and
    the anchor key is not in it at all (the units load it as a credential)."""
    values = {}
    for line in (DEPLOY / "govflow.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    fields = {f"GOVFLOW_{name.upper()}" for name in Settings.model_fields} | {"GOVFLOW_SECRET_KEY"}
    assert not [k for k in values if k.startswith("GOVFLOW_") and k not in fields]
    assert weak_secret(values["GOVFLOW_SECRET_KEY"])
    assert "GOVFLOW_ANCHOR_KEY" not in values and "GOVFLOW_ANCHOR_KEY_FILE" not in values
    assert values["GOVFLOW_PRODUCTION"] == "1" and values["GOVFLOW_ANCHOR_FILE"]
    assert not [v for v in values.values() if re.search(r"://[^/@]*:[^/@]*@", v)], "a password in a URL"
