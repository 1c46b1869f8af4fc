/* The exact clue sums of the concern spamscore._core.speedups (its
 * clue_sums, lookup_sums and lookup_sums_h call ss_sums_of; foldsums.c's
 * fold_sums calls ss_sums9 without the GIL). */
#include "core.h"
#include "speedups.h"

#include <math.h>

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

/* The nine values of clue_sums of ``n`` clues into ``out`` (the counts as
 * doubles): clue i's ln f, ln(1-f) and meta flag are lf[j], l1[j] and (when
 * ``meta`` is given) meta[j], with j = rows[i], or j = i without ``rows``.
 * ``scratch``: ss_sums_scratch() bytes.  0, 1 (a non-finite value: ``out``
 * is not written) or -1 (a row out of ``size``).  No Python API: callable
 * without the GIL (foldsums.c). */
int ss_sums9(const int64_t *rows, Py_ssize_t n, const double *lf, const double *l1,
             const unsigned char *meta, Py_ssize_t size, void *scratch, double out[9])
{
    xsum_t *s = scratch;
    for (int j = 0; j < 6; j++) {
        s[j].n = 0;
        s[j].bad = 0;
    }
    Py_ssize_t k[3] = {0, 0, 0};
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = rows ? rows[i] : i;
        if (r < 0 || r >= size)
            return -1;
        int fam = meta ? (meta[r] ? 2 : 1) : 0;   /* (with families, the sums of all come after) */
        xsum_add(&s[2 * fam], lf[r]);
        xsum_add(&s[2 * fam + 1], l1[r]);
        k[fam]++;
    }
    if (meta) {
        /* The sums of all clues: the text family's partials plus the meta family's.  Each list of partials
         * sums exactly to its values' sum, so the merged list holds the exact sum of all the values, which
         * xsum_result rounds as math.fsum of them does (correctly, half-even): half the additions of
         * adding each clue to three sums. */
        k[0] = k[1] + k[2];
        for (int v = 0; v < 2; v++) {
            s[v] = s[2 + v];
            for (int j = 0; j < s[4 + v].n && !s[v].bad; j++)
                xsum_add(&s[v], s[4 + v].p[j]);
            s[v].bad |= s[4 + v].bad;
        }
    }
    int bad = 0;
    for (int j = 0; j < 6; j++)
        bad |= s[j].bad;
    if (bad)
        return 1;
    for (int f = 0; f < 3; f++) {
        out[3 * f] = xsum_result(&s[2 * f]);
        out[3 * f + 1] = xsum_result(&s[2 * f + 1]);
        out[3 * f + 2] = (double)k[f];
    }
    return 0;
}

/* The bytes of scratch ss_sums9 needs. */
size_t ss_sums_scratch(void)
{
    return 6 * sizeof(xsum_t);
}

/* ss_sums9 as a new tuple, Py_None (new reference: a non-finite value) or
 * NULL (a row out of ``size``).  The sums are exactly rounded: the order
 * does not matter. */
PyObject *ss_sums_of(const int64_t *rows, Py_ssize_t n, const double *lf, const double *l1,
                     const unsigned char *meta, Py_ssize_t size)
{
    void *s = PyMem_Malloc(ss_sums_scratch());
    if (s == NULL)
        return PyErr_NoMemory();
    double v[9];
    int rc = ss_sums9(rows, n, lf, l1, meta, size, s, v);
    PyMem_Free(s);
    if (rc < 0) {
        PyErr_SetString(PyExc_IndexError, "clue row out of range");
        return NULL;
    }
    if (rc > 0)
        Py_RETURN_NONE;
    return Py_BuildValue("ddnddnddn", v[0], v[1], (Py_ssize_t)v[2], v[3], v[4], (Py_ssize_t)v[5],
                         v[6], v[7], (Py_ssize_t)v[8]);
}
