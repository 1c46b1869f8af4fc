"""Model file format 2, the container: one file that is mapped (``mmap``) and used in place, never unpacked.

Format 1 (a NumPy ``.npz`` of the vocabulary and counts, still read by
:func:`spamscore.model.load_model_file`) made every process inflate the
archive and rebuild the clue tables at start: 0.1-0.2 s of CPU and ~50 MB
per process for the default model, more than a second for a TREC-sized
one.  Format 2 stores the tables the scorer uses, as they are in memory,
so loading is a few ``np.frombuffer`` views of a read-only mapping: no
decompression, no per-token Python object, nothing executed, and N
processes share one copy in the page cache.

Layout (every integer and float little-endian)::

    fixed header   magic (16 bytes), format version (u32), byte-order mark (u32 0x01020304),
                   header size (u32), section count (u32), file size (u64)
    section table  per section: name (8 bytes, NUL-padded), offset (u64), length (u64)
    CRC-32         of every header byte before it (u32)
    sections       each at a 64-byte-aligned offset:
      json      the metadata (what format 1 kept in its header array: feature version, profile,
                calibration, cut-offs, TokenNB parameters, priors, counts of messages:
                :mod:`spamscore.model.header`)
      dense     the clue table exactly as :func:`spamscore.model.dense_table` builds it: per entry
                token hash, clue row, ln f, ln(1-f) (int64, int64, float64, float64), at most half full
      bloom     its Bloom filter (2**21 bits)
      clueoff   clue string offsets (u64, n_clues + 1) into
      cluestr   the clue tokens' UTF-8 (explanations, the pure-Python path)
      cluerow   each clue's vocabulary row (i8)
      cluelf, cluel1, cluelo   ln f, ln(1-f), ln(f/(1-f)) per clue (f8): the values the dense
                table holds, in clue order (capping, explanations, the pure path)
      cluemeta  is_meta of each clue (u8; scoring.META_PREFIXES is in the JSON to tell stale flags)
      vocab     the whole vocabulary, '\\n'-joined UTF-8, and
      spam, ham its document counts (i4): only read when something asks (learn, train --continue,
                evaluation, TokenNB attributes)
      digests   optional: messages taught with ``spamscore learn`` (u8)

Every offset and length is checked against the file's size, and every
section's length against what the JSON header says it must be, before any
array is made; the dense table's occupied slots, rows and longest probe run
are checked at load (what could make a lookup read out of range or probe
for long).  What is not checked at load (a clue string that is not UTF-8,
counts that disagree with the vocabulary) is checked when first read, and is
then a :class:`~spamscore.errors.ModelFormatError` too.  A file is only ever
replaced by rename (never rewritten in place), so a mapping never sees it
change.  What the sections are computed from, and the estimator that scores
with them in place: :mod:`spamscore.model.files`, :mod:`spamscore.model.mapped`.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import sys
import zlib

import numpy as np

from ..errors import ModelError, ModelFormatError, ModelVersionError

__all__ = ["MAGIC", "FORMAT_VERSION", "MAX_PROBE_RUN", "is_mapped_file", "write_model", "MappedFile", "read_header",
           "check_dense"]

MAGIC = b"SPAMSCORE-MODEL\n"
FORMAT_VERSION = 2
_BOM = 0x01020304
_FIXED = struct.Struct("<16sIIIIQ")
_SECTION = struct.Struct("<8sQQ")
_CRC = struct.Struct("<I")
ALIGN = 64
MAX_SECTIONS = 64
_MAX_JSON = 64 << 20
BLOOM_WORDS = (1 << 21) // 64
# Longest run of occupied slots the dense table may have (checked to within a
# factor of 4: no aligned block of MAX_PROBE_RUN / 4 slots may be full).  Linear
# probing at a load factor of 1/2 with SipHash keys gives runs of a few dozen:
# measured 29 on the default model's 205,903 clues (2**19 slots); a run of
# hundreds only comes from a crafted file, and would make every lookup that
# lands in it probe that long.
MAX_PROBE_RUN = 4096

# section name -> numpy dtype (all little-endian)
_DTYPES = {
    "json": "u1", "dense": "<i8", "bloom": "<u8", "clueoff": "<u8", "cluestr": "u1", "cluerow": "<i8",
    "cluelf": "<f8", "cluel1": "<f8", "cluelo": "<f8", "cluemeta": "u1", "vocab": "u1",
    "spam": "<i4", "ham": "<i4", "digests": "<u8",
}
_REQUIRED = tuple(k for k in _DTYPES if k != "digests")


def is_mapped_file(head: bytes) -> bool:
    """Whether a file's first bytes are format 2's magic."""
    return head[:len(MAGIC)] == MAGIC


def _pad(n: int) -> int:
    return (-n) % ALIGN


def write_model(fh, sections: dict) -> int:
    """Write ``sections`` (name -> bytes, an array, or a function that returns one, in order) to the binary
    file ``fh`` (seekable); returns the size.

    A function is called only when its section is written, and its result dropped right after, so that a
    writer holds one large section at a time (training a 37,709-message model: the writer's peak went from
    all sections at once, ~200 MB, to the largest one); the section table is written last, over the space
    kept for it at the start.  The bytes are the same as when every section is given at once.
    """
    names = list(sections)
    header_size = _FIXED.size + _SECTION.size * len(names) + _CRC.size
    start = fh.tell()
    fh.write(bytes(header_size + _pad(header_size)))
    offset = header_size + _pad(header_size)
    table = []
    for i, name in enumerate(names):
        v = sections[name]
        if callable(v):
            v = v()
        if isinstance(v, np.ndarray):
            v = np.ascontiguousarray(v, dtype=np.dtype(_DTYPES[name]))
        blob = memoryview(v).cast("B")
        table.append((name, offset, len(blob)))
        fh.write(blob)
        offset += len(blob)
        if i != len(names) - 1:
            fh.write(bytes(_pad(len(blob))))
            offset += _pad(len(blob))
        del v, blob
    total = table[-1][1] + table[-1][2] if table else header_size
    head = _FIXED.pack(MAGIC, FORMAT_VERSION, _BOM, header_size, len(names), total)
    head += b"".join(_SECTION.pack(n.encode("ascii"), o, ln) for n, o, ln in table)
    head += _CRC.pack(zlib.crc32(head))
    end = fh.tell()
    fh.seek(start)
    fh.write(head)
    fh.seek(end)
    return total


class MappedFile:
    """A format 2 file, mapped read-only; :meth:`array` gives a checked view of a section.

    The mapping stays open as long as an array made from it lives (numpy
    keeps the buffer's owner); nothing is read before it is asked for.
    """

    def __init__(self, path: str):
        self.path = path
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise ModelError(f"{path}: model file not found") from None
        except IsADirectoryError:
            raise ModelError(f"{path}: is a directory, expected a model file") from None
        except OSError as exc:
            raise ModelFormatError(f"{path}: not a readable spamscore model ({exc.__class__.__name__}: {exc})") from None
        try:
            size = os.fstat(fd).st_size
            if size < _FIXED.size + _CRC.size:
                raise self.bad(f"truncated ({size} bytes, shorter than the header)")
            try:
                self.mm = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as exc:
                raise self.bad(f"cannot be mapped ({exc})") from None
        finally:
            os.close(fd)
        self.size = size
        self.sections = self._parse_header()

    def bad(self, what: str) -> ModelFormatError:
        return ModelFormatError(f"{self.path}: damaged model ({what})")

    def _parse_header(self) -> dict[str, tuple[int, int]]:
        mm, size = self.mm, self.size
        magic, version, bom, header_size, count, declared = _FIXED.unpack_from(mm, 0)
        if magic != MAGIC:
            raise ModelFormatError(f"{self.path}: not a spamscore model (no magic)")
        if version != FORMAT_VERSION:
            raise ModelVersionError(
                f"{self.path}: model format version {version}, this spamscore reads versions 1 and {FORMAT_VERSION}"
                + (" (the model is from a newer release: upgrade spamscore)" if version > FORMAT_VERSION else ""))
        if bom != _BOM:
            raise self.bad(f"byte-order mark {bom:#010x}, expected {_BOM:#010x}")
        if count > MAX_SECTIONS or header_size != _FIXED.size + _SECTION.size * count + _CRC.size:
            raise self.bad(f"header of {header_size} bytes for {count} sections")
        if header_size > size:
            raise self.bad(f"truncated ({size} bytes, the header alone is {header_size})")
        if declared != size:
            raise self.bad(f"truncated or extended: {size} bytes, the header says {declared}")
        (crc,) = _CRC.unpack_from(mm, header_size - _CRC.size)
        if zlib.crc32(mm[:header_size - _CRC.size]) != crc:
            raise self.bad("header checksum mismatch")
        sections = {}
        for i in range(count):
            raw, off, ln = _SECTION.unpack_from(mm, _FIXED.size + i * _SECTION.size)
            name = raw.rstrip(b"\0").decode("ascii", "replace")
            if name not in _DTYPES or name in sections:
                raise self.bad(f"unknown or repeated section {name!r}")
            if off % ALIGN or off < header_size or ln > size or off > size - ln:
                raise self.bad(f"section {name} at {off} of {ln} bytes, outside the file's {size}")
            if ln % np.dtype(_DTYPES[name]).itemsize:
                raise self.bad(f"section {name} of {ln} bytes is not whole {_DTYPES[name]} items")
            sections[name] = (off, ln)
        missing = [n for n in _REQUIRED if n not in sections]
        if missing:
            raise self.bad(f"missing sections {missing}")
        return sections

    def has(self, name: str) -> bool:
        return name in self.sections

    def array(self, name: str, count: int | None = None) -> np.ndarray:
        """The section as a read-only array (native byte order), of ``count`` items when given."""
        off, ln = self.sections[name]
        dt = np.dtype(_DTYPES[name])
        n = ln // dt.itemsize
        if count is not None and n != count:
            raise self.bad(f"section {name} holds {n} items, expected {count}")
        arr = np.frombuffer(self.mm, dtype=dt, count=n, offset=off)
        if sys.byteorder != "little" and dt.byteorder == "<":  # pragma: no cover - a big-endian host
            arr = arr.astype(dt.newbyteorder("="))
        return arr

    def header(self) -> dict:
        off, ln = self.sections["json"]
        if ln > _MAX_JSON:
            raise self.bad(f"JSON metadata of {ln} bytes")
        try:
            header = json.loads(self.mm[off:off + ln].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ModelFormatError(f"{self.path}: damaged model header ({exc.__class__.__name__}: {exc})") from None
        if not isinstance(header, dict):
            raise ModelFormatError(f"{self.path}: damaged model header (not a JSON object)")
        return header


def read_header(path) -> dict:
    """The JSON metadata of a model file of either format, read alone (nothing else inflated or mapped
    beyond the header), never executing code: what ``spamscore --version`` prints."""
    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.read(len(MAGIC))
    if is_mapped_file(head):
        return MappedFile(path).header()
    import zipfile

    with zipfile.ZipFile(path) as zf, zf.open("header.npy") as fh:
        header = json.loads(np.lib.format.read_array(fh, allow_pickle=False).tobytes().decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    return header


def check_dense(mf: MappedFile, dense: np.ndarray, n_clues: int) -> None:
    """The dense table's safety checks: ``n_clues`` occupied slots (a free one ends every probe),
    rows in range (what the lookup returns indexes the clue arrays) and no long probe run.

    Two strided passes over the table and one over a flag per slot, no copy of
    it (~5 ms for the default model's 16 MB, ~35 ms for 1.2 million clues' 128 MB).
    """
    size = len(dense) // 4
    if size < 16 or size & (size - 1) or len(dense) != 4 * size or n_clues > size // 2:
        raise mf.bad(f"dense table of {len(dense) // 4} entries for {n_clues} clues")
    t = dense.reshape(size, 4)
    occupied = t[:, 0] != -1
    if int(np.count_nonzero(occupied)) != n_clues:
        raise mf.bad(f"dense table holds {int(np.count_nonzero(occupied))} entries, expected {n_clues}")
    # (a free slot's row is 0, as build_dense leaves it: every row, as unsigned, below n_clues)
    if not (t[:, 1].view(np.uint64) < max(n_clues, 1)).all():
        raise mf.bad("dense table rows out of range")
    # A run of at least 2*B - 1 occupied slots covers a whole aligned block of B, so with no block
    # full every run (one wrapping round the end: two) is shorter than 4*B.
    block = 1 << max(0, (MAX_PROBE_RUN // 4).bit_length() - 1)  # (a power of two: it divides the size)
    if size >= block and occupied.reshape(-1, block).all(axis=1).any():
        raise mf.bad(f"dense table has a probe run of {block} slots or more")
