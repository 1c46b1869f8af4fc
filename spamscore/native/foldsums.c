/* fold_sums, of the concern spamscore._core.speedups (speedups.c has it in
 * its method table): the clue sums of every held-out message of one
 * cross-validation fold in one call, what spamscore.folds.fold_evidence's
 * per-message reference does with numpy (the message's rows that are clues,
 * sorted, cut to the max_clues strongest by stats.cap_clues, then
 * clue_sums); tests/test_fold_sums.py compares the two.
 *
 * Why: per message the numpy steps and the call cost ~25 µs, a third of
 * training's cross-validation stage (20,000 messages, 5 folds); this loop
 * runs without the GIL.  The sums are ss_sums9's (sums.c), exactly rounded,
 * so the order of the clues does not matter, only which ones are kept. */
#include "speedups.h"

#include <math.h>

typedef struct {
    double mag;     /* |log-odds| */
    double lo;      /* log-odds */
    int64_t row;
} cap_t;

/* stats.cap_clues' order (np.lexsort((lo, -abs(lo))) of rows in ascending
 * order, a stable sort): |lo| descending, then lo ascending, then the row
 * ascending.  Finite values only (the caller leaves the others to Python). */
static int cmp_cap(const void *pa, const void *pb)
{
    const cap_t *a = pa, *b = pb;
    if (a->mag != b->mag)
        return a->mag > b->mag ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

static int get_buffer(PyObject *o, Py_buffer *b, int writable)
{
    return PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0));
}

static int is_int_format(const Py_buffer *b, Py_ssize_t itemsize)
{
    if (b->itemsize != itemsize || b->format == NULL)
        return 0;
    const char *f = b->format;
    if (*f == '=' || *f == '<' || *f == '@')
        f++;
    return (itemsize == 8 && (*f == 'q' || *f == 'l')) || (itemsize == 4 && (*f == 'i' || *f == 'l'));
}

/* fold_sums(rows, which, strong, log_odds, log_f, log_1mf, meta, max_clues, out, bad) -> None
 *
 * ``rows``: a list of each message's vocabulary rows (int32 or int64
 * arrays; read in place, not copied).  For each message ``which[j]``
 * (int64): its rows r with strong[r] (a 1-byte table), the max_clues of
 * largest |log_odds[r]| when there are more (ties: the smaller log-odds,
 * then the smaller row), and out[9 j: 9 j + 9] = clue_sums of them (the
 * counts as doubles; ``out`` a writable float64 buffer of 9 values a
 * message), bad[j] = 0.  bad[j] = 1 (and out's nine values 0) when a kept
 * clue has a non-finite ln f or ln(1 - f), or a message with more than
 * max_clues clues a non-finite log-odds: the caller's Python code decides
 * those.  ValueError for a row outside the tables or a message number out
 * of range. */
PyObject *ss_fold_sums(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *rows_o, *which_o, *strong_o, *lo_o, *lf_o, *l1_o, *meta_o, *out_o, *bad_o;
    Py_ssize_t max_clues;
    if (!PyArg_ParseTuple(args, "O!OOOOOOnOO:fold_sums", &PyList_Type, &rows_o, &which_o, &strong_o, &lo_o, &lf_o,
                          &l1_o, &meta_o, &max_clues, &out_o, &bad_o))
        return NULL;
    Py_buffer wb = {0}, sb = {0}, lb = {0}, outb = {0}, badb = {0};
    Py_buffer *msg = NULL;   /* the buffer of each message which[j] */
    Py_ssize_t n_msg_buffers = 0;
    tables_t t;
    int have_tables = 0;
    int64_t *kept = NULL;
    cap_t *caps = NULL;
    void *scratch = NULL;
    PyObject *result = NULL;
    if (get_buffer(which_o, &wb, 0) < 0 || get_buffer(strong_o, &sb, 0) < 0 || get_buffer(lo_o, &lb, 0) < 0
        || get_buffer(out_o, &outb, 1) < 0 || get_buffer(bad_o, &badb, 1) < 0)
        goto done;
    if (ss_get_tables(lf_o, l1_o, meta_o, &t) < 0)
        goto done;
    have_tables = 1;
    Py_ssize_t size = t.size, n_msg = PyList_GET_SIZE(rows_o), n_which = wb.len / 8;
    if (!is_int_format(&wb, 8) || sb.itemsize != 1 || sb.len != size
        || lb.itemsize != 8 || lb.format == NULL || strcmp(lb.format, "d") != 0 || lb.len / 8 != size
        || outb.itemsize != 8 || outb.format == NULL || strcmp(outb.format, "d") != 0 || outb.len / 8 != 9 * n_which
        || badb.itemsize != 1 || badb.len != n_which || max_clues < 0) {
        PyErr_SetString(PyExc_ValueError, "fold_sums: expected int64 message numbers, 1-byte strong flags and "
                        "float64 log-odds as long as the tables, float64 out of 9 values and 1-byte bad flags "
                        "per message, max_clues >= 0");
        goto done;
    }
    const int64_t *which = wb.buf;
    msg = PyMem_Calloc((size_t)(n_which > 0 ? n_which : 1), sizeof(Py_buffer));
    if (msg == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t longest = 0;
    for (Py_ssize_t j = 0; j < n_which; j++) {
        if (which[j] < 0 || which[j] >= n_msg) {
            PyErr_Format(PyExc_ValueError, "fold_sums: message %lld out of range of %zd", (long long)which[j], n_msg);
            goto done;
        }
        /* (a new reference to the list's item is held by its buffer until the end) */
        if (get_buffer(PyList_GET_ITEM(rows_o, which[j]), &msg[j], 0) < 0)
            goto done;
        n_msg_buffers = j + 1;
        if (!is_int_format(&msg[j], 4) && !is_int_format(&msg[j], 8)) {
            PyErr_SetString(PyExc_ValueError, "fold_sums: expected int32 or int64 rows");
            goto done;
        }
        Py_ssize_t len = msg[j].len / msg[j].itemsize;
        if (len > longest)
            longest = len;
    }
    kept = PyMem_Malloc((size_t)(longest > 0 ? longest : 1) * sizeof(int64_t));
    caps = PyMem_Malloc((size_t)(longest > 0 ? longest : 1) * sizeof(cap_t));
    scratch = PyMem_Malloc(ss_sums_scratch());
    if (kept == NULL || caps == NULL || scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const unsigned char *strong = sb.buf, *meta = t.meta;
    const double *lo = lb.buf, *lf = t.lf, *l1 = t.l1;
    double *out = outb.buf;
    unsigned char *bad = badb.buf;
    int64_t bad_row = 0;
    int out_of_range = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < n_which && !out_of_range; j++) {
        const int32_t *rows32 = msg[j].itemsize == 4 ? msg[j].buf : NULL;
        const int64_t *rows64 = msg[j].itemsize == 8 ? msg[j].buf : NULL;
        Py_ssize_t m = msg[j].len / msg[j].itemsize, nk = 0;
        for (Py_ssize_t p = 0; p < m; p++) {
            int64_t r = rows32 ? (int64_t)rows32[p] : rows64[p];
            if (r < 0 || r >= size) {
                bad_row = r;
                out_of_range = 1;
                break;
            }
            if (strong[r])
                kept[nk++] = r;
        }
        double *o = out + 9 * j;
        for (int v = 0; v < 9; v++)
            o[v] = 0.0;
        bad[j] = 0;
        if (out_of_range)
            break;
        if (nk > max_clues) {   /* (the log-odds are read only here: cap_clues reads them only here too) */
            int nonfinite = 0;
            for (Py_ssize_t i = 0; i < nk; i++) {
                caps[i].lo = lo[kept[i]];
                caps[i].mag = fabs(caps[i].lo);
                caps[i].row = kept[i];
                nonfinite |= !isfinite(caps[i].lo);
            }
            if (nonfinite) {
                bad[j] = 1;
                continue;
            }
            qsort(caps, (size_t)nk, sizeof(cap_t), cmp_cap);
            nk = max_clues;
            for (Py_ssize_t i = 0; i < nk; i++)
                kept[i] = caps[i].row;
        }
        if (ss_sums9(kept, nk, lf, l1, meta, size, scratch, o) != 0)
            bad[j] = 1;   /* (a non-finite ln f or ln(1 - f), or a sum that overflowed: math.fsum decides) */
    }
    Py_END_ALLOW_THREADS
    if (out_of_range) {
        PyErr_Format(PyExc_ValueError, "fold_sums: row %lld out of range of tables of %zd rows", (long long)bad_row,
                     size);
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyMem_Free(kept);
    PyMem_Free(caps);
    PyMem_Free(scratch);
    if (have_tables)
        ss_release_tables(&t);
    for (Py_ssize_t j = 0; j < n_msg_buffers; j++)
        PyBuffer_Release(&msg[j]);
    PyMem_Free(msg);
    if (wb.obj) PyBuffer_Release(&wb);
    if (sb.obj) PyBuffer_Release(&sb);
    if (lb.obj) PyBuffer_Release(&lb);
    if (outb.obj) PyBuffer_Release(&outb);
    if (badb.obj) PyBuffer_Release(&badb);
    return result;
}
