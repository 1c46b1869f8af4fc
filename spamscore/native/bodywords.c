/* words() and word_hashes() of the concern spamscore._core.bodyscan (what
 * they return: bodyscan.c): normalize, lower, split and dedupe in one pass
 * over the text, then the per-word stage (bodystage.h, as Py_UCS2: strip,
 * keep or skip each distinct word and pair the kept ones), the same stage
 * speedups.word_tokens (wordtokens.c) runs over the words of Python's split.
 * The sets of distinct words: bodyspans.c; where the tokens go: bodysink.c;
 * the character tables: bodychars.h.
 */
#include "core.h"
#include "bodyscan.h"
#include "bodychars.h"

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
    int32_t *seq_ids = NULL;
    int rc;
    spanset_t ws;
    sink_t sink;
    memset(&ws, 0, sizeof(ws));
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
    if (ss_spanset_init(&ws, low, ss_pow2_at_least(max_words < 512 ? 2 * max_words : 1024)) < 0)
        goto fail;
    /* normalize, lower, split and dedupe in one pass */
    Py_ssize_t nseq = 0, w = 0, start = 0;
    uint64_t h = SS_FNV_BASIS;
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
            h = (h ^ m) * SS_FNV_PRIME;
            continue;
        }
        if (m == DEL)
            continue;
        if (m == BAIL)
            goto bail;
        if (w > start) {  /* white space after a word */
            int added;
            Py_ssize_t len = w - start;
            /* (the hash bodystage.h's hash_chars gives, made as the characters come) */
            Py_ssize_t id = ss_spanset_add_u2(&ws, start, len, (uint32_t)ss_mix64(h ^ (uint64_t)len), &added);
            if (id == -1)
                goto fail;
            if (id == -2)
                goto bail;
            if (nseq < m_cap)
                seq_ids[nseq] = (int32_t)id;
            nseq++;
        }
        start = w;
        h = SS_FNV_BASIS;
    }
    if (nseq == 0)
        goto finish;
    /* strip, keep or skip each distinct word; pairs of adjacent kept words among the first max_pair_words */
    rc = ss_word_stage_u2(&ws, seq_ids, nseq < m_cap ? nseq : m_cap, pre, lpre, pairs, ppre, lppre,
                          is_punct, &sink);
    if (rc == -1)
        goto fail;
    if (rc == -2)
        goto bail;
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
    ss_spanset_free(&ws);
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

