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
 *
 * The concern's files: urlscan.c (this one: find_urls, find_urls_text and
 * the method table), urltokens.c (url_tokens), urlfeatures.c
 * (url_features), and url.h (what they share).
 */
#include "core.h"
#include "url.h"


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

static PyMethodDef methods[] = {
    {"find_urls", find_urls, METH_VARARGS,
     "find_urls(seq, limit, word_urls) -> list or None: the URLs of the words of seq (see the module doc)"},
    {"find_urls_text", find_urls_text, METH_VARARGS,
     "find_urls_text(low, limit, word_urls) -> list: find_urls with seq=low.split(), without the split"},
    {"url_tokens", ss_url_tokens, METH_VARARGS,
     "url_tokens(url, regdom, shorteners, fallback) -> _url_tokens_uncached(url)"},
    {"url_features", ss_url_features, METH_VARARGS,
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
