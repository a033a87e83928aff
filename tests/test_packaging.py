"""`pip install .` as a real way to install: the wheel holds the sources and data the code reads
(and not the checkout's admin/local.py, built modules or caches), declares the console scripts,
and, installed into a fresh venv, runs from another folder, writes to the user's folders and
builds its ops into the user's cache."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("admin", "external", "ltr", "pytracking")
# Tracked files of these kinds under the packages are what the code imports, compiles or reads.
SHIPPED_SUFFIXES = {".py", ".cpp", ".h", ".cu", ".txt", ".json"}
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")


def tracked_package_files() -> list[str]:
    listing = subprocess.run(["git", "ls-files", *PACKAGES], cwd=REPO, capture_output=True, text=True, check=True)
    return [name for name in listing.stdout.split() if Path(name).suffix in SHIPPED_SUFFIXES]


def declared_scripts() -> dict[str, str]:
    """pyproject.toml's [project.scripts] (read without tomllib, which Python 3.10 lacks)."""
    section = (REPO / "pyproject.toml").read_text().split("[project.scripts]\n", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^([\w-]+) = "([\w.:]+)"$', section, flags=re.MULTILINE))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout that also holds what must stay out of it:
    admin/local.py, built modules, stamps, caches (as a checkout after install.sh does)."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "workspace", "*.egg-info", ".pytest_cache", "tests", "benchmarks", "*.so"))
    (source / "admin" / "local.py").write_text("workspace_dir = '/private/to/this/checkout'\n")
    for op in ("PreciseRoIPooling", "jpeg_region"):
        (source / "external" / op / f"_C{EXT_SUFFIX}").write_bytes(b"\x7fELF built here")
        (source / "external" / op / ".build-stamp").write_text("0\n")
    (source / "ltr" / "__pycache__").mkdir(exist_ok=True)
    (source / "ltr" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"cache")
    out = base / "dist"
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                             "-q", "-w", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("tracking_toolkit-*.whl")
    return built


def test_wheel_holds_sources_data_and_license_and_nothing_private(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = next(name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info"))
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        license_text = archive.read(f"{dist_info}/licenses/LICENSE")
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()

    missing = [name for name in tracked_package_files() if name not in names]
    assert not missing, f"tracked files missing from the wheel: {missing}"
    assert {"external/PreciseRoIPooling/csrc/prroi_pool_cuda.cu", "external/jpeg_region/csrc/jpeg_region.h",
            "pytracking/evaluation/specs/otb100.json", "ltr/data_specs/lasot_train_split.txt"} <= names
    private = [name for name in names
               if name == "admin/local.py" or name.endswith((".so", ".pyc", ".build-stamp")) or "__pycache__" in name]
    assert not private, f"the wheel ships files of the checkout that built it: {private}"
    assert license_text == (REPO / "LICENSE").read_bytes()
    assert "GNU GENERAL PUBLIC LICENSE" in license_text.decode() and "Version 3" in license_text.decode()
    assert "License-Expression: GPL-3.0-or-later" in metadata
    assert "pandas" not in metadata

    parser = configparser.ConfigParser()
    parser.optionxform = str  # script names are case-sensitive
    parser.read_string(entry_points)
    assert dict(parser["console_scripts"]) == declared_scripts()


def test_every_entry_point_has_a_console_script():
    targets = set(declared_scripts().values())
    scripts = sorted(REPO.glob("ltr/run_*.py")) + sorted(REPO.glob("pytracking/run_*.py"))
    expected = {".".join(path.relative_to(REPO).with_suffix("").parts) + ":main" for path in scripts}
    expected |= {"ltr.dataset.synthetic.__main__:main", "admin.__main__:main", "external.extension_build:main"}
    assert expected == targets
    for target in targets:
        module, function = target.split(":")
        source = REPO.joinpath(*module.split(".")).with_suffix(".py").read_text()
        assert f"def {function}(argv: list[str] | None = None) -> int:" in source, target


def dependency_view(folder: Path) -> Path:
    """The toolkit venv's installed packages, without the toolkit itself, as symlinks: a fresh
    venv that adds this folder as a site dir has every dependency without downloading one,
    and pip there sees no other copy of the toolkit (so it never touches the developer's)."""
    folder.mkdir()
    own = {*PACKAGES, "tracking_toolkit"}
    site_dirs = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    for site_dir in site_dirs:
        for entry in Path(site_dir).iterdir():
            if entry.name.startswith("__editable__") or entry.name.split("-")[0] in own:
                continue
            if not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return folder


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """The wheel installed with pip (no index, no dependencies) into a fresh venv, and the
    environment of a user of it: another home, another current folder, no checkout on the path."""
    base = tmp_path_factory.mktemp("installed")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site_packages = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        capture_output=True, text=True, check=True).stdout.strip())
    deps = dependency_view(base / "deps")
    (site_packages / "toolkit_dependencies.pth").write_text(f"import site; site.addsitedir({str(deps)!r})\n")

    home = base / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TRACKING_", "XDG_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    result = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return {"venv": venv, "python": python, "site_packages": site_packages, "home": home, "env": env,
            "cwd": elsewhere}


def run(installed: dict, *command: str, timeout: float = 300, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, cwd=installed["cwd"],
                          env={**installed["env"], **extra_env}, timeout=timeout)


def test_installed_copy_runs_from_anywhere_and_writes_to_user_folders(installed):
    bin_dir = installed["venv"] / "bin"
    assert sorted(p.name for p in bin_dir.iterdir() if p.name in declared_scripts()) == sorted(declared_scripts())

    where = run(installed, installed["python"], "-c", "import admin, external, ltr, pytracking; print(admin.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed["site_packages"])

    for script in ("ltr-training", "pytracking-tracker"):
        result = run(installed, bin_dir / script, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, script + result.stderr[-2000:]

    shown = run(installed, bin_dir / "tracking-admin", "show")
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line for line in shown.stdout.splitlines()}
    workspace = installed["home"] / ".local" / "share" / "tracking-toolkit" / "workspace"
    assert f" {workspace}  [default]" in rows["workspace_dir"]
    assert f"local file: {installed['home'] / '.config' / 'tracking-toolkit' / 'local.py'}" in shown.stdout
    assert "site-packages" not in shown.stdout
    created = run(installed, bin_dir / "tracking-admin", "create-local")
    assert created.returncode == 0 and (installed["home"] / ".config" / "tracking-toolkit" / "local.py").is_file()

    # XDG_DATA_HOME moves the workspace, as the XDG base directories say.
    data_home = installed["home"] / "data"
    moved = run(installed, bin_dir / "tracking-admin", "show", XDG_DATA_HOME=str(data_home))
    assert str(data_home / "tracking-toolkit" / "workspace") in moved.stdout


def test_installed_copy_without_built_op_names_the_build_command(installed):
    code = ("import logging, torch; logging.basicConfig(level=logging.WARNING)\n"
            "from external.PreciseRoIPooling import prroi_pool2d, compiled_available\n"
            "assert not compiled_available('cpu')\n"
            "rois = torch.tensor([[0, 1.0, 1.0, 5.0, 5.0]])\n"
            "print(prroi_pool2d(torch.rand(1, 2, 8, 8), rois, 2, 2, 1.0).shape)\n")
    result = run(installed, installed["python"], "-c", code)
    assert result.returncode == 0, result.stderr
    assert "torch.Size([1, 2, 2, 2])" in result.stdout
    assert "is not built (run tracking-build-ops" in result.stderr


@pytest.mark.slow
def test_installed_copy_builds_its_ops_into_the_user_cache(installed):
    """tracking-build-ops compiles the shipped sources (the PrRoIPool CPU kernels: FORCE_CUDA=0 and
    one op keep it short) into ~/.cache; the installed copy then uses the compiled op, and
    site-packages is left as pip installed it."""
    before = sorted(p.relative_to(installed["site_packages"]) for p in installed["site_packages"].rglob("*")
                    if "__pycache__" not in p.parts)
    build = (installed["venv"] / "bin" / "tracking-build-ops", "PreciseRoIPooling")
    built = run(installed, *build, timeout=900, FORCE_CUDA="0")
    assert built.returncode == 0, built.stdout + built.stderr[-4000:]
    cache = installed["home"] / ".cache" / "tracking-toolkit" / "extensions"
    assert len(list(cache.glob(f"external.PreciseRoIPooling-*/_C{EXT_SUFFIX}"))) == 1
    after = sorted(p.relative_to(installed["site_packages"]) for p in installed["site_packages"].rglob("*")
                   if "__pycache__" not in p.parts)
    assert after == before

    code = ("from external.PreciseRoIPooling import compiled_available, function\n"
            "assert compiled_available('cpu'), function._IMPORT_ERROR\n"
            "print(function._C.__file__)\n")
    result = run(installed, installed["python"], "-c", code)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(cache)
    again = run(installed, *build, FORCE_CUDA="0")
    assert again.returncode == 0 and "up to date" in again.stderr + again.stdout
