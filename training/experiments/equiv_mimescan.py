"""spamscore.message.parse with the compiled header split (spamscore._mimescan) against the Python reference.

Usage: python training/experiments/equiv_mimescan.py [--rev REV] [--mutations N] [--bench PASSES]

Three parsers, compared field for field on every input (headers, text, html,
parts, attachments, defects in order, size, truncated, subject):

* ``fast``: spamscore.message.parse as it is (the C module when built);
* ``ref``: the same module with ``message._mimescan = None`` (the Python
  reference kept beside the C call);
* ``old``: spamscore/message.py as committed at REV (default HEAD), loaded
  under another name: the code before this change.

Inputs: all 6,046 corpus messages, every tests/fixtures/**/*.eml, every
tests/hostile.py case up to 5 MB, and N (default 4,000) mutated corpus
messages: half aimed at the header block (CR/LF mixes, lone CRs, NULs,
8-bit bytes, encoded words, control characters, continuation and garbage
lines, long names, mbox "From " lines), a quarter multiparts with lines
dropped, duplicated, cut, CR/LF changed and delimiters moved, a quarter
multiparts with their parts' Content-Type/-Disposition values changed
(parameters added, cut, re-cased, quoted; 8-bit bytes, odd white space:
what round 2's leaf_info, charset_hint and boundary read); each is also
parsed with small limits.  Round 2 (leaf values, boundaries, base64 in
C/translate) compares against --rev e61c7d7; round 3 (split_mime: the
multipart splitter in C) against --rev 2cb850c.
Prints the number of inputs that differ (must be 0) and the first few
differences.  ``--bench P`` also times parse on the test half, alternating
fast and ref, P passes each (CPU time, medians).
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INDEX = "/work/shared/corpora/spamassassin-public.tsv"
ROOT = "/tmp/sa_corpus"

sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))
from spamscore import message  # noqa: E402

FIELDS = ("headers", "text", "html", "parts", "attachments", "defects", "size", "truncated", "subject")


def load_old(rev: str):
    src = subprocess.run(["git", "-C", REPO, "show", f"{rev}:spamscore/message.py"],
                         check=True, capture_output=True).stdout
    path = os.path.join(tempfile.mkdtemp(prefix="oldmsg-"), "old_message_mimescan.py")
    with open(path, "wb") as f:
        f.write(src)
    spec = importlib.util.spec_from_file_location("old_message_mimescan", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["old_message_mimescan"] = mod
    spec.loader.exec_module(mod)
    return mod


def snapshot(pm):
    out = []
    for f in FIELDS:
        v = getattr(pm, f)
        if f == "attachments":
            v = [(a.name, a.content_type, a.size) for a in v]
        out.append((f, v))
    return out


def run(fn):
    try:
        return snapshot(fn())
    except Exception as exc:  # parse must not raise; if it does, both must raise alike
        return [("raised", f"{type(exc).__name__}: {exc}")]


def parse_ref(raw, limits):
    saved = message._mimescan
    message._mimescan = None
    try:
        return message.parse(raw, limits)
    finally:
        message._mimescan = saved


def corpus():
    rows = [line.rstrip("\n").split("\t") for line in open(INDEX)][1:]
    out = []
    for p, _label, split, _ in rows:
        with open(os.path.join(ROOT, p), "rb") as f:
            out.append((p, split, f.read()))
    return out


_INSERTS = [b"\n", b"\r\n", b"\r", b"From x\n", b": bad\n", b" cont\n", b"\tcont\r\n", b"garbage line\n",
            b"X-A:\x01\x02\x1b[31m\x7f\n", b"X-B: =?utf-8?q?caf=C3=A9?= x\n", b"X-C: \xe9t\xe9\n",
            b"Subject: =?utf-8?b?w6k=?=\r\n", b"X-" + b"n" * 199 + b": v\n", b"X-" + b"n" * 200 + b": v\n",
            b"Content-Type: text/plain; charset=shift_jis\n", b"X-D \t: spaced\n", b"X-E:\n",
            b"Content-Transfer-Encoding: base64\n", b"Content-Disposition: attachment; filename=a.exe\n",
            b"X-F: a\x00b\n", b"X-G: =?\n", b"X-H: \xff\xfe=?x?q?y?=\n", b"X-I: v\r\r\n", b"\x80: v\n"]


def mutate(raw: bytes, rng: random.Random) -> bytes:
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
            ln = lines[j]
            k = rng.randrange(len(ln) + 1)
            lines[j] = ln[:k] + bytes([rng.choice([0, 1, 9, 10, 13, 27, 32, 58, 61, 63, 127, 128, 200, 255])]) + ln[k:]
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


def mutate_body(raw: bytes, rng: random.Random) -> bytes:
    """Lines anywhere dropped, duplicated, cut, CR/LF changed, delimiters moved (parser_equivalence.py's)."""
    lines = raw.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        op = rng.randrange(9)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            lines[i] = lines[i].rstrip(b"\r\n") + b"\r\n"
        elif op == 3:
            lines[i] = lines[i].rstrip(b"\r\n") + b"\r"
        elif op == 4:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif op == 5:
            dash = [j for j, ln in enumerate(lines) if ln.startswith(b"--")]
            if dash:
                lines.insert(rng.randrange(len(lines) + 1), lines[rng.choice(dash)])
        elif op == 6:
            dash = [j for j, ln in enumerate(lines) if ln.startswith(b"--")]
            if dash:
                del lines[rng.choice(dash)]
        elif op == 7:
            lines.insert(i, rng.choice([b"\n", b"\r\n", b"From x\n", b": bad\n", b" cont\n", b"garbage line\n",
                                        b"Content-Type: message/rfc822\n", b"Content-Type: multipart/digest; boundary=x\n",
                                        b"--x\n", b"--x--\n", b"Content-Type: message/delivery-status\n",
                                        b"BOUNDARY Boundary\n", b"\r--\r\n"]))
        else:
            lines[i] = lines[i].replace(b"\n", b"\r\n")
    return b"".join(lines)


_PARAM_EDITS = [b"; charset=\"utf-8\"", b"; CHARSET = iso-8859-1 ", b";charset=\xe9", b"; name=\"a.exe\"",
                b"; name*=utf-8''caf%C3%A9", b"; name=\"=?utf-8?q?a=C3=A9?=.txt\"", b";;", b"; x=\"a;b\"",
                b"; boundary=\"" + b"q" * 301, b"\x1c", b" \x0b", b"; charset=\"" + b"c" * 300 + b"\"", b"\\",
                b"; boundary*0=z", b"; BOUNDARY=<zz>", b"; filename=\"\"", b"\xc3\xa9"]
_DISPOSITIONS = [b"Content-Disposition: attachment\n", b"Content-Disposition: ATTACHMENT; FileName=B.TXT\n",
                 b"Content-Disposition: inline; filename=\"=?utf-8?q?caf=C3=A9?=\"\n",
                 b"Content-Disposition: attachment; filename=\xe9.exe\n", b"Content-Disposition:  \tattachmen\n"]


def mutate_params(raw: bytes, rng: random.Random) -> bytes:
    """Content-Type and Content-Disposition values of any part changed (what leaf_info, charset_hint and
    boundary read): parameters added, cut, doubled, re-cased, quoted, 8-bit bytes and odd white space."""
    lines = raw.splitlines(keepends=True)
    at = [i for i, ln in enumerate(lines) if ln[:13].lower() in (b"content-type:", b"content-dispo")]
    for _ in range(rng.randint(1, 4)):
        if not at:
            break
        i = rng.choice(at)
        ln = lines[i]
        body, end = ln.rstrip(b"\r\n"), ln[len(ln.rstrip(b"\r\n")):]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--mutations", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show", type=int, default=10)
    ap.add_argument("--bench", type=int, default=0)
    args = ap.parse_args()
    print("compiled module:", "built" if message._mimescan is not None else "NOT BUILT (comparing Python with itself)")
    old = load_old(args.rev)
    msgs = corpus()
    from hostile import hostile_cases  # noqa: E402

    inputs = [(p, raw, None) for p, _s, raw in msgs]
    for path in sorted(glob.glob(os.path.join(REPO, "tests", "fixtures", "**", "*.eml"), recursive=True)):
        with open(path, "rb") as f:
            inputs.append((os.path.relpath(path, REPO), f.read(), None))
    n_hostile = skipped = 0
    for name, raw in hostile_cases():
        if len(raw) > 5 * 1024 * 1024:
            skipped += 1
            continue
        n_hostile += 1
        inputs.append(("hostile:" + name, raw, None))
    rng = random.Random(args.seed)
    small = [message.Limits(max_headers=3), message.Limits(max_headers=0), message.Limits(max_headers=-1),
             message.Limits(max_bytes=300)]
    multiparts = [(p, raw) for p, _s, raw in msgs if b"multipart/" in raw[:raw.find(b"\n\n") + 1].lower()]
    for k in range(args.mutations):
        if k % 4 == 3:
            p, raw = rng.choice(multiparts)
            m = mutate_params(raw, rng)
        elif k % 2:
            p, raw = rng.choice(multiparts)
            m = mutate_body(raw, rng)
        else:
            p, _s, raw = rng.choice(msgs)
            m = mutate(raw, rng)
        inputs.append((f"mutated#{k}:{p}", m, None))
        inputs.append((f"mutated#{k}:{p} (small limits)", m, rng.choice(small)))
    differ = 0
    shown = 0
    for label, raw, limits in inputs:
        lim = limits if limits is not None else message.DEFAULT_LIMITS
        fast = run(lambda: message.parse(raw, lim))
        ref = run(lambda: parse_ref(raw, lim))
        # the old module has its own Limits class; its parse reads only the attributes
        prev = run(lambda: old.parse(raw, lim))
        if fast != ref or ref != prev:
            differ += 1
            if shown < args.show:
                shown += 1
                fields = sorted({f for (f, a), (_, b), (_, c) in zip(fast, ref, prev) if not a == b == c})
                print("DIFF", label, fields or "raised")
    print(f"inputs: {len(msgs)} corpus, {len(inputs) - len(msgs) - n_hostile - 2 * args.mutations} fixtures, "
          f"{n_hostile} hostile ({skipped} over 5 MB skipped), {2 * args.mutations} mutated")
    print(f"differ: {differ}")
    if message._mimescan is not None:  # how many inputs the C splitter took (the rest: Python's)
        took = sum(message._mimescan.split_mime(raw, 200, 30) is not None for _l, raw, _lim in inputs
                   if b"multipart/" in raw[:4096].lower())
        print(f"split_mime took {took} of the inputs naming a multipart in their first 4 KB")

    if args.bench:
        test = [raw for _p, s, raw in msgs if s == "test"]
        res = {"fast": [], "ref": []}
        for _ in range(args.bench):
            for name in ("fast", "ref"):
                if name == "ref":
                    saved, message._mimescan = message._mimescan, None
                t0 = time.process_time()
                for raw in test:
                    message.parse(raw)
                res[name].append((time.process_time() - t0) / len(test) * 1e6)
                if name == "ref":
                    message._mimescan = saved
        for name, ts in res.items():
            print(f"parse {name}: median {statistics.median(ts):.1f} us/msg  ({', '.join(f'{t:.1f}' for t in ts)})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
