/* mime_counts of the concern spamscore._core.mimescan (its other functions:
 * mimescan.c): the counts parse takes of a multipart message before
 * splitting it.
 */
#include "core.h"
#include "mime.h"

/* ------------------------------------------------------------------------
 * mime_counts(raw, body_at) -> (lines, boundaries, delimiters, lone_cr)
 *
 * The counts parse takes of a multipart message before splitting it, in a
 * few memchr passes instead of seven bytes.count/lower passes:
 *   lines       max(raw.count(b"\n"), raw.count(b"\r"))
 *   boundaries  raw.lower().count(b"boundary")
 *   delimiters  raw.count(b"\n--", body_at) + raw.count(b"\r--", body_at)
 *   lone_cr     raw.count(b"\r") != raw.count(b"\r\n")  (_MimeSplitter's)
 */

static Py_ssize_t count_word(const unsigned char *buf, Py_ssize_t n, unsigned char first, const char *rest)
{
    /* occurrences of first + rest (rest lower-case ASCII letters) with rest
     * matched case-insensitively */
    Py_ssize_t m = (Py_ssize_t)strlen(rest), count = 0;
    const unsigned char *p = buf, *stop = buf + n;
    while (p < stop) {
        const unsigned char *hit = memchr(p, first, (size_t)(stop - p));
        if (hit == NULL)
            break;
        if (stop - hit - 1 >= m) {
            Py_ssize_t i = 0;
            for (; i < m; i++) {
                unsigned char c = hit[1 + i];
                if (c >= 'A' && c <= 'Z')
                    c = (unsigned char)(c + 32);
                if (c != (unsigned char)rest[i])
                    break;
            }
            if (i == m) {
                count++;
                p = hit + 1 + m;
                continue;
            }
        }
        p = hit + 1;
    }
    return count;
}

PyObject *ss_mime_counts(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *raw;
    Py_ssize_t body_at;
    if (!PyArg_ParseTuple(args, "On:mime_counts", &raw, &body_at))
        return NULL;
    if (!PyBytes_CheckExact(raw))
        Py_RETURN_NONE;
    const unsigned char *buf = (const unsigned char *)PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw);
    if (body_at < 0)  /* bytes.count's negative start counts from the end: not ours */
        Py_RETURN_NONE;
    Py_ssize_t lf = 0, cr = 0, crlf = 0, delims = 0;
    for (int pass = 0; pass < 2; pass++) {
        unsigned char ch = pass ? '\r' : '\n';
        const unsigned char *p = buf, *stop = buf + n;
        while (p < stop) {
            const unsigned char *hit = memchr(p, ch, (size_t)(stop - p));
            if (hit == NULL)
                break;
            Py_ssize_t i = hit - buf;
            if (pass) {
                cr++;
                if (i + 1 < n && buf[i + 1] == '\n')
                    crlf++;
            }
            else
                lf++;
            if (i >= body_at && i + 2 < n && buf[i + 1] == '-' && buf[i + 2] == '-')
                delims++;
            p = hit + 1;
        }
    }
    Py_ssize_t boundaries = count_word(buf, n, 'b', "oundary") + count_word(buf, n, 'B', "oundary");
    return Py_BuildValue("(nnnO)", lf > cr ? lf : cr, boundaries, delims, cr != crlf ? Py_True : Py_False);
}

