/* speedups.word_tokens, of the concern spamscore._core.speedups (speedups.c
 * has it in its method table): the body words of a text words() leaves to
 * Python (CJK, astral characters...), from the words of Python's split.  A
 * thin entry: it copies those words into one buffer of characters and runs
 * the same per-word stage as bodyscan.words/word_hashes (bodystage.h, the
 * one compiled implementation of the word rule, the pairs and the
 * dedupe), as Py_UCS2 when every character fits, as Py_UCS4 otherwise.
 */
#include "core.h"
#include "bodyscan.h"

/* ------------------------------------------------------------------------
 * word_tokens(raw, seq, prefix, punct, pair_prefix, max_pair_words) -> set or None
 * (spamscore._core.speedups.word_tokens: the name it has always had)
 *
 * What spamscore.features.tokens._word_tokens (the reference, in Python)
 * gives: for each distinct word of ``raw`` (a set of str), strip the
 * characters of ``punct`` (ASCII only) from both ends; 3-12 characters:
 * prefix + word; more: prefix + "skip:" + first character + " " + length
 * rounded down to tens.  With ``pair_prefix`` (a str; None: no pairs) and
 * more than one item in ``seq`` (a list of str), adjacent kept words among
 * the first ``max_pair_words`` items of ``seq`` also give pair_prefix +
 * "a b"; an item that is no word of ``raw`` (a CJK word, whose pieces are
 * in ``raw`` instead) pairs with neither neighbour.  Words compare by their
 * characters (as str equality of the str that words() passes).  None when
 * a hash probe runs long (crafted collisions) or the words hold more than
 * MAX_TEXT characters: the Python code then does the work.
 *
 * Python code runs here only while ``raw`` is iterated (a set subclass's
 * __iter__); the words and the items of ``seq`` are then held in arrays of
 * this function's own (new references, which no Python code can reach) and
 * copied out before anything is read from them, so nothing that code does
 * to ``seq``, ``raw`` or the words can pull them from under the stage
 * (issue 15's audit found use-after-free bugs in the loop this replaced,
 * which looked words up in a dict by str equality).
 */

/* s's characters into buf (Py_UCS2 when width is 2, else Py_UCS4) from index ``at``; their hash (FNV-1a
 * and the mix, in the same pass: the value bodystage.h's hash_chars gives of the copy) */
static uint32_t put_chars(void *buf, int width, Py_ssize_t at, PyObject *s)
{
    int kind = PyUnicode_KIND(s);
    const void *d = PyUnicode_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    uint64_t h = SS_FNV_BASIS;
    if (width == 2) {
        Py_UCS2 *o = (Py_UCS2 *)buf + at;
        if (kind == PyUnicode_1BYTE_KIND) {
            const Py_UCS1 *p = d;
            for (Py_ssize_t i = 0; i < n; i++)
                h = (h ^ (o[i] = p[i])) * SS_FNV_PRIME;
        } else {  /* (kind 2: width 2 is chosen only when no str is of kind 4) */
            const Py_UCS2 *p = d;
            for (Py_ssize_t i = 0; i < n; i++)
                h = (h ^ (o[i] = p[i])) * SS_FNV_PRIME;
        }
    } else {
        Py_UCS4 *o = (Py_UCS4 *)buf + at;
        for (Py_ssize_t i = 0; i < n; i++)
            h = (h ^ (o[i] = PyUnicode_READ(kind, d, i))) * SS_FNV_PRIME;
    }
    return (uint32_t)ss_mix64(h ^ (uint64_t)n);
}

/* the items of ``it`` (new references, each a str) into *items (PyMem); their number, or -1 with an exception set */
static Py_ssize_t take_words(PyObject *it, PyObject ***items)
{
    Py_ssize_t n = 0, cap = 0;
    PyObject *w;
    *items = NULL;
    while ((w = PyIter_Next(it)) != NULL) {
        if (!PyUnicode_Check(w)) {
            Py_DECREF(w);
            PyErr_SetString(PyExc_TypeError, "words must be str");
            return n;  /* (the caller releases the n taken; PyErr_Occurred() tells) */
        }
        if (ss_grow((void **)items, &cap, n + 1, sizeof(PyObject *), 64) < 0) {
            Py_DECREF(w);
            return n;
        }
        (*items)[n++] = w;
    }
    return n;
}

PyObject *ss_word_tokens(PyObject *self, PyObject *args)
{
    PyObject *raw, *seq, *prefix, *punct, *pair_prefix;
    Py_ssize_t max_pair_words;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!OUOOn:word_tokens", &PySet_Type, &raw, &seq, &prefix, &punct,
                          &pair_prefix, &max_pair_words))
        return NULL;
    unsigned char is_punct[128];
    if (ss_punct_table(punct, is_punct) < 0) {
        PyErr_SetString(PyExc_TypeError, "punct must be an ASCII str");
        return NULL;
    }
    int pairs = pair_prefix != Py_None;
    if (pairs && (!PyUnicode_Check(pair_prefix) || !PyList_Check(seq))) {
        PyErr_SetString(PyExc_TypeError, "pairs need a str pair_prefix and a list seq");
        return NULL;
    }
    PyObject *out = NULL, *result = NULL, *it = NULL, **words = NULL, **items = NULL;
    Py_ssize_t nw = 0, m = 0;
    void *buf = NULL;
    int32_t *seq_ids = NULL;
    spanset_t ws;
    sink_t sink;
    memset(&ws, 0, sizeof(ws));
    memset(&sink, 0, sizeof(sink));

    /* the words of raw (Python code may run here: raw may be a set subclass) */
    if ((it = PyObject_GetIter(raw)) == NULL)
        goto fail;
    nw = take_words(it, &words);
    if (PyErr_Occurred())
        goto fail;
    /* the first max_pair_words items of seq (no Python code runs from here on) */
    if (pairs && PyList_GET_SIZE(seq) > 1 && max_pair_words > 1) {
        m = PyList_GET_SIZE(seq) < max_pair_words ? PyList_GET_SIZE(seq) : max_pair_words;
        items = PyMem_Malloc((size_t)m * sizeof(PyObject *));
        if (items == NULL) {
            m = 0;
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t k = 0; k < m; k++) {
            items[k] = PyList_GET_ITEM(seq, k);
            Py_INCREF(items[k]);
        }
        for (Py_ssize_t k = 0; k < m; k++)
            if (!PyUnicode_CheckExact(items[k])) {
                PyErr_SetString(PyExc_TypeError, "seq must hold str");
                goto fail;
            }
    }
    /* how many characters, and how wide */
    int width = 2;
    Py_ssize_t total = 0;
    PyObject *fixed[2] = {prefix, pairs ? pair_prefix : NULL};
    for (int pass = 0; pass < 3; pass++) {
        PyObject **arr = pass == 0 ? words : pass == 1 ? items : fixed;
        Py_ssize_t cnt = pass == 0 ? nw : pass == 1 ? m : 2;
        for (Py_ssize_t k = 0; k < cnt; k++) {
            PyObject *s = arr[k];
            if (s == NULL)
                continue;
#if PY_VERSION_HEX < 0x030C0000  /* (a no-op, and deprecated, from 3.12) */
            if (PyUnicode_READY(s) < 0)
                goto fail;
#endif
            if (PyUnicode_KIND(s) == PyUnicode_4BYTE_KIND)
                width = 4;
            total += PyUnicode_GET_LENGTH(s);
            if (total > MAX_TEXT)
                goto bail;
        }
    }
    buf = PyMem_Malloc((size_t)(total + 1) * (size_t)width);
    seq_ids = PyMem_Malloc((size_t)(m + 1) * sizeof(int32_t));
    if (buf == NULL || seq_ids == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    if (ss_spanset_init(&ws, buf, ss_pow2_at_least(2 * nw)) < 0)
        goto fail;
    /* the distinct words (each one id), then the ids of seq's items (-1: none of them) */
    Py_ssize_t at = 0;
    for (Py_ssize_t k = 0; k < nw + m; k++) {
        PyObject *s = k < nw ? words[k] : items[k - nw];
        Py_ssize_t len = PyUnicode_GET_LENGTH(s), id;
        uint32_t h = put_chars(buf, width, at, s);
        if (k < nw) {
            int added;
            id = width == 2 ? ss_spanset_add_u2(&ws, at, len, h, &added) : ss_spanset_add_u4(&ws, at, len, h, &added);
            if (id == -1)
                goto fail;
        } else {  /* (-1: none of the words) */
            id = width == 2 ? ss_spanset_find_u2(&ws, (const Py_UCS2 *)buf + at, len, h)
                            : ss_spanset_find_u4(&ws, (const Py_UCS4 *)buf + at, len, h);
            seq_ids[k - nw] = (int32_t)id;
        }
        if (id == -2)
            goto bail;
        at += len;
    }
    Py_ssize_t at_pre = at, lpre = PyUnicode_GET_LENGTH(prefix), lppre = 0;
    (void)put_chars(buf, width, at_pre, prefix);
    if (pairs) {
        lppre = PyUnicode_GET_LENGTH(pair_prefix);
        (void)put_chars(buf, width, at_pre + lpre, pair_prefix);
    }
    if ((out = PySet_New(NULL)) == NULL)
        goto fail;
    sink.set = out;
    int rc = width == 2
        ? ss_word_stage_u2(&ws, seq_ids, m, (const Py_UCS2 *)buf + at_pre, lpre, pairs,
                           (const Py_UCS2 *)buf + at_pre + lpre, lppre, is_punct, &sink)
        : ss_word_stage_u4(&ws, seq_ids, m, (const Py_UCS4 *)buf + at_pre, lpre, pairs,
                           (const Py_UCS4 *)buf + at_pre + lpre, lppre, is_punct, &sink);
    if (rc == -1)
        goto fail;
    if (rc == -2)
        goto bail;
    result = out;
    out = NULL;
    goto done;
bail:
    result = Py_None;
    Py_INCREF(result);
    goto done;
fail:
    result = NULL;
done:
    Py_XDECREF(out);
    Py_XDECREF(it);
    for (Py_ssize_t k = 0; k < nw; k++)
        Py_DECREF(words[k]);
    for (Py_ssize_t k = 0; k < m; k++)
        Py_DECREF(items[k]);
    PyMem_Free(words);
    PyMem_Free(items);
    PyMem_Free(buf);
    PyMem_Free(seq_ids);
    ss_spanset_free(&ws);
    ss_sink_free(&sink);
    return result;
}
