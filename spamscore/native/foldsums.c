/* fold_sums, of the concern spamscore._core.speedups (speedups.c has it in
 * its method table): the clue sums of every held-out message of one
 * cross-validation fold in one call, what spamscore.folds.fold_evidence's
 * per-message reference does with numpy (the message's rows that are clues,
 * sorted, cut to the max_clues strongest by stats.cap_clues, then
 * clue_sums); tests/test_fold_sums.py compares the two.
 *
 * Why: per message the numpy steps and the call cost ~25 µs, a third of
 * training's cross-validation stage (20,000 messages, 5 folds); this loop
 * runs without the GIL.  The sums are exact, rounded once (the fixed-point
 * accumulator below; sums.c's partials where it declines): math.fsum's
 * bits, so the order of the clues does not matter, only which ones are
 * kept (the cap: a selection, not a sort). */
#include "speedups.h"

#include <math.h>
#include <string.h>

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

/* ------------------------------------------------------------------------
 * Exact sums in fixed point (a "small superaccumulator"): every finite
 * double is an integer multiple of 2^-1074 below 2^1024, so a sum of them is
 * an integer of at most ~2,100 bits, kept here in 32-bit digits with room in
 * each int64 for 2^31 additions without a carry.  Adding a value is three
 * integer additions (sums.c's Shewchuk partials: a loop over them, ~3 times
 * slower on clue values); the result is the exact sum rounded once, to
 * nearest with ties to even: what math.fsum (and sums.c) gives.  A result in
 * the subnormal range or past the largest double is left to sums.c
 * (acc_result returns 1), as is a non-finite value. */
#define ACC_DIGITS 70          /* 2,240 bits: the 2,098 of the doubles and the carries */

typedef struct {
    int64_t d[ACC_DIGITS];
    int lo, hi;                /* the digits in use: lo..hi (hi < lo: none) */
    int bad;                   /* a non-finite value was added */
} acc_t;

static void acc_clear(acc_t *a)
{
    for (int i = a->lo; i <= a->hi; i++)
        a->d[i] = 0;
    a->lo = ACC_DIGITS;
    a->hi = -1;
    a->bad = 0;
}

static inline void acc_add(acc_t *a, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff);
    uint64_t man = bits & (((uint64_t)1 << 52) - 1);
    if (e == 0x7ff) {
        a->bad = 1;
        return;
    }
    if (man == 0 && e == 0)
        return;                /* (+-0) */
    int pos = 0;               /* the bit of man's lowest place, counted from 2^-1074 */
    if (e) {
        man |= (uint64_t)1 << 52;
        pos = e - 1;
    }
    int c = pos >> 5, sh = pos & 31;
    int64_t v0 = (int64_t)(((man & 0xffffffffu) << sh) & 0xffffffffu);
    int64_t v1 = (int64_t)((man >> (32 - sh)) & 0xffffffffu);
    int64_t v2 = sh ? (int64_t)(man >> (64 - sh)) : 0;
    if (bits >> 63) {
        a->d[c] -= v0;
        a->d[c + 1] -= v1;
        a->d[c + 2] -= v2;
    } else {
        a->d[c] += v0;
        a->d[c + 1] += v1;
        a->d[c + 2] += v2;
    }
    if (c < a->lo)
        a->lo = c;
    if (c + 2 > a->hi)
        a->hi = c + 2;
}

/* a += b (digit by digit: exact) */
static void acc_merge(acc_t *a, const acc_t *b)
{
    for (int i = b->lo; i <= b->hi; i++)
        a->d[i] += b->d[i];
    if (b->lo < a->lo)
        a->lo = b->lo;
    if (b->hi > a->hi)
        a->hi = b->hi;
    a->bad |= b->bad;
}

/* Digits lo..top-1 into [0, 2^32), the carries into d[top]. */
static void acc_carry(int64_t *d, int lo, int top)
{
    for (int i = lo; i < top; i++) {
        int64_t low = (int64_t)((uint64_t)d[i] & 0xffffffffu);
        d[i + 1] += (d[i] - low) / ((int64_t)1 << 32);   /* (exact: a multiple of 2^32) */
        d[i] = low;
    }
}

/* The sum, correctly rounded (half-even), into *out: 0, or 1 (non-finite,
 * subnormal or too large: sums.c decides).  Leaves the digits normalized. */
static int acc_result(acc_t *a, double *out)
{
    if (a->bad)
        return 1;
    if (a->hi < a->lo) {
        *out = 0.0;
        return 0;
    }
    int lo = a->lo, top = a->hi + 2;   /* (room for the carries: top < ACC_DIGITS) */
    if (a->hi < top) {
        for (int i = a->hi + 1; i <= top; i++)
            a->d[i] = 0;
        a->hi = top;
    }
    int64_t *d = a->d;
    acc_carry(d, lo, top);
    int neg = d[top] < 0;
    if (neg) {
        for (int i = lo; i <= top; i++)
            d[i] = -d[i];
        acc_carry(d, lo, top);
    }
    int t = top;
    while (t >= lo && d[t] == 0)
        t--;
    if (t < lo) {
        *out = 0.0;            /* (an exact 0: math.fsum's +0.0) */
        return 0;
    }
    if (d[t] >= ((int64_t)1 << 32) || d[t] < 0)
        return 1;              /* (cannot happen with ACC_DIGITS' room; sums.c decides) */
    uint64_t d1 = t - 1 >= lo ? (uint64_t)d[t - 1] : 0, d2 = t - 2 >= lo ? (uint64_t)d[t - 2] : 0;
    uint64_t hi64 = ((uint64_t)d[t] << 32) | d1;
    int lz = 0;
    while (!(hi64 & ((uint64_t)1 << 63) >> lz))
        lz++;                  /* (d[t] != 0: lz < 32) */
    uint64_t w = hi64 << lz;
    int sticky = 0;
    if (lz) {
        w |= d2 >> (32 - lz);
        sticky = (d2 & (((uint64_t)1 << (32 - lz)) - 1)) != 0;
    } else {
        sticky = d2 != 0;
    }
    for (int i = t - 3; i >= lo && !sticky; i--)
        sticky = d[i] != 0;
    /* value = (w + something below, sticky) * 2^(32 (t - 1) - 1074 - lz) */
    uint64_t keep = w >> 11, rem = w & 0x7ff;
    if (rem > 0x400 || (rem == 0x400 && (sticky || (keep & 1))))
        keep++;
    int exp2 = 32 * (t - 1) - 1074 - lz + 11;
    if (exp2 < -1074 || exp2 > 1023 - 52)
        return 1;              /* (subnormal: ldexp would round again; or past the largest double) */
    double r = ldexp((double)keep, exp2);
    if (!isfinite(r))
        return 1;              /* (the accumulator is not used after a 1: acc_sums9 clears it) */
    *out = neg ? -r : r;
    if (neg)                   /* (the digits hold the sum again, not its magnitude: acc_merge may follow) */
        for (int i = lo; i <= top; i++)
            d[i] = -d[i];
    return 0;
}

/* ss_sums9's nine values by the accumulators ``acc`` (4 of them, clear):
 * 0, or 1 (sums.c decides).  Leaves them clear. */
static int acc_sums9(const int64_t *rows, Py_ssize_t n, const double *lf, const double *l1,
                     const unsigned char *meta, acc_t *acc, double out[9])
{
    Py_ssize_t k[3] = {0, 0, 0};
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = rows[i];
        int fam = meta && meta[r] ? 1 : 0;
        acc_add(&acc[2 * fam], lf[r]);
        acc_add(&acc[2 * fam + 1], l1[r]);
        k[fam + 1]++;
    }
    int rc = 0;
    if (meta) {
        /* the text family's and the meta family's sums, then all: the text digits plus the meta ones */
        if (acc_result(&acc[0], &out[3]) || acc_result(&acc[1], &out[4])
            || acc_result(&acc[2], &out[6]) || acc_result(&acc[3], &out[7]))
            rc = 1;
        acc_merge(&acc[0], &acc[2]);
        acc_merge(&acc[1], &acc[3]);
        out[5] = (double)k[1];
        out[8] = (double)k[2];
    } else {
        out[3] = out[4] = out[5] = out[6] = out[7] = out[8] = 0.0;
    }
    if (!rc && (acc_result(&acc[0], &out[0]) || acc_result(&acc[1], &out[1])))
        rc = 1;
    out[2] = (double)(k[1] + k[2]);
    for (int j = 0; j < 4; j++)
        acc_clear(&acc[j]);
    return rc;
}

/* Reorder caps[0..n) so that caps[0..k) are the k first in cmp_cap's order
 * (in some order: the sums do not depend on it), 0 < k < n: Wirth's
 * selection, O(n) on average where a sort is O(n log n).  cmp_cap orders
 * every two different rows, so the k first are one set. */
static void select_caps(cap_t *a, Py_ssize_t n, Py_ssize_t k)
{
    Py_ssize_t l = 0, m = n - 1, target = k - 1;
    while (l < m) {
        cap_t x = a[target];
        Py_ssize_t i = l, j = m;
        do {
            while (cmp_cap(&a[i], &x) < 0)
                i++;
            while (cmp_cap(&x, &a[j]) < 0)
                j--;
            if (i <= j) {
                cap_t t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < target)
            l = i;
        if (target < i)
            m = j;
    }
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
    acc_t *acc = NULL;
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
    acc = PyMem_Calloc(4, sizeof(acc_t));
    if (kept == NULL || caps == NULL || scratch == NULL || acc == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (int i = 0; i < 4; i++) {
        acc[i].lo = ACC_DIGITS;
        acc[i].hi = -1;
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
            if (max_clues > 0)
                select_caps(caps, nk, max_clues);
            nk = max_clues;
            for (Py_ssize_t i = 0; i < nk; i++)
                kept[i] = caps[i].row;
        }
        if (acc_sums9(kept, nk, lf, l1, meta, acc, o) != 0
            && ss_sums9(kept, nk, lf, l1, meta, size, scratch, o) != 0) {
            for (int v = 0; v < 9; v++)
                o[v] = 0.0;
            bad[j] = 1;   /* (a non-finite ln f or ln(1 - f), or a sum that overflowed: math.fsum decides) */
        }
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
    PyMem_Free(acc);
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
