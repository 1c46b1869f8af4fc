/* The lines of split_mime (the concern spamscore._core.mimescan; its entry:
 * mimesplit.c): _MimeSplitter's readline and its view of the delimiter
 * lines, against the boundaries of the multiparts waiting for a child.
 */
#include "core.h"
#include "mime.h"
#include "mimesplit.h"

/* a line's key: from s to its first CR or LF (or the end), minus trailing spaces and tabs */
Py_ssize_t ss_ms_key_len(const MS *m, Py_ssize_t s)
{
    const unsigned char *b = m->buf;
    Py_ssize_t k = s;
    while (k < m->n && b[k] != '\r' && b[k] != '\n')
        k++;
    while (k > s && (b[k - 1] == ' ' || b[k - 1] == '\t'))
        k--;
    return k - s;
}

/* a key (starting "--") of an active boundary: key[2:] in active or
 * (key.endswith(b"--") and key[2:-2] in active) */
static int key_active(const MS *m, const unsigned char *k, Py_ssize_t len)
{
    if (m->n_active == 0)
        return 0;
    int closing = k[len - 2] == '-' && k[len - 1] == '-';
    Py_ssize_t inner = len >= 4 ? len - 4 : 0;
    for (Py_ssize_t i = 0; i < m->nframes; i++) {
        const MFrame *f = &m->frames[i];
        if (!f->in_child)
            continue;
        Py_ssize_t bl = f->bb - f->ba;
        const unsigned char *bp = m->buf + f->ba;
        if (len - 2 == bl && memcmp(k + 2, bp, (size_t)bl) == 0)
            return 1;
        if (closing && inner == bl && memcmp(k + 2, bp, (size_t)bl) == 0)
            return 1;
    }
    return 0;
}

static int is_eof_line(const MS *m, Py_ssize_t s)
{
    if (m->n_active == 0 || s + 1 >= m->n || m->buf[s] != '-' || m->buf[s + 1] != '-')
        return 0;
    return key_active(m, m->buf + s, ss_ms_key_len(m, s));
}

/* readline with nothing pushed back: 1 with [*s, *e) the line, or 0 */
int ss_ms_readline(MS *m, Py_ssize_t *s, Py_ssize_t *e)
{
    Py_ssize_t p = m->pos;
    if (p >= m->n)
        return 0;
    if (is_eof_line(m, p))
        return 0;
    const unsigned char *nl = memchr(m->buf + p, '\n', (size_t)(m->n - p));
    *s = p;
    *e = m->pos = nl ? (nl - m->buf) + 1 : m->n;
    return 1;
}

static Py_ssize_t dash_from(const MS *m, Py_ssize_t p)
{
    /* bisect_left(dash_at, p) */
    Py_ssize_t lo = 0, hi = m->ndash;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (m->dash_at[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

Py_ssize_t ss_ms_eof_from(MS *m, Py_ssize_t p)
{
    if (m->n_active == 0)
        return m->n;
    if (m->cache_version == m->version && m->cache_lo <= p && p <= m->cache_hi)
        return m->cache_hi;
    Py_ssize_t end = m->n;
    for (Py_ssize_t i = dash_from(m, p); i < m->ndash; i++)
        if (key_active(m, m->buf + m->dash_at[i], m->dash_len[i])) {
            end = m->dash_at[i];
            break;
        }
    m->cache_version = m->version;
    m->cache_lo = p;
    m->cache_hi = end;
    return end;
}

int ss_ms_is_sep(const unsigned char *k, Py_ssize_t len, const unsigned char *b, Py_ssize_t bl)
{
    return len == bl + 2 && memcmp(k + 2, b, (size_t)bl) == 0;
}

int ss_ms_is_close(const unsigned char *k, Py_ssize_t len, const unsigned char *b, Py_ssize_t bl)
{
    return len == bl + 4 && memcmp(k + 2, b, (size_t)bl) == 0 && k[len - 2] == '-' && k[len - 1] == '-';
}

int ss_ms_next_dash(MS *m, const MFrame *f)
{
    const unsigned char *b = m->buf + f->ba;
    Py_ssize_t bl = f->bb - f->ba;
    for (Py_ssize_t i = dash_from(m, m->pos); i < m->ndash; i++) {
        const unsigned char *k = m->buf + m->dash_at[i];
        Py_ssize_t len = m->dash_len[i];
        int kind = -1;
        if (key_active(m, k, len))
            kind = K_EOF;
        else if (ss_ms_is_sep(k, len, b, bl))
            kind = K_SEP;
        else if (ss_ms_is_close(k, len, b, bl))
            kind = K_CLOSE;
        if (kind >= 0) {
            m->pos = m->dash_at[i];
            return kind;
        }
    }
    m->pos = m->n;
    return K_EOF;
}

