/* top_clues, of the concern spamscore._core.speedups (speedups.c has it in
 * its method table): a verdict's shown clues in one call, what
 * spamscore.scoring.Model.score_features does with numpy and the mapped
 * clue strings (that code is the reference; tests/test_top_clues.py
 * compares them).
 *
 * Why: for 5 to 15 clues of ~100 found, the numpy steps (sort the rows,
 * gather their weights, a stable argsort of -|w|, gather the offsets) and
 * decoding each string from a memoryview slice cost ~28 µs a message, a
 * tenth of `spamscore score`'s CPU per message; this, ~3.
 */
#include "speedups.h"

#include <math.h>

typedef struct {
    double key;     /* -|w|: ascending is strongest first */
    int64_t row;
} pick_t;

/* np.argsort(-abs(w), kind="stable") over rows in ascending order: by key,
 * NaN last (as numpy sorts it), then by row (the stable order) */
static int cmp_pick(const void *pa, const void *pb)
{
    const pick_t *a = pa, *b = pb;
    int na = isnan(a->key), nb = isnan(b->key);
    if (na != nb)
        return na - nb;
    if (!na && a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* top_clues(rows, log_odds, off, blob, n) -> (tokens, weights) or None
 *
 * ``rows``: the distinct clue rows found (int64, any order); ``log_odds``
 * (float64), ``off`` (uint64, one more than the clues) and ``blob`` (the
 * UTF-8 of the clue strings): a mapped model's tables.  The ``n`` rows of
 * largest |log_odds| (ties: the lower row first), strongest first, as their
 * tokens (UTF-8 with lone surrogates as "surrogatepass" encodes them) and
 * weights.  None when a row, an offset or a string is not what a sound
 * model file holds: the caller's Python code then reads them and raises the
 * model file's error. */
PyObject *ss_top_clues(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *rows_o, *lo_o, *off_o, *blob_o;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OOOOn:top_clues", &rows_o, &lo_o, &off_o, &blob_o, &n))
        return NULL;
    Py_buffer rb = {0}, lb = {0}, ob = {0}, bb = {0};
    pick_t *picks = NULL;
    PyObject *tokens = NULL, *weights = NULL, *result = NULL;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
    if (PyObject_GetBuffer(rows_o, &rb, flags) < 0 || PyObject_GetBuffer(lo_o, &lb, flags) < 0
        || PyObject_GetBuffer(off_o, &ob, flags) < 0 || PyObject_GetBuffer(blob_o, &bb, PyBUF_C_CONTIGUOUS) < 0)
        goto done;
    if (rb.itemsize != 8 || lb.itemsize != 8 || ob.itemsize != 8 || lb.format == NULL || lb.format[0] != 'd'
        || rb.format == NULL || (rb.format[0] != 'q' && rb.format[0] != 'l') || n < 0) {
        PyErr_SetString(PyExc_ValueError, "expected int64 rows, float64 log-odds, 8-byte offsets and n >= 0");
        goto done;
    }
    const int64_t *rows = rb.buf;
    const double *lo = lb.buf;
    const uint64_t *off = ob.buf;
    const char *blob = bb.buf;
    Py_ssize_t m = rb.len / 8, n_lo = lb.len / 8, n_off = ob.len / 8, size = bb.len;
    picks = PyMem_Malloc((size_t)(m > 0 ? m : 1) * sizeof(pick_t));
    if (picks == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        int64_t r = rows[i];
        if (r < 0 || r >= n_lo || r + 1 >= n_off) {
            result = Py_None;
            goto none;
        }
        picks[i].key = -fabs(lo[r]);
        picks[i].row = r;
    }
    qsort(picks, (size_t)m, sizeof(pick_t), cmp_pick);
    if (n > m)
        n = m;
    tokens = PyList_New(n);
    weights = PyList_New(n);
    if (tokens == NULL || weights == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = picks[i].row;
        uint64_t a = off[r], b = off[r + 1];
        if (a > b || b > (uint64_t)size) {
            result = Py_None;
            goto none;
        }
        PyObject *s = PyUnicode_DecodeUTF8(blob + a, (Py_ssize_t)(b - a), "surrogatepass");
        if (s == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                goto done;
            PyErr_Clear();
            result = Py_None;
            goto none;
        }
        PyList_SET_ITEM(tokens, i, s);
        PyObject *w = PyFloat_FromDouble(lo[r]);
        if (w == NULL)
            goto done;
        PyList_SET_ITEM(weights, i, w);
    }
    result = PyTuple_Pack(2, tokens, weights);
    goto done;
none:
    Py_INCREF(result);
done:
    Py_XDECREF(tokens);
    Py_XDECREF(weights);
    PyMem_Free(picks);
    if (rb.obj) PyBuffer_Release(&rb);
    if (lb.obj) PyBuffer_Release(&lb);
    if (ob.obj) PyBuffer_Release(&ob);
    if (bb.obj) PyBuffer_Release(&bb);
    return result;
}
