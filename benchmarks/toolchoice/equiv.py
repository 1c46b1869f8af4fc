"""Bit-identity of the Cython ports with the C core over the SA token lists, plus hostile str and error cases."""
import importlib.util, pickle, sys, random
import numpy as np
sys.path[:0] = ["/tmp/toolchoice/cy", "/tmp/toolchoice/c2"]
spec = importlib.util.spec_from_file_location("spamscore._core", "/work/main/spamscore/_core.cpython-311-x86_64-linux-gnu.so")
core = importlib.util.module_from_spec(spec); spec.loader.exec_module(core)
C = core.speedups
from tc_cy import fast as CYF, plain as CYP
from tc_c2 import fast as C2
sys.path.insert(0, "/work/main")
import importlib
_native = importlib.import_module("spamscore._native")   # pure-Python reference (no numpy needed at import)
PREFIXES = frozenset("""
    hdr received date message-id boundary from to cc reply-to return-path sender errors-to
    x-mailer user-agent content-type x-mimeole organization list-id x-priority x-msmail-priority
    precedence mime-version content-transfer-encoding x-originating-ip
    url url-path url-host html proto part charset attach defect msg auth dkim spf-hdr bulk
""".split())
docs = pickle.load(open("data/tokens.pkl", "rb"))
rng = random.Random(1)
hostile = ["", ":", "hdr:", "HDR:x", "hdr", "url:é", "ü:x", "\ud800", "a\udfffb:c", "x" * 7, "y" * 8, "z" * 9,
           "日本語:hdr", "hdr:日本語", "\U0001f600" * 5, "\x00:\x00", "ÿ" * 17, "from:" + "\udc80" * 3]
hostile += ["".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(128, 0x800), rng.randrange(0x800, 0x10ffff)]))
                    for _ in range(rng.randrange(0, 40))) for _ in range(20000)]
hostile += [rng.choice(sorted(PREFIXES)) + ":" + h for h in hostile[:5000]]
class CYF2: token_hashes = CYF.token_hashes; meta_flags = CYF.meta_flags_capi
mods = {"C core": C, "C2 (copy)": C2, "Cython fast": CYF, "Cython fast+capi": CYF2, "Cython plain": CYP}
bad = {k: 0 for k in mods}
ntok = 0
for d in docs + [hostile]:
    ntok += len(d)
    rows = np.arange(len(d), dtype=np.int64)
    perm = rows[::-1].copy()
    ref_h = C.token_hashes(d); ref_hr = C.token_hashes(d, perm); ref_m = C.meta_flags(d, perm, PREFIXES)
    for k, m in mods.items():
        if m.token_hashes(d) != ref_h or m.token_hashes(d, perm) != ref_hr or m.meta_flags(d, perm, PREFIXES) != ref_m:
            bad[k] += 1
# spot check against the Python references
sample = [t for d in docs[:200] for t in d] + hostile[:3000]
ref = np.frombuffer(C.token_hashes(sample), dtype=np.int64).tolist()
assert ref == [_native.token_hash(t) for t in sample], "C differs from Python reference"
def is_meta(f):
    h, s, _ = f.partition(":"); return bool(s) and h in PREFIXES
assert list(C.meta_flags(sample, np.arange(len(sample)), PREFIXES)) == [int(is_meta(t)) for t in sample]
print(f"{len(docs)} messages + 1 hostile list, {ntok} tokens; lists differing from the C core: {bad}")
# error behaviour
cases = {"row out of range": lambda m: m.meta_flags(["a"], np.array([5], dtype=np.int64), PREFIXES),
         "negative row": lambda m: m.meta_flags(["a"], np.array([-1], dtype=np.int64), PREFIXES),
         "non-str token": lambda m: m.meta_flags([b"hdr:x"], np.array([0], dtype=np.int64), PREFIXES),
         "int32 rows": lambda m: m.meta_flags(["a"], np.array([0], dtype=np.int32), PREFIXES),
         "hash non-str": lambda m: m.token_hashes(["a", 3]),
         "hash row range": lambda m: m.token_hashes(["a"], np.array([1], dtype=np.int64)),
         "str subclass": lambda m: m.token_hashes([type("S", (str,), {})("abc")]) == C.token_hashes(["abc"])}
for name, f in cases.items():
    out = []
    for k, m in mods.items():
        try:
            r = f(m); out.append(f"{k}: ok {r!r}"[:60])
        except Exception as e:
            out.append(f"{k}: {type(e).__name__}")
    print(f"{name:18s} | " + " | ".join(out))
