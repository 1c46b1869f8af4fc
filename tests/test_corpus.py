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


def test_split_mbox_gives_what_mailbox_gives_for_the_file(tmp_path):
    """stdin has no file for mailbox.mbox to read: split_mbox must split the same bytes the same way."""
    import random

    from spamscore.corpus import split_mbox

    rng = random.Random(3)
    pieces = [b"From a@b Sat Jan  1 00:00:00 2000\n", b"\n", b"x\n", b"From x\n", b">From y\n", b"\r\n", b"body",
              b"Subject: s\n", b"From ", b"\n\n", b"\r\nFrom z\r\n"]
    path = tmp_path / "box"
    for _ in range(1500):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        path.write_bytes(data)
        box = mailbox.mbox(str(path), create=False)
        expected = [box.get_bytes(k) for k in box.iterkeys()]
        box.close()
        assert split_mbox(data) == expected, data


def test_an_mbox_on_stdin_is_split(monkeypatch, tmp_path):
    import io
    import sys

    box = mailbox.mbox(str(tmp_path / "in.mbox"))
    for n in range(3):
        box.add(MSG.replace(b"meeting notes", b"notes %d" % n))
    box.flush()
    data = (tmp_path / "in.mbox").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    items = list(iter_source("-", "spam"))
    from_file = list(iter_source(tmp_path / "in.mbox", "spam"))
    assert [i.path for i in items] == ["-#0", "-#1", "-#2"]
    assert [i.raw for i in items] == [i.raw for i in from_file] and all(i.label == "spam" for i in items)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"From a@b x\n" + MSG)))
    assert [(i.path, i.raw) for i in iter_source("-")] == [("-", b"From a@b x\n" + MSG)]   # one message: as is


def test_an_index_whose_files_are_all_missing_is_one_error(tmp_path):
    from spamscore.corpus import check_index_files, index_base

    (tmp_path / "a.eml").write_bytes(MSG)
    entries = [(str(tmp_path / f"gone{i}.eml"), "ham") for i in range(150)]
    with pytest.raises(CorpusError, match=rf"^0 of 150 indexed files exist under {tmp_path}: pass --root$"):
        check_index_files(entries, str(tmp_path), root_given=False)
    with pytest.raises(CorpusError, match="check --root"):
        check_index_files(entries, str(tmp_path), root_given=True)
    check_index_files(entries + [(str(tmp_path / "a.eml"), "ham")], str(tmp_path), False)  # one exists: fine
    assert index_base(tmp_path / "x.tsv") == str(tmp_path) and index_base("x.tsv", "/r") == "/r"
