"""The one harness of the equivalence tests: a compiled helper against the Python code it replaces.

Every compiled helper (``spamscore/native/*.c``) sits beside the Python code it
replaces, which stays the reference: the module holds the helper in an
attribute named after it (``tokens._hdrscan``, ``urls._urlscan``,
``html._htmlscan``, ``message._mimescan`` ...), and when that attribute is
None the module runs its Python code.  A helper's test therefore runs one
function twice, with the attribute set and with it None (:func:`compare`),
and requires the same output with the same types all the way down
(:func:`assert_same`: ``True`` is not ``1``, a ``str`` subclass is not a
``str``, floats to the last bit).

The inputs (:func:`messages`), the same for every helper:

* a sample of the shared SpamAssassin corpus, every 20th of its 6,046
  messages (303): the folder ``$SPAMSCORE_CORPUS`` or ``/tmp/sa_corpus``
  when it holds messages, else the tarball ``../shared/corpora/spamassassin-public.tar.xz``
  (``$SPAMSCORE_CORPUS_TARBALL``), else none (a dev machine without the corpus);
* every ``tests/fixtures/**/*.eml``;
* every case of ``tests/hostile.py``'s generator up to 512 KB (the larger
  ones cost seconds each in the Python code and are run by test_hostile.py);
* :func:`mutated`: corpus messages and fixtures with their header block,
  multipart lines or Content-Type parameters mutated (seeded).

Why these: the corpus is real mail of every shape (the helpers were written
against it), the fixtures are today's mail (Japanese, DKIM, HTML campaigns),
the hostile cases are what an attacker sends, and the mutations reach the
parser's error paths that neither does.  The whole package, every helper off
against every helper on, in two processes: tests/test_native_equivalence.py
(on the same inputs).
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS_DIRS = [Path(p) for p in (os.environ.get("SPAMSCORE_CORPUS"), "/tmp/sa_corpus") if p]
TARBALL = Path(os.environ.get("SPAMSCORE_CORPUS_TARBALL",
                              REPO.parent / "shared" / "corpora" / "spamassassin-public.tar.xz"))
EVERY = 20  # every 20th corpus message: 303 of 6,046, a few seconds a helper
MAX_HOSTILE = 512 * 1024

__all__ = ["messages", "corpus_sample", "fixtures", "hostile", "mutated", "compare", "assert_same", "outcome",
           "off", "require", "TARBALL"]


# ---- the inputs -------------------------------------------------------------

def _corpus_dir() -> Path | None:
    for d in CORPUS_DIRS:
        if d.is_dir() and any(p.is_file() for p in d.rglob("*")):
            return d
    return None


@functools.lru_cache(maxsize=None)
def corpus_sample(every: int = EVERY) -> tuple[tuple[str, bytes], ...]:
    """``(name, raw)`` of every ``every``-th corpus message in name order; () without the corpus."""
    folder = _corpus_dir()
    if folder is not None:
        paths = sorted(p for p in folder.rglob("*") if p.is_file())[::every]
        return tuple(("corpus:" + str(p.relative_to(folder)), p.read_bytes()) for p in paths)
    if not TARBALL.is_file():
        return ()
    with tarfile.open(TARBALL, "r:xz") as tar:  # the names, then one more pass (no seeking back in xz)
        chosen = set(sorted(m.name for m in tar if m.isfile())[::every])
    out = []
    with tarfile.open(TARBALL, "r|xz") as tar:
        for m in tar:
            if m.name in chosen:
                out.append(("corpus:" + m.name.split("/", 1)[-1], tar.extractfile(m).read()))
    return tuple(sorted(out))


@functools.lru_cache(maxsize=None)
def fixtures() -> tuple[tuple[str, bytes], ...]:
    """``(name, raw)`` of every test fixture."""
    return tuple(("fixture:" + str(p.relative_to(HERE / "fixtures")), p.read_bytes())
                 for p in sorted((HERE / "fixtures").rglob("*.eml")))


@functools.lru_cache(maxsize=None)
def hostile(max_bytes: int = MAX_HOSTILE) -> tuple[tuple[str, bytes], ...]:
    """``(name, raw)`` of every hostile case up to ``max_bytes``."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import hostile as cases

    out = []
    for name in cases.CASE_NAMES:
        if name in cases.HUGE:
            continue
        raw = cases.make_case(name)
        if len(raw) <= max_bytes:
            out.append(("hostile:" + name, raw))
    return tuple(out)


def messages(corpus: bool = True, hostile_cases: bool = True) -> list[tuple[str, bytes]]:
    """The corpus sample, the fixtures and the hostile cases, in that order."""
    return [*(corpus_sample() if corpus else ()), *fixtures(), *(hostile() if hostile_cases else ())]


_INSERTS = [b"\n", b"\r\n", b"\r", b"From x\n", b": bad\n", b" cont\n", b"\tcont\r\n", b"garbage line\n",
            b"X-A:\x01\x02\x1b[31m\x7f\n", b"X-B: =?utf-8?q?caf=C3=A9?= x\n", b"X-C: \xe9t\xe9\n",
            b"Subject: =?utf-8?b?w6k=?=\r\n", b"X-" + b"n" * 199 + b": v\n", b"X-" + b"n" * 200 + b": v\n",
            b"Content-Type: text/plain; charset=shift_jis\n", b"X-D \t: spaced\n", b"X-E:\n",
            b"Content-Transfer-Encoding: base64\n", b"Content-Disposition: attachment; filename=a.exe\n",
            b"X-F: a\x00b\n", b"X-G: =?\n", b"X-H: \xff\xfe=?x?q?y?=\n", b"X-I: v\r\r\n", b"\x80: v\n"]
_BODY_LINES = [b"\n", b"\r\n", b"From x\n", b": bad\n", b" cont\n", b"garbage line\n", b"Content-Type: message/rfc822\n",
               b"Content-Type: multipart/digest; boundary=x\n", b"--x\n", b"--x--\n",
               b"Content-Type: message/delivery-status\n", b"BOUNDARY Boundary\n", b"\r--\r\n"]
_PARAM_EDITS = [b"; charset=\"utf-8\"", b"; CHARSET = iso-8859-1 ", b";charset=\xe9", b"; name=\"a.exe\"",
                b"; name*=utf-8''caf%C3%A9", b"; name=\"=?utf-8?q?a=C3=A9?=.txt\"", b";;", b"; x=\"a;b\"",
                b"; boundary=\"" + b"q" * 301, b"\x1c", b" \x0b", b"; charset=\"" + b"c" * 300 + b"\"", b"\\",
                b"; boundary*0=z", b"; BOUNDARY=<zz>", b"; filename=\"\"", b"\xc3\xa9"]
_DISPOSITIONS = [b"Content-Disposition: attachment\n", b"Content-Disposition: ATTACHMENT; FileName=B.TXT\n",
                 b"Content-Disposition: inline; filename=\"=?utf-8?q?caf=C3=A9?=\"\n",
                 b"Content-Disposition: attachment; filename=\xe9.exe\n", b"Content-Disposition:  \tattachmen\n"]


def _mutate_head(raw: bytes, rng: random.Random) -> bytes:
    """Header-block lines dropped, inserted (CR/LF mixes, NULs, 8-bit bytes, encoded words, long names), cut."""
    head_end = raw.find(b"\n\n")
    head_end = len(raw) if head_end == -1 else head_end + 1
    lines = raw[:head_end].splitlines(keepends=True)
    body = raw[head_end:]
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(lines) + 1)
        op = rng.randrange(10)
        if op == 0 and lines:
            del lines[min(i, len(lines) - 1)]
        elif op in (1, 2):
            lines.insert(i, rng.choice(_INSERTS))
        elif op == 3 and lines:
            j = min(i, len(lines) - 1)
            lines[j] = lines[j].rstrip(b"\r\n") + rng.choice([b"\r\n", b"\r", b"\n", b""])
        elif op == 4 and lines:
            j = min(i, len(lines) - 1)
            k = rng.randrange(len(lines[j]) + 1)
            lines[j] = lines[j][:k] + bytes([rng.choice([0, 1, 9, 10, 13, 27, 32, 58, 61, 63, 127, 128, 255])]) \
                + lines[j][k:]
        elif op == 5:
            lines = [ln.replace(b"\n", b"\r\n") for ln in lines]
        elif op == 6:
            lines.insert(0, b"From someone@example.com Mon Jan 1 00:00:00 2001\n")
        elif op == 7:
            lines.insert(0, b" leading continuation\n")
        elif op == 8:
            body = rng.choice([b"\r\n", b"\n", b"", b"\r\n\r\nbody\r\n"]) + body
        else:
            lines.insert(i, b"X-Many: %d\n" % i * rng.randint(1, 3))
    return b"".join(lines) + body


def _mutate_lines(raw: bytes, rng: random.Random) -> bytes:
    """Lines anywhere dropped, duplicated, cut, CR/LF changed, boundary delimiters moved or dropped."""
    lines = raw.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        op = rng.randrange(8)
        dash = [j for j, ln in enumerate(lines) if ln.startswith(b"--")]
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            lines[i] = lines[i].rstrip(b"\r\n") + rng.choice([b"\r\n", b"\r"])
        elif op == 3:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif op == 4 and dash:
            lines.insert(rng.randrange(len(lines) + 1), lines[rng.choice(dash)])
        elif op == 5 and dash:
            del lines[rng.choice(dash)]
        elif op == 6:
            lines.insert(i, rng.choice(_BODY_LINES))
        else:
            lines[i] = lines[i].replace(b"\n", b"\r\n")
    return b"".join(lines)


def _mutate_params(raw: bytes, rng: random.Random) -> bytes:
    """Content-Type / -Disposition values changed: parameters added, cut, re-cased, quoted; 8-bit bytes."""
    lines = raw.splitlines(keepends=True)
    at = [i for i, ln in enumerate(lines) if ln[:13].lower() in (b"content-type:", b"content-dispo")]
    for _ in range(rng.randint(1, 4)):
        if not at:
            break
        i = rng.choice(at)
        body = lines[i].rstrip(b"\r\n")
        end = lines[i][len(body):]
        op = rng.randrange(6)
        if op == 0:
            body += rng.choice(_PARAM_EDITS)
        elif op == 1:
            k = rng.randrange(len(body) + 1)
            body = body[:k] + rng.choice(_PARAM_EDITS) + body[k:]
        elif op == 2:
            body = body.swapcase() if rng.random() < 0.5 else body.upper()
        elif op == 3:
            body = body[: rng.randrange(len(body) + 1)]
        elif op == 4:
            body = body.replace(b"\"", b"") if b"\"" in body else body.replace(b"=", b"=\"", 1) + b"\""
        else:
            lines.insert(i + 1, rng.choice(_DISPOSITIONS))
        lines[i] = body + end
    return b"".join(lines)


def mutated(n: int = 300, seed: int = 7) -> Iterator[tuple[str, bytes]]:
    """``n`` mutated corpus messages and fixtures: a third each header block, lines, Content-Type parameters."""
    base = [m for m in (*corpus_sample(), *fixtures())]
    rng = random.Random(seed)
    for k in range(n):
        name, raw = rng.choice(base)
        fn = (_mutate_head, _mutate_lines, _mutate_params)[k % 3]
        yield f"mutated#{k}:{name}", fn(raw, rng)


# ---- the comparison ---------------------------------------------------------

def require(module, attr: str):
    """The compiled helper ``module.<attr>``, or skip (with spamscore._native's reason) when it is not in use."""
    helper = getattr(module, attr)
    if helper is None:
        from spamscore import _native

        _native.load(attr)
        pytest.skip(f"spamscore.{attr} {_native.STATUS.get(attr, 'off')}")
    return helper


@contextlib.contextmanager
def off(*switches: tuple[object, str]):
    """Each ``(module, "_helper")`` set to None (the module's Python reference runs), restored after."""
    saved = [(mod, attr, getattr(mod, attr)) for mod, attr in switches]
    try:
        for mod, attr, _ in saved:
            setattr(mod, attr, None)
        yield
    finally:
        for mod, attr, value in saved:
            setattr(mod, attr, value)


def outcome(fn: Callable[[], object]) -> object:
    """What ``fn()`` returns, or ``("raised", the exception's type name)``: either way must do the same."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - the same exception both ways is the same behaviour
        return ("raised", type(e).__name__)


def _typed(x: object) -> object:
    """``x`` with the exact type of every value in it (floats as float.hex), to compare with ==."""
    t = type(x)
    if t in (list, tuple):
        return (t.__name__, [_typed(v) for v in x])
    if t in (set, frozenset):
        return (t.__name__, sorted((_typed(v) for v in x), key=repr))
    if t is dict:
        return ("dict", [(_typed(k), _typed(v)) for k, v in x.items()])
    if t is float:
        return ("float", x.hex())
    if x is None or t in (str, bytes, int, bool, complex):
        return (t.__name__, x)
    slots = getattr(t, "__slots__", None)
    if slots:
        return (t.__qualname__, [(s, _typed(getattr(x, s))) for s in slots])
    if hasattr(x, "__dict__"):
        return (t.__qualname__, _typed(dict(vars(x))))
    return (t.__qualname__, x)  # numpy scalars and the like: their own ==


def assert_same(compiled: object, reference: object, label: str = "") -> None:
    """The same value with the same types all the way down."""
    if compiled == reference and _typed(compiled) == _typed(reference):
        return
    raise AssertionError(f"{label}: compiled {repr(compiled)[:600]}\n  reference {repr(reference)[:600]}")


def compare(fn: Callable[[], object], *switches: tuple[object, str], label: str = "",
            before: Callable[[], None] | None = None) -> object:
    """``fn()`` with the helpers of ``switches`` in use and with them off: assert the same; return the value.

    ``before`` runs ahead of each side (to empty caches both sides share,
    so that each computes every value itself)."""
    if before is not None:
        before()
    compiled = outcome(fn)
    if before is not None:
        before()
    with off(*switches):
        reference = outcome(fn)
    assert_same(compiled, reference, label)
    return compiled
