/* The exact clue sums of the concern spamscore._core.speedups (its
 * clue_sums, lookup_sums and lookup_sums_h call ss_sums_of). */
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

/* The nine values of clue_sums of ``n`` clues: clue i's ln f, ln(1-f) and meta
 * flag are lf[j], l1[j] and (when ``meta`` is given) meta[j], with j = rows[i],
 * or j = i without ``rows`` (values gathered already: the dense table's).
 * A new tuple, Py_None (new reference: a non-finite value) or NULL (a row
 * out of ``size``).  The sums are exactly rounded: the order does not matter. */
PyObject *ss_sums_of(const int64_t *rows, Py_ssize_t n, const double *lf, const double *l1,
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
