/* Where words() of the concern spamscore._core.bodyscan (bodywords.c) puts
 * its tokens: a set of str, or the token hash of each (sink_t: bodyscan.h).
 */
#include "core.h"
#include "bodyscan.h"

/* the str of the concatenation of up to 4 runs of characters (in its
 * canonical form: the narrowest kind that holds them, ASCII when all are,
 * which str equality needs) */
static PyObject *make_str(const ch_t *a, Py_ssize_t la, const ch_t *b, Py_ssize_t lb,
                          const ch_t *c, Py_ssize_t lc, const ch_t *d, Py_ssize_t ld)
{
    const ch_t *runs[4] = {a, b, c, d};
    Py_ssize_t lens[4] = {la, lb, lc, ld};
    ch_t maxc = 0;
    for (int r = 0; r < 4; r++)
        for (Py_ssize_t i = 0; i < lens[r]; i++)
            maxc |= runs[r][i];
    PyObject *s = PyUnicode_New(la + lb + lc + ld, maxc < 128 ? 127 : maxc < 256 ? 255 : 65535);
    if (s == NULL)
        return NULL;
    if (PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND) {
        Py_UCS1 *o = PyUnicode_1BYTE_DATA(s);
        for (int r = 0; r < 4; r++)
            for (Py_ssize_t i = 0; i < lens[r]; i++)
                *o++ = (Py_UCS1)runs[r][i];
    } else {
        Py_UCS2 *o = PyUnicode_2BYTE_DATA(s);
        for (int r = 0; r < 4; r++) {
            if (lens[r])
                memcpy(o, runs[r], (size_t)lens[r] * sizeof(ch_t));
            o += lens[r];
        }
    }
    return s;
}

int ss_sink_emit(sink_t *k, const ch_t *a, Py_ssize_t la, const ch_t *b, Py_ssize_t lb,
                 const ch_t *c, Py_ssize_t lc, const ch_t *d, Py_ssize_t ld)
{
    if (k->set != NULL)
        return ss_set_add_new(k->set, make_str(a, la, b, lb, c, lc, d, ld));
    const ch_t *runs[4] = {a, b, c, d};
    Py_ssize_t lens[4] = {la, lb, lc, ld}, total = la + lb + lc + ld;
    Py_ssize_t room = 3 * total;  /* UTF-8: at most 3 bytes a BMP character */
    if (room > k->scratch_cap) {
        unsigned char *p = PyMem_Realloc(k->scratch, (size_t)(room > 64 ? room : 64));
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        k->scratch = p;
        k->scratch_cap = room > 64 ? room : 64;
    }
    unsigned char *o = k->scratch;
    for (int r = 0; r < 4; r++)
        for (Py_ssize_t i = 0; i < lens[r]; i++) {
            ch_t ch = runs[r][i];
            if (ch < 0x80)
                *o++ = (unsigned char)ch;
            else if (ch < 0x800) {
                *o++ = (unsigned char)(0xC0 | (ch >> 6));
                *o++ = (unsigned char)(0x80 | (ch & 0x3F));
            } else {
                *o++ = (unsigned char)(0xE0 | (ch >> 12));
                *o++ = (unsigned char)(0x80 | ((ch >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (ch & 0x3F));
            }
        }
    if (ss_grow((void **)&k->h, &k->cap, k->n + 1, sizeof(int64_t), 256) < 0)
        return -1;
    k->h[k->n++] = ss_token_hash(k->scratch, (size_t)(o - k->scratch));
    return 0;
}

void ss_sink_free(sink_t *k)
{
    PyMem_Free(k->h);
    PyMem_Free(k->scratch);
    k->h = NULL;
    k->scratch = NULL;
}

