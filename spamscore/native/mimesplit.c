/* split_mime of the concern spamscore._core.mimescan (its other functions:
 * mimescan.c): spamscore.message's MIME splitter for the common case, in C.
 * The Python code (spamscore.message._MimeSplitter and _walk) is the
 * reference (tests/test_mimescan.py, tests/test_native_equivalence.py).
 */
#include "core.h"
#include "mime.h"

/* ------------------------------------------------------------------------
 * split_mime(raw, max_parts, max_depth) -> None or (root_defects, events)
 *
 * _MimeSplitter(raw).run() followed by _walk's order of the tree, for the
 * common case; None (the Python splitter decides) when the input has a lone
 * CR, a message/delivery-status part, a part header block the Python code
 * would read line by line (_headers_fast fails: a line that is neither a
 * field nor a continuation, no blank line within _HEADER_WINDOW), a
 * Content-Type/-Transfer-Encoding/-Disposition value with 8-bit bytes, or a
 * boundary parameter boundary() leaves to Python.
 *
 * Without lone CRs and delivery-status parts, _MimeSplitter's pushback holds
 * at most the line after a delimiter (or the end of input), which the next
 * read_headers takes back at once: here pos is put back at that line's
 * start instead (or pending_none set).  The active boundaries are those of
 * the frames waiting for a child (in_child).
 *
 * root_defects: the root part's defect names (parse extends its defects
 * with them); events: in _walk's order, either a str (the defect _walk
 * records: "too-deep", "too-many-parts") or a leaf
 *   (defects or None, content_type or None, cte, disposition, payload)
 * for _leaf (cte and disposition "" when absent; defects None for the root).
 *
 * Linear in the input for a bounded number of enclosing boundaries (parse's
 * work budget bounds lines x boundary parameters, and it calls this only
 * within the budget, as it does _MimeSplitter); _eof_from's answer is
 * remembered while the active boundaries stay the same, as in Python.
 */

#define D_NOBOUNDARY 1
#define D_BADCTE 2
#define D_NOSTART 4
#define D_NOCLOSE 8
#define D_INVARIANT 16
static const char *const defect_names[5] = {
    "NoBoundaryInMultipartDefect", "InvalidMultipartContentTransferEncodingDefect",
    "StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect",
};

enum { CT_OTHER, CT_MESSAGE, CT_MULTIPART, CT_DIGEST, CT_DS };
enum { K_EOF = 0, K_SEP = 1, K_CLOSE = 2 };

typedef struct {
    Py_ssize_t f[3][2];  /* Content-Type, -Transfer-Encoding, -Disposition value spans; [0] -1: absent */
    Py_ssize_t pay_a, pay_b;  /* a bytes payload */
    Py_ssize_t parent, end;  /* end: past the last descendant */
    Py_ssize_t depth;
    int kind, is_list, defects;
} MNode;

typedef struct {
    Py_ssize_t node, ba, bb;  /* the multipart and its boundary's span */
    int capturing, in_child;
} MFrame;

typedef struct {
    const unsigned char *buf;
    Py_ssize_t n, pos;
    int pending_none;  /* a pushed-back end of input */
    Py_ssize_t *dash_at, *dash_len, ndash, capdash;
    MFrame *frames;
    Py_ssize_t nframes, capframes, n_active;
    MNode *nodes;
    Py_ssize_t nnodes, capnodes, last;
    unsigned long version, cache_version;
    Py_ssize_t cache_lo, cache_hi;
} MS;

/* a line's key: from s to its first CR or LF (or the end), minus trailing spaces and tabs */
static Py_ssize_t key_len(const MS *m, Py_ssize_t s)
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
    return key_active(m, m->buf + s, key_len(m, s));
}

/* readline with nothing pushed back: 1 with [*s, *e) the line, or 0 */
static int ms_readline(MS *m, Py_ssize_t *s, Py_ssize_t *e)
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

static Py_ssize_t eof_from(MS *m, Py_ssize_t p)
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

static int is_sep(const unsigned char *k, Py_ssize_t len, const unsigned char *b, Py_ssize_t bl)
{
    return len == bl + 2 && memcmp(k + 2, b, (size_t)bl) == 0;
}

static int is_close(const unsigned char *k, Py_ssize_t len, const unsigned char *b, Py_ssize_t bl)
{
    return len == bl + 4 && memcmp(k + 2, b, (size_t)bl) == 0 && k[len - 2] == '-' && k[len - 1] == '-';
}

static int next_dash(MS *m, const MFrame *f)
{
    const unsigned char *b = m->buf + f->ba;
    Py_ssize_t bl = f->bb - f->ba;
    for (Py_ssize_t i = dash_from(m, m->pos); i < m->ndash; i++) {
        const unsigned char *k = m->buf + m->dash_at[i];
        Py_ssize_t len = m->dash_len[i];
        int kind = -1;
        if (key_active(m, k, len))
            kind = K_EOF;
        else if (is_sep(k, len, b, bl))
            kind = K_SEP;
        else if (is_close(k, len, b, bl))
            kind = K_CLOSE;
        if (kind >= 0) {
            m->pos = m->dash_at[i];
            return kind;
        }
    }
    m->pos = m->n;
    return K_EOF;
}

/* -1 on memory error */
static Py_ssize_t ms_new(MS *m, Py_ssize_t parent)
{
    if (ss_grow((void **)&m->nodes, &m->capnodes, m->nnodes + 1, sizeof(MNode), 16) < 0)
        return -1;
    MNode *nd = &m->nodes[m->nnodes];
    for (int i = 0; i < 3; i++)
        nd->f[i][0] = nd->f[i][1] = -1;
    nd->pay_a = nd->pay_b = 0;
    nd->parent = parent;
    nd->end = m->nnodes + 1;
    nd->depth = parent >= 0 ? m->nodes[parent].depth + 1 : 0;
    nd->kind = parent >= 0 && m->nodes[parent].kind == CT_DIGEST ? CT_MESSAGE : CT_OTHER;
    nd->is_list = 0;
    nd->defects = 0;
    m->last = m->nnodes;
    return m->nnodes++;
}

static int name_at(const unsigned char *p, Py_ssize_t avail, const char *lower)
{
    Py_ssize_t n = (Py_ssize_t)strlen(lower);
    return avail >= n && ss_ascii_ieq(p, lower, n);
}

/* email.message.Message.get_content_type of the node's Content-Type */
static void finish_headers(MS *m, MNode *nd)
{
    if (nd->f[0][0] < 0)
        return;
    const unsigned char *v = m->buf + nd->f[0][0];
    Py_ssize_t n = nd->f[0][1] - nd->f[0][0];
    const unsigned char *semi = memchr(v, ';', (size_t)n);
    Py_ssize_t a = 0, b = semi ? semi - v : n;
    while (a < b && ss_ascii_space(v[a]))
        a++;
    while (b > a && ss_ascii_space(v[b - 1]))
        b--;
    Py_ssize_t slashes = 0;
    for (Py_ssize_t i = a; i < b; i++)
        slashes += v[i] == '/';
    nd->kind = CT_OTHER;
    if (slashes != 1)
        return;
    if (b - a == 23 && name_at(v + a, b - a, "message/delivery-status"))
        nd->kind = CT_DS;
    else if (name_at(v + a, b - a, "message/"))
        nd->kind = CT_MESSAGE;
    else if (b - a == 16 && name_at(v + a, b - a, "multipart/digest"))
        nd->kind = CT_DIGEST;
    else if (name_at(v + a, b - a, "multipart/"))
        nd->kind = CT_MULTIPART;
}

/* _headers_fast: 1 done, 0 the Python code must decide */
static int headers_fast(MS *m, MNode *nd)
{
    static const char *const names[3] = {"content-type", "content-transfer-encoding", "content-disposition"};
    const unsigned char *buf = m->buf;
    Py_ssize_t p = m->pos;
    Py_ssize_t end = eof_from(m, p);
    if (p >= end)
        return 1;
    if (buf[p] == '\n' || buf[p] == '\r') {
        m->pos = p + (buf[p] == '\n' ? 1 : 2);
        return 1;
    }
    if (end - p >= 5 && memcmp(buf + p, "From ", 5) == 0) {
        const unsigned char *nl = memchr(buf + p, '\n', (size_t)(end - p));
        p = nl ? (nl - buf) + 1 : end;
        if (p < end && (buf[p] == '\n' || buf[p] == '\r')) {
            m->pos = p + (buf[p] == '\n' ? 1 : 2);
            return 1;
        }
    }
    Py_ssize_t window = end - p > 64 * 1024 ? p + 64 * 1024 : end;
    Py_ssize_t stop = -1, after = -1;
    for (Py_ssize_t i = p; i < window;) {
        const unsigned char *nl = memchr(buf + i, '\n', (size_t)(window - i));
        if (nl == NULL)
            break;
        Py_ssize_t j = nl - buf;
        if (j + 1 < window && buf[j + 1] == '\n') {
            stop = j + 1;
            after = j + 2;
            break;
        }
        if (j + 2 < window && buf[j + 1] == '\r' && buf[j + 2] == '\n') {
            stop = j + 1;
            after = j + 3;
            break;
        }
        i = j + 1;
    }
    if (stop < 0) {
        if (window != end)
            return 0;
        stop = after = end;
    }
    if (p < stop) {
        if (buf[p] == ' ' || buf[p] == '\t')
            return 0;
        for (Py_ssize_t q = p; q < stop;) {
            /* the line at q: a continuation, a field, or bad */
            unsigned char c = buf[q];
            if (c != ' ' && c != '\t') {
                Py_ssize_t k = q;
                while (k < stop && is_name_char(buf[k]))
                    k++;
                if (k == q || k >= stop || buf[k] != ':')
                    return 0;
                for (int w = 0; w < 3; w++) {
                    Py_ssize_t nl_ = (Py_ssize_t)strlen(names[w]);
                    if (k - q != nl_ || !name_at(buf + q, k - q, names[w]))
                        continue;
                    if (nd->f[w][0] >= 0)
                        break;
                    /* the value: [ \t]*, then [^\n]* and its continuation lines, rstrip(b"\r\n") */
                    Py_ssize_t v = k + 1;
                    while (v < stop && (buf[v] == ' ' || buf[v] == '\t'))
                        v++;
                    Py_ssize_t e = v;
                    for (;;) {
                        while (e < stop && buf[e] != '\n')
                            e++;
                        if (e < stop && e + 1 < stop && (buf[e + 1] == ' ' || buf[e + 1] == '\t')) {
                            e++;
                            continue;
                        }
                        break;
                    }
                    while (e > v && (buf[e - 1] == '\r' || buf[e - 1] == '\n'))
                        e--;
                    for (Py_ssize_t i = v; i < e; i++)
                        if (buf[i] >= 0x80)
                            return 0;  /* compat32 makes it a Header: Python */
                    nd->f[w][0] = v;
                    nd->f[w][1] = e;
                    break;
                }
            }
            const unsigned char *nl = memchr(buf + q, '\n', (size_t)(stop - q));
            if (nl == NULL)
                break;
            q = (nl - buf) + 1;
        }
    }
    m->pos = after;
    return 1;
}

/* the payload's trailing line break belongs to the delimiter */
static void strip_last(MS *m)
{
    MNode *last = &m->nodes[m->last];
    if (last->kind == CT_MULTIPART || last->kind == CT_DIGEST || last->is_list)
        return;
    const unsigned char *b = m->buf;
    if (last->pay_b - last->pay_a >= 2 && b[last->pay_b - 2] == '\r' && b[last->pay_b - 1] == '\n')
        last->pay_b -= 2;
    else if (last->pay_b - last->pay_a >= 1 && (b[last->pay_b - 1] == '\n' || b[last->pay_b - 1] == '\r'))
        last->pay_b -= 1;
}

/* _step_multipart: the next subpart (>= 0), -1 when the multipart ended, -2 on error, -3 bail out */
static Py_ssize_t step_multipart(MS *m)
{
    MFrame *f = &m->frames[m->nframes - 1];
    Py_ssize_t mp = f->node;
    if (f->in_child) {
        strip_last(m);
        f->in_child = 0;
        m->n_active--;
        m->version++;
        m->last = mp;
    }
    Py_ssize_t pre_at = m->pos;
    int kind = next_dash(m, f);
    Py_ssize_t s, e;
    const unsigned char *b = m->buf + f->ba;
    Py_ssize_t bl = f->bb - f->ba;
    if (kind == K_SEP) {
        f->capturing = 0;
        if (!ms_readline(m, &s, &e))
            return -3;  /* cannot happen: next_dash tested the same */
        for (;;) {
            if (!ms_readline(m, &s, &e)) {
                m->pending_none = 1;
                break;
            }
            Py_ssize_t len = key_len(m, s);
            const unsigned char *k = m->buf + s;
            if (!((len >= 2 && k[0] == '-' && k[1] == '-') && (is_sep(k, len, b, bl) || is_close(k, len, b, bl)))) {
                m->pos = s;  /* pushed back, taken back by read_headers */
                break;
            }
        }
        m->nodes[mp].is_list = 1;
        f->in_child = 1;
        m->n_active++;
        m->version++;
        return ms_new(m, mp) < 0 ? -2 : m->nnodes - 1;
    }
    int capturing = f->capturing;
    m->nframes--;
    MNode *nd = &m->nodes[mp];
    if (capturing) {
        nd->defects |= D_NOSTART;
        nd->pay_a = pre_at;
        nd->pay_b = m->pos;
    }
    else if (kind != K_CLOSE)
        nd->defects |= D_NOCLOSE;
    if (kind == K_CLOSE) {
        ms_readline(m, &s, &e);
        m->pos = eof_from(m, m->pos);  /* the epilogue */
    }
    return -1;
}

/* 1 done, 0 bail out, -1 error */
static int ms_run(MS *m)
{
    Py_ssize_t part = ms_new(m, -1);
    if (part < 0)
        return -1;
    int begin = 1;
    for (;;) {
        if (begin) {
            MNode *nd = &m->nodes[part];
            if (m->pending_none)
                m->pending_none = 0;  /* read_headers reads no line */
            else if (!headers_fast(m, nd))
                return 0;
            finish_headers(m, nd);
            if (nd->kind == CT_DS)
                return 0;
            if (nd->kind == CT_MESSAGE) {
                nd->is_list = 1;
                if ((part = ms_new(m, part)) < 0)
                    return -1;
                continue;
            }
            if (nd->kind == CT_MULTIPART || nd->kind == CT_DIGEST) {
                Py_ssize_t a = 0, b = 0;
                int rc = ss_mime_boundary_span(m->buf + nd->f[0][0], nd->f[0][1] - nd->f[0][0], &a, &b);
                if (rc < 0)
                    return 0;
                if (rc == 0) {
                    nd->defects |= D_NOBOUNDARY;
                    nd->pay_a = m->pos;
                    nd->pay_b = m->pos = eof_from(m, m->pos);
                }
                else {
                    int ok = 0;
                    if (nd->f[1][0] < 0)
                        ok = 1;
                    else {
                        const unsigned char *v = m->buf + nd->f[1][0];
                        Py_ssize_t n = nd->f[1][1] - nd->f[1][0];
                        ok = (n == 4 && (name_at(v, n, "7bit") || name_at(v, n, "8bit")))
                            || (n == 6 && name_at(v, n, "binary"));
                    }
                    if (!ok)
                        nd->defects |= D_BADCTE;
                    if (ss_grow((void **)&m->frames, &m->capframes, m->nframes + 1, sizeof(MFrame), 16) < 0)
                        return -1;
                    MFrame *f = &m->frames[m->nframes++];
                    f->node = part;
                    f->ba = nd->f[0][0] + a;
                    f->bb = nd->f[0][0] + b;
                    f->capturing = 1;
                    f->in_child = 0;
                }
            }
            else {
                nd->pay_a = m->pos;
                nd->pay_b = m->pos = eof_from(m, m->pos);
            }
            begin = 0;
        }
        if (m->nframes == 0)
            break;
        part = step_multipart(m);
        if (part == -2)
            return -1;
        if (part == -3)
            return 0;
        begin = part >= 0;
    }
    MNode *root = &m->nodes[0];
    if ((root->kind == CT_MULTIPART || root->kind == CT_DIGEST) && !root->is_list)
        root->defects |= D_INVARIANT;
    return 1;
}

static PyObject *defect_list(int mask)
{
    PyObject *l = PyList_New(0);
    if (l == NULL)
        return NULL;
    for (int i = 0; i < 5; i++) {
        if (!(mask & (1 << i)))
            continue;
        PyObject *s = PyUnicode_FromString(defect_names[i]);
        if (s == NULL || PyList_Append(l, s) < 0) {
            Py_XDECREF(s);
            Py_DECREF(l);
            return NULL;
        }
        Py_DECREF(s);
    }
    return l;
}

static PyObject *span_str(const MS *m, const Py_ssize_t *f, int none_if_absent)
{
    if (f[0] < 0) {
        if (none_if_absent)
            Py_RETURN_NONE;
        return PyUnicode_New(0, 127);
    }
    return ss_ascii_str(m->buf + f[0], f[1] - f[0], 0);
}

/* _walk's order: the events list, or NULL on error */
static PyObject *ms_walk(MS *m, Py_ssize_t max_parts, Py_ssize_t max_depth)
{
    for (Py_ssize_t i = m->nnodes - 1; i > 0; i--) {
        MNode *p = &m->nodes[m->nodes[i].parent];
        if (m->nodes[i].end > p->end)
            p->end = m->nodes[i].end;
    }
    PyObject *events = PyList_New(0);
    if (events == NULL)
        return NULL;
    Py_ssize_t seen = 0;
    for (Py_ssize_t i = 0; i < m->nnodes;) {
        const MNode *nd = &m->nodes[i];
        seen++;
        if (seen > max_parts) {
            if (ss_list_append_new(events, PyUnicode_FromString("too-many-parts")) < 0)
                goto error;
            break;
        }
        if (nd->is_list) {
            if (nd->depth >= max_depth) {
                if (ss_list_append_new(events, PyUnicode_FromString("too-deep")) < 0)
                    goto error;
                i = nd->end;
                continue;
            }
            i++;
            continue;
        }
        PyObject *d = NULL;
        if (i > 0 && nd->defects)
            d = defect_list(nd->defects);
        else {
            d = Py_None;
            Py_INCREF(d);
        }
        PyObject *ct = d ? span_str(m, nd->f[0], 1) : NULL;
        PyObject *cte = ct ? span_str(m, nd->f[1], 0) : NULL;
        PyObject *disp = cte ? span_str(m, nd->f[2], 0) : NULL;
        PyObject *pay = disp ? PyBytes_FromStringAndSize((const char *)m->buf + nd->pay_a, nd->pay_b - nd->pay_a) : NULL;
        PyObject *ev = pay ? PyTuple_Pack(5, d, ct, cte, disp, pay) : NULL;
        Py_XDECREF(d);
        Py_XDECREF(ct);
        Py_XDECREF(cte);
        Py_XDECREF(disp);
        Py_XDECREF(pay);
        if (ev == NULL)
            goto error;
        int rc = PyList_Append(events, ev);
        Py_DECREF(ev);
        if (rc < 0)
            goto error;
        i++;
    }
    return events;
error:
    Py_DECREF(events);
    return NULL;
}

PyObject *ss_split_mime(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *raw;
    Py_ssize_t max_parts, max_depth;
    if (!PyArg_ParseTuple(args, "Onn:split_mime", &raw, &max_parts, &max_depth))
        return NULL;
    if (!PyBytes_CheckExact(raw))
        Py_RETURN_NONE;
    MS m;
    memset(&m, 0, sizeof m);
    m.buf = (const unsigned char *)PyBytes_AS_STRING(raw);
    m.n = PyBytes_GET_SIZE(raw);
    m.cache_lo = 1;
    m.cache_hi = 0;
    m.version = 1;
    PyObject *result = NULL;
    /* no lone CR */
    for (Py_ssize_t i = 0; i < m.n;) {
        const unsigned char *cr = memchr(m.buf + i, '\r', (size_t)(m.n - i));
        if (cr == NULL)
            break;
        i = (cr - m.buf) + 1;
        if (i >= m.n || m.buf[i] != '\n') {
            result = Py_None;
            Py_INCREF(result);
            goto done;
        }
    }
    /* the lines starting "--": at 0 and after every LF */
    for (Py_ssize_t i = 0; i < m.n;) {
        if (i + 1 < m.n && m.buf[i] == '-' && m.buf[i + 1] == '-') {
            if (ss_grow((void **)&m.dash_at, &m.capdash, m.ndash + 1, sizeof(Py_ssize_t), 16) < 0)
                goto done;
            m.dash_at[m.ndash] = i;
            m.ndash++;
        }
        const unsigned char *nl = memchr(m.buf + i, '\n', (size_t)(m.n - i));
        if (nl == NULL)
            break;
        i = (nl - m.buf) + 1;
    }
    if (m.ndash) {
        m.dash_len = PyMem_Malloc((size_t)m.ndash * sizeof(Py_ssize_t));
        if (m.dash_len == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < m.ndash; i++)
            m.dash_len[i] = key_len(&m, m.dash_at[i]);
    }
    int rc = ms_run(&m);
    if (rc < 0)
        goto done;
    if (rc == 0) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    PyObject *root_defects = defect_list(m.nodes[0].defects);
    if (root_defects == NULL)
        goto done;
    PyObject *events = ms_walk(&m, max_parts, max_depth);
    if (events == NULL) {
        Py_DECREF(root_defects);
        goto done;
    }
    result = PyTuple_Pack(2, root_defects, events);
    Py_DECREF(root_defects);
    Py_DECREF(events);
done:
    PyMem_Free(m.dash_at);
    PyMem_Free(m.dash_len);
    PyMem_Free(m.frames);
    PyMem_Free(m.nodes);
    return result;
}
