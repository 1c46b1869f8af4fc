/* speedups.word_tokens, of the concern spamscore._core.speedups (speedups.c
 * has it in its method table): the per-word loop over the words of Python's
 * split, for the texts words() of the bodyscan concern (bodywords.c) leaves
 * to Python.  It sits beside the bodyscan files, the other loop over body
 * words; both apply core.h's word rule (why two loops and not one:
 * bodyscan.c).
 */
#include "core.h"

/* ------------------------------------------------------------------------
 * word_tokens(raw, seq, prefix, punct, pair_prefix, max_pair_words) -> set
 * (spamscore._core.speedups.word_tokens: the name it has always had)
 *
 * The per-word loop of spamscore.features.tokens.words (its reference,
 * _word_tokens, is the Python code): for each distinct word of ``raw`` (a
 * set of str), strip the characters of ``punct`` (ASCII only) from both
 * ends; 3-12 characters: prefix + word; more: prefix + "skip:" + first
 * character + " " + length rounded down to tens.  With ``pair_prefix`` (a
 * str; None: no pairs), adjacent kept words among the first
 * ``max_pair_words`` items of ``seq`` (a list of str) also give
 * pair_prefix + "a b".
 */

/* prefix + a + sep + b (sep and b may be NULL) in one allocation */
static PyObject *join3(PyObject *prefix, PyObject *a, const char *sep, PyObject *b)
{
    Py_ssize_t lp = PyUnicode_GET_LENGTH(prefix), la = PyUnicode_GET_LENGTH(a);
    Py_ssize_t ls = sep ? (Py_ssize_t)strlen(sep) : 0, lb = b ? PyUnicode_GET_LENGTH(b) : 0;
    Py_UCS4 maxc = PyUnicode_MAX_CHAR_VALUE(prefix);
    if (PyUnicode_MAX_CHAR_VALUE(a) > maxc) maxc = PyUnicode_MAX_CHAR_VALUE(a);
    if (b && PyUnicode_MAX_CHAR_VALUE(b) > maxc) maxc = PyUnicode_MAX_CHAR_VALUE(b);
    PyObject *r = PyUnicode_New(lp + la + ls + lb, maxc);
    if (r == NULL)
        return NULL;
    Py_ssize_t at = 0;
    if (lp && PyUnicode_CopyCharacters(r, at, prefix, 0, lp) < 0) goto fail;
    at += lp;
    if (la && PyUnicode_CopyCharacters(r, at, a, 0, la) < 0) goto fail;
    at += la;
    for (Py_ssize_t i = 0; i < ls; i++)
        PyUnicode_WRITE(PyUnicode_KIND(r), PyUnicode_DATA(r), at + i, (Py_UCS4)(unsigned char)sep[i]);
    at += ls;
    if (lb && PyUnicode_CopyCharacters(r, at, b, 0, lb) < 0) goto fail;
    return r;
fail:
    Py_DECREF(r);
    return NULL;
}

PyObject *ss_word_tokens(PyObject *self, PyObject *args)
{
    PyObject *raw, *seq, *prefix, *punct, *pair_prefix;
    Py_ssize_t max_pair_words;
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
    PyObject *out = PySet_New(NULL), *kept = pairs ? PyDict_New() : NULL, *it = NULL, *w = NULL, *prev = NULL;
    if (out == NULL || (pairs && kept == NULL) || (it = PyObject_GetIter(raw)) == NULL)
        goto fail;
    while ((w = PyIter_Next(it)) != NULL) {
        if (!PyUnicode_Check(w)) {
            PyErr_SetString(PyExc_TypeError, "words must be str");
            goto fail;
        }
        Py_ssize_t start = 0, end = PyUnicode_GET_LENGTH(w);
        ss_strip_punct(is_punct, PyUnicode_KIND(w), PyUnicode_DATA(w), &start, &end);
        Py_ssize_t n = end - start;
        int fate = ss_word_fate(n);
        if (fate == SS_WORD_SKIP) {
            PyObject *first = PyUnicode_Substring(w, start, start + 1);
            if (first == NULL)
                goto fail;
            PyObject *tok = PyUnicode_FromFormat("%Uskip:%U %zd", prefix, first, ss_skip_length(n));
            Py_DECREF(first);
            if (ss_set_add_new(out, tok) < 0)
                goto fail;
        } else if (fate == SS_WORD_KEEP) {
            PyObject *v = PyUnicode_Substring(w, start, end);
            if (v == NULL)
                goto fail;
            PyObject *tok = PyUnicode_GET_LENGTH(prefix) ? join3(prefix, v, NULL, NULL) : (Py_INCREF(v), v);
            if (ss_set_add_new(out, tok) < 0 || (pairs && PyDict_SetItem(kept, w, v) < 0)) {
                Py_DECREF(v);
                goto fail;
            }
            Py_DECREF(v);
        }
        Py_CLEAR(w);
    }
    if (PyErr_Occurred())
        goto fail;
    Py_CLEAR(it);
    if (pairs && PyList_GET_SIZE(seq) > 1) {
        /* The keys of ``kept`` are the items of ``raw``: a lookup compares
         * with them, and a str subclass's __eq__ is Python code that may
         * change ``seq``.  So each item is held across its lookup and the
         * size is read at every step (issue 15's audit: a cached size and a
         * borrowed item were a use after free).  ``prev`` is held too:
         * ``kept`` is reachable from that code (gc.get_objects(), once a key
         * is a tracked str subclass), which may delete its entry. */
        for (Py_ssize_t i = 0; i < max_pair_words && i < PyList_GET_SIZE(seq); i++) {
            PyObject *item = PyList_GET_ITEM(seq, i);
            if (!PyUnicode_CheckExact(item)) {
                PyErr_SetString(PyExc_TypeError, "seq must hold str");
                goto fail;
            }
            Py_INCREF(item);
            PyObject *v = PyDict_GetItemWithError(kept, item);
            Py_DECREF(item);
            if (v == NULL && PyErr_Occurred())
                goto fail;
            if (v != NULL && prev != NULL && ss_set_add_new(out, join3(pair_prefix, prev, " ", v)) < 0)
                goto fail;
            Py_XINCREF(v);
            Py_XSETREF(prev, v);
        }
    }
    Py_XDECREF(prev);
    Py_XDECREF(kept);
    return out;
fail:
    Py_XDECREF(prev);
    Py_XDECREF(out);
    Py_XDECREF(kept);
    Py_XDECREF(it);
    Py_XDECREF(w);
    return NULL;
}

