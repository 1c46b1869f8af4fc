import mailbox
import os

import pytest

from spamscore.corpus import iter_index, iter_source, iter_sources, read_index
from spamscore.errors import CorpusError

from conftest import fixture_bytes

MSG = fixture_bytes("plain_ham.eml")


def test_directory_is_read_recursively_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.eml").write_bytes(MSG)
    (tmp_path / "b" / "c.eml").write_bytes(MSG)
    (tmp_path / ".hidden").write_bytes(MSG)
    items = list(iter_source(tmp_path, "ham"))
    assert [i.path for i in items] == [str(tmp_path / "a.eml"), str(tmp_path / "b" / "c.eml")]
    assert all(i.raw == MSG and i.label == "ham" and i.error is None for i in items)


def test_mbox_is_split_into_messages(tmp_path):
    box = mailbox.mbox(str(tmp_path / "in.mbox"))
    for n in range(3):
        box.add(MSG.replace(b"meeting notes", b"notes %d" % n))
    box.flush()
    items = list(iter_source(tmp_path / "in.mbox"))
    assert [i.path.rsplit("#", 1)[1] for i in items] == ["0", "1", "2"]
    assert b"notes 2" in items[2].raw


def test_maildir_reads_new_and_cur(tmp_path):
    md = mailbox.Maildir(str(tmp_path / "Maildir"))
    md.add(MSG)
    md.add(MSG)
    items = list(iter_source(tmp_path / "Maildir", "spam"))
    assert len(items) == 2 and all(i.raw == MSG for i in items)


def test_missing_file_is_an_error_item_not_an_exception(tmp_path):
    (item,) = iter_source(tmp_path / "nope.eml")
    assert item.raw is None and "no such file" in item.error


def test_tsv_and_trec_indexes(tmp_path):
    (tmp_path / "m1.eml").write_bytes(MSG)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "inmail.1").write_bytes(MSG)
    (tmp_path / "labels.tsv").write_text("path\tlabel\tsplit\nm1.eml\tspam\ttrain\ndata/inmail.1\tham\ttest\n")
    assert read_index(tmp_path / "labels.tsv", split="train") == [(str(tmp_path / "m1.eml"), "spam")]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "index").write_text("spam ../m1.eml\nham ../data/inmail.1\n")
    items = list(iter_index(tmp_path / "full" / "index"))
    assert [i.label for i in items] == ["spam", "ham"] and all(i.raw == MSG for i in items)


def test_bad_index_lines_are_clear_errors(tmp_path):
    (tmp_path / "bad.tsv").write_text("m1.eml\tmaybe\n")
    with pytest.raises(CorpusError, match="bad.tsv:1"):
        read_index(tmp_path / "bad.tsv")
    with pytest.raises(CorpusError, match="cannot read"):
        read_index(tmp_path / "missing.tsv")


def test_files_directories_and_missing_paths_read_by_one_reader(tmp_path):
    """read_bytes refuses a directory; iter_sources reads files, walks directories, reports missing paths."""
    from spamscore.corpus import read_bytes

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "m1.eml").write_bytes(b"Subject: a\n\nx\n")
    (tmp_path / "f.eml").write_bytes(b"Subject: b\n\ny\n")
    with pytest.raises(IsADirectoryError):
        read_bytes(tmp_path / "d")
    assert read_bytes(tmp_path / "f.eml") == b"Subject: b\n\ny\n"
    items = list(iter_sources([str(tmp_path / "d"), str(tmp_path / "f.eml"), str(tmp_path / "nope")]))
    assert [(os.path.basename(i.path), i.raw, i.error) for i in items] == [
        ("m1.eml", b"Subject: a\n\nx\n", None), ("f.eml", b"Subject: b\n\ny\n", None),
        ("nope", None, "no such file or directory")]
    # an index with relative paths resolves them against its folder
    (tmp_path / "idx.tsv").write_text("d/m1.eml\tspam\nf.eml\tham\n")
    assert [(i.raw is not None, i.label) for i in iter_index(tmp_path / "idx.tsv")] == [(True, "spam"), (True, "ham")]
