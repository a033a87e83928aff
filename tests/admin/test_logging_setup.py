import logging

from admin.logging_setup import setup_logging


def test_logs_to_console_and_file_once(tmp_path, capsys):
    setup_logging(tmp_path / "first", name="run")
    log_file = setup_logging(tmp_path / "run", name="train")  # replaces the first set-up
    logging.getLogger("ltr.some.module").info("epoch %d done", 3)
    logging.getLogger("ltr.some.module").debug("not shown at INFO")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert log_file == tmp_path / "run" / "train.log"
    lines = log_file.read_text().splitlines()
    assert len(lines) == 1 and lines[0].endswith("INFO ltr.some.module: epoch 3 done")
    assert (tmp_path / "first" / "run.log").read_text() == ""
    assert capsys.readouterr().err.count("epoch 3 done") == 1
