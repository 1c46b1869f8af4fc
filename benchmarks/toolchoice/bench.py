"""CPU time per 1,000,000 tokens: C core vs Cython ports, interleaved rounds, median (the machine is shared)."""
import importlib.util, pickle, sys, time, statistics
import numpy as np
sys.path[:0] = ["/tmp/toolchoice/cy", "/tmp/toolchoice/c2"]
spec = importlib.util.spec_from_file_location("spamscore._core", "/work/main/spamscore/_core.cpython-311-x86_64-linux-gnu.so")
core = importlib.util.module_from_spec(spec); spec.loader.exec_module(core)
from tc_cy import fast as CYF, plain as CYP
sys.path.insert(0, "/work/main")
from spamscore._native import token_hash as py_token_hash
PREFIXES = frozenset("""hdr received date message-id boundary from to cc reply-to return-path sender errors-to
    x-mailer user-agent content-type x-mimeole organization list-id x-priority x-msmail-priority
    precedence mime-version content-transfer-encoding x-originating-ip
    url url-path url-host html proto part charset attach defect msg auth dkim spf-hdr bulk""".split())
def is_meta(f):
    h, s, _ = f.partition(":"); return bool(s) and h in PREFIXES
docs = pickle.load(open("data/tokens.pkl", "rb"))
rows = [np.arange(len(d), dtype=np.int64) for d in docs]
N = sum(map(len, docs))
big = [t for d in docs for t in d][:200000]           # a model-sized token list (meta_mask's real call)
bigrows = np.arange(len(big), dtype=np.int64)
class CYF2: token_hashes = CYF.token_hashes; meta_flags = CYF.meta_flags_capi
mods = {"C": core.speedups, "Cython fast": CYF, "Cython fast+capi": CYF2, "Cython plain": CYP}
def t_hash(m):
    f = m.token_hashes; t = time.process_time()
    for d in docs: f(d)
    return (time.process_time() - t) / N * 1e6
def t_meta(m):
    f = m.meta_flags; t = time.process_time()
    for d, r in zip(docs, rows): f(d, r, PREFIXES)
    return (time.process_time() - t) / N * 1e6
def t_meta_big(m):
    f = m.meta_flags; t = time.process_time()
    for _ in range(5): f(big, bigrows, PREFIXES)
    return (time.process_time() - t) / (5 * len(big)) * 1e6
res = {(k, b): [] for k in mods for b in ("hash", "meta", "meta200k")}
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
names = list(mods)
for r in range(ROUNDS):
    order = names[r % len(names):] + names[:r % len(names)]
    for k in order:
        res[k, "hash"].append(t_hash(mods[k])); res[k, "meta"].append(t_meta(mods[k])); res[k, "meta200k"].append(t_meta_big(mods[k]))
# the pure-Python references once, on a 50,000-token slice (scaled)
sl = [t for d in docs for t in d][:50000]
t = time.process_time(); [py_token_hash(x) for x in sl]; py_h = (time.process_time() - t) / len(sl) * 1e6
t = time.process_time(); np.fromiter(map(is_meta, big), dtype=bool, count=len(big)); py_m = (time.process_time() - t) / len(big) * 1e6
print(f"{N} tokens in {len(docs)} messages; {ROUNDS} interleaved rounds; CPU seconds per 1,000,000 tokens, median [min-max]")
for b in ("hash", "meta", "meta200k"):
    for k in mods:
        v = res[k, b]
        print(f"  {b:9s} {k:17s} {statistics.median(v):7.4f}  [{min(v):.4f}-{max(v):.4f}]")
print(f"  Python reference: token_hash {py_h:.2f} s/1M; is_meta (meta_mask fallback) {py_m:.4f} s/1M")
