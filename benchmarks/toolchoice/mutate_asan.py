import sys; sys.path.insert(0, "/tmp/toolchoice/asan")
import numpy as np
from tc_c2 import fast
tokens = ["hdr:%d" % i + "x" * 200 for i in range(1000)]
class Evil(str):
    __hash__ = str.__hash__
    def __eq__(self, other):
        tokens.clear(); return str.__eq__(self, other)
print(fast.meta_flags(tokens, np.arange(len(tokens), dtype=np.int64), frozenset([Evil("hdr")]))[:10])
