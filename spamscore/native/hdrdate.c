/* The Date and Message-ID tokens of the header loop of the concern
 * spamscore._core.hdrscan (hdrscan.c: handlers 2 and 3).
 */
#include "core.h"
#include "hdr.h"

#define DATE_MAX 60
#define TZ_MAX 10
#define MSGID_MAX 100

PyObject *ss_hdr_lower = NULL;          /* "lower" (made by ss_init_hdrscan) */
PyObject *ss_hdr_msgid_invalid = NULL;  /* "message-id:invalid" (made by ss_init_hdrscan) */

/* prefix (ASCII) + the n characters of buf, a canonical str */
static PyObject *prefixed_ucs4(const char *prefix, const Py_UCS4 *buf, Py_ssize_t n)
{
    Py_UCS4 tmp[128];
    Py_ssize_t lp = (Py_ssize_t)strlen(prefix);
    if (lp + n > (Py_ssize_t)(sizeof(tmp) / sizeof(tmp[0]))) {
        PyErr_SetString(PyExc_SystemError, "_hdrscan: token buffer too small");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < lp; i++)
        tmp[i] = (Py_UCS4)(unsigned char)prefix[i];
    memcpy(tmp + lp, buf, (size_t)n * sizeof(Py_UCS4));
    return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, tmp, lp + n);
}

/* ---- Date and Message-ID -------------------------------------------- */

/* value.strip(): the span [*s, *e) */
static void strip_span(PyObject *value, Py_ssize_t *s, Py_ssize_t *e)
{
    int kind = PyUnicode_KIND(value);
    const void *d = PyUnicode_DATA(value);
    Py_ssize_t a = 0, b = PyUnicode_GET_LENGTH(value);
    while (a < b && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, a)))
        a++;
    while (b > a && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, b - 1)))
        b--;
    *s = a;
    *e = b;
}

static inline Py_UCS4 shape_char(Py_UCS4 c)
{
    if (c >= '0' && c <= '9') return '9';
    if (c >= 'a' && c <= 'z') return 'a';
    if (c >= 'A' && c <= 'Z') return 'A';
    return c;
}

/* v = value.strip()[:60]; "date:shape:" + shape(v); "date:tz:" + v.rsplit(None, 1)[-1][:10] */
int ss_date_tokens(PyObject *out, PyObject *value)
{
    int kind = PyUnicode_KIND(value);
    const void *d = PyUnicode_DATA(value);
    Py_ssize_t a, b;
    strip_span(value, &a, &b);
    if (b - a > DATE_MAX)
        b = a + DATE_MAX;
    /* shape: translate, then collapse runs of one character other than
     * "\n" (groupby without a newline; the regex (.)\1+ with one, whose
     * "." does not match a newline) */
    Py_UCS4 buf[DATE_MAX];
    Py_ssize_t m = 0;
    for (Py_ssize_t i = a; i < b; i++) {
        Py_UCS4 c = shape_char(PyUnicode_READ(kind, d, i));
        if (m > 0 && buf[m - 1] == c && c != '\n')
            continue;
        buf[m++] = c;
    }
    if (ss_list_append_new(out, prefixed_ucs4("date:shape:", buf, m)) < 0)
        return -1;
    /* the zone: the last run of non-space characters of v, if any */
    Py_ssize_t ze = b;
    while (ze > a && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, ze - 1)))
        ze--;
    if (ze == a)
        return 0;  /* v is empty: rsplit gives [] */
    Py_ssize_t zs = ze;
    while (zs > a && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, zs - 1)))
        zs--;
    if (ze - zs > TZ_MAX)
        ze = zs + TZ_MAX;
    return ss_list_append_new(out, ss_prefixed("date:tz:", value, zs, ze));
}

/* v = value.strip().strip("<>"); "message-id:" + v.rsplit("@", 1)[1].lower()[:100] or "message-id:invalid" */
int ss_msgid_token(PyObject *out, PyObject *value)
{
    int kind = PyUnicode_KIND(value);
    const void *d = PyUnicode_DATA(value);
    Py_ssize_t a, b;
    strip_span(value, &a, &b);
    while (a < b) {
        Py_UCS4 c = PyUnicode_READ(kind, d, a);
        if (c != '<' && c != '>')
            break;
        a++;
    }
    while (b > a) {
        Py_UCS4 c = PyUnicode_READ(kind, d, b - 1);
        if (c != '<' && c != '>')
            break;
        b--;
    }
    Py_ssize_t at = b;
    while (at > a && PyUnicode_READ(kind, d, at - 1) != '@')
        at--;
    if (at == a) {  /* no "@" */
        Py_INCREF(ss_hdr_msgid_invalid);
        return ss_list_append_new(out, ss_hdr_msgid_invalid);
    }
    /* the domain is value[at:b] */
    int ascii = 1;
    for (Py_ssize_t i = at; i < b; i++)
        if (PyUnicode_READ(kind, d, i) > 127) {
            ascii = 0;
            break;
        }
    if (ascii) {
        Py_ssize_t n = b - at;
        if (n > MSGID_MAX)
            n = MSGID_MAX;
        static const char prefix[] = "message-id:";
        Py_ssize_t lp = (Py_ssize_t)sizeof(prefix) - 1;
        PyObject *r = PyUnicode_New(lp + n, 127);
        if (r == NULL)
            return -1;
        Py_UCS1 *o = PyUnicode_1BYTE_DATA(r);
        memcpy(o, prefix, (size_t)lp);
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, d, at + i);
            o[lp + i] = (Py_UCS1)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        return ss_list_append_new(out, r);
    }
    /* non-ASCII: str.lower (full case mapping, final sigma) may change the length */
    PyObject *dom = PyUnicode_Substring(value, at, b);
    if (dom == NULL)
        return -1;
    PyObject *low = PyObject_CallMethodNoArgs(dom, ss_hdr_lower);
    Py_DECREF(dom);
    if (low == NULL)
        return -1;
    if (!PyUnicode_Check(low)) {
        Py_DECREF(low);
        PyErr_SetString(PyExc_TypeError, "_hdrscan: lower() did not return a str");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(low);
    PyObject *r = ss_prefixed("message-id:", low, 0, n > MSGID_MAX ? MSGID_MAX : n);
    Py_DECREF(low);
    return ss_list_append_new(out, r);
}

