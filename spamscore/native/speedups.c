/* The concern spamscore._core.speedups: spamscore.model.HashIndex, the URL
 * word filter of find_urls, and the exactly rounded clue sums
 * (spamscore.model.clue_sums) and the meta flags of
 * spamscore.scoring.meta_mask.  Its word_tokens (the body words of
 * spamscore.features.tokens.words from Python's split) is in wordtokens.c,
 * a thin entry into the per-word stage it shares with bodyscan.words
 * (bodystage.h).
 *
 * The Python code beside each caller is the reference implementation;
 * these functions give exactly the same results (tests/test_hash_index.py,
 * test_word_tokens.py, test_clue_sums.py) and are used when the native core
 * was built.  A build without a C compiler leaves it out (setup.py marks it
 * optional).
 *
 * The table: ``keys`` (int64, a power-of-two size, EMPTY = -1 where free)
 * holds this process's hash() of each token; ``rows`` (int32) the token's
 * row.  Linear probing from ``hash & mask``.  It is at most a quarter full,
 * so every probe sequence reaches a free slot.
 */
#include "core.h"
#include "speedups.h"

#include <math.h>

void ss_release_table(table_t *t)
{
    if (t->keys.obj) PyBuffer_Release(&t->keys);
    if (t->rows.obj) PyBuffer_Release(&t->rows);
}

/* Borrow the two arrays' memory; ``writable`` for build and intern. */
int ss_get_table(PyObject *keys, PyObject *rows, table_t *t, int writable)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    memset(t, 0, sizeof(*t));
    if (PyObject_GetBuffer(keys, &t->keys, flags) < 0)
        return -1;
    if (PyObject_GetBuffer(rows, &t->rows, flags) < 0) {
        ss_release_table(t);
        return -1;
    }
    Py_ssize_t n = t->keys.len / 8;
    if (t->keys.itemsize != 8 || t->rows.itemsize != 4 || t->rows.len / 4 != n
        || n < 1 || (n & (n - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "expected int64 keys and int32 rows of the same power-of-two length");
        ss_release_table(t);
        return -1;
    }
    t->k = (int64_t *)t->keys.buf;
    t->r = (int32_t *)t->rows.buf;
    t->mask = (uint64_t)n - 1;
    return 0;
}

int ss_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The sorted, distinct rows of the items of ``doc`` found in the table, in
 * a PyMem buffer the caller frees (*m of them); NULL with an exception set. */
static int64_t *probe_doc(PyObject *doc, const table_t *t, const uint64_t *bloom, Py_ssize_t *m_out)
{
    /* A list of exact str is read in place: hashing an exact str runs no
     * Python code, so nothing can change the list under us.  Anything else
     * becomes a tuple first (hash() of a str subclass may run Python code). */
    PyObject *seq = NULL;
    if (PyList_CheckExact(doc)) {
        Py_ssize_t n = PyList_GET_SIZE(doc);
        for (Py_ssize_t i = 0; i < n; i++)
            if (!PyUnicode_CheckExact(PyList_GET_ITEM(doc, i))) {
                seq = PySequence_Tuple(doc);
                if (seq == NULL)
                    return NULL;
                break;
            }
    }
    else if ((seq = PySequence_Tuple(doc)) == NULL)
        return NULL;
    Py_ssize_t n = seq ? PyTuple_GET_SIZE(seq) : PyList_GET_SIZE(doc);
    PyObject **items = PySequence_Fast_ITEMS(seq ? seq : doc);
    int64_t *out = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    if (out == NULL) {
        Py_XDECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_hash_t h = PyObject_Hash(items[i]);
        if (h == -1) {
            PyMem_Free(out);
            Py_XDECREF(seq);
            return NULL;
        }
        if (bloom != NULL && !bloom_may_hold(bloom, h))
            continue;  /* surely not in the table: no probe into its (far larger) memory */
        uint64_t pos = (uint64_t)h & t->mask;
        /* at most a quarter full: an EMPTY slot always ends the probe;
         * the bound only guards against a table not built by HashIndex */
        for (uint64_t step = 0; step <= t->mask; step++) {
            int64_t k = t->k[pos];
            if (k == (int64_t)h) {
                out[m++] = t->r[pos];
                break;
            }
            if (k == EMPTY)
                break;
            pos = (pos + 1) & t->mask;
        }
    }
    Py_XDECREF(seq);
    if (m > 1) {
        qsort(out, (size_t)m, sizeof(int64_t), ss_cmp_i64);
        Py_ssize_t u = 1;
        for (Py_ssize_t i = 1; i < m; i++)
            if (out[i] != out[u - 1])
                out[u++] = out[i];
        m = u;
    }
    *m_out = m;
    return out;
}

/* lookup(doc, keys, rows) -> bytes: the sorted, distinct rows (native int64)
 * of the items of ``doc`` (a list or tuple of str) found in the table. */
static PyObject *lookup(PyObject *self, PyObject *args)
{
    PyObject *doc, *keys, *rows;
    if (!PyArg_ParseTuple(args, "OOO:lookup", &doc, &keys, &rows))
        return NULL;
    table_t t;
    if (ss_get_table(keys, rows, &t, 0) < 0)
        return NULL;
    Py_ssize_t m = 0;
    int64_t *out = probe_doc(doc, &t, NULL, &m);
    ss_release_table(&t);
    if (out == NULL)
        return NULL;
    PyObject *result = PyBytes_FromStringAndSize((const char *)out, m * (Py_ssize_t)sizeof(int64_t));
    PyMem_Free(out);
    return result;
}

/* build(hashes, keys, rows): insert hashes[i] -> i by linear probing into the
 * table (keys all EMPTY, rows zero, at least twice as large as hashes). */
static PyObject *build(PyObject *self, PyObject *args)
{
    PyObject *hashes_obj, *keys, *rows;
    if (!PyArg_ParseTuple(args, "OOO:build", &hashes_obj, &keys, &rows))
        return NULL;
    Py_buffer hb;
    if (PyObject_GetBuffer(hashes_obj, &hb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    table_t t;
    if (ss_get_table(keys, rows, &t, 1) < 0) {
        PyBuffer_Release(&hb);
        return NULL;
    }
    Py_ssize_t n = hb.len / 8;
    if (hb.itemsize != 8 || (uint64_t)n * 2 > t.mask + 1 || n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "expected int64 hashes, at most half the table's size");
        goto fail;
    }
    const int64_t *h = (const int64_t *)hb.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (h[i] == EMPTY) {
            PyErr_SetString(PyExc_ValueError, "a hash of -1 cannot be stored");
            goto fail;
        }
        uint64_t pos = (uint64_t)h[i] & t.mask, step = 0;
        while (t.k[pos] != EMPTY) {
            if (++step > t.mask) {  /* only a table handed in full */
                PyErr_SetString(PyExc_ValueError, "the table is full");
                goto fail;
            }
            pos = (pos + 1) & t.mask;
        }
        t.k[pos] = h[i];
        t.r[pos] = (int32_t)i;
    }
    PyBuffer_Release(&hb);
    ss_release_table(&t);
    Py_RETURN_NONE;
fail:
    PyBuffer_Release(&hb);
    ss_release_table(&t);
    return NULL;
}


/* Borrow a Bloom filter of BLOOM_BITS bits in 64-bit words (Py_None: none, bb left empty);
 * -1 with an exception set on error. */
int ss_get_bloom(PyObject *o, Py_buffer *bb, int writable)
{
    memset(bb, 0, sizeof(*bb));
    if (o == Py_None)
        return 0;
    if (PyObject_GetBuffer(o, bb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (bb->itemsize != 8 || bb->len != (Py_ssize_t)(BLOOM_BITS / 8)) {
        PyErr_SetString(PyExc_ValueError, "expected a bloom filter of 2**21 bits in 64-bit words");
        PyBuffer_Release(bb);
        return -1;
    }
    return 0;
}

void ss_release_tables(tables_t *t)
{
    if (t->fb.obj) PyBuffer_Release(&t->fb);
    if (t->ob.obj) PyBuffer_Release(&t->ob);
    if (t->mb.obj) PyBuffer_Release(&t->mb);
}

int ss_get_tables(PyObject *lf_o, PyObject *l1_o, PyObject *meta_o, tables_t *t)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
    memset(t, 0, sizeof(*t));
    if (PyObject_GetBuffer(lf_o, &t->fb, flags) < 0 || PyObject_GetBuffer(l1_o, &t->ob, flags) < 0
        || (meta_o != Py_None && PyObject_GetBuffer(meta_o, &t->mb, flags) < 0)) {
        ss_release_tables(t);
        return -1;
    }
    if (t->fb.format == NULL || t->ob.format == NULL || (meta_o != Py_None && t->mb.format == NULL)
        || t->fb.itemsize != 8 || t->ob.itemsize != 8 || t->fb.len != t->ob.len
        || strcmp(t->fb.format, "d") != 0 || strcmp(t->ob.format, "d") != 0
        || (meta_o != Py_None && (t->mb.itemsize != 1 || t->mb.len != t->fb.len / 8))) {
        PyErr_SetString(PyExc_ValueError, "expected float64 tables of one length and a 1-byte meta table");
        ss_release_tables(t);
        return -1;
    }
    t->lf = (const double *)t->fb.buf;
    t->l1 = (const double *)t->ob.buf;
    t->meta = meta_o != Py_None ? (const unsigned char *)t->mb.buf : NULL;
    t->size = t->fb.len / 8;
    return 0;
}

/* clue_sums(rows, log_f, log_1mf, meta) -> (sum ln f, sum ln(1-f), k,
 *     text sum ln f, text sum ln(1-f), k_text, meta sum ln f, meta sum ln(1-f), k_meta)
 * or None (non-finite values: the caller uses math.fsum).  ``rows``: int64
 * rows into the float64 tables; ``meta``: None or a uint8/int8/bool table. */
static PyObject *clue_sums(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *rows_o, *lf_o, *l1_o, *meta_o;
    if (!PyArg_ParseTuple(args, "OOOO:clue_sums", &rows_o, &lf_o, &l1_o, &meta_o))
        return NULL;
    Py_buffer rb = {0};
    tables_t t;
    if (PyObject_GetBuffer(rows_o, &rb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (rb.format == NULL || rb.itemsize != 8 || (strcmp(rb.format, "l") != 0 && strcmp(rb.format, "q") != 0)) {
        PyErr_SetString(PyExc_ValueError, "expected int64 rows");
        PyBuffer_Release(&rb);
        return NULL;
    }
    if (ss_get_tables(lf_o, l1_o, meta_o, &t) < 0) {
        PyBuffer_Release(&rb);
        return NULL;
    }
    PyObject *result = ss_sums_of((const int64_t *)rb.buf, rb.len / 8, t.lf, t.l1, t.meta, t.size);
    ss_release_tables(&t);
    PyBuffer_Release(&rb);
    return result;
}

/* lookup_sums(doc, keys, rows, log_f, log_1mf, meta, max_clues) -> (rows, sums):
 * lookup() and, when it found at most max_clues rows, clue_sums() of them in
 * one call (the scoring path); sums is None when there are more (the caller
 * caps them first) or a value is not finite (the caller uses math.fsum). */
static PyObject *lookup_sums(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *doc, *keys, *rows, *lf_o, *l1_o, *meta_o, *bloom_o = Py_None;
    Py_ssize_t max_clues;
    if (!PyArg_ParseTuple(args, "OOOOOOn|O:lookup_sums", &doc, &keys, &rows, &lf_o, &l1_o, &meta_o, &max_clues,
                          &bloom_o))
        return NULL;
    table_t t;
    tables_t tb;
    Py_buffer bb;
    if (ss_get_bloom(bloom_o, &bb, 0) < 0)
        return NULL;
    if (ss_get_table(keys, rows, &t, 0) < 0) {
        if (bb.obj) PyBuffer_Release(&bb);
        return NULL;
    }
    if (ss_get_tables(lf_o, l1_o, meta_o, &tb) < 0) {
        ss_release_table(&t);
        if (bb.obj) PyBuffer_Release(&bb);
        return NULL;
    }
    Py_ssize_t m = 0;
    PyObject *result = NULL, *found = NULL, *sums = NULL;
    int64_t *out = probe_doc(doc, &t, bb.obj ? (const uint64_t *)bb.buf : NULL, &m);
    if (out == NULL)
        goto done;
    found = PyBytes_FromStringAndSize((const char *)out, m * (Py_ssize_t)sizeof(int64_t));
    if (found == NULL)
        goto done;
    if (m <= max_clues) {
        sums = ss_sums_of(out, m, tb.lf, tb.l1, tb.meta, tb.size);
        if (sums == NULL)
            goto done;
    } else {
        sums = Py_None;
        Py_INCREF(sums);
    }
    result = PyTuple_Pack(2, found, sums);
done:
    Py_XDECREF(found);
    Py_XDECREF(sums);
    PyMem_Free(out);
    ss_release_tables(&tb);
    ss_release_table(&t);
    if (bb.obj) PyBuffer_Release(&bb);
    return result;
}

/* bloom(hashes, words): set the two bits of every hash (int64) in a
 * BLOOM_BITS-bit filter (uint64 words, zeroed by the caller). */
static PyObject *bloom(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *h_o, *w_o;
    if (!PyArg_ParseTuple(args, "OO:bloom", &h_o, &w_o))
        return NULL;
    Py_buffer hb = {0}, wb = {0};
    if (PyObject_GetBuffer(h_o, &hb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(w_o, &wb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&hb);
        return NULL;
    }
    if (hb.itemsize != 8 || wb.itemsize != 8 || wb.len != (Py_ssize_t)(BLOOM_BITS / 8)) {
        PyErr_SetString(PyExc_ValueError, "expected int64 hashes and 2**21 bits in 64-bit words");
        PyBuffer_Release(&hb);
        PyBuffer_Release(&wb);
        return NULL;
    }
    const int64_t *h = (const int64_t *)hb.buf;
    uint64_t *w = (uint64_t *)wb.buf;
    for (Py_ssize_t i = 0, n = hb.len / 8; i < n; i++) {
        uint64_t u = (uint64_t)h[i], b1 = u & BLOOM_MASK, b2 = (u >> 21) & BLOOM_MASK;
        w[b1 >> 6] |= (uint64_t)1 << (b1 & 63);
        w[b2 >> 6] |= (uint64_t)1 << (b2 & 63);
    }
    PyBuffer_Release(&hb);
    PyBuffer_Release(&wb);
    Py_RETURN_NONE;
}

/* meta_flags(tokens, rows, prefixes) -> bytes: for each row r, 1 if
 * tokens[r] has a ':' and the part before the first one is in ``prefixes``
 * (a frozenset of str), else 0 (spamscore.scoring.is_meta). */
static PyObject *meta_flags(PyObject *self, PyObject *args)
{
    PyObject *tokens, *rows_o, *prefixes;
    if (!PyArg_ParseTuple(args, "O!OO!:meta_flags", &PyList_Type, &tokens, &rows_o, &PyFrozenSet_Type, &prefixes))
        return NULL;
    Py_buffer rb;
    if (PyObject_GetBuffer(rows_o, &rb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (rb.format == NULL || rb.itemsize != 8 || (strcmp(rb.format, "l") != 0 && strcmp(rb.format, "q") != 0)) {
        PyBuffer_Release(&rb);
        PyErr_SetString(PyExc_ValueError, "expected int64 rows");
        return NULL;
    }
    /* A snapshot of the list: PySet_Contains below can run Python code (a frozenset subclass's
     * elements may be str subclasses with __eq__) that could shrink the list under a cached size
     * and a borrowed item (a use after free found by the C/Cython/Rust comparison for issue 15). */
    PyObject *snap = PySequence_Tuple(tokens);
    PyObject *out = NULL;
    if (snap == NULL)
        goto fail;
    Py_ssize_t n = rb.len / 8, size = PyTuple_GET_SIZE(snap);
    const int64_t *rows = (const int64_t *)rb.buf;
    out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL)
        goto fail;
    char *o = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = rows[i];
        if (r < 0 || r >= size) {
            PyErr_SetString(PyExc_IndexError, "row out of range");
            goto fail;
        }
        PyObject *t = PyTuple_GET_ITEM(snap, r);
        if (!PyUnicode_Check(t)) {
            PyErr_SetString(PyExc_TypeError, "tokens must be str");
            goto fail;
        }
        Py_ssize_t colon = PyUnicode_FindChar(t, ':', 0, PyUnicode_GET_LENGTH(t), 1);
        if (colon == -2)
            goto fail;
        o[i] = 0;
        if (colon >= 0) {
            PyObject *head = PyUnicode_Substring(t, 0, colon);
            if (head == NULL)
                goto fail;
            int in = PySet_Contains(prefixes, head);
            Py_DECREF(head);
            if (in < 0)
                goto fail;
            o[i] = (char)in;
        }
    }
    Py_DECREF(snap);
    PyBuffer_Release(&rb);
    return out;
fail:
    Py_XDECREF(snap);
    Py_XDECREF(out);
    PyBuffer_Release(&rb);
    return NULL;
}

/* ------------------------------------------------------------------------
 * url_words(seq) -> list: the items of ``seq`` (a list of str) that hold
 * "://" or "www." (spamscore.features.urls.find_urls runs its regex on
 * these only; the Python loop is the reference).
 */
static PyObject *url_words(PyObject *self, PyObject *seq)
{
    if (!PyList_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "expected a list of str");
        return NULL;
    }
    static PyObject *sep = NULL, *www = NULL;
    if (sep == NULL && ((sep = PyUnicode_InternFromString("://")) == NULL))
        return NULL;
    if (www == NULL && ((www = PyUnicode_InternFromString("www.")) == NULL))
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(seq); i++) {
        PyObject *w = PyList_GET_ITEM(seq, i);
        if (!PyUnicode_Check(w)) {
            PyErr_SetString(PyExc_TypeError, "expected a list of str");
            goto fail;
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(w);
        int hit;
        if (PyUnicode_KIND(w) == PyUnicode_1BYTE_KIND) {
            const unsigned char *d = PyUnicode_1BYTE_DATA(w);
            hit = ss_has_sub(d, n, "://", 3) || ss_has_sub(d, n, "www.", 4);
        } else {
            Py_ssize_t a = PyUnicode_Find(w, sep, 0, n, 1);
            if (a == -2)
                goto fail;
            Py_ssize_t b = a >= 0 ? 0 : PyUnicode_Find(w, www, 0, n, 1);
            if (b == -2)
                goto fail;
            hit = a >= 0 || b >= 0;
        }
        if (hit && PyList_Append(out, w) < 0)
            goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"lookup_sums_h", ss_lookup_sums_h, METH_VARARGS,
     "lookup_sums_h(doc, extra, dense, meta, max_clues[, bloom]) -> (rows, sums, distinct): "
     "the clue rows and sums of the str of doc and the int64 hashes of the bytes in extra, duplicates once, "
     "in a dense table"},
    {"token_hashes", ss_token_hashes, METH_VARARGS,
     "token_hashes(strs[, rows]) -> bytes: the token hash (spamscore._native.token_hash) of each str "
     "(of strs[rows[i]] with int64 rows), native int64"},
    {"build_dense", ss_build_dense, METH_VARARGS,
     "build_dense(hashes, log_f, log_1mf, table): fill a dense clue table (32-byte entries)"},
    {"lookup", lookup, METH_VARARGS,
     "lookup(doc, keys, rows) -> bytes: sorted distinct int64 rows of doc's items in the table"},
    {"build", build, METH_VARARGS,
     "build(hashes, keys, rows): insert hashes[i] -> i into an empty table by linear probing"},
    {"top_clues", ss_top_clues, METH_VARARGS,
     "top_clues(rows, log_odds, off, blob, n) -> (tokens, weights) or None: the n strongest clues of rows, "
     "strongest first, with their mapped strings (clues.c)"},
    {"intern", ss_intern, METH_VARARGS,
     "intern(strs, keys, rows, count) -> (rows, new, count): each str's row in a training vocabulary's "
     "table by token hash, a new one getting the next row (vocab.c)"},
    {"add_cells", ss_add_cells, METH_VARARGS,
     "add_cells(table, cells): table[c] += 1 for each int64 cell c of an int32 table (vocab.c)"},
    {"word_tokens", ss_word_tokens, METH_VARARGS,  /* (wordtokens.c: bodyscan's per-word stage, bodystage.h) */
     "word_tokens(raw, seq, prefix, punct, pair_prefix, max_pair_words) -> set or None: "
     "the per-word stage of spamscore.features.tokens.words over the words of Python's split"},
    {"lookup_sums", lookup_sums, METH_VARARGS,
     "lookup_sums(doc, keys, rows, log_f, log_1mf, meta, max_clues[, bloom]) -> (rows, sums or None): "
     "lookup (skipping hashes the bloom filter rules out), then clue_sums of the rows when at most max_clues"},
    {"bloom", bloom, METH_VARARGS, "bloom(hashes, words): set each hash's two bits in a 2**21-bit filter"},
    {"fold_sums", ss_fold_sums, METH_VARARGS,  /* (foldsums.c) */
     "fold_sums(rows, which, strong, log_odds, log_f, log_1mf, meta, max_clues, out, bad): "
     "clue_sums of each held-out message's strong rows, capped as cap_clues does, into out (9 a message)"},
    {"clue_sums", clue_sums, METH_VARARGS,
     "clue_sums(rows, log_f, log_1mf, meta) -> exactly rounded sums of the clues, all / text / meta, and counts"},
    {"meta_flags", meta_flags, METH_VARARGS,
     "meta_flags(tokens, rows, prefixes) -> bytes: spamscore.scoring.is_meta of tokens[r] for each row"},
    {"url_words", url_words, METH_O, "url_words(seq) -> list: the words of seq that hold '://' or 'www.'"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "spamscore._core.speedups",
    "Compiled HashIndex lookup and build, and the word-token loop (optional; the Python code is the reference).",
    -1, methods,
};

PyObject *ss_init_speedups(void)
{
    return PyModule_Create(&module);
}
