/* Optional compiled helpers for spamscore.features.urls: the URL scan of
 * find_urls and the per-URL tokens of url_features.
 *
 * The Python code in spamscore/features/urls.py is the reference; these
 * functions give exactly the same results (tests/test_urlscan.py,
 * tests/test_urlscan.py).  They work on pure-ASCII strings
 * only, where the regexes and str methods of the reference reduce to plain
 * byte tests; any other input (non-ASCII text, a non-str item) is handed to
 * a Python callable that runs the reference code on it.  Every scan is one
 * pass over the string (bounded by its length); no global mutable state.
 *
 *   find_urls(seq, limit, word_urls) -> list or None
 *       the matches of _URL_RE (rstripped of _TRAILING) in the words of
 *       ``seq`` that hold "://" or "www.", stopping after the first such
 *       word that brings the count to ``limit``; the caller slices to
 *       ``limit``.  ``word_urls(w)`` gives the list for a non-ASCII word.
 *       None when ``seq`` is not a list of exact str (the caller runs Python).
 *   find_urls_text(low, limit, word_urls) -> list or None
 *       the same with seq = low.split(), found without the split (None when
 *       ``low`` is not exactly a str).
 *   url_tokens(url, regdom, shorteners, fallback) -> _url_tokens_uncached(url)
 *       (domain, tokens) or None; ``fallback(url)`` for a non-ASCII url or
 *       a non-str; ``regdom`` is registered_domain (kept in Python, behind
 *       its cache).  link_mismatch takes the real domain from it too.
 *   url_features(urls, links, regdom, shorteners, tok_fallback,
 *                mm_cached, mm_uncached, cache_max_len) -> list or None
 *       the loop of url_features over already-sliced lists (None when they
 *       are not lists, or a link is not a (str, object) tuple: the caller
 *       runs Python).
 */
#include "core.h"

#include <stdio.h>

/* [^\s<>"'`{}|\\^\x00-\x20\x7f] for an ASCII character */
static int url_char(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f)
        return 0;
    switch (c) {
    case '<': case '>': case '"': case '\'': case '`': case '{': case '}': case '|': case '\\': case '^':
        return 0;
    default:
        return 1;
    }
}

/* _TRAILING = ".,;:!?)]}>'\"" */
static int trailing(unsigned char c)
{
    switch (c) {
    case '.': case ',': case ';': case ':': case '!': case '?': case ')': case ']': case '}': case '>':
    case '\'': case '"':
        return 1;
    default:
        return 0;
    }
}

/* The first i >= p where d[i:] starts with "://" or "www.", or -1 (1-byte data). */
static Py_ssize_t next_hit1(const unsigned char *d, Py_ssize_t n, Py_ssize_t p)
{
    for (Py_ssize_t i = p; i + 3 <= n; i++) {
        unsigned char c = d[i];
        if (c == ':') {
            if (d[i + 1] == '/' && d[i + 2] == '/')
                return i;
        } else if (c == 'w') {
            if (i + 4 <= n && d[i + 1] == 'w' && d[i + 2] == 'w' && d[i + 3] == '.')
                return i;
        }
    }
    return -1;
}

/* the same for any kind */
#define NEXT_HIT(T)                                                                          \
    static Py_ssize_t next_hit_##T(const T *d, Py_ssize_t n, Py_ssize_t p)                    \
    {                                                                                         \
        for (Py_ssize_t i = p; i + 3 <= n; i++) {                                             \
            T c = d[i];                                                                       \
            if (c == ':') {                                                                   \
                if (d[i + 1] == '/' && d[i + 2] == '/')                                       \
                    return i;                                                                 \
            } else if (c == 'w') {                                                            \
                if (i + 4 <= n && d[i + 1] == 'w' && d[i + 2] == 'w' && d[i + 3] == '.')     \
                    return i;                                                                 \
            }                                                                                 \
        }                                                                                     \
        return -1;                                                                            \
    }
NEXT_HIT(Py_UCS2)
NEXT_HIT(Py_UCS4)

static Py_ssize_t next_hit(int kind, const void *data, Py_ssize_t n, Py_ssize_t p)
{
    if (kind == PyUnicode_1BYTE_KIND)
        return next_hit1((const unsigned char *)data, n, p);
    if (kind == PyUnicode_2BYTE_KIND)
        return next_hit_Py_UCS2((const Py_UCS2 *)data, n, p);
    return next_hit_Py_UCS4((const Py_UCS4 *)data, n, p);
}

/* Length of the match of _URL_RE at ``pos`` of the ASCII string d[0:n], or 0. */
static Py_ssize_t url_match_at(const unsigned char *d, Py_ssize_t n, Py_ssize_t pos)
{
    /* \b before a word character: the previous one is not a word character */
    if (pos > 0 && ss_ascii_word(d[pos - 1]))
        return 0;
    Py_ssize_t k = -1;
    unsigned char c = ss_ascii_lower(d[pos]);
    if (c == 'h') {
        if (n - pos >= 4 && ss_ascii_ieq(d + pos, "http", 4)) {
            Py_ssize_t j = pos + 4;
            if (n - j >= 4 && ss_ascii_lower(d[j]) == 's' && memcmp(d + j + 1, "://", 3) == 0)
                k = j + 4;
            else if (n - j >= 3 && memcmp(d + j, "://", 3) == 0)
                k = j + 3;
        }
    } else if (c == 'f') {
        if (n - pos >= 6 && ss_ascii_ieq(d + pos, "ftp", 3) && memcmp(d + pos + 3, "://", 3) == 0)
            k = pos + 6;
    } else if (c == 'w') {
        if (n - pos >= 4 && ss_ascii_ieq(d + pos, "www.", 4))
            k = pos + 4;
    }
    if (k < 0)
        return 0;
    Py_ssize_t e = k;
    while (e < n && e - k < 2048 && url_char(d[e]))
        e++;
    if (e == k)
        return 0;
    return e - pos;
}

/* Append the URLs of the ASCII word d[0:n] to ``out``; -1 on error. */
static int scan_word(const unsigned char *d, Py_ssize_t n, PyObject *out)
{
    Py_ssize_t pos = 0;
    while (pos < n) {
        Py_ssize_t m = url_match_at(d, n, pos);
        if (m == 0) {
            pos++;
            continue;
        }
        Py_ssize_t e = pos + m;
        while (e > pos && trailing(d[e - 1]))
            e--;
        PyObject *s = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, d + pos, e - pos);
        if (s == NULL)
            return -1;
        int r = PyList_Append(out, s);
        Py_DECREF(s);
        if (r < 0)
            return -1;
        pos += m;
    }
    return 0;
}

static PyObject *find_urls(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *seq, *limit_o, *fallback;
    if (!PyArg_ParseTuple(args, "OOO:find_urls", &seq, &limit_o, &fallback))
        return NULL;
    if (!PyList_Check(seq))
        Py_RETURN_NONE;
    Py_ssize_t limit = PyNumber_AsSsize_t(limit_o, NULL); /* clamped: only compared with a length */
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    /* an item that is not exactly a str, anywhere: None (the Python loop
     * filters the whole list first, and raises as it does) */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(seq); i++)
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(seq, i)))
            Py_RETURN_NONE;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    /* the fallback may run Python code: hold each word while it is used */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(seq); i++) {
        PyObject *w = PyList_GET_ITEM(seq, i);
        if (!PyUnicode_CheckExact(w))
            goto none;
        Py_ssize_t n = PyUnicode_GET_LENGTH(w);
        if (PyUnicode_IS_ASCII(w)) {
            const unsigned char *d = (const unsigned char *)PyUnicode_1BYTE_DATA(w);
            if (next_hit1(d, n, 0) < 0)
                continue;
            Py_INCREF(w);
            int r = scan_word(d, n, out);
            Py_DECREF(w);
            if (r < 0)
                goto fail;
        } else {
            if (next_hit(PyUnicode_KIND(w), PyUnicode_DATA(w), n, 0) < 0)
                continue;
            Py_INCREF(w);
            PyObject *res = PyObject_CallOneArg(fallback, w);
            Py_DECREF(w);
            if (res == NULL)
                goto fail;
            Py_ssize_t end = PyList_GET_SIZE(out);
            int r = PyList_SetSlice(out, end, end, res);
            Py_DECREF(res);
            if (r < 0)
                goto fail;
        }
        if (PyList_GET_SIZE(out) >= limit)
            break;
    }
    return out;
none:
    Py_DECREF(out);
    Py_RETURN_NONE;
fail:
    Py_DECREF(out);
    return NULL;
}

/* find_urls_text(low, limit, word_urls) -> list: find_urls(seq=low.split()),
 * without the split: each white-space-delimited word (str.split's white
 * space, Py_UNICODE_ISSPACE) that holds "://" or "www." is found from the
 * needle out; the caller slices to ``limit``. */
static PyObject *find_urls_text(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *low, *limit_o, *fallback;
    if (!PyArg_ParseTuple(args, "OOO:find_urls_text", &low, &limit_o, &fallback))
        return NULL;
    if (!PyUnicode_CheckExact(low))
        Py_RETURN_NONE;
    Py_ssize_t limit = PyNumber_AsSsize_t(limit_o, NULL);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Py_INCREF(low);
    int kind = PyUnicode_KIND(low);
    const void *data = PyUnicode_DATA(low);
    Py_ssize_t n = PyUnicode_GET_LENGTH(low), p = 0;
    while (p < n) {
        Py_ssize_t hit = next_hit(kind, data, n, p);
        if (hit < 0)
            break;
        Py_ssize_t ws = hit, we = hit;
        while (ws > p && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, ws - 1)))
            ws--;
        int ascii = 1;
        while (we < n) {
            Py_UCS4 c = PyUnicode_READ(kind, data, we);
            if (Py_UNICODE_ISSPACE(c))
                break;
            ascii &= c < 128;
            we++;
        }
        for (Py_ssize_t i = ws; ascii && i < hit; i++)
            ascii &= PyUnicode_READ(kind, data, i) < 128;
        if (ascii && kind == PyUnicode_1BYTE_KIND) {
            if (scan_word((const unsigned char *)data + ws, we - ws, out) < 0)
                goto fail;
        } else {
            PyObject *w = PyUnicode_Substring(low, ws, we);
            if (w == NULL)
                goto fail;
            int r;
            if (PyUnicode_IS_ASCII(w)) {
                r = scan_word(PyUnicode_1BYTE_DATA(w), PyUnicode_GET_LENGTH(w), out);
            } else {
                PyObject *res = PyObject_CallOneArg(fallback, w);
                r = -1;
                if (res != NULL) {
                    Py_ssize_t end = PyList_GET_SIZE(out);
                    r = PyList_SetSlice(out, end, end, res);
                    Py_DECREF(res);
                }
            }
            Py_DECREF(w);
            if (r < 0)
                goto fail;
        }
        if (PyList_GET_SIZE(out) >= limit)
            break;
        p = we;
    }
    Py_DECREF(low);
    return out;
fail:
    Py_DECREF(low);
    Py_DECREF(out);
    return NULL;
}

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
static PyObject *tokens_of(PyObject *url, PyObject *regdom, PyObject *shorteners, PyObject *fallback)
{
    if (PyUnicode_Check(url) && PyUnicode_IS_ASCII(url))
        return url_tokens_ascii(PyUnicode_1BYTE_DATA(url), PyUnicode_GET_LENGTH(url), regdom, shorteners);
    return PyObject_CallOneArg(fallback, url);
}

static PyObject *url_tokens(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *url, *regdom, *shorteners, *fallback;
    if (!PyArg_ParseTuple(args, "OOO!O:url_tokens", &url, &regdom, &PyFrozenSet_Type, &shorteners, &fallback))
        return NULL;
    return tokens_of(url, regdom, shorteners, fallback);
}

/* "2**k" for n > 0, k = n.bit_length() - 1 */
static PyObject *bucket_token(const char *prefix, Py_ssize_t n)
{
    int k = -1;
    size_t v = (size_t)n;
    while (v) {
        k++;
        v >>= 1;
    }
    char buf[48];
    int len = snprintf(buf, sizeof(buf), "%s2**%d", prefix, k);
    if (len < 0 || (size_t)len >= sizeof(buf)) {
        PyErr_SetString(PyExc_SystemError, "bucket token too long");
        return NULL;
    }
    return PyUnicode_FromStringAndSize(buf, len);
}

static PyObject *url_features(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *urls, *links, *regdom, *shorteners, *tok_fallback, *mm_cached, *mm_uncached;
    Py_ssize_t cache_max;
    if (!PyArg_ParseTuple(args, "OOOO!OOOn:url_features", &urls, &links, &regdom, &PyFrozenSet_Type,
                          &shorteners, &tok_fallback, &mm_cached, &mm_uncached, &cache_max))
        return NULL;
    if (!PyList_Check(urls) || !PyList_Check(links))
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(links); i++) {
        PyObject *l = PyList_GET_ITEM(links, i);
        if (!PyTuple_Check(l) || PyTuple_GET_SIZE(l) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(l, 0)))
            Py_RETURN_NONE;
    }
    PyObject *out = PyList_New(0), *counts = PyDict_New(), *seen = PySet_New(NULL), *hold = NULL;
    if (out == NULL || counts == NULL || seen == NULL)
        goto fail;
    /* each distinct URL once, with its count, in first-seen order */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(urls); i++) {
        PyObject *url = PyList_GET_ITEM(urls, i);
        Py_INCREF(url);
        PyObject *c = PyDict_GetItemWithError(counts, url);
        Py_ssize_t times = 1;
        if (c != NULL)
            times = PyLong_AsSsize_t(c) + 1;
        else if (PyErr_Occurred()) {
            Py_DECREF(url);
            goto fail;
        }
        PyObject *v = PyLong_FromSsize_t(times);
        int r = v == NULL ? -1 : PyDict_SetItem(counts, url, v);
        Py_XDECREF(v);
        Py_DECREF(url);
        if (r < 0)
            goto fail;
    }
    Py_ssize_t pos = 0, n = 0;
    PyObject *url, *c;
    while (PyDict_Next(counts, &pos, &url, &c)) {
        PyObject *ut = tokens_of(url, regdom, shorteners, tok_fallback);
        if (ut == NULL)
            goto fail;
        if (ut == Py_None) {
            Py_DECREF(ut);
            continue;
        }
        if (!PyTuple_Check(ut) || PyTuple_GET_SIZE(ut) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(ut, 1))) {
            Py_DECREF(ut);
            PyErr_SetString(PyExc_TypeError, "url tokens must be (domain, tuple)");
            goto fail;
        }
        n += PyLong_AsSsize_t(c);
        PyObject *toks = PyTuple_GET_ITEM(ut, 1);
        int r = PySet_Add(seen, PyTuple_GET_ITEM(ut, 0));
        if (r == 0)
            r = PyList_SetSlice(out, PyList_GET_SIZE(out), PyList_GET_SIZE(out), toks);
        Py_DECREF(ut);
        if (r < 0)
            goto fail;
    }
    hold = links;
    Py_INCREF(hold);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(links); i++) {
        PyObject *l = PyList_GET_ITEM(links, i);
        if (!PyTuple_Check(l) || PyTuple_GET_SIZE(l) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(l, 0))) {
            PyErr_SetString(PyExc_TypeError, "links changed during url_features");
            goto fail;
        }
        Py_INCREF(l);
        PyObject *href = PyTuple_GET_ITEM(l, 0), *text = PyTuple_GET_ITEM(l, 1);
        PyObject *fn = PyUnicode_GET_LENGTH(href) <= cache_max ? mm_cached : mm_uncached;
        PyObject *mm = PyObject_CallFunctionObjArgs(fn, href, text, NULL);
        Py_DECREF(l);
        if (mm == NULL)
            goto fail;
        int hit = mm != Py_None;
        Py_DECREF(mm);
        if (hit) {
            PyObject *t = PyUnicode_FromString("url:text-mismatch");
            int r = t == NULL ? -1 : PyList_Append(out, t);
            Py_XDECREF(t);
            if (r < 0)
                goto fail;
        }
    }
    if (n) {
        PyObject *t = bucket_token("url:count:", n);
        int r = t == NULL ? -1 : PyList_Append(out, t);
        Py_XDECREF(t);
        if (r < 0)
            goto fail;
        t = bucket_token("url:domains:", PySet_GET_SIZE(seen));
        r = t == NULL ? -1 : PyList_Append(out, t);
        Py_XDECREF(t);
        if (r < 0)
            goto fail;
    }
    Py_XDECREF(hold);
    Py_DECREF(counts);
    Py_DECREF(seen);
    return out;
fail:
    Py_XDECREF(hold);
    Py_XDECREF(out);
    Py_XDECREF(counts);
    Py_XDECREF(seen);
    return NULL;
}

static PyMethodDef methods[] = {
    {"find_urls", find_urls, METH_VARARGS,
     "find_urls(seq, limit, word_urls) -> list or None: the URLs of the words of seq (see the module doc)"},
    {"find_urls_text", find_urls_text, METH_VARARGS,
     "find_urls_text(low, limit, word_urls) -> list: find_urls with seq=low.split(), without the split"},
    {"url_tokens", url_tokens, METH_VARARGS,
     "url_tokens(url, regdom, shorteners, fallback) -> _url_tokens_uncached(url)"},
    {"url_features", url_features, METH_VARARGS,
     "url_features(urls, links, regdom, shorteners, tok_fallback, mm_cached, mm_uncached, cache_max_len) "
     "-> list or None: the loop of spamscore.features.urls.url_features"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "spamscore._core.urlscan",
    "Compiled URL scan and URL tokens (optional; spamscore.features.urls is the reference).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyObject *ss_init_urlscan(void)
{
    return PyModule_Create(&module);
}
