/* The dense clue table of the concern spamscore._core.speedups: build_dense,
 * token_hashes and lookup_sums_h (its other functions: speedups.c). */
#include "core.h"
#include "speedups.h"

/* ------------------------------------------------------------------------
 * The dense clue table of the scoring path: one 32-byte entry per slot
 * holding the key (the token hash of native/core.h, the same in every
 * process and on every Python; EMPTY where free), the row and the
 * row's ln f and ln(1-f), at most half full, linear probing from
 * ``hash & mask``.  A clue found costs one cache line (two entries share
 * one), where the keys/rows table and the two value tables cost four
 * misses: between messages the feature work evicts the tables, so each
 * lookup went to memory (~44 us a message in a single pass over the corpus).
 */
typedef struct {
    int64_t key;
    int64_t row;
    double lf, l1;
} dentry_t;

typedef struct {
    Py_buffer buf;
    dentry_t *e;
    uint64_t mask;
} dense_t;

/* Borrow a dense table (any C-contiguous buffer of a power-of-two number of
 * 32-byte entries); ``writable`` for build_dense. */
static int get_dense(PyObject *o, dense_t *d, int writable)
{
    memset(d, 0, sizeof(*d));
    if (PyObject_GetBuffer(o, &d->buf, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    Py_ssize_t n = d->buf.len / (Py_ssize_t)sizeof(dentry_t);
    if (d->buf.len % (Py_ssize_t)sizeof(dentry_t) != 0 || n < 1 || (n & (n - 1)) != 0
        || ((uintptr_t)d->buf.buf % 8) != 0) {
        PyErr_SetString(PyExc_ValueError, "expected a dense table of a power-of-two number of 32-byte entries");
        PyBuffer_Release(&d->buf);
        return -1;
    }
    d->e = (dentry_t *)d->buf.buf;
    d->mask = (uint64_t)n - 1;
    return 0;
}

/* ss_build_dense(hashes, log_f, log_1mf, table): insert hashes[i] -> (i, log_f[i],
 * log_1mf[i]) by linear probing, in order (the first of equal hashes is
 * found, as in build), into ``table`` (writable; at least twice as many
 * entries as hashes; every slot is set here). */
PyObject *ss_build_dense(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *h_o, *lf_o, *l1_o, *t_o;
    if (!PyArg_ParseTuple(args, "OOOO:build_dense", &h_o, &lf_o, &l1_o, &t_o))
        return NULL;
    Py_buffer hb = {0};
    tables_t tb;
    dense_t d;
    if (PyObject_GetBuffer(h_o, &hb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (ss_get_tables(lf_o, l1_o, Py_None, &tb) < 0) {
        PyBuffer_Release(&hb);
        return NULL;
    }
    if (get_dense(t_o, &d, 1) < 0) {
        ss_release_tables(&tb);
        PyBuffer_Release(&hb);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t n = hb.len / 8;
    if (hb.itemsize != 8 || n != tb.size || (uint64_t)n > (d.mask + 1) / 2) {
        PyErr_SetString(PyExc_ValueError, "expected int64 hashes, one per value, in a table twice as large");
        goto done;
    }
    for (uint64_t j = 0; j <= d.mask; j++) {
        d.e[j].key = EMPTY;
        d.e[j].row = 0;
        d.e[j].lf = d.e[j].l1 = 0.0;
    }
    const int64_t *h = (const int64_t *)hb.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t pos = (uint64_t)h[i] & d.mask;
        while (d.e[pos].key != EMPTY)
            pos = (pos + 1) & d.mask;
        d.e[pos].key = h[i];
        d.e[pos].row = i;
        d.e[pos].lf = tb.lf[i];
        d.e[pos].l1 = tb.l1[i];
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&d.buf);
    ss_release_tables(&tb);
    PyBuffer_Release(&hb);
    return result;
}

/* Probe the dense table for each distinct hash of ``hs`` (n of them,
 * duplicates allowed).  Found: rows[m], lf[m], l1[m] (PyMem buffers the
 * caller frees; rows sorted, values in probe order: the sums are exactly
 * rounded, so order does not matter).  *distinct: distinct hashes.  -1 with
 * an exception set on error.  Distinct hashes have distinct rows. */
#define PREFETCH_AHEAD 8
static int probe_dense(const int64_t *hs, Py_ssize_t n, const dense_t *d, const uint64_t *bloom,
                       int64_t **rows_out, double **vals_out, Py_ssize_t *m_out, Py_ssize_t *distinct)
{
    int64_t stack_seen[1024];
    Py_ssize_t cap = 64;
    while (cap < 2 * n)
        cap *= 2;
    int64_t *seen = cap <= 1024 ? stack_seen : PyMem_Malloc((size_t)cap * sizeof(int64_t));
    int64_t *u = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));      /* distinct, maybe held */
    int64_t *rows = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    double *vals = PyMem_Malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof(double));  /* lf[0..n), l1[n..2n) */
    if (seen == NULL || u == NULL || rows == NULL || vals == NULL) {
        if (seen != stack_seen)
            PyMem_Free(seen);
        PyMem_Free(u);
        PyMem_Free(rows);
        PyMem_Free(vals);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < cap; i++)
        seen[i] = EMPTY;
    uint64_t smask = (uint64_t)cap - 1;
    Py_ssize_t nu = 0, d_count = 0;
    /* pass 1: the distinct hashes the Bloom filter does not rule out */
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t h = hs[i];
        /* (a token hash is never -1: EMPTY marks a free slot; at most half full,
         * so a free slot always ends the probe) */
        uint64_t j = ((uint64_t)h ^ ((uint64_t)h >> 29)) & smask;
        int dup = 0;
        while (seen[j] != EMPTY) {
            if (seen[j] == h) {
                dup = 1;
                break;
            }
            j = (j + 1) & smask;
        }
        if (dup)
            continue;
        seen[j] = h;
        d_count++;
        if (bloom != NULL && !bloom_may_hold(bloom, (Py_hash_t)h))
            continue;
        u[nu++] = h;
    }
    if (seen != stack_seen)
        PyMem_Free(seen);
    /* pass 2: probe, with the slots of the hashes a few ahead on their way
     * into the cache (the misses overlap instead of following each other) */
    for (Py_ssize_t i = 0; i < nu && i < PREFETCH_AHEAD; i++)
        __builtin_prefetch(&d->e[(uint64_t)u[i] & d->mask]);
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < nu; i++) {
        if (i + PREFETCH_AHEAD < nu)
            __builtin_prefetch(&d->e[(uint64_t)u[i + PREFETCH_AHEAD] & d->mask]);
        int64_t h = u[i];
        uint64_t pos = (uint64_t)h & d->mask;
        for (uint64_t step = 0; step <= d->mask; step++) {
            const dentry_t *e = &d->e[pos];
            if (e->key == h) {
                rows[m] = e->row;
                vals[m] = e->lf;
                vals[n + m] = e->l1;
                m++;
                break;
            }
            if (e->key == EMPTY)
                break;
            pos = (pos + 1) & d->mask;
        }
    }
    PyMem_Free(u);
    /* the l1 values next to the lf values (the sums read vals and vals + m) */
    if (m < n)
        memmove(vals + m, vals + n, (size_t)m * sizeof(double));
    *rows_out = rows;
    *vals_out = vals;
    *m_out = m;
    *distinct = d_count;
    return 0;
}

/* The token hash (native/core.h) of a str: SipHash-1-3 of its UTF-8 (lone
 * surrogates as "surrogatepass" encodes them).  An ASCII str is read in
 * place; another is encoded through the str's cached UTF-8 (public API)
 * when ``cache`` (a message's features: short-lived), else into a bytes
 * freed at once (the model's clue tokens: no UTF-8 copy kept beside each).
 * Runs no Python code.  0 on success, -1 with an exception set (not a str). */
int ss_str_token_hash(PyObject *o, int64_t *out, int cache)
{
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "expected str features, got %.100s", Py_TYPE(o)->tp_name);
        return -1;
    }
    if (PyUnicode_IS_ASCII(o)) {
        *out = ss_token_hash(PyUnicode_1BYTE_DATA(o), (size_t)PyUnicode_GET_LENGTH(o));
        return 0;
    }
    if (cache) {
        Py_ssize_t n;
        const char *u = PyUnicode_AsUTF8AndSize(o, &n);
        if (u != NULL) {
            *out = ss_token_hash((const unsigned char *)u, (size_t)n);
            return 0;
        }
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return -1;
        PyErr_Clear();  /* a lone surrogate */
    }
    PyObject *b = PyUnicode_AsEncodedString(o, "utf-8", "surrogatepass");
    if (b == NULL)
        return -1;
    *out = ss_token_hash((const unsigned char *)PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b));
    Py_DECREF(b);
    return 0;
}

/* ss_token_hashes(strs[, rows]) -> bytes: the token hash of each str of a
 * sequence, native int64; with ``rows`` (int64), of strs[rows[i]] for each
 * i (a list: the model's clue tokens without a list of them made first). */
PyObject *ss_token_hashes(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *strs, *rows_o = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:token_hashes", &strs, &rows_o))
        return NULL;
    PyObject *seq = PySequence_Tuple(strs);  /* (a copy: nothing can change it under us) */
    if (seq == NULL)
        return NULL;
    Py_buffer rb = {0};
    PyObject *out = NULL;
    Py_ssize_t ns = PyTuple_GET_SIZE(seq), n = ns;
    const int64_t *rows = NULL;
    if (rows_o != Py_None) {
        if (PyObject_GetBuffer(rows_o, &rb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
            goto done;
        if (rb.itemsize != 8 || rb.format == NULL || (rb.format[0] != 'q' && rb.format[0] != 'l')) {
            PyErr_SetString(PyExc_ValueError, "expected int64 rows");
            goto done;
        }
        rows = (const int64_t *)rb.buf;
        n = rb.len / 8;
    }
    out = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t));
    if (out == NULL)
        goto done;
    int64_t *h = (int64_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t j = i;
        if (rows != NULL) {
            if (rows[i] < 0 || rows[i] >= ns) {
                PyErr_SetString(PyExc_IndexError, "row out of range of the strs");
                Py_CLEAR(out);
                goto done;
            }
            j = (Py_ssize_t)rows[i];
        }
        if (ss_str_token_hash(PyTuple_GET_ITEM(seq, j), &h[i], 0) < 0) {
            Py_CLEAR(out);
            goto done;
        }
    }
done:
    if (rb.obj)
        PyBuffer_Release(&rb);
    Py_DECREF(seq);
    return out;
}

/* ss_lookup_sums_h(doc, extra, dense, meta, max_clues[, bloom]) -> (rows, sums, distinct):
 * the clue rows (sorted, distinct, native int64 bytes) of the features of
 * ``doc`` (a sequence of str, hashed here by ss_str_token_hash) and of
 * ``extra`` (a list of bytes, each the native int64 token hashes of
 * features given without their str: _bodyscan.word_hashes) in the dense
 * table (build_dense; ``bloom``: its filter, of the same hashes), duplicates
 * counted once (by hash), and when at most max_clues were found, their sums
 * as clue_sums gives them (None: more, or a value not finite; the caller
 * caps and sums in Python); ``distinct``: how many distinct features there
 * were.  ``meta``: None or the 1-byte meta flag of each row. */
PyObject *ss_lookup_sums_h(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *doc, *extra, *dense_o, *meta_o, *bloom_o = Py_None;
    Py_ssize_t max_clues;
    if (!PyArg_ParseTuple(args, "OO!OOn|O:lookup_sums_h", &doc, &PyList_Type, &extra, &dense_o, &meta_o,
                          &max_clues, &bloom_o))
        return NULL;
    /* the hashes of doc first: tuple() of a sequence other than a list or
     * tuple may run Python code, which could change ``extra``; nothing
     * runs after that (the token hash of a str, even of a subclass, runs none) */
    PyObject *seq = PySequence_Tuple(doc);
    if (seq == NULL)
        return NULL;
    Py_ssize_t nd = PyTuple_GET_SIZE(seq);
    int64_t *hd = PyMem_Malloc((size_t)(nd > 0 ? nd : 1) * sizeof(int64_t));
    if (hd == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < nd; i++)
        if (ss_str_token_hash(PyTuple_GET_ITEM(seq, i), &hd[i], 1) < 0) {
            PyMem_Free(hd);
            Py_DECREF(seq);
            return NULL;
        }
    Py_DECREF(seq);
    /* then the list of bytes, read with no Python code running (bytes are immutable) */
    Py_ssize_t ne = PyList_GET_SIZE(extra), n_extra = 0;
    for (Py_ssize_t i = 0; i < ne; i++) {
        PyObject *b = PyList_GET_ITEM(extra, i);
        if (!PyBytes_CheckExact(b) || PyBytes_GET_SIZE(b) % 8 != 0) {
            PyErr_SetString(PyExc_TypeError, "extra: expected a list of bytes of native int64 hashes");
            PyMem_Free(hd);
            return NULL;
        }
        n_extra += PyBytes_GET_SIZE(b) / 8;
    }
    int64_t *hs = PyMem_Realloc(hd, (size_t)(nd + n_extra > 0 ? nd + n_extra : 1) * sizeof(int64_t));
    if (hs == NULL) {
        PyMem_Free(hd);
        return PyErr_NoMemory();
    }
    Py_ssize_t at = nd;
    for (Py_ssize_t i = 0; i < ne; i++) {
        PyObject *b = PyList_GET_ITEM(extra, i);
        Py_ssize_t k = PyBytes_GET_SIZE(b) / 8;
        memcpy(hs + at, PyBytes_AS_STRING(b), (size_t)k * sizeof(int64_t));
        at += k;
    }
    dense_t d;
    Py_buffer bb = {0}, mb = {0};
    PyObject *result = NULL, *found = NULL, *sums = NULL;
    int64_t *rows = NULL;
    double *vals = NULL;
    unsigned char *fam = NULL;
    if (get_dense(dense_o, &d, 0) < 0) {
        PyMem_Free(hs);
        return NULL;
    }
    if (ss_get_bloom(bloom_o, &bb, 0) < 0)
        goto done;
    if (meta_o != Py_None) {
        if (PyObject_GetBuffer(meta_o, &mb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
            goto done;
        if (mb.itemsize != 1) {
            PyErr_SetString(PyExc_ValueError, "expected a 1-byte meta table");
            goto done;
        }
    }
    Py_ssize_t m = 0, distinct = 0;
    if (probe_dense(hs, at, &d, bb.obj ? (const uint64_t *)bb.buf : NULL, &rows, &vals, &m, &distinct) < 0)
        goto done;
    if (mb.obj) {
        fam = PyMem_Malloc((size_t)(m > 0 ? m : 1));
        if (fam == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            if (rows[i] < 0 || rows[i] >= mb.len) {
                PyErr_SetString(PyExc_IndexError, "clue row out of range of the meta table");
                goto done;
            }
            fam[i] = ((const unsigned char *)mb.buf)[rows[i]];
        }
    }
    if (m <= max_clues) {
        sums = ss_sums_of(NULL, m, vals, vals + m, fam, m);
        if (sums == NULL)
            goto done;
    } else {
        sums = Py_None;
        Py_INCREF(sums);
    }
    if (m > 1)
        qsort(rows, (size_t)m, sizeof(int64_t), ss_cmp_i64);
    found = PyBytes_FromStringAndSize((const char *)rows, m * (Py_ssize_t)sizeof(int64_t));
    if (found == NULL)
        goto done;
    result = Py_BuildValue("(OOn)", found, sums, distinct);
done:
    Py_XDECREF(found);
    Py_XDECREF(sums);
    PyMem_Free(rows);
    PyMem_Free(vals);
    PyMem_Free(fam);
    PyMem_Free(hs);
    PyBuffer_Release(&d.buf);
    if (bb.obj) PyBuffer_Release(&bb);
    if (mb.obj) PyBuffer_Release(&mb);
    return result;
}
