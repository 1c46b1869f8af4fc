/* The concern spamscore._core.speedups: spamscore.model.HashIndex, the URL
 * word filter of find_urls, and the exactly rounded clue sums
 * (spamscore.model.clue_sums) and the meta flags of
 * spamscore.scoring.meta_mask.  Its word_tokens (the word loop of
 * spamscore.features.tokens.words) is in bodyscan.c, beside the other loop
 * over body words.
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

#include <math.h>

#define EMPTY ((int64_t)-1)

typedef struct {
    Py_buffer keys, rows;
    int64_t *k;
    int32_t *r;
    uint64_t mask;
} table_t;

static void release_table(table_t *t)
{
    if (t->keys.obj) PyBuffer_Release(&t->keys);
    if (t->rows.obj) PyBuffer_Release(&t->rows);
}

/* Borrow the two arrays' memory; ``writable`` for build. */
static int get_table(PyObject *keys, PyObject *rows, table_t *t, int writable)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    memset(t, 0, sizeof(*t));
    if (PyObject_GetBuffer(keys, &t->keys, flags) < 0)
        return -1;
    if (PyObject_GetBuffer(rows, &t->rows, flags) < 0) {
        release_table(t);
        return -1;
    }
    Py_ssize_t n = t->keys.len / 8;
    if (t->keys.itemsize != 8 || t->rows.itemsize != 4 || t->rows.len / 4 != n
        || n < 1 || (n & (n - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "expected int64 keys and int32 rows of the same power-of-two length");
        release_table(t);
        return -1;
    }
    t->k = (int64_t *)t->keys.buf;
    t->r = (int32_t *)t->rows.buf;
    t->mask = (uint64_t)n - 1;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The sorted, distinct rows of the items of ``doc`` found in the table, in
 * a PyMem buffer the caller frees (*m of them); NULL with an exception set. */
#define BLOOM_BITS ((uint64_t)1 << 21)
#define BLOOM_MASK (BLOOM_BITS - 1)

/* Whether the 2-bit Bloom filter ``bloom`` (BLOOM_BITS bits) may hold h. */
static inline int bloom_may_hold(const uint64_t *bloom, Py_hash_t h)
{
    uint64_t u = (uint64_t)h, b1 = u & BLOOM_MASK, b2 = (u >> 21) & BLOOM_MASK;
    return ((bloom[b1 >> 6] >> (b1 & 63)) & (bloom[b2 >> 6] >> (b2 & 63)) & 1) != 0;
}

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
        qsort(out, (size_t)m, sizeof(int64_t), cmp_i64);
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
    if (get_table(keys, rows, &t, 0) < 0)
        return NULL;
    Py_ssize_t m = 0;
    int64_t *out = probe_doc(doc, &t, NULL, &m);
    release_table(&t);
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
    if (get_table(keys, rows, &t, 1) < 0) {
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
    release_table(&t);
    Py_RETURN_NONE;
fail:
    PyBuffer_Release(&hb);
    release_table(&t);
    return NULL;
}


/* ------------------------------------------------------------------------
 * Exactly rounded sums (the result math.fsum gives: Shewchuk's partials,
 * then half-even rounding across them), so that the compiled and the Python
 * statistics agree to the last bit whatever the order of the clues.
 * Finite inputs only: anything else, or more partials than the buffer holds
 * (impossible for finite doubles), makes the caller use math.fsum.
 */
#define MAX_PARTIALS 128

typedef struct {
    double p[MAX_PARTIALS];
    int n;
    int bad;
} xsum_t;

static inline void xsum_add(xsum_t *s, double x)
{
    if (!isfinite(x)) {
        s->bad = 1;
        return;
    }
    int i = 0;
    for (int j = 0; j < s->n; j++) {
        double y = s->p[j];
        if (fabs(x) < fabs(y)) {
            double t = x;
            x = y;
            y = t;
        }
        double hi = x + y;
        double lo = y - (hi - x);
        if (lo != 0.0)
            s->p[i++] = lo;
        x = hi;
    }
    if (!isfinite(x)) {  /* intermediate overflow */
        s->bad = 1;
        return;
    }
    if (x != 0.0) {
        if (i >= MAX_PARTIALS) {
            s->bad = 1;
            return;
        }
        s->p[i++] = x;
    }
    s->n = i;
}

static double xsum_result(const xsum_t *s)
{
    int n = s->n;
    double hi = 0.0, lo = 0.0;
    if (n > 0) {
        hi = s->p[--n];
        while (n > 0) {
            double x = hi, y = s->p[--n];
            hi = x + y;
            double yr = hi - x;
            lo = y - yr;
            if (lo != 0.0)
                break;
        }
        if (n > 0 && ((lo < 0.0 && s->p[n - 1] < 0.0) || (lo > 0.0 && s->p[n - 1] > 0.0))) {
            double y = lo * 2.0;
            double x = hi + y;
            double yr = x - hi;
            if (y == yr)
                hi = x;
        }
    }
    return hi;
}

/* clue_sums(rows, log_f, log_1mf, meta) -> (sum ln f, sum ln(1-f), k,
 *     text sum ln f, text sum ln(1-f), k_text, meta sum ln f, meta sum ln(1-f), k_meta)
 * or None (non-finite values: the caller uses math.fsum).  ``rows``: int64
 * rows into the float64 tables; ``meta``: None or a uint8/int8/bool table. */
/* The nine values of clue_sums of ``n`` clues: clue i's ln f, ln(1-f) and meta
 * flag are lf[j], l1[j] and (when ``meta`` is given) meta[j], with j = rows[i],
 * or j = i without ``rows`` (values gathered already: the dense table's).
 * A new tuple, Py_None (new reference: a non-finite value) or NULL (a row
 * out of ``size``).  The sums are exactly rounded: the order does not matter. */
static PyObject *sums_of(const int64_t *rows, Py_ssize_t n, const double *lf, const double *l1,
                         const unsigned char *meta, Py_ssize_t size)
{
    xsum_t *s = PyMem_Calloc(6, sizeof(xsum_t));
    if (s == NULL)
        return PyErr_NoMemory();
    Py_ssize_t k[3] = {0, 0, 0};
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = rows ? rows[i] : i;
        if (r < 0 || r >= size) {
            PyErr_SetString(PyExc_IndexError, "clue row out of range");
            PyMem_Free(s);
            return NULL;
        }
        xsum_add(&s[0], lf[r]);
        xsum_add(&s[1], l1[r]);
        k[0]++;
        if (meta) {
            int fam = meta[r] ? 2 : 1;
            xsum_add(&s[2 * fam], lf[r]);
            xsum_add(&s[2 * fam + 1], l1[r]);
            k[fam]++;
        }
    }
    int bad = 0;
    for (int j = 0; j < 6; j++)
        bad |= s[j].bad;
    PyObject *result;
    if (bad) {
        result = Py_None;
        Py_INCREF(result);
    } else {
        result = Py_BuildValue("ddnddnddn", xsum_result(&s[0]), xsum_result(&s[1]), k[0],
                               xsum_result(&s[2]), xsum_result(&s[3]), k[1],
                               xsum_result(&s[4]), xsum_result(&s[5]), k[2]);
    }
    PyMem_Free(s);
    return result;
}

/* Borrow a Bloom filter of BLOOM_BITS bits in 64-bit words (Py_None: none, bb left empty);
 * -1 with an exception set on error. */
static int get_bloom(PyObject *o, Py_buffer *bb, int writable)
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

/* Borrow the float64 tables (and the optional 1-byte meta table) of clue_sums. */
typedef struct {
    Py_buffer fb, ob, mb;
    const double *lf, *l1;
    const unsigned char *meta;
    Py_ssize_t size;
} tables_t;

static void release_tables(tables_t *t)
{
    if (t->fb.obj) PyBuffer_Release(&t->fb);
    if (t->ob.obj) PyBuffer_Release(&t->ob);
    if (t->mb.obj) PyBuffer_Release(&t->mb);
}

static int get_tables(PyObject *lf_o, PyObject *l1_o, PyObject *meta_o, tables_t *t)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
    memset(t, 0, sizeof(*t));
    if (PyObject_GetBuffer(lf_o, &t->fb, flags) < 0 || PyObject_GetBuffer(l1_o, &t->ob, flags) < 0
        || (meta_o != Py_None && PyObject_GetBuffer(meta_o, &t->mb, flags) < 0)) {
        release_tables(t);
        return -1;
    }
    if (t->fb.format == NULL || t->ob.format == NULL || (meta_o != Py_None && t->mb.format == NULL)
        || t->fb.itemsize != 8 || t->ob.itemsize != 8 || t->fb.len != t->ob.len
        || strcmp(t->fb.format, "d") != 0 || strcmp(t->ob.format, "d") != 0
        || (meta_o != Py_None && (t->mb.itemsize != 1 || t->mb.len != t->fb.len / 8))) {
        PyErr_SetString(PyExc_ValueError, "expected float64 tables of one length and a 1-byte meta table");
        release_tables(t);
        return -1;
    }
    t->lf = (const double *)t->fb.buf;
    t->l1 = (const double *)t->ob.buf;
    t->meta = meta_o != Py_None ? (const unsigned char *)t->mb.buf : NULL;
    t->size = t->fb.len / 8;
    return 0;
}

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
    if (get_tables(lf_o, l1_o, meta_o, &t) < 0) {
        PyBuffer_Release(&rb);
        return NULL;
    }
    PyObject *result = sums_of((const int64_t *)rb.buf, rb.len / 8, t.lf, t.l1, t.meta, t.size);
    release_tables(&t);
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
    if (get_bloom(bloom_o, &bb, 0) < 0)
        return NULL;
    if (get_table(keys, rows, &t, 0) < 0) {
        if (bb.obj) PyBuffer_Release(&bb);
        return NULL;
    }
    if (get_tables(lf_o, l1_o, meta_o, &tb) < 0) {
        release_table(&t);
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
        sums = sums_of(out, m, tb.lf, tb.l1, tb.meta, tb.size);
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
    release_tables(&tb);
    release_table(&t);
    if (bb.obj) PyBuffer_Release(&bb);
    return result;
}

/* ------------------------------------------------------------------------
 * The dense clue table of the scoring path: one 32-byte entry per slot
 * holding the key (the token hash of _tokenhash.h, the same in every
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

/* build_dense(hashes, log_f, log_1mf, table): insert hashes[i] -> (i, log_f[i],
 * log_1mf[i]) by linear probing, in order (the first of equal hashes is
 * found, as in build), into ``table`` (writable; at least twice as many
 * entries as hashes; every slot is set here). */
static PyObject *build_dense(PyObject *self, PyObject *args)
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
    if (get_tables(lf_o, l1_o, Py_None, &tb) < 0) {
        PyBuffer_Release(&hb);
        return NULL;
    }
    if (get_dense(t_o, &d, 1) < 0) {
        release_tables(&tb);
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
    release_tables(&tb);
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

/* The token hash (_tokenhash.h) of a str: SipHash-1-3 of its UTF-8 (lone
 * surrogates as "surrogatepass" encodes them).  An ASCII str is read in
 * place; another is encoded through the str's cached UTF-8 (public API)
 * when ``cache`` (a message's features: short-lived), else into a bytes
 * freed at once (the model's clue tokens: no UTF-8 copy kept beside each).
 * Runs no Python code.  0 on success, -1 with an exception set (not a str). */
static int str_token_hash(PyObject *o, int64_t *out, int cache)
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

/* token_hashes(strs[, rows]) -> bytes: the token hash of each str of a
 * sequence, native int64; with ``rows`` (int64), of strs[rows[i]] for each
 * i (a list: the model's clue tokens without a list of them made first). */
static PyObject *token_hashes(PyObject *self, PyObject *args)
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
        if (str_token_hash(PyTuple_GET_ITEM(seq, j), &h[i], 0) < 0) {
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

/* lookup_sums_h(doc, extra, dense, meta, max_clues[, bloom]) -> (rows, sums, distinct):
 * the clue rows (sorted, distinct, native int64 bytes) of the features of
 * ``doc`` (a sequence of str, hashed here by str_token_hash) and of
 * ``extra`` (a list of bytes, each the native int64 token hashes of
 * features given without their str: _bodyscan.word_hashes) in the dense
 * table (build_dense; ``bloom``: its filter, of the same hashes), duplicates
 * counted once (by hash), and when at most max_clues were found, their sums
 * as clue_sums gives them (None: more, or a value not finite; the caller
 * caps and sums in Python); ``distinct``: how many distinct features there
 * were.  ``meta``: None or the 1-byte meta flag of each row. */
static PyObject *lookup_sums_h(PyObject *self, PyObject *args)
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
        if (str_token_hash(PyTuple_GET_ITEM(seq, i), &hd[i], 1) < 0) {
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
    if (get_bloom(bloom_o, &bb, 0) < 0)
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
        sums = sums_of(NULL, m, vals, vals + m, fam, m);
        if (sums == NULL)
            goto done;
    } else {
        sums = Py_None;
        Py_INCREF(sums);
    }
    if (m > 1)
        qsort(rows, (size_t)m, sizeof(int64_t), cmp_i64);
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
    Py_ssize_t n = rb.len / 8, size = PyList_GET_SIZE(tokens);
    const int64_t *rows = (const int64_t *)rb.buf;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL)
        goto fail;
    char *o = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = rows[i];
        if (r < 0 || r >= size) {
            PyErr_SetString(PyExc_IndexError, "row out of range");
            goto fail;
        }
        PyObject *t = PyList_GET_ITEM(tokens, r);
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
    PyBuffer_Release(&rb);
    return out;
fail:
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
    {"lookup_sums_h", lookup_sums_h, METH_VARARGS,
     "lookup_sums_h(doc, extra, dense, meta, max_clues[, bloom]) -> (rows, sums, distinct): "
     "the clue rows and sums of the str of doc and the int64 hashes of the bytes in extra, duplicates once, "
     "in a dense table"},
    {"token_hashes", token_hashes, METH_VARARGS,
     "token_hashes(strs[, rows]) -> bytes: the token hash (spamscore._native.token_hash) of each str "
     "(of strs[rows[i]] with int64 rows), native int64"},
    {"build_dense", build_dense, METH_VARARGS,
     "build_dense(hashes, log_f, log_1mf, table): fill a dense clue table (32-byte entries)"},
    {"lookup", lookup, METH_VARARGS,
     "lookup(doc, keys, rows) -> bytes: sorted distinct int64 rows of doc's items in the table"},
    {"build", build, METH_VARARGS,
     "build(hashes, keys, rows): insert hashes[i] -> i into an empty table by linear probing"},
    {"word_tokens", ss_word_tokens, METH_VARARGS,  /* (in bodyscan.c, beside the other word loop) */
     "word_tokens(raw, seq, prefix, punct, pair_prefix, max_pair_words) -> set: "
     "the word loop of spamscore.features.tokens.words"},
    {"lookup_sums", lookup_sums, METH_VARARGS,
     "lookup_sums(doc, keys, rows, log_f, log_1mf, meta, max_clues[, bloom]) -> (rows, sums or None): "
     "lookup (skipping hashes the bloom filter rules out), then clue_sums of the rows when at most max_clues"},
    {"bloom", bloom, METH_VARARGS, "bloom(hashes, words): set each hash's two bits in a 2**21-bit filter"},
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
