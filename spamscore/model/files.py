"""Saving and loading a model file: format 2 (mapped, the default) and format 1 (the ``.npz``).

Format 2 (:mod:`spamscore.model.format2`) is one file mapped read-only and
used in place: the scorer's tables as they are in memory, computed here from
the counts exactly as :meth:`TokenNB.tables <spamscore.model.nb.TokenNB.tables>`
computes them, then the vocabulary and counts; :mod:`spamscore.model.mapped`
loads it.  Format 1, a NumPy ``.npz`` archive of plain arrays and a JSON
header (:mod:`spamscore.model.header`) read with ``allow_pickle=False``, still
loads, and ``spamscore convert`` writes it when asked.  Loading a model never
executes code.  Writing is atomic (temporary file, then rename).
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile

import numpy as np

from .. import _native
from ..errors import ModelError, ModelFormatError
from .format2 import is_mapped_file, write_model
from .header import (FORMAT_VERSION, MAPPED_ONLY, NPZ_FORMAT_VERSION, check_header, decode_vocab, encode_vocab,
                     file_header, nb_from_header)
from .index import dense_table, dense_table_reference
from .mapped import load_mapped
from .nb import TokenNB, check_is_fitted
from .stats import clue_tables

__all__ = ["save_model_file", "load_model_file", "MAX_MODEL_BYTES"]


def _npz_bytes(nb: TokenNB, meta: dict) -> bytes:
    """Format 1: the .npz archive (``spamscore convert`` reads it; written only when asked for)."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        header=np.frombuffer(json.dumps({k: v for k, v in file_header(nb, meta, NPZ_FORMAT_VERSION).items()
                                         if k not in MAPPED_ONLY}, sort_keys=True).encode(), dtype=np.uint8),
        vocabulary=encode_vocab(nb.token_list()),
        spam_counts=nb.spam_counts_.astype(np.int32),
        ham_counts=nb.ham_counts_.astype(np.int32),
        **_optional_arrays(nb),
    )
    return buf.getvalue()


def _mapped_sections(nb: TokenNB, meta: dict) -> dict:
    """The sections of a format 2 file (:mod:`spamscore.model.format2`): the scorer's tables computed
    from the counts exactly as :meth:`TokenNB.tables` computes them, then the counts.

    Large sections are functions that :func:`write_model` calls when it writes them, so that one is held
    at a time; the clue strings are cut from the encoded vocabulary (no bytes object per clue)."""
    from ..scoring import META_PREFIXES, meta_mask  # (scoring imports this package: imported when used)

    f = nb.token_probabilities()
    strong = np.flatnonzero(nb.strong_mask(f))
    log_f, log_1mf, log_odds = clue_tables(f[strong])
    del f
    tokens = nb.token_list()
    header = file_header(nb, meta, FORMAT_VERSION)
    header.update(n_clues=len(strong), n_tokens=len(tokens), meta_prefixes=sorted(META_PREFIXES))
    held: dict = {}

    def dense():
        tables = dense_table(tokens, log_f, log_1mf, strong)
        if tables is None:  # no compiled helpers: the reference hash and build (slow, same bits)
            tables = dense_table_reference([_native.token_hash(tokens[i]) for i in strong.tolist()], log_f, log_1mf)
        held["bloom"] = tables[1]
        return tables[0]

    def vocab() -> np.ndarray:
        if "vocab" not in held:
            held["vocab"] = encode_vocab(tokens)
        return held["vocab"]

    def clue_strings() -> tuple[np.ndarray, np.ndarray]:
        # Each token's UTF-8 is its slice of the '\n'-joined encoding (a token holds no '\n'), so the clue
        # strings are those slices, in row order: one boolean mask over the bytes, no bytes object each.
        data = vocab()
        if not len(tokens):
            lengths = np.zeros(0, dtype=np.int64)
        else:
            seps = np.flatnonzero(data == 10)
            ends = np.append(seps, len(data))
            lengths = ends - np.concatenate(([0], seps + 1))
        off = np.zeros(len(strong) + 1, dtype=np.uint64)
        np.cumsum(lengths[strong], out=off[1:])
        keep = np.zeros(len(tokens), dtype=bool)
        keep[strong] = True
        text = data[data != 10] if len(data) else data
        return off, text[np.repeat(keep, lengths)]

    def clueoff():
        off, held["cluestr"] = clue_strings()
        return off

    sections = {
        "json": json.dumps(header, sort_keys=True).encode(),
        "dense": dense, "bloom": lambda: held.pop("bloom"),
        "clueoff": clueoff, "cluestr": lambda: held.pop("cluestr"), "cluerow": strong.astype(np.int64),
        "cluelf": log_f, "cluel1": log_1mf, "cluelo": log_odds,
        "cluemeta": lambda: meta_mask(tokens, strong).astype(np.uint8),
        "vocab": lambda: held.pop("vocab"),   # encoded for the clue strings above, written here, then let go
        "spam": lambda: nb.spam_counts_.astype(np.int32), "ham": lambda: nb.ham_counts_.astype(np.int32),
    }
    digests = getattr(nb, "learned_digests_", None)
    if digests is not None:
        sections["digests"] = np.asarray(digests, dtype=np.uint64)
    return sections


def save_model_file(path: str | os.PathLike, nb: TokenNB, meta: dict, format_version: int = FORMAT_VERSION) -> int:
    """Write ``nb`` and ``meta`` to ``path`` atomically (format 2, or the .npz of format 1 when
    asked); returns the size in bytes."""
    check_is_fitted(nb, "vocabulary_")
    if format_version == FORMAT_VERSION:
        sections = _mapped_sections(nb, meta)
        return _atomic_write(path, lambda fh: write_model(fh, sections))
    if format_version != NPZ_FORMAT_VERSION:
        raise ValueError(f"expected model format version {NPZ_FORMAT_VERSION} or {FORMAT_VERSION}, got {format_version!r}")
    data = _npz_bytes(nb, meta)
    return _atomic_write(path, lambda fh: fh.write(data))


def _atomic_write(path: str | os.PathLike, write) -> int:
    """``write(fh)`` into a temporary file beside ``path``, fsync, then rename over it; returns its result."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".spamscore-", suffix=".tmp", dir=folder)
    try:
        try:  # keep an existing model's mode; else the usual umask-based one
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            size = write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return size


_EXPECTED = {"header", "vocabulary", "spam_counts", "ham_counts"}
# Optional arrays (additive, format version unchanged): ``learned_digests``,
# the sorted uint64 digests of messages taught with ``spamscore learn``
# (see spamscore/learn.py), kept on the estimator as ``learned_digests_``.
_OPTIONAL = {"learned_digests"}


def _optional_arrays(nb: TokenNB) -> dict:
    digests = getattr(nb, "learned_digests_", None)
    return {} if digests is None else {"learned_digests": np.asarray(digests, dtype=np.uint64)}


# Uncompressed size a model file may have (the SpamAssassin-trained model is
# a few MB; 1 GiB leaves room for tens of millions of tokens).
MAX_MODEL_BYTES = 1 << 30


def load_model_file(path: str | os.PathLike, feature_version: str) -> tuple[TokenNB, dict]:
    """Read a model file written by :func:`save_model_file`; never executes code."""
    path = os.fspath(path)
    try:
        # np.load returns a bare array for an .npy file (then `with` raised
        # TypeError): insist on a zip archive first.
        with open(path, "rb") as fh:
            head = fh.read(16)
        if is_mapped_file(head):
            return load_mapped(path, feature_version)
        if head[:4] != b"PK\x03\x04":
            raise ModelFormatError(f"{path}: not a spamscore model (neither format 2 nor a zip archive)")
        # A zip bomb (a few KB inflating to gigabytes) is refused before
        # anything is inflated; zipfile never yields more than file_size bytes.
        with zipfile.ZipFile(path) as zf:
            inflated = sum(info.file_size for info in zf.infolist())
        if inflated > MAX_MODEL_BYTES:
            raise ModelFormatError(f"{path}: model file too large ({inflated} bytes uncompressed, "
                                   f"at most {MAX_MODEL_BYTES})")
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if not _EXPECTED <= names <= _EXPECTED | _OPTIONAL:
                raise ModelFormatError(f"{path}: not a spamscore model (expected arrays {sorted(_EXPECTED)}, got {sorted(names)[:6]})")
            arrays = {name: npz[name] for name in names}
    except FileNotFoundError:
        raise ModelError(f"{path}: model file not found") from None
    except IsADirectoryError:
        raise ModelError(f"{path}: is a directory, expected a model file") from None
    except ModelError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ModelFormatError(f"{path}: not a readable spamscore model ({exc.__class__.__name__}: {exc})") from None
    except MemoryError:  # an .npy header may declare any shape (np.load allocates it first)
        raise ModelFormatError(f"{path}: not a readable spamscore model (an array declares an impossible size)") from None
    for name in _EXPECTED - {"header"}:
        if arrays[name].ndim != 1:
            raise ModelFormatError(f"{path}: array {name} has the wrong shape")
    if arrays["header"].dtype != np.uint8 or arrays["vocabulary"].dtype != np.uint8:
        raise ModelFormatError(f"{path}: header or vocabulary has the wrong type")
    try:
        header = json.loads(arrays["header"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path}: damaged model header ({exc})") from None
    check_header(path, header, feature_version, NPZ_FORMAT_VERSION)
    try:
        vocab = decode_vocab(arrays["vocabulary"])
    except UnicodeDecodeError:
        raise ModelFormatError(f"{path}: damaged vocabulary") from None
    spam, ham = arrays["spam_counts"], arrays["ham_counts"]
    if not (len(vocab) == len(spam) == len(ham)) or spam.dtype.kind != "i" or ham.dtype.kind != "i":
        raise ModelFormatError(f"{path}: vocabulary and counts disagree ({len(vocab)} tokens, {len(spam)}/{len(ham)} counts)")
    try:
        nb = nb_from_header(header, TokenNB)
        # Duplicates, without building the vocabulary dict (see TokenNB.vocabulary_):
        # equal tokens have equal hashes (computed once, kept by each str for the
        # scorer's HashIndex); equal hashes of different tokens are checked exactly.
        h = np.fromiter(map(hash, vocab), dtype=np.int64, count=len(vocab))
        hs = np.sort(h)
        if len(hs) > 1 and (hs[1:] == hs[:-1]).any() and len(set(vocab)) != len(vocab):
            raise ModelFormatError(f"{path}: duplicate tokens in vocabulary")
        nb.adopt_tokens(vocab, h)  # h: for the scorer's HashIndex (TokenNB.__getstate__ drops it)
        nb.spam_counts_ = spam.astype(np.int64)
        nb.ham_counts_ = ham.astype(np.int64)
        nb.n_spam_ = int(header["n_spam"])
        nb.n_ham_ = int(header["n_ham"])
        nb.classes_ = np.array([0, 1])
        if "learned_digests" in arrays:
            digests = arrays["learned_digests"]
            if digests.ndim != 1 or digests.dtype != np.uint64:
                raise ModelFormatError(f"{path}: array learned_digests has the wrong shape or type")
            nb.learned_digests_ = digests
        # counts and parameters that no training run writes
        if (nb.n_spam_ < 0 or nb.n_ham_ < 0 or (len(spam) and (spam.min() < 0 or ham.min() < 0))
                or not all(math.isfinite(v) for v in (nb.s, nb.x, nb.min_dev))):
            raise ModelFormatError(f"{path}: damaged model (negative counts or non-finite parameters)")
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFormatError(f"{path}: damaged model header ({exc.__class__.__name__}: {exc})") from None
    return nb, header
