"""Model files: damaged, foreign, future and malicious files are refused, never executed.

Format 1 is a NumPy .npz archive (plain arrays + a JSON header) read with
``allow_pickle=False``; format 2 (spamscore/model/format2.py) is mapped and used in
place (its cases are at the end).  Each test crafts a bad file from a good one and
checks that loading raises a clear ModelFormatError / ModelVersionError (both
SpamscoreError, which the CLI turns into one line and exit code 2), and that
a pickle payload is never unpickled (its marker file never appears).
"""

from __future__ import annotations

import io
import math
import json
import os
import zipfile

import numpy as np
import pytest

from spamscore.errors import ModelError, ModelFormatError, ModelVersionError, SpamscoreError
from spamscore.features import extract
from spamscore.message import parse
from spamscore.model import FORMAT_VERSION, save_model_file
from spamscore.scoring import Model, train


def _docs():
    raws, labels = [], []
    for i in range(12):
        raws.append(f"Subject: free money {i}\r\n\r\nclick here to win cash prize {i}\r\n".encode())
        labels.append("spam")
        raws.append(f"Subject: meeting notes {i}\r\n\r\nthe agenda for the review {i}\r\n".encode())
        labels.append("ham")
    return [extract(parse(r)) for r in raws], labels


@pytest.fixture(scope="module")
def model():
    docs, labels = _docs()
    return train(docs, labels, folds=2)


@pytest.fixture()
def good(model, tmp_path):
    path = tmp_path / "good.spamscore"
    model.save(path, format_version=1)  # (the .npz cases; format 2's are at the end)
    return path


def _arrays(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _header(arrays) -> dict:
    return json.loads(arrays["header"].tobytes())


def _write(path, arrays: dict, allow_pickle: bool = False) -> None:
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=allow_pickle, **arrays) if allow_pickle else np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def _with_header(arrays: dict, **changes) -> dict:
    h = _header(arrays)
    for k, v in changes.items():
        if v is _DELETE:
            h.pop(k, None)
        else:
            h[k] = v
    return {**arrays, "header": np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)}


_DELETE = object()


def _refused(path, exc=ModelFormatError, match=None):
    with pytest.raises(exc, match=match) as info:
        Model.load(path)
    assert isinstance(info.value, SpamscoreError)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 600, msg   # one clear line for the CLI
    assert str(path) in msg
    return info.value


def test_good_model_loads_and_scores(good, model):
    loaded = Model.load(good)
    raw = b"Subject: free money\r\n\r\nclick here to win cash\r\n"
    assert loaded.score(raw).probability == pytest.approx(model.score(raw).probability)


@pytest.mark.parametrize("keep", [0, 1, 10, 100, 0.5, 0.9, -1])
def test_truncated_file(good, tmp_path, keep):
    data = good.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else (keep if keep >= 0 else len(data) - 1)
    bad = tmp_path / "truncated.spamscore"
    bad.write_bytes(data[:n])
    _refused(bad)


@pytest.mark.parametrize("content", [b"", b"not a model at all\n", b"\x89PNG\r\n\x1a\n" + bytes(200),
                                     b"\x93NUMPY" + bytes(100), b"PK\x03\x04" + bytes(100)])
def test_not_a_zip(tmp_path, content):
    bad = tmp_path / "junk.spamscore"
    bad.write_bytes(content)
    _refused(bad)


def test_plain_npy_file(tmp_path):
    bad = tmp_path / "array.spamscore"
    with open(bad, "wb") as fh:
        np.save(fh, np.arange(10))
    _refused(bad)


def test_zip_of_other_things(tmp_path):
    bad = tmp_path / "other.spamscore"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("readme.txt", "hello")
        z.writestr("header.npy", "not an npy file")
    _refused(bad)


@pytest.mark.parametrize("version,newer", [(FORMAT_VERSION + 1, True), (FORMAT_VERSION + 100, True), (2, False),
                                           (0, False), ("1", False), (None, False), ([1], False)])
def test_format_version(good, tmp_path, version, newer):
    bad = tmp_path / "version.spamscore"
    _write(bad, _with_header(_arrays(good), format_version=version))
    err = _refused(bad, ModelVersionError)
    assert ("newer release" in str(err)) == newer


def test_missing_format_version(good, tmp_path):
    bad = tmp_path / "noversion.spamscore"
    _write(bad, _with_header(_arrays(good), format_version=_DELETE))
    _refused(bad, ModelVersionError)


def test_feature_version_mismatch(good, tmp_path):
    bad = tmp_path / "features.spamscore"
    _write(bad, _with_header(_arrays(good), feature_version="999"))
    _refused(bad, ModelVersionError, match="feature version")


@pytest.mark.parametrize("drop", ["header", "vocabulary", "spam_counts", "ham_counts"])
def test_missing_array(good, tmp_path, drop):
    arrays = _arrays(good)
    del arrays[drop]
    bad = tmp_path / "missing.spamscore"
    _write(bad, arrays)
    _refused(bad)


def test_extra_array(good, tmp_path):
    arrays = _arrays(good)
    arrays["extra"] = np.zeros(3)
    bad = tmp_path / "extra.spamscore"
    _write(bad, arrays)
    _refused(bad)


@pytest.mark.parametrize("damage", [
    "header-not-json", "header-list", "no-magic", "counts-float", "counts-2d", "counts-short",
    "vocab-bad-utf8", "vocab-duplicates", "header-int16", "params-missing", "params-strings",
    "calibration-list", "calibration-unknown-key", "calibration-string", "priors-bad", "n-spam-string",
    "cutoff-string",
])
def test_damaged_contents(good, tmp_path, damage):
    a = _arrays(good)
    h = _header(a)
    if damage == "header-not-json":
        a["header"] = np.frombuffer(b"{not json", dtype=np.uint8)
    elif damage == "header-list":
        a["header"] = np.frombuffer(b"[1, 2]", dtype=np.uint8)
    elif damage == "no-magic":
        a = _with_header(a, magic="something-else")
    elif damage == "counts-float":
        a["spam_counts"] = a["spam_counts"].astype(np.float64)
    elif damage == "counts-2d":
        a["spam_counts"] = a["spam_counts"].reshape(1, -1)
    elif damage == "counts-short":
        a["ham_counts"] = a["ham_counts"][:-1]
    elif damage == "vocab-bad-utf8":
        a["vocabulary"] = np.frombuffer(b"\xff\xfe" + a["vocabulary"].tobytes()[2:], dtype=np.uint8)
    elif damage == "vocab-duplicates":
        toks = a["vocabulary"].tobytes().split(b"\n")
        toks[1] = toks[0]
        a["vocabulary"] = np.frombuffer(b"\n".join(toks), dtype=np.uint8)
    elif damage == "header-int16":
        a["header"] = a["header"].astype(np.int16)
    elif damage == "params-missing":
        a = _with_header(a, params={})
    elif damage == "params-strings":
        a = _with_header(a, params={**h["params"], "s": "lots"})
    elif damage == "calibration-list":
        a = _with_header(a, calibration=[1, 2, 3])
    elif damage == "calibration-unknown-key":
        a = _with_header(a, calibration={**h["calibration"], "evil": 1.0})
    elif damage == "calibration-string":
        a = _with_header(a, calibration="oops")
    elif damage == "priors-bad":
        a = _with_header(a, priors={"auth:spf=fail": "x"})
    elif damage == "n-spam-string":
        a = _with_header(a, n_spam="many")
    elif damage == "cutoff-string":
        a = _with_header(a, spam_cutoff="high")
    bad = tmp_path / f"{damage}.spamscore"
    _write(bad, a)
    _refused(bad, ModelError)


@pytest.mark.parametrize("damage", ["counts-negative", "n-spam-negative", "params-nan", "params-inf"])
def test_impossible_counts_or_parameters(good, tmp_path, damage):
    a = _arrays(good)
    h = _header(a)
    if damage == "counts-negative":
        a["ham_counts"] = -a["ham_counts"] - 1
    elif damage == "n-spam-negative":
        a = _with_header(a, n_spam=-3)
    elif damage == "params-nan":
        a = _with_header(a, params={**h["params"], "x": float("nan")})
    elif damage == "params-inf":
        a = _with_header(a, params={**h["params"], "s": float("inf")})
    bad = tmp_path / f"{damage}.spamscore"
    _write(bad, a)
    _refused(bad, match="negative counts or non-finite")


@pytest.mark.parametrize("changes", [
    {"n_spam": 0}, {"n_spam": 0, "n_ham": 0}, {"spam_cutoff": 2.0, "ham_cutoff": -1.0},
    {"params": {"s": 0.0, "x": 1.0, "min_dev": 0.0, "max_clues": 10**9}},
    {"params": {"s": 1e300, "x": -5.0, "min_dev": 2.0, "max_clues": 0}},
    {"priors": {"subject:free": [7.0, -1.0]}}, {"ignored_headers": "x"},
])
def test_odd_but_loadable_models_never_crash_scoring(good, tmp_path, changes):
    """Values no training run writes, but that do not make a file unreadable: scoring still answers."""
    bad = tmp_path / "odd.spamscore"
    _write(bad, _with_header(_arrays(good), **changes))
    try:
        m = Model.load(bad)
    except ModelError:
        return
    for raw in (b"", b"Subject: free money\r\n\r\nclick here to win cash\r\n", bytes(range(256))):
        v = m.score(raw)
        assert v.label in ("ham", "unsure", "spam")
        assert 0.0 <= v.probability <= 1.0


class _Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("slot", ["header", "vocabulary", "spam_counts", "ham_counts", "extra"])
def test_pickle_payload_is_never_executed(good, tmp_path, slot):
    marker = tmp_path / "PWNED"
    arrays = _arrays(good)
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(marker)
    arrays[slot] = payload
    bad = tmp_path / f"pickle-{slot}.spamscore"
    _write(bad, arrays, allow_pickle=True)
    # sanity: this file really would run code if loaded with pickles allowed
    with np.load(bad, allow_pickle=True) as npz:
        assert npz[slot].dtype == object
    assert marker.exists()
    marker.unlink()
    _refused(bad)
    assert not marker.exists()
    # and through the public loader used by the CLI
    from spamscore.scoring import load_model

    with pytest.raises(ModelFormatError):
        load_model(bad)
    assert not marker.exists()


def test_pickle_file_pretending_to_be_a_model(tmp_path):
    import pickle

    marker = tmp_path / "PWNED"
    bad = tmp_path / "pickle.spamscore"
    bad.write_bytes(pickle.dumps(_Payload(marker)))
    _refused(bad)
    assert not marker.exists()


def test_huge_declared_array_is_refused(good, tmp_path):
    """An .npy header may claim any shape: loading must not try to allocate it."""
    a = _arrays(good)
    buf = io.BytesIO()
    np.savez(buf, **a)
    bad = tmp_path / "huge.spamscore"
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "spam_counts.npy":
                fake = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    fake, {"descr": "<i4", "fortran_order": False, "shape": (1 << 60,)})
                data = fake.getvalue() + data[-16:]
            dst.writestr(info, data)
    _refused(bad)


def test_zip_bomb_is_refused(good, tmp_path, monkeypatch):
    """A member that would inflate past the size bound is refused before it is inflated.

    The bound (``model.files.MAX_MODEL_BYTES``, 1 GiB) is lowered here so that the
    bomb can stay small: 64 MB of zeros, 64 KB on disk.
    """
    from spamscore.model import files

    monkeypatch.setattr(files, "MAX_MODEL_BYTES", 16 << 20)
    a = _arrays(good)
    buf = io.BytesIO()
    np.savez(buf, **a)
    bad = tmp_path / "bomb.spamscore"
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "vocabulary.npy":
                dst.writestr(info.filename, src.read(info))
        n = 64 << 20
        fake = io.BytesIO()
        np.lib.format.write_array_header_1_0(fake, {"descr": "|u1", "fortran_order": False, "shape": (n,)})
        with dst.open("vocabulary.npy", "w") as fh:
            fh.write(fake.getvalue())
            chunk = bytes(1 << 20)
            for _ in range(n // len(chunk)):
                fh.write(chunk)
    assert bad.stat().st_size < 1 << 20
    _refused(bad, match="too large")
    # the good model is far below the bound and still loads
    Model.load(good)


def test_directory_and_missing_path(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        Model.load(tmp_path / "nope.spamscore")
    with pytest.raises(ModelError, match="directory"):
        Model.load(tmp_path)


def test_cli_reports_bad_model_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from spamscore.cli import app

    bad = tmp_path / "bad.spamscore"
    bad.write_bytes(b"garbage")
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"Subject: hi\r\n\r\nhello\r\n")
    result = CliRunner().invoke(app, ["score", "--model", str(bad), str(msg)])
    assert result.exit_code == 2
    assert result.stderr.startswith("spamscore: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------
# atomic writes

def test_save_is_atomic_when_replace_fails(model, good, tmp_path, monkeypatch):
    before = good.read_bytes()

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        model.save(good)
    monkeypatch.undo()
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.spamscore"]
    Model.load(good)


@pytest.mark.parametrize("exc", [OSError(5, "I/O error"), KeyboardInterrupt()])
def test_save_is_atomic_when_write_fails_midway(model, good, tmp_path, monkeypatch, exc):
    before = good.read_bytes()
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise exc

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.fh.close()
            return False

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: HalfWriter(real_fdopen(fd, *a, **k)))
    with pytest.raises(type(exc)):
        save_model_file(good, model.nb, {"feature_version": "x"})
    monkeypatch.undo()
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.spamscore"]


def test_save_into_missing_directory_is_clean(model, tmp_path):
    with pytest.raises(OSError):
        model.save(tmp_path / "no" / "such" / "dir" / "m.spamscore")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# format 2: the mapped file (spamscore/model/format2.py)

from spamscore.model import format2  # noqa: E402
from spamscore.model.format2 import MappedFile, write_model  # noqa: E402

RAWS = [b"Subject: free money\r\n\r\nclick here to win cash prize\r\n",
        b"Subject: meeting notes\r\n\r\nthe agenda for the review\r\n",
        b"Subject: hello\r\n\r\nnothing in common\r\n"]


@pytest.fixture()
def mapped(model, tmp_path):
    path = tmp_path / "mapped.spamscore"
    model.save(path)
    return path


def _sections(path) -> dict[str, bytes]:
    mf = MappedFile(str(path))
    return {name: bytes(mf.mm[off:off + ln]) for name, (off, ln) in mf.sections.items()}


def _rewrite(path, sections: dict) -> None:
    with open(path, "wb") as fh:
        write_model(fh, sections)


def _json_changed(sections: dict, **changes) -> dict:
    h = json.loads(sections["json"])
    h.update(changes)
    return {**sections, "json": json.dumps(h).encode()}


def _scores_all(path):
    """Load and score (scores, explanations): a damaged file may fail only with a ModelFormatError."""
    m = Model.load(path)
    for raw in RAWS:
        m.score(raw)
        m.explain(m.features(raw))
    return m


def test_mapped_is_the_default_and_scores_like_the_npz(model, mapped, good):
    assert mapped.read_bytes()[:16] == format2.MAGIC
    a, b = Model.load(mapped), Model.load(good)
    for raw in RAWS:
        va, vb, vm = a.score(raw), b.score(raw), model.score(raw)
        assert (va.probability, va.score, va.clues) == (vb.probability, vb.score, vb.clues) == \
               (vm.probability, vm.score, vm.clues)


@pytest.mark.parametrize("keep", [0, 16, 40, 100, 0.3, 0.5, 0.9, -1])
def test_mapped_truncated(mapped, tmp_path, keep):
    data = mapped.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else (keep if keep >= 0 else len(data) - 1)
    bad = tmp_path / "truncated.spamscore"
    bad.write_bytes(data[:n])
    _refused(bad)


def test_mapped_extended_and_flipped_header_bytes(mapped, tmp_path):
    data = mapped.read_bytes()
    bad = tmp_path / "bad.spamscore"
    bad.write_bytes(data + b"\0" * 64)
    _refused(bad, match="header says")
    for at in (17, 21, 30, 45, 60, 70):  # version, byte order, sizes, the section table: caught by the checks or the CRC
        flipped = bytearray(data)
        flipped[at] ^= 0x40
        bad.write_bytes(bytes(flipped))
        with pytest.raises((ModelFormatError, ModelVersionError)):
            Model.load(bad)


def test_mapped_future_version_and_foreign_feature_version(mapped, tmp_path):
    import struct
    import zlib

    data = bytearray(mapped.read_bytes())
    header_size = struct.unpack_from("<I", data, 24)[0]
    struct.pack_into("<I", data, 16, 3)
    struct.pack_into("<I", data, header_size - 4, zlib.crc32(bytes(data[:header_size - 4])))
    bad = tmp_path / "future.spamscore"
    bad.write_bytes(bytes(data))
    assert "newer release" in str(_refused(bad, ModelVersionError))
    _rewrite(bad, _json_changed(_sections(mapped), feature_version="0"))
    _refused(bad, ModelVersionError, match="feature version")
    _rewrite(bad, _json_changed(_sections(mapped), format_version=1))
    _refused(bad, ModelVersionError)


@pytest.mark.parametrize("damage", ["json-not-json", "json-list", "no-magic", "no-n-clues", "negative-clues",
                                    "params", "missing-section", "wrong-length", "dense-full", "dense-count",
                                    "dense-rows", "dense-run", "dense-not-power-of-two", "bloom-size",
                                    "meta-flags", "odd-bytes"])
def test_mapped_damaged_sections_are_refused(mapped, tmp_path, damage):
    s = _sections(mapped)
    n = json.loads(s["json"])["n_clues"]
    dense = np.frombuffer(s["dense"], dtype="<i8").copy().reshape(-1, 4)
    if damage == "json-not-json":
        s["json"] = b"{not json"
    elif damage == "json-list":
        s["json"] = b"[1, 2]"
    elif damage == "no-magic":
        s = _json_changed(s, magic="other")
    elif damage == "no-n-clues":
        h = json.loads(s["json"])
        del h["n_clues"]
        s["json"] = json.dumps(h).encode()
    elif damage == "negative-clues":
        s = _json_changed(s, n_clues=-1)
    elif damage == "params":
        s = _json_changed(s, params={"s": "x"})
    elif damage == "missing-section":
        del s["cluelf"]
    elif damage == "wrong-length":
        s["cluel1"] = s["cluel1"][:-8]
    elif damage == "dense-full":      # no free slot: a probe would never end on a miss
        dense[:, 0] = 12345
    elif damage == "dense-count":
        dense[np.flatnonzero(dense[:, 0] == -1)[0], 0] = 7
    elif damage == "dense-rows":      # a row past the clue arrays
        dense[np.flatnonzero(dense[:, 0] != -1)[0], 1] = n + 5
    elif damage == "dense-run":       # every clue in one run of slots: each lookup in it probes that long
        occupied = dense[dense[:, 0] != -1].copy()
        dense[:] = 0
        dense[:, 0] = -1
        dense[:len(occupied)] = occupied
        s["dense"] = dense.tobytes()
        monkey = pytest.MonkeyPatch()
        assert len(occupied) >= 16
        monkey.setattr(format2, "MAX_PROBE_RUN", 16)  # (blocks of 4 slots: the real bound is too long for this model)
        try:
            bad = tmp_path / "bad.spamscore"
            _rewrite(bad, s)
            _refused(bad, match="probe run")
        finally:
            monkey.undo()
        return
    elif damage == "dense-not-power-of-two":
        dense = dense[: len(dense) - 1]
    elif damage == "bloom-size":
        s["bloom"] = s["bloom"][:-8]
    elif damage == "meta-flags":
        s["cluemeta"] = bytes([7]) * len(s["cluemeta"])
    elif damage == "odd-bytes":
        s["spam"] = s["spam"] + b"\0"
    if damage.startswith("dense"):
        s["dense"] = dense.tobytes()
    bad = tmp_path / "bad.spamscore"
    _rewrite(bad, s)
    _refused(bad)


def test_mapped_section_outside_the_file_is_refused(mapped, tmp_path):
    import struct
    import zlib

    data = bytearray(mapped.read_bytes())
    header_size = struct.unpack_from("<I", data, 24)[0]
    for field, value in ((8, len(data)), (8, 1 << 62), (16, 1 << 62), (8, 65)):  # offset past the end, huge, misaligned
        d = bytearray(data)
        struct.pack_into("<Q", d, 40 + 24 * 2 + field, value)  # the third section's offset / length
        struct.pack_into("<I", d, header_size - 4, zlib.crc32(bytes(d[:header_size - 4])))
        bad = tmp_path / "outside.spamscore"
        bad.write_bytes(bytes(d))
        _refused(bad, match="outside the file|whole|expected")


@pytest.mark.parametrize("damage", ["utf8", "offsets", "offsets-order", "vocab-utf8", "vocab-count",
                                    "vocab-dup", "negative-counts"])
def test_mapped_damage_read_later_is_a_model_error(mapped, tmp_path, damage):
    """What is only read when asked (clue strings, the vocabulary and counts): a ModelFormatError then."""
    s = _sections(mapped)
    off = np.frombuffer(s["clueoff"], dtype="<u8").copy()
    if damage == "utf8":
        s["cluestr"] = b"\xff" * len(s["cluestr"])
    elif damage == "offsets":
        off[1:] = 1 << 40
        s["clueoff"] = off.tobytes()
    elif damage == "offsets-order":
        off[1] = off[-1]
        s["clueoff"] = off.tobytes()
    elif damage == "vocab-utf8":
        s["vocab"] = b"\xff" + s["vocab"][1:]
    elif damage == "vocab-count":
        s["vocab"] = s["vocab"] + b"\nextra"
    elif damage == "vocab-dup":
        v = s["vocab"].split(b"\n")
        v[-1] = v[0]
        s["vocab"] = b"\n".join(v)
    elif damage == "negative-counts":
        s["spam"] = np.full(len(s["spam"]) // 4, -1, dtype="<i4").tobytes()
    bad = tmp_path / "bad.spamscore"
    _rewrite(bad, s)
    with pytest.raises(ModelFormatError) as info:
        m = _scores_all(bad)
        m.nb.clue_indices(["free", "money"])
        list(m.nb._get_scorer().tokens.tokens)
        m.nb.vocabulary_
        m.nb.spam_counts_
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_mapped_odd_but_loadable_values_never_crash_scoring(mapped, tmp_path):
    """Values a training run never writes (NaN, infinities) in the clue tables: scoring still returns."""
    s = _sections(mapped)
    dense = np.frombuffer(s["dense"], dtype="<i8").copy().reshape(-1, 4)
    vals = dense[:, 2:].view(np.float64)
    vals[dense[:, 0] != -1] = np.nan
    s["dense"] = dense.tobytes()
    for name in ("cluelf", "cluel1", "cluelo"):
        s[name] = np.full(len(s[name]) // 8, np.inf).tobytes()
    bad = tmp_path / "odd.spamscore"
    _rewrite(bad, s)
    m = _scores_all(bad)
    assert all(0.0 <= m.score(raw).probability <= 1.0 or math.isnan(m.score(raw).probability) for raw in RAWS)


def test_mapped_pickle_bytes_in_a_section_are_never_unpickled(mapped, tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    s = _sections(mapped)
    s["cluestr"] = pickle.dumps(Evil()) + s["cluestr"]
    s["vocab"] = pickle.dumps(Evil())
    bad = tmp_path / "evil.spamscore"
    _rewrite(bad, s)
    try:
        m = _scores_all(bad)
        m.nb.vocabulary_
    except ModelFormatError:
        pass
    assert not marker.exists()
