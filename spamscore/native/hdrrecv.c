/* The Received tokens of the header loop of the concern
 * spamscore._core.hdrscan (hdrscan.c: handler 1): the hosts and IPs of a
 * Received value, tokens._RECEIVED_HOST and tokens._IP matched by hand.
 */
#include "core.h"
#include "hdr.h"

#define HOST_MAX 200        /* [a-zA-Z0-9.-]{0,200} */

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

/* The tokens of one Received host value[gs:ge] (received_host, through the cache) onto out. */
static int add_host(PyObject *out, PyObject *value, Py_ssize_t gs, Py_ssize_t ge, PyObject *received_host,
                    PyObject *host_cache)
{
    PyObject *host = PyUnicode_Substring(value, gs, ge);
    if (host == NULL)
        return -1;
    PyObject *toks = ss_hdr_cached_call1(host_cache, host, received_host, HOST_CACHE_MAX);
    Py_DECREF(host);
    if (toks == NULL)
        return -1;
    int rc = ss_hdr_extend_tuple(out, toks);
    Py_DECREF(toks);
    return rc;
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

int ss_received_tokens(PyObject *out, PyObject *value, PyObject *received_host, PyObject *host_cache)
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

