/* words() and word_hashes() of the concern spamscore._core.bodyscan (what
 * they return: bodyscan.c): normalize, lower, split and dedupe in one pass
 * over the text, then strip, keep or skip each distinct word and pair the
 * kept ones.  The sets of distinct words: bodyspans.c; where the tokens go:
 * bodysink.c; the character tables: bodychars.h.
 */
#include "core.h"
#include "bodyscan.h"
#include "bodychars.h"

/* texts longer than this go to the Python code (ids and offsets fit int32) */
#define MAX_TEXT ((Py_ssize_t)1 << 30)

#define FNV_PRIME 0x100000001b3ULL
#define FNV_BASIS 0xcbf29ce484222325ULL

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* FNV-1a, then a full mix (words are short: a character at a time is fine) */
static inline uint32_t hash_chars(const ch_t *s, Py_ssize_t n)
{
    uint64_t h = FNV_BASIS;
    for (Py_ssize_t i = 0; i < n; i++)
        h = (h ^ s[i]) * FNV_PRIME;
    return (uint32_t)mix64(h ^ (uint64_t)n);
}

/* an ASCII str as characters (PyMem_Free it); NULL with an exception set on error */
static ch_t *to_chars(PyObject *ascii)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(ascii);
    ch_t *out = PyMem_Malloc((size_t)(n + 1) * sizeof(ch_t));
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    const Py_UCS1 *p = PyUnicode_1BYTE_DATA(ascii);
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = p[i];
    return out;
}

static int is_ascii_str(PyObject *o)
{
    return PyUnicode_Check(o) && PyUnicode_IS_ASCII(o);
}

static Py_ssize_t pow2_at_least(Py_ssize_t n)
{
    Py_ssize_t c = 16;
    while (c < n)
        c *= 2;
    return c;
}

/* words() (as_hashes 0: a set of str) and word_hashes() (1: bytes of the
 * int64 token hash of each distinct token); the same tokens, in one pass. */
static PyObject *words_impl(PyObject *args, int as_hashes)
{
    PyObject *text, *prefix, *punct, *pair_prefix;
    Py_ssize_t max_pair_words;
    if (!PyArg_ParseTuple(args, as_hashes ? "OOOOn:word_hashes" : "OOOOn:words", &text, &prefix, &punct,
                          &pair_prefix, &max_pair_words))
        return NULL;
    int pairs = pair_prefix != Py_None;
#if PY_VERSION_HEX < 0x030C0000  /* (a no-op, and deprecated, from 3.12) */
    if (PyUnicode_Check(text) && PyUnicode_READY(text) < 0)
        return NULL;
#endif
    if (!PyUnicode_Check(text) || PyUnicode_KIND(text) == PyUnicode_4BYTE_KIND
        || !is_ascii_str(prefix) || !is_ascii_str(punct)
        || (pairs && !is_ascii_str(pair_prefix)) || max_pair_words < 0)
        Py_RETURN_NONE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > MAX_TEXT)
        Py_RETURN_NONE;
    int kind = PyUnicode_KIND(text);
    const Py_UCS1 *src1 = kind == PyUnicode_1BYTE_KIND ? PyUnicode_1BYTE_DATA(text) : NULL;
    const Py_UCS2 *src2 = kind == PyUnicode_2BYTE_KIND ? PyUnicode_2BYTE_DATA(text) : NULL;
    unsigned char is_punct[128];
    (void)ss_punct_table(punct, is_punct);  /* (an ASCII str: checked above) */

    PyObject *out = as_hashes ? NULL : PySet_New(NULL), *result = NULL;
    ch_t *low = NULL, *pre = NULL, *ppre = NULL;
    int32_t *seq_ids = NULL, *kept_of = NULL;
    uint64_t *pair_keys = NULL;
    spanset_t ws, ks;
    sink_t sink;
    memset(&ws, 0, sizeof(ws));
    memset(&ks, 0, sizeof(ks));
    memset(&sink, 0, sizeof(sink));
    sink.set = out;
    if (!as_hashes && out == NULL)
        return NULL;
    if (n == 0) {
        if (as_hashes)
            return PyBytes_FromStringAndSize(NULL, 0);
        return out;
    }
    Py_ssize_t lpre = PyUnicode_GET_LENGTH(prefix), lppre = pairs ? PyUnicode_GET_LENGTH(pair_prefix) : 0;
    if ((pre = to_chars(prefix)) == NULL || (pairs && (ppre = to_chars(pair_prefix)) == NULL))
        goto fail;

    /* the words' characters, normalized and lower-cased, one word after the other */
    low = PyMem_Malloc((size_t)n * sizeof(ch_t));
    if (low == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    /* at most (n + 1) / 2 words; the first max_pair_words of them are kept in order */
    Py_ssize_t max_words = (n + 1) / 2;
    Py_ssize_t m_cap = pairs ? (max_pair_words < max_words ? max_pair_words : max_words) : 0;
    if (m_cap > 0) {
        seq_ids = PyMem_Malloc((size_t)m_cap * sizeof(int32_t));
        if (seq_ids == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
    }
    if (ss_spanset_init(&ws, low, pow2_at_least(max_words < 512 ? 2 * max_words : 1024)) < 0)
        goto fail;
    /* normalize, lower, split and dedupe in one pass */
    Py_ssize_t nseq = 0, w = 0, start = 0;
    uint64_t h = FNV_BASIS;
    for (Py_ssize_t i = 0; i <= n; i++) {
        uint32_t m;
        if (i == n)
            m = SPC;
        else {
            Py_UCS4 c = src1 != NULL ? src1[i] : src2[i];
            m = c < 256 ? CHAR_MAP[c] : map_wide(c);
        }
        if (m < 0x10000u) {
            low[w++] = (ch_t)m;
            h = (h ^ m) * FNV_PRIME;
            continue;
        }
        if (m == DEL)
            continue;
        if (m == BAIL)
            goto bail;
        if (w > start) {  /* white space after a word */
            int added;
            Py_ssize_t len = w - start;
            Py_ssize_t id = ss_spanset_add(&ws, start, len, (uint32_t)mix64(h ^ (uint64_t)len), &added);
            if (id == -1)
                goto fail;
            if (id == -2)
                goto bail;
            if (nseq < m_cap)
                seq_ids[nseq] = (int32_t)id;
            nseq++;
        }
        start = w;
        h = FNV_BASIS;
    }
    if (nseq == 0)
        goto finish;
    /* each distinct word, stripped */
    kept_of = PyMem_Malloc((size_t)ws.count * sizeof(int32_t));
    if (kept_of == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    if (ss_spanset_init(&ks, low, pow2_at_least(ws.count < 512 ? 2 * ws.count : 1024)) < 0)
        goto fail;
    for (Py_ssize_t id = 0; id < ws.count; id++) {
        Py_ssize_t s = ws.spans[id].off, e = s + ws.spans[id].len;
        ss_strip_punct(is_punct, PyUnicode_2BYTE_KIND, low, &s, &e);  /* (ch_t is Py_UCS2) */
        Py_ssize_t len = e - s;
        int fate = ss_word_fate(len);
        kept_of[id] = -1;
        if (fate == SS_WORD_SKIP) {
            /* "skip:" + first character + " " + len // 10 * 10 */
            ch_t tail[40];
            char digits[24];
            int nd = snprintf(digits, sizeof(digits), "%zd", ss_skip_length(len));
            if (nd <= 0 || nd >= (int)sizeof(digits)) {
                PyErr_SetString(PyExc_SystemError, "skip token");
                goto fail;
            }
            static const char skip[] = "skip:";
            int lt = 0;
            for (int k = 0; k < 5; k++)
                tail[lt++] = (ch_t)skip[k];
            tail[lt++] = low[s];
            tail[lt++] = ' ';
            for (int k = 0; k < nd; k++)
                tail[lt++] = (ch_t)digits[k];
            if (ss_sink_emit(&sink, pre, lpre, tail, lt, NULL, 0, NULL, 0) < 0)
                goto fail;
        } else if (fate == SS_WORD_KEEP) {
            int added;
            Py_ssize_t kid = ss_spanset_add(&ks, s, len, hash_chars(low + s, len), &added);
            if (kid == -1)
                goto fail;
            if (kid == -2)
                goto bail;
            kept_of[id] = (int32_t)kid;
            if (added && ss_sink_emit(&sink, pre, lpre, low + s, len, NULL, 0, NULL, 0) < 0)
                goto fail;
        }
    }
    /* pairs of adjacent kept words among the first max_pair_words */
    if (pairs && nseq > 1 && m_cap > 1) {
        Py_ssize_t m = nseq < m_cap ? nseq : m_cap;
        Py_ssize_t pcap = pow2_at_least(2 * m);
        uint64_t pmask = (uint64_t)pcap - 1;
        pair_keys = PyMem_Malloc((size_t)pcap * sizeof(uint64_t));
        if (pair_keys == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        memset(pair_keys, 0xff, (size_t)pcap * sizeof(uint64_t));
        static const ch_t space[1] = {' '};
        int32_t prev = -1;
        for (Py_ssize_t k = 0; k < m; k++) {
            int32_t v = kept_of[seq_ids[k]];
            if (v >= 0 && prev >= 0) {
                uint64_t key = ((uint64_t)(uint32_t)prev << 32) | (uint32_t)v;
                uint64_t j = mix64(key) & pmask;
                int probes = 0, seen = 0;
                while (pair_keys[j] != UINT64_MAX) {
                    if (pair_keys[j] == key) {
                        seen = 1;
                        break;
                    }
                    if (++probes > MAX_PROBE)
                        goto bail;
                    j = (j + 1) & pmask;
                }
                if (!seen) {
                    pair_keys[j] = key;  /* at most m keys in 2m+ slots */
                    span_t a = ks.spans[prev], b = ks.spans[v];
                    if (ss_sink_emit(&sink, ppre, lppre, low + a.off, a.len, space, 1, low + b.off, b.len) < 0)
                        goto fail;
                }
            }
            prev = v;
        }
    }
finish:
    if (as_hashes) {
        result = PyBytes_FromStringAndSize((const char *)sink.h, sink.n * (Py_ssize_t)sizeof(int64_t));
        if (result == NULL)
            goto fail;
    } else {
        result = out;
        out = NULL;
    }
    goto done;
bail:
    result = Py_None;
    Py_INCREF(result);
    goto done;
fail:
    result = NULL;
done:
    Py_XDECREF(out);
    PyMem_Free(low);
    PyMem_Free(pre);
    PyMem_Free(ppre);
    PyMem_Free(seq_ids);
    PyMem_Free(kept_of);
    PyMem_Free(pair_keys);
    ss_spanset_free(&ws);
    ss_spanset_free(&ks);
    ss_sink_free(&sink);
    return result;
}

PyObject *ss_words(PyObject *self, PyObject *args)
{
    (void)self;
    return words_impl(args, 0);
}

PyObject *ss_word_hashes(PyObject *self, PyObject *args)
{
    (void)self;
    return words_impl(args, 1);
}

