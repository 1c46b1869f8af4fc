/* leaf_info, charset_hint and boundary of the concern spamscore._core.mimescan
 * (its other functions: mimescan.c): what spamscore.message reads of
 * Content-Type and Content-Disposition values; and the boundary's span,
 * which the splitter (mimetree.c) takes from here too.
 */
#include "core.h"
#include "mime.h"

/* ------------------------------------------------------------------------
 * Content-Type parameters, as the regular expressions of spamscore.message
 * find them (the Python code is the reference).  Every function here takes
 * ASCII str only and returns None for anything else: Python's re with
 * IGNORECASE matches some non-ASCII letters to ASCII ones (U+017F to "s",
 * U+212A to "k"), and its \s and str.strip know non-ASCII white space.
 * For ASCII, re's \s and str.strip's white space are the same set.
 */

static int is_ctype_char(unsigned char c)
{
    /* [a-z0-9!#$&^_.+-] with IGNORECASE */
    c = ss_ascii_lower(c);
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' || c == '#' || c == '$'
        || c == '&' || c == '^' || c == '_' || c == '.' || c == '+' || c == '-';
}

/* _CTYPE.match: ^\s*([a-z0-9!#$&^_.+-]{1,100}/[a-z0-9!#$&^_.+-]{1,100}) (re.I);
 * 1 with [*start, *stop) the group, or 0 */
static int ctype_match(const unsigned char *v, Py_ssize_t n, Py_ssize_t *start, Py_ssize_t *stop)
{
    Py_ssize_t p = 0;
    while (p < n && ss_ascii_space(v[p]))
        p++;
    Py_ssize_t a = p;
    while (p < n && is_ctype_char(v[p]) && p - a <= 100)
        p++;
    if (p - a < 1 || p - a > 100 || p >= n || v[p] != '/')
        return 0;
    p++;
    Py_ssize_t b = p;
    while (p < n && is_ctype_char(v[p]) && p - b < 100)
        p++;
    if (p - b < 1)
        return 0;
    *start = a;
    *stop = p;
    return 1;
}

/* _param's search: (?:^|;)\s*NAME\*?\s*=\s*(?:"([^"]{0,300})"|([^;\s]{1,300})) (re.I);
 * 1 with [*start, *stop) the group, or 0.  NAME is lower-case ASCII. */
static int param_search(const unsigned char *v, Py_ssize_t n, const char *name,
                        Py_ssize_t *start, Py_ssize_t *stop)
{
    Py_ssize_t m = (Py_ssize_t)strlen(name);
    Py_ssize_t cand = 0;  /* where the \s* after ^ or ";" begins */
    for (;;) {
        Py_ssize_t p = cand;
        while (p < n && ss_ascii_space(v[p]))
            p++;
        if (n - p >= m) {
            Py_ssize_t i = 0;
            while (i < m && ss_ascii_lower(v[p + i]) == (unsigned char)name[i])
                i++;
            if (i == m) {
                p += m;
                if (p < n && v[p] == '*')
                    p++;
                while (p < n && ss_ascii_space(v[p]))
                    p++;
                if (p < n && v[p] == '=') {
                    p++;
                    while (p < n && ss_ascii_space(v[p]))
                        p++;
                    if (p < n && v[p] == '"') {
                        Py_ssize_t q = p + 1;
                        while (q < n && v[q] != '"' && q - (p + 1) < 300)
                            q++;
                        if (q < n && v[q] == '"') {
                            *start = p + 1;
                            *stop = q;
                            return 1;
                        }
                    }
                    Py_ssize_t q = p;
                    while (q < n && v[q] != ';' && !ss_ascii_space(v[q]) && q - p < 300)
                        q++;
                    if (q > p) {
                        *start = p;
                        *stop = q;
                        return 1;
                    }
                }
            }
        }
        /* the next ";" (searched from cand: the \s* and NAME hold none) */
        const unsigned char *semi = cand < n ? memchr(v + cand, ';', (size_t)(n - cand)) : NULL;
        if (semi == NULL)
            return 0;
        cand = (semi - v) + 1;
    }
}

/* _param's value: the group, after the first "''" if any (RFC 2231) */
static void param_value(const unsigned char *v, Py_ssize_t *start, Py_ssize_t stop)
{
    for (Py_ssize_t i = *start; i + 1 < stop; i++)
        if (v[i] == '\'' && v[i + 1] == '\'') {
            *start = i + 2;
            return;
        }
}

/* leaf_info(content_type, disposition) -> None or
 *   (ctype, charset, filename, bad_content_type, attachment)
 * what spamscore.message._leaf reads of a part's Content-Type value (a str
 * or None) and Content-Disposition value (a str, "" when absent):
 *   ctype     _CTYPE's group lower-cased, or "text/plain";
 *   charset   _param(content_type, "charset").lower();
 *   filename  _param(disposition.lower(), "filename") or
 *             _param(content_type, "name"), NOT decoded (decode_header_value
 *             is the caller's);
 *   bad_content_type  no _CTYPE match and a value that is not all white space;
 *   attachment  disposition.lower().lstrip().startswith("attachment").
 * None when a value is not an ASCII str (the Python code decides). */
PyObject *ss_leaf_info(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *ct, *disp;
    if (!PyArg_ParseTuple(args, "OO:leaf_info", &ct, &disp))
        return NULL;
    const unsigned char *cv = NULL, *dv = NULL;
    Py_ssize_t cn = 0, dn = 0;
    if (ct != Py_None && !ss_ascii_view(ct, &cv, &cn))
        Py_RETURN_NONE;
    if (!ss_ascii_view(disp, &dv, &dn))
        Py_RETURN_NONE;
    PyObject *ctype = NULL, *charset = NULL, *filename = NULL, *result = NULL;
    int bad = 0, attach = 0;
    const unsigned char *fsrc = NULL;  /* the filename's source and span */
    Py_ssize_t fa = 0, fb = 0;
    int flower = 0;  /* the filename comes from the disposition: lower-cased */
    Py_ssize_t a, b;
    if (cv != NULL) {
        if (ctype_match(cv, cn, &a, &b))
            ctype = ss_ascii_str(cv + a, b - a, 1);
        else {
            ctype = PyUnicode_FromString("text/plain");
            for (Py_ssize_t i = 0; i < cn; i++)
                if (!ss_ascii_space(cv[i])) {
                    bad = 1;
                    break;
                }
        }
        if (ctype == NULL)
            goto done;
        if (param_search(cv, cn, "charset", &a, &b)) {
            param_value(cv, &a, b);
            charset = ss_ascii_str(cv + a, b - a, 1);
        }
        else
            charset = PyUnicode_New(0, 127);
        if (charset == NULL)
            goto done;
        if (param_search(cv, cn, "name", &a, &b)) {
            param_value(cv, &a, b);
            fsrc = cv;
            fa = a;
            fb = b;
        }
    }
    else {
        ctype = PyUnicode_FromString("text/plain");
        charset = PyUnicode_New(0, 127);
        if (ctype == NULL || charset == NULL)
            goto done;
    }
    if (dn) {
        /* the filename parameter of the lower-cased disposition: searched in
         * the original (the pattern ignores case), lower-cased when copied */
        if (param_search(dv, dn, "filename", &a, &b)) {
            param_value(dv, &a, b);
            if (b > a) {
                fsrc = dv;
                fa = a;
                fb = b;
                flower = 1;
            }
        }
        Py_ssize_t i = 0;
        while (i < dn && ss_ascii_space(dv[i]))
            i++;
        if (dn - i >= 10) {
            static const char att[] = "attachment";
            Py_ssize_t k = 0;
            while (k < 10 && ss_ascii_lower(dv[i + k]) == (unsigned char)att[k])
                k++;
            attach = k == 10;
        }
    }
    filename = ss_ascii_str(fsrc ? fsrc + fa : (const unsigned char *)"", fb - fa, flower);
    if (filename == NULL)
        goto done;
    result = PyTuple_Pack(5, ctype, charset, filename, bad ? Py_True : Py_False, attach ? Py_True : Py_False);
done:
    Py_XDECREF(ctype);
    Py_XDECREF(charset);
    Py_XDECREF(filename);
    return result;
}

/* charset_hint(content_type) -> None, "" or the hint: parse's
 * _HEADER_CHARSET_HINT.search, charset\s*=\s*"?([A-Za-z0-9_.:-]+) (re.I);
 * "" when it does not match, None when the value is not an ASCII str. */
static int is_hint_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '_' || c == '.' || c == ':' || c == '-';
}

PyObject *ss_charset_hint(PyObject *self, PyObject *arg)
{
    (void)self;
    const unsigned char *v;
    Py_ssize_t n;
    if (!ss_ascii_view(arg, &v, &n))
        Py_RETURN_NONE;
    static const char word[] = "charset";
    for (Py_ssize_t i = 0; i + 7 <= n; i++) {
        if (ss_ascii_lower(v[i]) != 'c')
            continue;
        Py_ssize_t k = 1;
        while (k < 7 && ss_ascii_lower(v[i + k]) == (unsigned char)word[k])
            k++;
        if (k < 7)
            continue;
        Py_ssize_t p = i + 7;
        while (p < n && ss_ascii_space(v[p]))
            p++;
        if (p >= n || v[p] != '=')
            continue;
        p++;
        while (p < n && ss_ascii_space(v[p]))
            p++;
        if (p < n && v[p] == '"')
            p++;
        Py_ssize_t q = p;
        while (q < n && is_hint_char(v[q]))
            q++;
        if (q > p)
            return ss_ascii_str(v + p, q - p, 0);
    }
    return PyUnicode_New(0, 127);
}

/* boundary(content_type) -> None, False or bytes: _boundary's answer
 * (email.message.Message.get_boundary on a Content-Type of that value,
 * ASCII-encoded) for an ASCII str with no "*" (RFC 2231 parameters) and no
 * backslash (quoting); False when there is no boundary parameter; None when
 * the Python code must decide.
 *
 * For such values get_boundary comes down to: split the value at ";" the
 * way email.message._parseparam does (a ";" inside an odd number of double
 * quotes does not split, one right at a segment's start does); the first
 * segment whose name (before "=", stripped) is "boundary" in any case gives
 * its value (after "=", stripped; "" without "="), email.utils.unquote'd
 * twice (get_param and collapse_rfc2231_value; decode_params' quote and
 * unquote cancel out without backslashes), then rstrip'ed. */
static void unquote_span(const unsigned char *v, Py_ssize_t *a, Py_ssize_t *b)
{
    if (*b - *a > 1 && ((v[*a] == '"' && v[*b - 1] == '"') || (v[*a] == '<' && v[*b - 1] == '>'))) {
        (*a)++;
        (*b)--;
    }
}

/* the boundary of the ASCII value v[0:n]: -1 when the Python code must
 * decide, 0 when there is none, 1 with [*ra, *rb) the boundary */
int ss_mime_boundary_span(const unsigned char *v, Py_ssize_t n, Py_ssize_t *ra, Py_ssize_t *rb)
{
    if (memchr(v, '*', (size_t)n) != NULL || memchr(v, '\\', (size_t)n) != NULL)
        return -1;
    Py_ssize_t s = 0;  /* a segment's start */
    for (;;) {
        Py_ssize_t e = s, quotes = 0;
        for (; e < n; e++) {
            if (v[e] == ';' && (e == s || quotes % 2 == 0))
                break;
            if (v[e] == '"')
                quotes++;
        }
        /* the segment [s, e): name and value */
        const unsigned char *eq = e > s ? memchr(v + s, '=', (size_t)(e - s)) : NULL;
        Py_ssize_t na = s, nb = eq ? eq - v : e;
        while (na < nb && ss_ascii_space(v[na]))
            na++;
        while (nb > na && ss_ascii_space(v[nb - 1]))
            nb--;
        static const char word[] = "boundary";
        if (nb - na == 8) {
            Py_ssize_t k = 0;
            while (k < 8 && ss_ascii_lower(v[na + k]) == (unsigned char)word[k])
                k++;
            if (k == 8) {
                Py_ssize_t va = eq ? (eq - v) + 1 : e, vb = e;
                while (va < vb && ss_ascii_space(v[va]))
                    va++;
                while (vb > va && ss_ascii_space(v[vb - 1]))
                    vb--;
                unquote_span(v, &va, &vb);
                unquote_span(v, &va, &vb);
                while (vb > va && ss_ascii_space(v[vb - 1]))
                    vb--;
                *ra = va;
                *rb = vb;
                return 1;
            }
        }
        if (e >= n)
            break;
        s = e + 1;  /* past the ";" */
    }
    return 0;
}

PyObject *ss_boundary(PyObject *self, PyObject *arg)
{
    (void)self;
    const unsigned char *v;
    Py_ssize_t n, a = 0, b = 0;
    if (!ss_ascii_view(arg, &v, &n))
        Py_RETURN_NONE;
    int rc = ss_mime_boundary_span(v, n, &a, &b);
    if (rc < 0)
        Py_RETURN_NONE;
    if (rc == 0)
        Py_RETURN_FALSE;
    return PyBytes_FromStringAndSize((const char *)v + a, b - a);
}

