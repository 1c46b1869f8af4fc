"""A prefix whose __eq__ empties the token list while meta_flags runs (a caller's hostile object, not message content)."""
import importlib.util, sys
import numpy as np
which = sys.argv[1]
if which == "C":
    spec = importlib.util.spec_from_file_location("spamscore._core", "/work/main/spamscore/_core.cpython-311-x86_64-linux-gnu.so")
    core = importlib.util.module_from_spec(spec); spec.loader.exec_module(core); M = core.speedups.meta_flags
else:
    sys.path[:0] = ["/tmp/toolchoice/cy"]
    from tc_cy import fast, plain
    M = {"cy-fast": fast.meta_flags, "cy-capi": fast.meta_flags_capi, "cy-plain": plain.meta_flags}[which]
tokens = ["hdr:%d" % i + "x" * 200 for i in range(100000)]
class Evil(str):
    __hash__ = str.__hash__
    def __eq__(self, other):
        tokens.clear()
        for _ in range(1000): [object() for _ in range(100)]   # reuse the freed memory
        return str.__eq__(self, other)
try:
    out = M(tokens, np.arange(len(tokens), dtype=np.int64), frozenset([Evil("hdr")]))
    print(which, "returned", len(out), "flags, sum", sum(out))
except Exception as e:
    print(which, "raised", type(e).__name__, e)
