"""The one environment of the toolkit: every path that ltr and pytracking need.

Values come, in this order of precedence, from the environment variable ``TRACKING_<FIELD>``
(for example ``TRACKING_OTB_PATH``), from ``admin/local.py``, and from the defaults below, which
put everything the toolkit writes under ``workspace/`` in the repository. An installed copy
(``pip install .``) reads ``~/.config/tracking-toolkit/local.py`` and writes under
``~/.local/share/tracking-toolkit/workspace`` (``$XDG_CONFIG_HOME``, ``$XDG_DATA_HOME`` where set).
Both packages read them through :func:`env_settings`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import os
import tempfile
import traceback
import types
from pathlib import Path

ADMIN_DIR = Path(__file__).resolve().parent
REPO_ROOT = ADMIN_DIR.parent


def _is_source_checkout() -> bool:
    """Whether the packages run from the repository (the same test as external.compiled's)."""
    project = REPO_ROOT / "pyproject.toml"
    return project.is_file() and 'name = "tracking-toolkit"' in project.read_text()


def _user_folder(variable: str, fallback: str) -> Path:
    """The toolkit's folder in an XDG base directory ($XDG_DATA_HOME, ...), else in ~/<fallback>."""
    return Path(os.environ.get(variable) or Path.home() / fallback).expanduser() / "tracking-toolkit"


# An installed copy (pip install ., a wheel) lives in site-packages, which may be read-only and
# is replaced on upgrade: its local file and workspace live in the user's folders instead.
SOURCE_CHECKOUT = _is_source_checkout()
LOCAL_FILE = ADMIN_DIR / "local.py" if SOURCE_CHECKOUT else _user_folder("XDG_CONFIG_HOME", ".config") / "local.py"
# Relative paths in the local file are taken from here.
RELATIVE_PATHS_BASE = REPO_ROOT if SOURCE_CHECKOUT else LOCAL_FILE.parent
TEMPLATE_FILE = ADMIN_DIR / "local_template.py"
ENV_PREFIX = "TRACKING_"
# Points env_settings() at another local file (tests, several checkouts sharing one file); it must
# exist, or be os.devnull for "no local file".
LOCAL_FILE_VARIABLE = "TRACKING_LOCAL_FILE"

# Folders the toolkit writes to are created on first use; folders it reads from must exist.
OUTPUT = "output"
INPUT = "input"
# A dataset the toolkit generates and then reads: it has a default folder, which its generator
# creates; reading the field gives the path but never creates it (an empty folder would pass for
# a dataset that was never generated).
GENERATED = "generated"


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    kind: str
    # Default folder relative to workspace_dir; None: no default, the user must set it.
    default: str | None
    help: str

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.name.upper()


FIELDS: tuple[Field, ...] = (
    Field("workspace_dir", OUTPUT, ".", "everything the toolkit writes: checkpoints, logs"),
    Field("tensorboard_dir", OUTPUT, "tensorboard", "TensorBoard event files"),
    Field("pretrained_networks", INPUT, "pretrained_networks", "ImageNet backbone weights"),
    Field("network_path", OUTPUT, "networks", "trained networks that trackers load by name"),
    Field("results_path", OUTPUT, "tracking_results", "raw tracking results"),
    Field("result_plot_path", OUTPUT, "result_plots", "analysis tables and plots"),
    Field("synthetic_dir", GENERATED, "synthetic", "the generated synthetic dataset (GOT-10k layout)"),
    Field("synthetic_mot_dir", GENERATED, "synthetic_mot",
          "the generated synthetic multi-object dataset (MOTChallenge layout)"),
    # Training datasets.
    Field("lasot_dir", INPUT, None, "LaSOT (training)"),
    Field("got10k_dir", INPUT, None, "GOT-10k training set: its train/ folder, holding list.txt"),
    Field("trackingnet_dir", INPUT, None, "TrackingNet (training, the folder holding TRAIN_0/...)"),
    Field("coco_dir", INPUT, None, "COCO (training)"),
    Field("imagenet_dir", INPUT, None, "ImageNet-VID, ILSVRC2015 (training)"),
    # Multi-object tracking: each MOTChallenge root holds train/ and test/ (training and evaluation).
    Field("mot15_dir", INPUT, None, "2DMOT15 (MOTChallenge: train/ and test/)"),
    Field("mot16_dir", INPUT, None, "MOT16 (MOTChallenge: train/ and test/)"),
    Field("mot17_dir", INPUT, None, "MOT17 (MOTChallenge: train/ and test/)"),
    Field("mot20_dir", INPUT, None, "MOT20 (MOTChallenge: train/ and test/)"),
    Field("crowdhuman_dir", INPUT, None, "CrowdHuman: annotation_{train,val}.odgt and Images/"),
    Field("jde_root", INPUT, None, "FairMOT/JDE training data: the root its data config's list files are relative to"),
    Field("jde_data_dir", INPUT, None, "FairMOT's data configs (cfg/*.json); relative list files in them are taken "
                                       "from this folder"),
    # Evaluation benchmarks.
    Field("otb_path", INPUT, None, "OTB-100"),
    Field("nfs_path", INPUT, None, "NFS"),
    Field("uav_path", INPUT, None, "UAV123"),
    Field("tpl_path", INPUT, None, "Temple-Color-128"),
    Field("vot_path", INPUT, None, "VOT2018"),
    Field("got10k_path", INPUT, None, "GOT-10k (evaluation: val/ and test/)"),
    Field("lasot_path", INPUT, None, "LaSOT (evaluation)"),
    Field("trackingnet_path", INPUT, None, "TrackingNet (evaluation: TEST/)"),
)
FIELDS_BY_NAME = {field.name: field for field in FIELDS}
DEFAULT_WORKSPACE = (REPO_ROOT / "workspace" if SOURCE_CHECKOUT
                     else _user_folder("XDG_DATA_HOME", ".local/share") / "workspace")


class EnvironmentPathError(FileNotFoundError):
    """A path the toolkit needs is not set, does not exist, is empty or is a file.

    ``field`` is the environment field that sets it; ``state`` (where known) is one of
    ``'not set'``, ``'missing'``, ``'empty'``, ``'file'``, ``'unwritable'``."""

    def __init__(self, message: str, *, field: str, state: str | None = None):
        super().__init__(message)
        self.field = field
        self.state = state


class LocalFileError(ValueError):
    """The local file (``admin/local.py`` or the one ``TRACKING_LOCAL_FILE`` names) cannot be
    used: it is missing where the variable points, does not run, or sets something wrong. The
    message is one line naming the file (and line) and what to do."""

    def __init__(self, message: str, *, path: Path | str, line: int | None = None):
        super().__init__(message)
        self.path = Path(path)
        self.line = line


def where_to_set(field: str, local_file: Path | str = "admin/local.py") -> str:
    """How a user points the environment field ``field`` at a path (for error messages)."""
    return f"set {field} in {local_file} or the environment variable {ENV_PREFIX}{field.upper()}"


_STATES = {"missing": "does not exist", "file": "is a file, not a folder", "empty": "is an empty folder"}


def _folder_state(path: Path) -> str | None:
    if not path.exists():
        return "missing"
    if not path.is_dir():
        return "file"
    if next(path.iterdir(), None) is None:
        return "empty"
    return None


def resolve_dataset_root(root: str | os.PathLike | None, field: str, what: str | None = None, *,
                         hint: str | None = None, environ: dict[str, str] | None = None) -> Path:
    """The root folder of a dataset: ``root`` when given, else the environment's ``field``.

    The folder must exist, be a folder and hold something; otherwise :class:`EnvironmentPathError`
    names the path, the field, its environment variable, and whether the path is not set,
    missing, empty or a file. ``what`` names the dataset (default: the field's description);
    ``hint`` (where ``{root}`` stands for the path) is added to the message, e.g. how to
    generate the dataset. Nothing is created: a dataset root is read, never written."""
    try:
        spec = FIELDS_BY_NAME[field]
    except KeyError:
        raise AttributeError(f"the environment has no field {field!r}") from None
    what = what or spec.help
    if root is None:
        settings = env_settings(environ)
        where = where_to_set(field, settings.local_file)
        value = settings.value(field)
        if value is None:
            raise EnvironmentPathError(f"{field} ({spec.help}) is not set: {where}.", field=field, state="not set")
        path = Path(value)
        subject, fix = f"{field} = {value} (from {settings.source(field)})", f"fix it, or {where}"
    else:
        path = Path(root).expanduser()
        where = where_to_set(field, _local_file_in_use(os.environ if environ is None else environ))
        subject = f"{what} root {path}"
        fix = f"pass an existing folder holding the dataset, or pass root=None and {where}"
    state = _folder_state(path)
    if state is not None:
        extra = f"; {hint.format(root=path)}" if hint else ""
        raise EnvironmentPathError(f"{subject} {_STATES[state]}: {fix}{extra}.", field=field, state=state)
    return path


def _local_file_in_use(environ) -> Path:
    override = environ.get(LOCAL_FILE_VARIABLE)
    return Path(override).expanduser().resolve() if override else LOCAL_FILE


def _error_line(error: BaseException, path: Path) -> int | None:
    """The line of ``path`` where ``error`` was raised, from its traceback (None if not there)."""
    if isinstance(error, SyntaxError) and error.lineno is not None:
        return error.lineno
    line = None
    for frame, number in traceback.walk_tb(error.__traceback__):
        if Path(frame.f_code.co_filename) == path:
            line = number
    return line


def _run_local_file(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("_tracking_local_settings", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    # Whatever the file raises (it is user code), the user needs its name and line, not importlib's
    # traceback; the original stays chained for debugging.
    except Exception as error:
        line = _error_line(error, path)
        where = f"{path}, line {line}" if line is not None else str(path)
        detail = error.msg if isinstance(error, SyntaxError) else f"{type(error).__name__}: {error}"
        raise LocalFileError(
            f"{where}: {detail}; fix that line (every field is a quoted path, e.g. otb_path = '/data/otb'), "
            f"or start again from {TEMPLATE_FILE}", path=path, line=line) from error
    return module


def _read_local_file(path: Path, *, required: bool = False) -> dict[str, str]:
    """The fields that ``path`` sets to a non-empty value. A missing file sets nothing, unless
    ``required`` (the user named it by TRACKING_LOCAL_FILE): then LocalFileError. ``os.devnull``
    is the explicit "no local file" (tests, CI): every field comes from variables and defaults."""
    if str(path) == os.devnull:
        return {}
    if not path.exists():
        if required:
            raise LocalFileError(
                f"{LOCAL_FILE_VARIABLE}={path} does not exist: point {LOCAL_FILE_VARIABLE} at an existing local "
                f"file, create it with `{LOCAL_FILE_VARIABLE}={path} python -m admin create-local`, "
                f"or unset {LOCAL_FILE_VARIABLE} to use {LOCAL_FILE}", path=path)
        return {}
    if not path.is_file():
        raise LocalFileError(f"{path} is not a file: the local file must be a Python file like {TEMPLATE_FILE}",
                             path=path)
    module = _run_local_file(path)
    values = {}
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, (types.ModuleType, types.FunctionType, type)):
            continue
        if name not in FIELDS_BY_NAME:
            close = difflib.get_close_matches(name, FIELDS_BY_NAME, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise LocalFileError(
                f"{path} sets {name!r}, which is not a field of the toolkit's environment{hint} "
                f"Known fields: {', '.join(FIELDS_BY_NAME)}. Prefix helper variables with '_'.", path=path)
        if not isinstance(value, (str, os.PathLike)):
            raise LocalFileError(f"{path}: {name} must be a path string, not {type(value).__name__}; "
                                 f"write it in quotes, e.g. {name} = '/data/...'", path=path)
        if str(value):
            values[name] = os.fspath(value)
    return values


class EnvSettings:
    """Resolved paths. Reading a field returns its path as a string: folders the toolkit writes
    to are created, and folders it reads from must exist, or :class:`EnvironmentPathError` says
    which field to set, in which file, or by which variable."""

    def __init__(self, local_file: Path, local_values: dict[str, str], environ: dict[str, str]):
        self.local_file = local_file
        self._values: dict[str, tuple[str | None, str]] = {}
        for field in FIELDS:
            from_env = environ.get(field.variable, "")
            if from_env:
                # Relative paths in a variable follow the shell: from the current folder.
                self._values[field.name] = (str(Path(from_env).expanduser().resolve()), field.variable)
            elif field.name in local_values:
                # Relative paths in the file are taken from RELATIVE_PATHS_BASE.
                path = Path(local_values[field.name]).expanduser()
                self._values[field.name] = (str((RELATIVE_PATHS_BASE / path).resolve()), str(local_file))
            else:
                self._values[field.name] = (None, "default")
        workspace = self._values["workspace_dir"][0] or str(DEFAULT_WORKSPACE)
        for field in FIELDS:
            if self._values[field.name][0] is None and field.default is not None:
                self._values[field.name] = (str((Path(workspace) / field.default).resolve()), "default")

    def value(self, name: str) -> str | None:
        """The resolved path of field ``name``, or None when it is not set; no checks."""
        self._field(name)
        return self._values[name][0]

    def source(self, name: str) -> str:
        """Where the value of ``name`` came from: the variable, the local file, or 'default'."""
        self._field(name)
        return self._values[name][1]

    def path(self, name: str) -> str:
        """The path of field ``name``: inputs must be existing folders, outputs are created, and a
        generated dataset's folder is given as it is (its generator creates it, readers check it with
        :func:`resolve_dataset_root`); a path that is a file is an error for every kind."""
        field = self._field(name)
        value, source = self._values[name]
        where = where_to_set(name, self.local_file)
        if value is None:
            raise EnvironmentPathError(f"{name} ({field.help}) is not set: {where}.", field=name, state="not set")
        path = Path(value)
        if field.kind == OUTPUT:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise EnvironmentPathError(
                    f"{name} = {value} (from {source}) cannot be created ({error}): {where}.", field=name,
                    state="unwritable") from error
        elif path.exists() and not path.is_dir():
            # Every field is a folder; a file there would pass an existence check and fail later.
            raise EnvironmentPathError(
                f"{name} = {value} (from {source}) is a file, not a folder: fix it, or {where}.", field=name,
                state="file")
        elif field.kind == INPUT and not path.exists():
            raise EnvironmentPathError(
                f"{name} = {value} (from {source}) does not exist: fix it, or {where}.", field=name,
                state="missing")
        return value

    def _field(self, name: str) -> Field:
        try:
            return FIELDS_BY_NAME[name]
        except KeyError:
            raise AttributeError(f"the environment has no field {name!r}") from None

    def __getattr__(self, name: str) -> str:
        if name.startswith("_") or name not in FIELDS_BY_NAME:
            raise AttributeError(name)
        return self.path(name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(FIELDS_BY_NAME))

    def describe(self) -> list[tuple[str, str, str, str]]:
        """One row per field: name, value, source, and state (ok, not set, missing, file, created
        on use, not generated)."""
        rows = []
        for field in FIELDS:
            value, source = self._values[field.name]
            if value is None:
                state = "not set"
            elif Path(value).is_dir():
                state = "ok"
            elif Path(value).exists():
                state = "file"
            else:
                state = {OUTPUT: "created on use", GENERATED: "not generated"}.get(field.kind, "missing")
            rows.append((field.name, value or "", source, state))
        return rows


def env_settings(environ: dict[str, str] | None = None) -> EnvSettings:
    """Read ``admin/local.py`` (or the file named by ``TRACKING_LOCAL_FILE``) and the
    ``TRACKING_*`` variables; the file is read anew on each call.

    Raises LocalFileError (a ValueError, one line naming the file and line) when the local file
    does not run, sets an unknown name or a non-path, or is missing where ``TRACKING_LOCAL_FILE``
    points."""
    environ = os.environ if environ is None else environ
    local_file = _local_file_in_use(environ)
    required = bool(environ.get(LOCAL_FILE_VARIABLE))
    return EnvSettings(local_file, _read_local_file(local_file, required=required), dict(environ))


def create_local_file(path: Path | None = None) -> bool:
    """Write ``admin/local.py`` from the template unless it exists; never overwrites.
    Returns whether the file was created."""
    path = Path(path) if path is not None else _local_file_in_use(os.environ)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".local-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(TEMPLATE_FILE.read_text())
        # A hard link fails if the file appeared meanwhile, where a rename would replace it.
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)
    return True
