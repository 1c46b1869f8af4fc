"""Source lines (non-blank, not comment-only, docstrings excluded) of each function of the two helpers."""
import re
def sloc(text, lang):
    n = 0; in_c = False; in_doc = False
    for line in text.splitlines():
        s = line.strip()
        if lang == "c":
            if in_c:
                if "*/" in s: in_c = False
                continue
            if s.startswith("/*"):
                if "*/" not in s: in_c = True
                continue
            if not s or s.startswith("//"): continue
        else:
            if s.startswith('"""'):
                if not (s.endswith('"""') and len(s) > 3): in_doc = not in_doc
                continue
            if in_doc: 
                if s.endswith('"""'): in_doc = False
                continue
            if not s or s.startswith("#"): continue
        n += 1
    return n
def between(path, a, b):
    t = open(path).read(); i = t.index(a); j = t.index(b, i + len(a)); return t[i:j]
core = "/work/main/spamscore/native/core.h"; dense = "/work/main/spamscore/native/dense.c"; sp = "/work/main/spamscore/native/speedups.c"
fast = "/tmp/toolchoice/cy/tc_cy/fast.pyx"; plain = "/tmp/toolchoice/cy/tc_cy/plain.pyx"
rows = {
 ("C", "token_hashes"): [(core, "#define SS_K0", "#endif"), (dense, "static int str_token_hash", "/* ss_token_hashes"),
                         (dense, "PyObject *ss_token_hashes", "\n}\n")],
 ("C", "meta_flags"): [(sp, "static PyObject *meta_flags", "/* -----")],
 ("Cython fast", "token_hashes"): [(fast, "cdef extern", "def meta_flags(")],
 ("Cython fast", "meta_flags"): [(fast, "def meta_flags(", "\nfrom cpython.set")],
 ("Cython fast+capi", "meta_flags"): [(fast, "from cpython.set", "\n\x00")],
 ("Cython plain", "token_hashes"): [(plain, "from libc", "def meta_flags(")],
 ("Cython plain", "meta_flags"): [(plain, "def meta_flags(", "\n\x00")],
}
for k, parts in rows.items():
    total = 0
    for p, a, b in parts:
        t = open(p).read() + "\n\x00"
        total += sloc(between_t := t[t.index(a):t.index(b, t.index(a) + len(a))], "c" if p.endswith((".c", ".h")) else "py")
    print(f"{k[0]:17s} {k[1]:13s} {total}")
