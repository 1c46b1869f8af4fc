/* The training vocabulary's table and its counts, of the concern
 * spamscore._core.speedups (speedups.c has them in its method table): the
 * compiled half of spamscore.vocabulary.TokenTable and of
 * spamscore.folds.FoldTable's flush.  The Python code beside each is the
 * reference (tests/test_vocabulary.py compares them).
 */
#include "speedups.h"

/* ------------------------------------------------------------------------
 * intern(strs, keys, rows, count) -> (rows, new, count)
 *
 * Each str of ``strs`` (a sequence) looked up by its token hash (core.h) in
 * the table of ``keys`` (int64, EMPTY when free) and ``rows`` (int32), both
 * of one power-of-two length, holding ``count`` entries.  A hash not there
 * gets row ``count`` (then count + 1...) and is inserted, unless its str
 * holds a newline (a model file cannot store it): that one maps to -1 and
 * is not inserted.  Returns the row of each str (native int64 bytes), the
 * positions in ``strs`` of the ones that got a new row (int64 bytes, in
 * order: the caller appends those strs to its token list), and the new
 * count.  The caller grows the table first: count + len(strs) must be at
 * most half its length.
 *
 * Why by hash: a Python dict of 800,000 str keys costs ~280 ns a lookup
 * here (the entry and the key string are two cache misses, and every
 * feature is a new str whose hash() is computed once), this ~100.  Two
 * distinct tokens with one 64-bit hash would count as one, as they do in
 * the scoring path's clue table (core.h: odds of ~1e-8 for a million
 * tokens). */
/* how many strs ahead intern() fetches the table slot of */
#define INTERN_AHEAD 16

PyObject *ss_intern(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *strs, *keys, *rows_o;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "OOOn:intern", &strs, &keys, &rows_o, &count))
        return NULL;
    PyObject *seq = PySequence_Tuple(strs);  /* (a copy: nothing can change it under us) */
    if (seq == NULL)
        return NULL;
    table_t t;
    if (ss_get_table(keys, rows_o, &t, 1) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    PyObject *rows = NULL, *result = NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(seq), m = 0;
    uint64_t size = t.mask + 1;
    /* the position in strs and the table slot of each new entry: on an error
     * those slots are emptied again, which leaves the table as it was (every
     * one was free before, and nothing else changed) */
    int64_t *nw = PyMem_Malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof(int64_t));
    if (nw == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *slots = nw + n;
    if (count < 0 || (uint64_t)count + (uint64_t)n > size / 2 || (uint64_t)count + (uint64_t)n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "the table has no room for the strs: grow it first");
        goto done;
    }
    rows = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t));
    if (rows == NULL)
        goto done;
    int64_t *out = (int64_t *)PyBytes_AS_STRING(rows);
    /* Every hash first (into out, overwritten by the rows below), then the probes, each slot fetched
     * INTERN_AHEAD strs ahead: a table of a million tokens is tens of MB, and each probe a cache miss
     * (~1/3 less time a lookup).  A str that cannot be hashed fails here, before anything is
     * inserted. */
    for (Py_ssize_t i = 0; i < n; i++)
        if (ss_str_token_hash(PyTuple_GET_ITEM(seq, i), &out[i], 0) < 0)
            goto done;
    Py_ssize_t next = count;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + INTERN_AHEAD < n) {
            uint64_t ahead = (uint64_t)out[i + INTERN_AHEAD] & t.mask;
            __builtin_prefetch(&t.k[ahead]);
            __builtin_prefetch(&t.r[ahead]);
        }
        PyObject *s = PyTuple_GET_ITEM(seq, i);
        int64_t h = out[i];
        uint64_t pos = (uint64_t)h & t.mask;
        while (t.k[pos] != EMPTY && t.k[pos] != h)
            pos = (pos + 1) & t.mask;   /* ends: the table is at most half full */
        if (t.k[pos] == h) {
            out[i] = t.r[pos];
            continue;
        }
        Py_ssize_t nl = PyUnicode_FindChar(s, '\n', 0, PyUnicode_GET_LENGTH(s), 1);
        if (nl == -2)
            goto undo;
        if (nl >= 0) {
            out[i] = -1;
            continue;
        }
        t.k[pos] = h;
        t.r[pos] = (int32_t)next;
        out[i] = next++;
        nw[m] = i;
        slots[m++] = (int64_t)pos;
    }
    PyObject *fresh = PyBytes_FromStringAndSize((const char *)nw, m * (Py_ssize_t)sizeof(int64_t));
    if (fresh == NULL)
        goto undo;
    result = Py_BuildValue("(ONn)", rows, fresh, next);   /* (N: fresh is the tuple's, or freed) */
    if (result != NULL)
        goto done;
undo:
    for (Py_ssize_t j = 0; j < m; j++) {
        t.k[slots[j]] = EMPTY;
        t.r[slots[j]] = 0;
    }
done:
    PyMem_Free(nw);
    Py_XDECREF(rows);
    ss_release_table(&t);
    Py_DECREF(seq);
    return result;
}

/* ------------------------------------------------------------------------
 * add_cells(table, cells): table[c] += 1 for each cell c
 *
 * ``table`` a writable int32 buffer (FoldTable's counts, flattened),
 * ``cells`` int64; every cell is checked to be in range before any is
 * added.  The reference, numpy's unique over the cells and one fancy +=,
 * sorts them: ~0.12 s a million cells, 1.4 s of the TREC-sized run's
 * counting; this adds them in place (~0.02 s a million). */
PyObject *ss_add_cells(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *table_o, *cells_o;
    if (!PyArg_ParseTuple(args, "OO:add_cells", &table_o, &cells_o))
        return NULL;
    Py_buffer tb, cb;
    if (PyObject_GetBuffer(table_o, &tb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        return NULL;
    if (PyObject_GetBuffer(cells_o, &cb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&tb);
        return NULL;
    }
    PyObject *result = NULL;
    if (tb.itemsize != 4 || tb.format == NULL || (tb.format[0] != 'i' && tb.format[0] != 'l')
        || cb.itemsize != 8 || cb.format == NULL || (cb.format[0] != 'q' && cb.format[0] != 'l')) {
        PyErr_SetString(PyExc_ValueError, "expected an int32 table and int64 cells");
        goto done;
    }
    int32_t *table = (int32_t *)tb.buf;
    const int64_t *cells = (const int64_t *)cb.buf;
    Py_ssize_t size = tb.len / 4, n = cb.len / 8;
    for (Py_ssize_t i = 0; i < n; i++)
        if (cells[i] < 0 || cells[i] >= size) {
            PyErr_Format(PyExc_IndexError, "cell %lld out of range of a table of %zd", (long long)cells[i], size);
            goto done;
        }
    for (Py_ssize_t i = 0; i < n; i++)
        table[cells[i]]++;
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&cb);
    PyBuffer_Release(&tb);
    return result;
}
