/* The one header of spamscore's native core (the extension module
 * spamscore._core, built by setup.py from the C files of spamscore/native/): what more
 * than one concern needs, in exactly one copy.
 *
 *   - the concerns' entry points (module.c makes spamscore._core from them);
 *   - ASCII character classes, with Python's meaning (str.isspace, \w, \d of
 *     an ASCII character);
 *   - building str objects from ASCII bytes, ASCII views of str objects;
 *   - appending a new reference to a list or set; growing an array;
 *   - the body-word rule (strip, keep or skip) of the per-word stage;
 *   - the token hash of the clue table (below).
 *
 * Every .c file of the core includes this header first (it includes
 * Python.h with PY_SSIZE_T_CLEAN, as every file needs).  Everything here is
 * static inline: one source copy, compiled into the files that use it.
 */
#ifndef SPAMSCORE_CORE_H
#define SPAMSCORE_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define ALWAYS_INLINE __attribute__((always_inline))
#else
#define ALWAYS_INLINE
#endif

/* ---- the concerns: each makes the module object spamscore._core.<name>
 * (module.c adds it to spamscore._core as attribute <name>; a NULL return
 * with an exception set fails the import of the whole core) ------------- */
PyObject *ss_init_bodyscan(void);
PyObject *ss_init_hdrscan(void);
PyObject *ss_init_htmlscan(void);  /* only when setup.py found lxml's headers (SPAMSCORE_LXML_VERSION) */
PyObject *ss_init_mimescan(void);
PyObject *ss_init_speedups(void);
PyObject *ss_init_urlscan(void);

/* speedups.word_tokens, which lives in wordtokens.c beside the bodyscan
 * concern's files: it runs their per-word stage (bodystage.h) over the
 * words of Python's split */
PyObject *ss_word_tokens(PyObject *self, PyObject *args);

/* ---- ASCII character classes ---------------------------------------- */

/* ASCII white space as str.isspace / str.strip() / str.split() and re's \s
 * see it (Py_UNICODE_ISSPACE): \t \n \v \f \r, \x1c-\x1f, space */
static inline int ss_ascii_space(Py_UCS4 c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
}

static inline int ss_ascii_digit(Py_UCS4 c)
{
    return c >= '0' && c <= '9';
}

static inline int ss_ascii_alnum(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* re's \w of an ASCII character */
static inline int ss_ascii_word(Py_UCS4 c)
{
    return ss_ascii_alnum(c) || c == '_';
}

static inline unsigned char ss_ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ---- str objects ----------------------------------------------------- */

/* ASCII str -> its bytes and length; 0 if not an exact ASCII str */
static inline int ss_ascii_view(PyObject *o, const unsigned char **p, Py_ssize_t *n)
{
    if (!PyUnicode_CheckExact(o))
        return 0;
#if PY_VERSION_HEX < 0x030C0000  /* (a no-op, and deprecated, from 3.12) */
    if (PyUnicode_READY(o) < 0) {
        PyErr_Clear();
        return 0;
    }
#endif
    if (!PyUnicode_IS_ASCII(o))
        return 0;
    *p = (const unsigned char *)PyUnicode_1BYTE_DATA(o);
    *n = PyUnicode_GET_LENGTH(o);
    return 1;
}

/* p[0:n] (ASCII) as a new str, lower-cased when ``lower`` */
static inline PyObject *ss_ascii_str(const unsigned char *p, Py_ssize_t n, int lower)
{
    PyObject *s = PyUnicode_New(n, 127);
    if (s == NULL)
        return NULL;
    Py_UCS1 *d = PyUnicode_1BYTE_DATA(s);
    if (lower) {
        for (Py_ssize_t i = 0; i < n; i++)
            d[i] = ss_ascii_lower(p[i]);
    }
    else if (n > 0)
        memcpy(d, p, (size_t)n);
    return s;
}

/* prefix (an ASCII C string) + d[0:n] (ASCII) as a new str */
static inline PyObject *ss_ascii_prefixed(const char *prefix, const unsigned char *d, Py_ssize_t n)
{
    Py_ssize_t pl = (Py_ssize_t)strlen(prefix);
    PyObject *s = PyUnicode_New(pl + n, 127);
    if (s == NULL)
        return NULL;
    Py_UCS1 *o = PyUnicode_1BYTE_DATA(s);
    memcpy(o, prefix, (size_t)pl);
    if (n > 0)
        memcpy(o + pl, d, (size_t)n);
    return s;
}

/* prefix (ASCII C string) + s[start:end], a canonical str */
static inline PyObject *ss_prefixed(const char *prefix, PyObject *s, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t lp = (Py_ssize_t)strlen(prefix), n = end - start;
    int kind = PyUnicode_KIND(s);
    if (kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *d = PyUnicode_1BYTE_DATA(s) + start;
        Py_UCS4 maxc = 127;
        for (Py_ssize_t i = 0; i < n; i++)
            if (d[i] > 127) {
                maxc = 255;
                break;
            }
        PyObject *r = PyUnicode_New(lp + n, maxc);
        if (r == NULL)
            return NULL;
        Py_UCS1 *o = PyUnicode_1BYTE_DATA(r);
        memcpy(o, prefix, (size_t)lp);
        memcpy(o + lp, d, (size_t)n);
        return r;
    }
    PyObject *sub = PyUnicode_Substring(s, start, end);
    if (sub == NULL)
        return NULL;
    PyObject *p = PyUnicode_FromStringAndSize(prefix, lp);
    if (p == NULL) {
        Py_DECREF(sub);
        return NULL;
    }
    PyObject *r = PyUnicode_Concat(p, sub);
    Py_DECREF(p);
    Py_DECREF(sub);
    return r;
}

/* whether s[0:m] is the lower-case ASCII ``lower`` but for the case of ASCII letters */
static inline int ss_ascii_ieq(const unsigned char *s, const char *lower, Py_ssize_t m)
{
    for (Py_ssize_t i = 0; i < m; i++)
        if (ss_ascii_lower(s[i]) != (unsigned char)lower[i])
            return 0;
    return 1;
}

/* whether d[0:n] holds needle[0:m] (m >= 1; 1-byte data) */
static inline int ss_has_sub(const unsigned char *d, Py_ssize_t n, const char *needle, Py_ssize_t m)
{
    for (Py_ssize_t i = 0; i + m <= n; i++) {
        const unsigned char *hit = memchr(d + i, (unsigned char)needle[0], (size_t)(n - m - i + 1));
        if (hit == NULL)
            return 0;
        i = hit - d;
        if (memcmp(hit, needle, (size_t)m) == 0)
            return 1;
    }
    return 0;
}

/* ---- lists and sets: add a new reference, stealing it (NULL: the error
 * of whatever made it, passed on) -------------------------------------- */

static inline int ss_list_append_new(PyObject *list, PyObject *item)
{
    if (item == NULL)
        return -1;
    int rc = PyList_Append(list, item);
    Py_DECREF(item);
    return rc;
}

static inline int ss_set_add_new(PyObject *set, PyObject *item)
{
    if (item == NULL)
        return -1;
    int rc = PySet_Add(set, item);
    Py_DECREF(item);
    return rc;
}

/* ---- the body-word rule of spamscore.features.tokens._word_tokens -------
 * Applied by the one compiled per-word stage (bodystage.h), which serves
 * bodywords.c's words() (from the raw text, in one pass) and wordtokens.c's
 * word_tokens() (from the words of Python's split).  A word is stripped of the ASCII characters of ``punct``
 * at both ends; 3 to 12 characters are kept (prefix + word), longer ones
 * give prefix + "skip:" + first character + " " + the length rounded down to
 * tens, shorter ones nothing. */
#define SS_WORD_DROP 0
#define SS_WORD_KEEP 1
#define SS_WORD_SKIP 2

static inline int ss_word_fate(Py_ssize_t stripped_len)
{
    return stripped_len > 12 ? SS_WORD_SKIP : stripped_len > 2 ? SS_WORD_KEEP : SS_WORD_DROP;
}

/* the number a skip token gives for a word of n characters */
static inline Py_ssize_t ss_skip_length(Py_ssize_t n)
{
    return n / 10 * 10;
}

/* is_punct[c] = whether c is in ``punct``, for c < 128; -1 (no exception set)
 * when punct is not an ASCII str */
static inline int ss_punct_table(PyObject *punct, unsigned char is_punct[128])
{
    memset(is_punct, 0, 128);
    if (!PyUnicode_Check(punct) || !PyUnicode_IS_ASCII(punct))
        return -1;
    const Py_UCS1 *p = PyUnicode_1BYTE_DATA(punct);
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(punct); i++)
        is_punct[p[i]] = 1;
    return 0;
}

/* [*s, *e) narrowed past the punct characters at both ends; ``data`` is read
 * as a str's data of that kind (an array of Py_UCS2: PyUnicode_2BYTE_KIND) */
static inline ALWAYS_INLINE void ss_strip_punct(const unsigned char is_punct[128], int kind, const void *data,
                                                Py_ssize_t *s, Py_ssize_t *e)
{
    Py_ssize_t a = *s, b = *e;
    Py_UCS4 c;
    while (a < b && (c = PyUnicode_READ(kind, data, a)) < 128 && is_punct[c])
        a++;
    while (b > a && (c = PyUnicode_READ(kind, data, b - 1)) < 128 && is_punct[c])
        b--;
    *s = a;
    *e = b;
}

/* ---- growing arrays -------------------------------------------------- */

/* Make *arr (PyMem) hold at least ``need`` items of ``size`` bytes: *cap
 * doubled from ``first`` (or from *cap) as often as needed.  0, or -1 with
 * MemoryError (the array as it was). */
static inline int ss_grow(void **arr, Py_ssize_t *cap, Py_ssize_t need, size_t size, Py_ssize_t first)
{
    if (need <= *cap)
        return 0;
    Py_ssize_t c = *cap ? *cap : first;
    while (c < need) {
        if (c > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)size) {
            PyErr_NoMemory();
            return -1;
        }
        c *= 2;
    }
    void *p = PyMem_Realloc(*arr, (size_t)c * size);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *arr = p;
    *cap = c;
    return 0;
}

/* ---- the token hash ---------------------------------------------------
 * The token hash of the scoring path's clue table, used by bodyscan.h (the body words' sink) and
 * dense.c (the reference: spamscore._native.token_hash, in Python).
 *
 * SipHash-1-3 (Aumasson and Bernstein; the variant CPython's own str hash
 * uses) of the token's UTF-8 bytes (lone surrogates as "surrogatepass"
 * encodes them) under a fixed key, as a signed int64, -1 made -2 (the
 * tables mark a free slot with -1).  Why not hash() of the str: reproducing
 * it without the str needed CPython's private _Py_HashBytes, which 3.13
 * moved to an internal header, and it ties the table to one interpreter's
 * string layout.  Why a keyed function and not FNV: the clue table holds
 * only hashes, so a body word whose hash equals a strong ham clue's would
 * count as that clue; with FNV-1a such a word can be computed (the function
 * is invertible a byte at a time), with SipHash it needs about 2^64 trials
 * even with the key known.  Two tokens of one message that collide only
 * count once, which an attacker gains nothing from.  The key is fixed so
 * that the hashes are the same in every process (tests, reproducible runs).
 * Cost: ~15 ns for a 10-byte token, as CPython's hash() of a new str.
 */

#define SS_K0 0x726f63736d617073ULL  /* "spamscor", little-endian */
#define SS_K1 0x316e656b6f742d65ULL  /* "e-token1" */

#define SS_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SS_ROUND(v0, v1, v2, v3)                          \
    do {                                                  \
        v0 += v1; v1 = SS_ROTL(v1, 13); v1 ^= v0; v0 = SS_ROTL(v0, 32); \
        v2 += v3; v3 = SS_ROTL(v3, 16); v3 ^= v2;         \
        v0 += v3; v3 = SS_ROTL(v3, 21); v3 ^= v0;         \
        v2 += v1; v1 = SS_ROTL(v1, 17); v1 ^= v2; v2 = SS_ROTL(v2, 32); \
    } while (0)

static inline uint64_t ss_load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24
           | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* the token hash of n bytes (see above) */
static inline int64_t ss_token_hash(const unsigned char *p, size_t n)
{
    uint64_t v0 = SS_K0 ^ 0x736f6d6570736575ULL, v1 = SS_K1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = SS_K0 ^ 0x6c7967656e657261ULL, v3 = SS_K1 ^ 0x7465646279746573ULL;
    const unsigned char *end = p + (n & ~(size_t)7);
    for (; p < end; p += 8) {
        uint64_t m = ss_load_le64(p);
        v3 ^= m;
        SS_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t b = (uint64_t)n << 56;
    switch (n & 7) {
    case 7: b |= (uint64_t)p[6] << 48; /* fall through */
    case 6: b |= (uint64_t)p[5] << 40; /* fall through */
    case 5: b |= (uint64_t)p[4] << 32; /* fall through */
    case 4: b |= (uint64_t)p[3] << 24; /* fall through */
    case 3: b |= (uint64_t)p[2] << 16; /* fall through */
    case 2: b |= (uint64_t)p[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)p[0]; break;
    default: break;
    }
    v3 ^= b;
    SS_ROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    SS_ROUND(v0, v1, v2, v3);
    SS_ROUND(v0, v1, v2, v3);
    SS_ROUND(v0, v1, v2, v3);
    int64_t h = (int64_t)(v0 ^ v1 ^ v2 ^ v3);
    return h == -1 ? -2 : h;
}

#endif
