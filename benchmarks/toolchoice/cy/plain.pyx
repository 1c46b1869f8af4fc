# cython: language_level=3
"""The same two functions in plain, checked Cython: no C-API declarations, every str encoded."""
from libc.stdint cimport uint64_t, int64_t

cdef uint64_t K0 = 0x726f63736d617073ULL
cdef uint64_t K1 = 0x316e656b6f742d65ULL

cdef inline uint64_t rotl(uint64_t x, int b) noexcept nogil:
    return (x << b) | (x >> (64 - b))

cdef int64_t siphash13(const unsigned char[::1] p) noexcept:
    cdef uint64_t v0 = K0 ^ 0x736f6d6570736575ULL, v1 = K1 ^ 0x646f72616e646f6dULL
    cdef uint64_t v2 = K0 ^ 0x6c7967656e657261ULL, v3 = K1 ^ 0x7465646279746573ULL
    cdef uint64_t m, b
    cdef Py_ssize_t i, j, n = p.shape[0], full = n & ~7
    cdef int r
    for i in range(0, full, 8):
        m = 0
        for j in range(8):
            m |= (<uint64_t>p[i + j]) << (8 * j)
        v3 ^= m
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        v0 ^= m
    b = (<uint64_t>n) << 56
    for j in range(n - full):
        b |= (<uint64_t>p[full + j]) << (8 * j)
    v3 ^= b
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    v0 ^= b
    v2 ^= 0xff
    for r in range(3):
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    cdef int64_t h = <int64_t>(v0 ^ v1 ^ v2 ^ v3)
    return -2 if h == -1 else h

def token_hashes(strs, rows=None):
    seq = tuple(strs)
    idx = range(len(seq)) if rows is None else memoryview(rows).cast("B").cast("q")
    out = bytearray(8 * len(idx))
    cdef int64_t[::1] h = memoryview(out).cast("q")
    cdef Py_ssize_t i = 0, j, ns = len(seq)
    for j in idx:
        if j < 0 or j >= ns:
            raise IndexError("row out of range of the strs")
        s = seq[j]
        if not isinstance(s, str):
            raise TypeError(f"expected str features, got {type(s).__name__}")
        h[i] = siphash13((<str>s).encode("utf-8", "surrogatepass"))
        i += 1
    return bytes(out)

def meta_flags(list tokens, const long long[::1] rows, frozenset prefixes):
    out = bytearray(rows.shape[0])
    cdef Py_ssize_t i
    for i in range(rows.shape[0]):
        t = tokens[rows[i]] if rows[i] >= 0 else None
        if t is None:
            raise IndexError("row out of range")
        if not isinstance(t, str):
            raise TypeError("tokens must be str")
        head, sep, _ = (<str>t).partition(":")
        out[i] = 1 if sep and head in prefixes else 0
    return bytes(out)
