/* url_tokens of the concern spamscore._core.urlscan (its other functions:
 * urlscan.c, urlfeatures.c): the tokens of one URL, _url_tokens_uncached of
 * spamscore.features.urls, for an ASCII str.
 */
#include "core.h"
#include "url.h"

/* ------------------------------------------------------------------------
 * The tokens of one URL (_url_tokens_uncached of parse_url), ASCII only. */

static int path_sep(unsigned char c)
{
    switch (c) {
    case '/': case '?': case '&': case '=': case '#': case '.': case ';': case ':': case '_': case '+':
    case '%': case '-':
        return 1;
    default:
        return 0;
    }
}

/* ^\d{1,3}(?:\.\d{1,3}){3}$ on h[0:n], where $ may stand before a last "\n" */
static int is_ipv4(const unsigned char *h, Py_ssize_t n)
{
    if (n > 0 && h[n - 1] == '\n')
        n--;
    Py_ssize_t i = 0;
    for (int g = 0; g < 4; g++) {
        if (g > 0) {
            if (i >= n || h[i] != '.')
                return 0;
            i++;
        }
        Py_ssize_t s = i;
        while (i < n && ss_ascii_digit(h[i]))
            i++;
        if (i - s < 1 || i - s > 3)
            return 0;
    }
    return i == n;
}

/* ^(?:0x[0-9a-f]{1,8}|\d{6,10})$ (re.I), $ as above */
static int is_numeric_host(const unsigned char *h, Py_ssize_t n)
{
    if (n > 0 && h[n - 1] == '\n')
        n--;
    if (n >= 3 && n <= 10 && h[0] == '0' && ss_ascii_lower(h[1]) == 'x') {
        Py_ssize_t i = 2;
        while (i < n && (ss_ascii_digit(h[i]) || (ss_ascii_lower(h[i]) >= 'a' && ss_ascii_lower(h[i]) <= 'f')))
            i++;
        if (i == n)
            return 1;
    }
    if (n < 6 || n > 10)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!ss_ascii_digit(h[i]))
            return 0;
    return 1;
}

/* at most 2 + 1 (url-host) + 5 flags + 6 path pieces = 14 tokens per URL */
#define MAX_TOKENS 16

/* _url_tokens_uncached(url) for the ASCII string d[0:len]: (domain, tokens) or None */
static PyObject *url_tokens_ascii(const unsigned char *d, Py_ssize_t len, PyObject *regdom, PyObject *shorteners)
{
    /* url = url.strip()[:2048] */
    Py_ssize_t a = 0, b = len;
    while (a < b && ss_ascii_space(d[a]))
        a++;
    while (b > a && ss_ascii_space(d[b - 1]))
        b--;
    if (b - a > 2048)
        b = a + 2048;
    const unsigned char *u = d + a;
    Py_ssize_t m = b - a;

    const char *scheme;
    const unsigned char *rest;
    Py_ssize_t rn;
    if (m >= 4 && ss_ascii_ieq(u, "www.", 4)) {
        scheme = "http";
        rest = u;
        rn = m;
    } else {
        Py_ssize_t i = 0;
        while (i + 3 <= m && memcmp(u + i, "://", 3) != 0)
            i++;
        if (i + 3 > m)
            Py_RETURN_NONE;
        Py_ssize_t s0 = 0, s1 = i;  /* scheme.lower().strip() */
        while (s0 < s1 && ss_ascii_space(u[s0]))
            s0++;
        while (s1 > s0 && ss_ascii_space(u[s1 - 1]))
            s1--;
        if (s1 - s0 == 4 && ss_ascii_ieq(u + s0, "http", 4))
            scheme = "http";
        else if (s1 - s0 == 5 && ss_ascii_ieq(u + s0, "https", 5))
            scheme = "https";
        else if (s1 - s0 == 3 && ss_ascii_ieq(u + s0, "ftp", 3))
            scheme = "ftp";
        else
            Py_RETURN_NONE;
        rest = u + i + 3;
        rn = m - i - 3;
    }
    Py_ssize_t end = 0;
    while (end < rn && rest[end] != '/' && rest[end] != '?' && rest[end] != '#')
        end++;
    const unsigned char *path = rest + end;
    Py_ssize_t pn = rn - end;
    /* netloc = rest[:end]; the part after the last '@' */
    Py_ssize_t h0 = 0, h1 = end;
    int userinfo = 0;
    for (Py_ssize_t i = end; i > 0; i--)
        if (rest[i - 1] == '@') {
            userinfo = 1;
            h0 = i;
            break;
        }
    long port = -1;
    if (h1 > h0 && rest[h0] == '[') {
        Py_ssize_t close = -1;
        for (Py_ssize_t i = h0; i < h1; i++)
            if (rest[i] == ']') {
                close = i;
                break;
            }
        if (close < 0) {
            h1 = h0;  /* host[:0] */
        } else {
            Py_ssize_t p0 = close + 1, p1 = h1;
            h1 = close + 1;
            if (p1 - p0 >= 2 && rest[p0] == ':') {
                int ok = 1;
                for (Py_ssize_t i = p0 + 1; i < p1; i++)
                    ok &= ss_ascii_digit(rest[i]);
                if (ok) {
                    port = 0;
                    for (Py_ssize_t i = p0 + 1; i < p1 && i < p0 + 7; i++)
                        port = port * 10 + (rest[i] - '0');
                }
            }
        }
    } else {
        Py_ssize_t colon = -1;
        for (Py_ssize_t i = h1; i > h0; i--)
            if (rest[i - 1] == ':') {
                colon = i - 1;
                break;
            }
        if (colon >= 0) {
            Py_ssize_t p0 = colon + 1, p1 = h1;
            h1 = colon;
            if (p1 > p0) {
                int ok = 1;
                for (Py_ssize_t i = p0; i < p1; i++)
                    ok &= ss_ascii_digit(rest[i]);
                if (ok) {
                    port = 0;
                    for (Py_ssize_t i = p0; i < p1 && i < p0 + 6; i++)
                        port = port * 10 + (rest[i] - '0');
                }
            }
        }
    }
    /* host.strip(".").lower() */
    while (h0 < h1 && rest[h0] == '.')
        h0++;
    while (h1 > h0 && rest[h1 - 1] == '.')
        h1--;
    Py_ssize_t hl = h1 - h0;
    if (hl == 0)
        Py_RETURN_NONE;
    PyObject *host = PyUnicode_New(hl, 127);
    if (host == NULL)
        return NULL;
    Py_UCS1 *hb = PyUnicode_1BYTE_DATA(host);
    for (Py_ssize_t i = 0; i < hl; i++)
        hb[i] = ss_ascii_lower(rest[h0 + i]);
    int idn = ss_has_sub(hb, hl, "xn--", 4);
    int ip_host = is_ipv4(hb, hl) || is_numeric_host(hb, hl) || hb[0] == '[';

    PyObject *domain = NULL, *result = NULL, *toks[MAX_TOKENS];
    int nt = 0;
    if (ip_host) {
        domain = host;
        Py_INCREF(domain);
    } else {
        domain = PyObject_CallOneArg(regdom, host);
        if (domain == NULL)
            goto done;
        if (!PyUnicode_Check(domain)) {
            PyErr_SetString(PyExc_TypeError, "registered_domain must return str");
            goto done;
        }
    }
    int shortener = PySet_Contains(shorteners, domain);
    if (shortener == 0)
        shortener = PySet_Contains(shorteners, host);
    if (shortener < 0)
        goto done;
#define ADD(expr) do { PyObject *t_ = (expr); if (t_ == NULL) goto done; toks[nt++] = t_; } while (0)
    ADD(ss_prefixed("url:", domain, 0, PyUnicode_GET_LENGTH(domain)));
    ADD(ss_ascii_prefixed("proto:", (const unsigned char *)scheme, (Py_ssize_t)strlen(scheme)));
    if (!ip_host) {
        int same = PyUnicode_Compare(host, domain);
        if (same == -1 && PyErr_Occurred())
            goto done;
        if (same != 0)
            ADD(ss_ascii_prefixed("url-host:", hb, hl));
    }
    if (shortener)
        ADD(PyUnicode_FromString("url:shortener"));
    if (ip_host)
        ADD(PyUnicode_FromString("url:ip-host"));
    if (port >= 0 && port != 80 && port != 443)
        ADD(PyUnicode_FromString("url:port"));
    if (userinfo)
        ADD(PyUnicode_FromString("url:userinfo"));
    if (idn)
        ADD(PyUnicode_FromString("url:idn"));
    if (pn > 0) {
        /* _PATH_SPLIT.split(path.lower())[:6], pieces of 3..19 characters */
        Py_ssize_t i = 0;
        for (int pieces = 0; pieces < 6; pieces++) {
            Py_ssize_t s = i;
            while (i < pn && !path_sep(path[i]))
                i++;
            Py_ssize_t plen = i - s;
            if (plen > 2 && plen < 20) {
                PyObject *t = ss_ascii_prefixed("url-path:", path + s, plen);
                if (t == NULL)
                    goto done;
                Py_UCS1 *tb = PyUnicode_1BYTE_DATA(t) + 9;
                for (Py_ssize_t j = 0; j < plen; j++)
                    tb[j] = ss_ascii_lower(tb[j]);
                toks[nt++] = t;
            }
            if (i >= pn)
                break;
            while (i < pn && path_sep(path[i]))
                i++;
        }
    }
#undef ADD
    PyObject *tup = PyTuple_New(nt);
    if (tup == NULL)
        goto done;
    for (int j = 0; j < nt; j++)
        PyTuple_SET_ITEM(tup, j, toks[j]);
    nt = 0;
    result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(tup);
        goto done;
    }
    Py_INCREF(domain);
    PyTuple_SET_ITEM(result, 0, domain);
    PyTuple_SET_ITEM(result, 1, tup);
done:
    for (int j = 0; j < nt; j++)
        Py_DECREF(toks[j]);
    Py_XDECREF(domain);
    Py_DECREF(host);
    return result;
}

/* url_tokens of one URL: the C path for an ASCII str, else fallback(url) */
PyObject *ss_url_tokens_of(PyObject *url, PyObject *regdom, PyObject *shorteners, PyObject *fallback)
{
    if (PyUnicode_Check(url) && PyUnicode_IS_ASCII(url))
        return url_tokens_ascii(PyUnicode_1BYTE_DATA(url), PyUnicode_GET_LENGTH(url), regdom, shorteners);
    return PyObject_CallOneArg(fallback, url);
}

PyObject *ss_url_tokens(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *url, *regdom, *shorteners, *fallback;
    if (!PyArg_ParseTuple(args, "OOO!O:url_tokens", &url, &regdom, &PyFrozenSet_Type, &shorteners, &fallback))
        return NULL;
    return ss_url_tokens_of(url, regdom, shorteners, fallback);
}

