/* Optional compiled header loop: spamscore.features.tokens.header_tokens.
 *
 * header_tokens(headers, ignored, handlers, value_tokens, received_host
 *               [, name_cache, value_cache, host_cache]) -> list, or None
 *
 * The same tokens, in the same order, as the Python reference
 * (tokens._header_tokens): for each (name, value) of ``headers`` whose name
 * does not start with one of ``ignored``, "hdr:" + name[:40]; then by
 * ``handlers[name]``: 0, the tokens of value_tokens(name, value[:2000]) (the
 * cached Python function); 1 (Received, the first 10), received_host(host)
 * for each match of tokens._RECEIVED_HOST in value[:2000], then
 * "received:ip:" + each group of each match of tokens._IP (both regexes are
 * matched by hand here: see host_at and ip_at); 2 (Date) the shape and the
 * zone; 3 (Message-ID) its domain.  Last "hdr:received-count:N".
 *
 * Anything this loop does not handle (headers not a list of 2-tuples of
 * str, ``ignored`` not a tuple of str, an unknown handler) returns None and
 * the caller runs the Python code, which raises what it raises.  The only
 * state kept between calls is in the caller's cache dicts (see caches_t),
 * written under the GIL.
 *
 * Also address_tokens (in addrscan.c: tokens._address_tokens of an ASCII value, on a miss
 * of the value caches) and any_name (the "any auth header?" test of
 * auth.auth_features).  Every scan is linear in the value (values are cut
 * at 2,000 characters where the Python code cuts them).
 */
#include "core.h"
#include "hdr.h"

#define MAX_RECEIVED 10
#define HOST_MAX 200        /* [a-zA-Z0-9.-]{0,200} */
#define DATE_MAX 60
#define TZ_MAX 10
#define MSGID_MAX 100

static PyObject *s_lower = NULL;          /* "lower" */
static PyObject *s_msgid_invalid = NULL;  /* "message-id:invalid" */

/* ---- small helpers -------------------------------------------------- */

static inline int is_host_char(Py_UCS4 c)
{
    return ss_ascii_alnum(c) || c == '.' || c == '-';
}

static inline int is_ws_rx(Py_UCS4 c)  /* [ \t\r\n] */
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline ALWAYS_INLINE int is_digit_rx(Py_UCS4 c)  /* \d of a str pattern (sre: Py_UNICODE_ISDECIMAL) */
{
    if (c < 128)
        return c >= '0' && c <= '9';
    return Py_UNICODE_ISDECIMAL(c);
}

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

/* Extend ``out`` with the items of ``tup`` (a tuple; anything else: TypeError). */
static int extend_tuple(PyObject *out, PyObject *tup)
{
    if (!PyTuple_CheckExact(tup)) {
        PyErr_SetString(PyExc_TypeError, "_hdrscan: expected a tuple of tokens");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tup); i++)
        if (PyList_Append(out, PyTuple_GET_ITEM(tup, i)) < 0)
            return -1;
    return 0;
}

/* ---- the caches ------------------------------------------------------ */

/* The caller's dicts (tokens._HDR_CACHE...), each None or a dict that only
 * this loop writes: the results of pure functions, so a hit gives what the
 * call would; each is emptied when it reaches its bound.  They spare the
 * lru_cache wrappers' call and key tuple, and the "hdr:" strings' building
 * and hashing, on every header of every message. */
#define NAME_CACHE_MAX 4096
#define NAME_KEY_MAX 100       /* longer names are not kept */
#define HOST_CACHE_MAX 8192
#define VALUE_CACHE_MAX 8192   /* values of all names together */

typedef struct {
    PyObject *names;   /* name -> "hdr:" + name[:40] */
    PyObject *values;  /* name -> {value[:2000] -> value_tokens(name, value[:2000])} */
    PyObject *hosts;   /* host -> received_host(host) */
} caches_t;

/* Store key -> val in ``cache`` (a dict), emptied first when it holds ``max`` items. */
static int cache_put(PyObject *cache, PyObject *key, PyObject *val, Py_ssize_t max)
{
    if (PyDict_GET_SIZE(cache) >= max)
        PyDict_Clear(cache);
    return PyDict_SetItem(cache, key, val);
}

/* fn(key) through ``cache`` (NULL: none): a new reference */
static PyObject *cached_call1(PyObject *cache, PyObject *key, PyObject *fn, Py_ssize_t max)
{
    if (cache != NULL) {
        PyObject *r = PyDict_GetItemWithError(cache, key);
        if (r != NULL) {
            Py_INCREF(r);
            return r;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    PyObject *r = PyObject_CallOneArg(fn, key);
    if (r != NULL && cache != NULL && cache_put(cache, key, r, max) < 0)
        Py_CLEAR(r);
    return r;
}

/* value_tokens(name, v) through the two-level cache (NULL: none): a new reference */
static PyObject *cached_value_tokens(PyObject *cache, PyObject *name, PyObject *v, PyObject *fn)
{
    if (cache != NULL) {
        PyObject *inner = PyDict_GetItemWithError(cache, name);
        if (inner == NULL && PyErr_Occurred())
            return NULL;
        if (inner != NULL) {
            if (!PyDict_CheckExact(inner)) {
                PyErr_SetString(PyExc_TypeError, "_hdrscan: the value cache holds a non-dict");
                return NULL;
            }
            PyObject *r = PyDict_GetItemWithError(inner, v);
            if (r != NULL) {
                Py_INCREF(r);
                return r;
            }
            if (PyErr_Occurred())
                return NULL;
        }
    }
    PyObject *cargs[2] = {name, v};
    PyObject *r = PyObject_Vectorcall(fn, cargs, 2, NULL);
    if (r == NULL || cache == NULL)
        return r;
    /* Python code ran: look the inner dict up again */
    Py_ssize_t total = 0, pos = 0;
    PyObject *k, *d;
    while (PyDict_Next(cache, &pos, &k, &d))
        if (PyDict_CheckExact(d))
            total += PyDict_GET_SIZE(d);
    if (total >= VALUE_CACHE_MAX)
        PyDict_Clear(cache);
    PyObject *inner = PyDict_GetItemWithError(cache, name);
    if (inner == NULL) {
        if (PyErr_Occurred())
            goto fail;
        inner = PyDict_New();
        if (inner == NULL)
            goto fail;
        int rc = PyDict_SetItem(cache, name, inner);
        Py_DECREF(inner);  /* the cache holds it */
        if (rc < 0)
            goto fail;
    } else if (!PyDict_CheckExact(inner)) {
        PyErr_SetString(PyExc_TypeError, "_hdrscan: the value cache holds a non-dict");
        goto fail;
    }
    if (PyDict_SetItem(inner, v, r) < 0)
        goto fail;
    return r;
fail:
    Py_DECREF(r);
    return NULL;
}

/* ---- the ignored prefixes ------------------------------------------- */

typedef struct {
    PyObject **items;   /* borrowed from the tuple */
    Py_ssize_t n;
} prefixes_t;

/* The tokens of one Received host value[gs:ge] (received_host, through the cache) onto out. */
static int add_host(PyObject *out, PyObject *value, Py_ssize_t gs, Py_ssize_t ge, PyObject *received_host,
                    PyObject *host_cache)
{
    PyObject *host = PyUnicode_Substring(value, gs, ge);
    if (host == NULL)
        return -1;
    PyObject *toks = cached_call1(host_cache, host, received_host, HOST_CACHE_MAX);
    Py_DECREF(host);
    if (toks == NULL)
        return -1;
    int rc = extend_tuple(out, toks);
    Py_DECREF(toks);
    return rc;
}

/* 1: name starts with one of the prefixes, 0: not, -1: error */
static int starts_with_any(PyObject *name, const prefixes_t *px)
{
    Py_ssize_t ln = PyUnicode_GET_LENGTH(name);
    int kn = PyUnicode_KIND(name);
    const char *dn = (const char *)PyUnicode_DATA(name);
    for (Py_ssize_t i = 0; i < px->n; i++) {
        PyObject *p = px->items[i];
        Py_ssize_t lp = PyUnicode_GET_LENGTH(p);
        if (lp > ln)
            continue;
        if (lp == 0)
            return 1;
        if (PyUnicode_KIND(p) == kn) {
            const char *dp = (const char *)PyUnicode_DATA(p);
            if (kn == PyUnicode_1BYTE_KIND && dp[0] != dn[0])
                continue;
            if (memcmp(dn, dp, (size_t)(lp * kn)) == 0)
                return 1;
            continue;
        }
        Py_ssize_t r = PyUnicode_Tailmatch(name, p, 0, lp, -1);
        if (r < 0)
            return -1;
        if (r)
            return 1;
    }
    return 0;
}

/* ---- Received: the two regexes --------------------------------------- */

/* One match of (?:from|From|by|By|FROM|BY)[ \t\r\n]+([a-zA-Z0-9][a-zA-Z0-9.-]{0,200})
 * at position i of d[0:n]: 1 and the group's span (and the match's end,
 * which is the group's end), or 0.  At most one of the literals can match
 * at a position, and neither the white space nor the host class can give
 * back a character that the next element would take, so a greedy scan is
 * the regex's match. */
static inline ALWAYS_INLINE int host_at(int kind, const void *d, Py_ssize_t n, Py_ssize_t i,
                          Py_ssize_t *gs, Py_ssize_t *ge)
{
    Py_UCS4 c0 = PyUnicode_READ(kind, d, i);
    Py_ssize_t j;
    if (c0 == 'f' || c0 == 'F') {
        if (i + 4 > n)
            return 0;
        Py_UCS4 c1 = PyUnicode_READ(kind, d, i + 1), c2 = PyUnicode_READ(kind, d, i + 2),
                c3 = PyUnicode_READ(kind, d, i + 3);
        int ok = (c0 == 'f' && c1 == 'r' && c2 == 'o' && c3 == 'm')
                 || (c0 == 'F' && c1 == 'r' && c2 == 'o' && c3 == 'm')
                 || (c0 == 'F' && c1 == 'R' && c2 == 'O' && c3 == 'M');
        if (!ok)
            return 0;
        j = i + 4;
    } else if (c0 == 'b' || c0 == 'B') {
        if (i + 2 > n)
            return 0;
        Py_UCS4 c1 = PyUnicode_READ(kind, d, i + 1);
        int ok = (c0 == 'b' && c1 == 'y') || (c0 == 'B' && c1 == 'y') || (c0 == 'B' && c1 == 'Y');
        if (!ok)
            return 0;
        j = i + 2;
    } else {
        return 0;
    }
    Py_ssize_t ws = j;
    while (j < n && is_ws_rx(PyUnicode_READ(kind, d, j)))
        j++;
    if (j == ws || j >= n || !ss_ascii_alnum(PyUnicode_READ(kind, d, j)))
        return 0;
    *gs = j;
    j++;
    Py_ssize_t lim = j + HOST_MAX;
    if (lim > n)
        lim = n;
    while (j < lim && is_host_char(PyUnicode_READ(kind, d, j)))
        j++;
    *ge = j;
    return 1;
}

/* \d{1,3} greedily from i (at most 3): the count (0: none) */
static inline ALWAYS_INLINE Py_ssize_t digits_at(int kind, const void *d, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t k = 0;
    while (k < 3 && i + k < n && is_digit_rx(PyUnicode_READ(kind, d, i + k)))
        k++;
    return k;
}

/* One match of ((\d\d{0,2}\.\d{1,3})\.\d{1,3})\.\d{1,3} at position i:
 * 1, the end of group 2 (a.b), of group 1 (a.b.c) and of the match.  Each
 * \d{1,3} is greedy and followed by "." (not a digit), so taking fewer
 * digits never helps: a greedy scan is the regex's match. */
static inline ALWAYS_INLINE int ip_at(int kind, const void *d, Py_ssize_t n, Py_ssize_t i,
                        Py_ssize_t *e2, Py_ssize_t *e1, Py_ssize_t *end)
{
    Py_ssize_t j = i;
    for (int part = 0; part < 4; part++) {
        Py_ssize_t k = digits_at(kind, d, n, j);
        if (k == 0)
            return 0;
        j += k;
        if (part == 1)
            *e2 = j;
        else if (part == 2)
            *e1 = j;
        if (part < 3) {
            if (j >= n || PyUnicode_READ(kind, d, j) != '.')
                return 0;
            j++;
        }
    }
    *end = j;
    return 1;
}

static inline ALWAYS_INLINE int received_scan(PyObject *out, PyObject *value, PyObject *received_host,
                                              PyObject *host_cache, int kind, const void *d, Py_ssize_t n)
{
    /* findall of _RECEIVED_HOST: after a match, the search goes on at its end */
    Py_ssize_t i = 0;
    while (i < n) {
        Py_ssize_t gs, ge;
        if (!host_at(kind, d, n, i, &gs, &ge)) {
            i++;
            continue;
        }
        if (add_host(out, value, gs, ge, received_host, host_cache) < 0)
            return -1;
        i = ge;
    }
    /* findall of _IP: each match gives (a.b.c, a.b) */
    i = 0;
    while (i < n) {
        Py_ssize_t e2 = 0, e1 = 0, end = 0;
        if (!ip_at(kind, d, n, i, &e2, &e1, &end)) {
            i++;
            continue;
        }
        if (ss_list_append_new(out, ss_prefixed("received:ip:", value, i, e1)) < 0
            || ss_list_append_new(out, ss_prefixed("received:ip:", value, i, e2)) < 0)
            return -1;
        i = end;
    }
    return 0;
}

/* The same two scans for a 1-byte string (nearly every Received value):
 * the host scan jumps from one f/F/b/B to the next; the address scan from
 * one "." to the next (memchr).  A match of _IP has its first "." 1 to 3
 * digits after its start, and what follows that "." does not depend on
 * where the match started: so the leftmost start, the first of the (up to
 * 3) digits right before the next ".", either matches or no start before
 * that "." does.  Latin-1 holds no decimal digits but the ASCII ones. */
static int received_scan1(PyObject *out, PyObject *value, PyObject *received_host, PyObject *host_cache,
                          const Py_UCS1 *d, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS1 c = d[i];
        if ((c | 0x20) != 'f' && (c | 0x20) != 'b') {  /* f F b B */
            i++;
            continue;
        }
        Py_ssize_t gs, ge;
        if (!host_at(PyUnicode_1BYTE_KIND, d, n, i, &gs, &ge)) {
            i++;
            continue;
        }
        if (add_host(out, value, gs, ge, received_host, host_cache) < 0)
            return -1;
        i = ge;
    }
    i = 0;
    while (i < n) {
        const Py_UCS1 *dot = memchr(d + i, '.', (size_t)(n - i));
        if (dot == NULL)
            break;
        Py_ssize_t q = dot - d, p = q;
        while (p > i && p > q - 3 && d[p - 1] >= '0' && d[p - 1] <= '9')
            p--;
        Py_ssize_t e2 = 0, e1 = 0, end = 0;
        if (p < q && ip_at(PyUnicode_1BYTE_KIND, d, n, p, &e2, &e1, &end)) {
            if (ss_list_append_new(out, ss_prefixed("received:ip:", value, p, e1)) < 0
                || ss_list_append_new(out, ss_prefixed("received:ip:", value, p, e2)) < 0)
                return -1;
            i = end;
        } else {
            i = q + 1;
        }
    }
    return 0;
}

static int received_tokens(PyObject *out, PyObject *value, PyObject *received_host, PyObject *host_cache)
{
    const void *d = PyUnicode_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    if (n > VALUE_MAX)
        n = VALUE_MAX;
    switch (PyUnicode_KIND(value)) {  /* one copy of the scanners per kind */
    case PyUnicode_1BYTE_KIND:
        return received_scan1(out, value, received_host, host_cache, (const Py_UCS1 *)d, n);
    case PyUnicode_2BYTE_KIND:
        return received_scan(out, value, received_host, host_cache, PyUnicode_2BYTE_KIND, d, n);
    default:
        return received_scan(out, value, received_host, host_cache, PyUnicode_4BYTE_KIND, d, n);
    }
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
static int date_tokens(PyObject *out, PyObject *value)
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
static int msgid_token(PyObject *out, PyObject *value)
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
        Py_INCREF(s_msgid_invalid);
        return ss_list_append_new(out, s_msgid_invalid);
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
    PyObject *low = PyObject_CallMethodNoArgs(dom, s_lower);
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

/* "hdr:" + name[:40] */
static PyObject *hdr_token(PyObject *name)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(name);
    return ss_prefixed("hdr:", name, 0, n > 40 ? 40 : n);
}

/* ---- the loop -------------------------------------------------------- */

static PyObject *header_tokens(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *headers, *ignored, *handlers, *value_tokens, *received_host;
    PyObject *name_cache = Py_None, *value_cache = Py_None, *host_cache = Py_None;
    if (!PyArg_ParseTuple(args, "OOO!OO|OOO:header_tokens", &headers, &ignored, &PyDict_Type, &handlers,
                          &value_tokens, &received_host, &name_cache, &value_cache, &host_cache))
        return NULL;
    caches_t caches = {NULL, NULL, NULL};
    PyObject *given[3] = {name_cache, value_cache, host_cache}, **slot[3] = {&caches.names, &caches.values, &caches.hosts};
    for (int i = 0; i < 3; i++) {
        if (given[i] == Py_None)
            continue;
        if (!PyDict_CheckExact(given[i])) {
            PyErr_SetString(PyExc_TypeError, "_hdrscan: a cache must be a dict or None");
            return NULL;
        }
        *slot[i] = given[i];
    }
    if (!PyList_CheckExact(headers))
        Py_RETURN_NONE;
    prefixes_t px = {NULL, 0};
    if (ignored != Py_None) {
        if (!PyTuple_CheckExact(ignored))
            Py_RETURN_NONE;
        px.n = PyTuple_GET_SIZE(ignored);
        px.items = &PyTuple_GET_ITEM(ignored, 0);
        for (Py_ssize_t i = 0; i < px.n; i++)
            if (!PyUnicode_CheckExact(px.items[i]))
                Py_RETURN_NONE;
    }
    /* The list may change under us only through the callbacks (Python code):
     * hold each item while it is used, and re-read the size every time. */
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    long received = 0;
    for (Py_ssize_t h = 0; h < PyList_GET_SIZE(headers); h++) {
        PyObject *item = PyList_GET_ITEM(headers, h);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2)
            goto bail;
        PyObject *name = PyTuple_GET_ITEM(item, 0), *value = PyTuple_GET_ITEM(item, 1);
        if (!PyUnicode_CheckExact(name) || !PyUnicode_CheckExact(value))
            goto bail;
        if (px.n) {
            int ig = starts_with_any(name, &px);
            if (ig < 0)
                goto fail;
            if (ig)
                continue;
        }
        if (caches.names != NULL && PyUnicode_GET_LENGTH(name) <= NAME_KEY_MAX) {
            PyObject *tok = PyDict_GetItemWithError(caches.names, name);  /* borrowed */
            if (tok == NULL) {
                if (PyErr_Occurred())
                    goto fail;
                tok = hdr_token(name);
                if (tok == NULL || cache_put(caches.names, name, tok, NAME_CACHE_MAX) < 0) {
                    Py_XDECREF(tok);
                    goto fail;
                }
                Py_DECREF(tok);  /* the cache holds it */
            }
            if (PyList_Append(out, tok) < 0)
                goto fail;
        } else if (ss_list_append_new(out, hdr_token(name)) < 0) {
            goto fail;
        }
        PyObject *kobj = PyDict_GetItemWithError(handlers, name);  /* borrowed */
        if (kobj == NULL) {
            if (PyErr_Occurred())
                goto fail;
            continue;
        }
        if (!PyLong_CheckExact(kobj))
            goto bail;
        int overflow = 0;
        long k = PyLong_AsLongAndOverflow(kobj, &overflow);
        if (overflow || k < 0 || k > 3)
            goto bail;
        Py_INCREF(item);  /* name and value live through the callbacks */
        int rc = 0;
        if (k == 0) {
            PyObject *v = value;
            if (PyUnicode_GET_LENGTH(value) > VALUE_MAX) {
                v = PyUnicode_Substring(value, 0, VALUE_MAX);
            } else {
                Py_INCREF(v);
            }
            if (v == NULL) {
                rc = -1;
            } else {
                PyObject *toks = cached_value_tokens(caches.values, name, v, value_tokens);
                Py_DECREF(v);
                if (toks == NULL) {
                    rc = -1;
                } else {
                    rc = extend_tuple(out, toks);
                    Py_DECREF(toks);
                }
            }
        } else if (k == 1) {
            received++;
            if (received <= MAX_RECEIVED)
                rc = received_tokens(out, value, received_host, caches.hosts);
        } else if (k == 2) {
            rc = date_tokens(out, value);
        } else {
            rc = msgid_token(out, value);
        }
        Py_DECREF(item);
        if (rc < 0)
            goto fail;
    }
    if (received) {
        if (ss_list_append_new(out, PyUnicode_FromFormat("hdr:received-count:%ld", received < 12 ? received : 12)) < 0)
            goto fail;
    }
    return out;
bail:
    Py_DECREF(out);
    Py_RETURN_NONE;
fail:
    Py_DECREF(out);
    return NULL;
}

/* any_name(headers, names) -> True if the name of some (name, value) of
 * ``headers`` (a list) is in ``names`` (a frozenset of str), else False;
 * None for anything else in the list (the caller's Python loop then
 * decides).  spamscore.features.auth.auth_features asks it first. */
static PyObject *any_name(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *headers, *names;
    if (!PyArg_ParseTuple(args, "OO!:any_name", &headers, &PyFrozenSet_Type, &names))
        return NULL;
    if (!PyList_CheckExact(headers))
        Py_RETURN_NONE;
    /* no Python code runs here (exact str keys): the list cannot change */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(headers); i++) {
        PyObject *item = PyList_GET_ITEM(headers, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2
            || !PyUnicode_CheckExact(PyTuple_GET_ITEM(item, 0)))
            Py_RETURN_NONE;
        int in = PySet_Contains(names, PyTuple_GET_ITEM(item, 0));
        if (in < 0)
            return NULL;
        if (in)
            Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

static PyMethodDef methods[] = {
    {"address_tokens", ss_address_tokens, METH_VARARGS,  /* (addrscan.c) */
     "address_tokens(name, value, words, registered_domain) -> list or None: "
     "spamscore.features.tokens._address_tokens of an ASCII value (None: any other)"},
    {"any_name", any_name, METH_VARARGS,
     "any_name(headers, names) -> bool or None: whether a header's name is in the frozenset names"},
    {"header_tokens", header_tokens, METH_VARARGS,
     "header_tokens(headers, ignored, handlers, value_tokens, received_host) -> list or None: "
     "the loop of spamscore.features.tokens.header_tokens (None: use the Python code)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "spamscore._core.hdrscan",
    "Compiled header-token loop (optional; the Python code in features.tokens is the reference).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyObject *ss_init_hdrscan(void)
{
    if (s_lower == NULL && (s_lower = PyUnicode_InternFromString("lower")) == NULL)
        return NULL;
    ss_address_init();
    if (s_msgid_invalid == NULL && (s_msgid_invalid = PyUnicode_InternFromString("message-id:invalid")) == NULL)
        return NULL;
    return PyModule_Create(&module);
}
