# cython: language_level=3, boundscheck=True, wraparound=False
"""token_hashes and meta_flags of spamscore._core.speedups, in Cython (the measured port)."""
from libc.stdint cimport uint64_t, int64_t
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    const unsigned char *PyUnicode_1BYTE_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    const char *PyUnicode_AsUTF8AndSize(object o, Py_ssize_t *n) except NULL

cdef uint64_t K0 = 0x726f63736d617073ULL  # "spamscor", little-endian
cdef uint64_t K1 = 0x316e656b6f742d65ULL  # "e-token1"

cdef inline uint64_t rotl(uint64_t x, int b) noexcept nogil:
    return (x << b) | (x >> (64 - b))

cdef int64_t siphash13(const unsigned char *p, size_t n) noexcept nogil:
    cdef uint64_t v0 = K0 ^ 0x736f6d6570736575ULL, v1 = K1 ^ 0x646f72616e646f6dULL
    cdef uint64_t v2 = K0 ^ 0x6c7967656e657261ULL, v3 = K1 ^ 0x7465646279746573ULL
    cdef uint64_t m, b
    cdef size_t i, j, full = n & ~(<size_t>7)
    cdef int r
    i = 0
    while i < full:
        m = 0
        for j in range(8):
            m |= (<uint64_t>p[i + j]) << (8 * j)
        v3 ^= m
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        v0 ^= m
        i += 8
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

cdef int64_t str_hash(object s) except? -1:
    cdef Py_ssize_t n
    cdef const char *u
    if not isinstance(s, str):
        raise TypeError(f"expected str features, got {type(s).__name__}")
    if PyUnicode_IS_ASCII(s):  # read in place
        return siphash13(PyUnicode_1BYTE_DATA(s), <size_t>PyUnicode_GET_LENGTH(s))
    b = (<str>s).encode("utf-8", "surrogatepass")
    return siphash13(<const unsigned char *><char *>b, <size_t>len(b))

def token_hashes(strs, rows=None):
    """token_hashes(strs[, rows]) -> bytes: the token hash of each str (of strs[rows[i]]), native int64."""
    cdef tuple seq = tuple(strs)
    cdef const int64_t[::1] rv
    cdef Py_ssize_t i, j, ns = len(seq), n = ns
    if rows is not None:
        rv = rows
        n = rv.shape[0]
    out = PyBytes_FromStringAndSize(NULL, n * 8)
    cdef int64_t *h = <int64_t *>PyBytes_AS_STRING(out)
    for i in range(n):
        j = i
        if rows is not None:
            j = rv[i]
            if j < 0 or j >= ns:
                raise IndexError("row out of range of the strs")
        h[i] = str_hash(seq[j])
    return out

def meta_flags(list tokens, const int64_t[::1] rows, frozenset prefixes):
    """meta_flags(tokens, rows, prefixes) -> bytes: is_meta of tokens[r] for each row."""
    cdef Py_ssize_t i, r, colon, n = rows.shape[0], size = len(tokens)
    out = PyBytes_FromStringAndSize(NULL, n)
    cdef char *o = PyBytes_AS_STRING(out)
    for i in range(n):
        r = rows[i]
        if r < 0 or r >= size:
            raise IndexError("row out of range")
        t = tokens[r]
        if not isinstance(t, str):
            raise TypeError("tokens must be str")
        colon = (<str>t).find(":")
        o[i] = (<str>t)[:colon] in prefixes if colon >= 0 else 0
    return out

from cpython.set cimport PySet_Contains
cdef extern from "Python.h":
    Py_ssize_t PyUnicode_FindChar(object s, Py_UCS4 ch, Py_ssize_t start, Py_ssize_t end, int direction) except -2

def meta_flags_capi(list tokens, const int64_t[::1] rows, frozenset prefixes):
    """meta_flags with the two C-API calls the C version makes (PyUnicode_FindChar, PySet_Contains)."""
    cdef Py_ssize_t i, r, colon, n = rows.shape[0], size = len(tokens)
    out = PyBytes_FromStringAndSize(NULL, n)
    cdef char *o = PyBytes_AS_STRING(out)
    for i in range(n):
        r = rows[i]
        if r < 0 or r >= size:
            raise IndexError("row out of range")
        t = tokens[r]
        if not isinstance(t, str):
            raise TypeError("tokens must be str")
        colon = PyUnicode_FindChar(t, 58, 0, PyUnicode_GET_LENGTH(t), 1)
        o[i] = PySet_Contains(prefixes, (<str>t)[:colon]) if colon >= 0 else 0
    return out
