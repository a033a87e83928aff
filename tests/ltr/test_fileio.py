import stat

from ltr import fileio


def test_atomic_writes_replace_whole_files_with_ordinary_permissions(tmp_path):
    path = tmp_path / "sub" / "file.txt"
    fileio.atomic_write_text(path, "first")
    fileio.atomic_write_text(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["file.txt"]  # no temporary left
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~fileio._UMASK
