/* The tree of split_mime (the concern spamscore._core.mimescan; its entry:
 * mimesplit.c): _MimeSplitter's run, each part's header fields and kind,
 * and the multiparts' steps from one subpart to the next (the lines:
 * mimelines.c).
 */
#include "core.h"
#include "mime.h"
#include "mimesplit.h"

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
    Py_ssize_t end = ss_ms_eof_from(m, p);
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
    int kind = ss_ms_next_dash(m, f);
    Py_ssize_t s, e;
    const unsigned char *b = m->buf + f->ba;
    Py_ssize_t bl = f->bb - f->ba;
    if (kind == K_SEP) {
        f->capturing = 0;
        if (!ss_ms_readline(m, &s, &e))
            return -3;  /* cannot happen: ss_ms_next_dash tested the same */
        for (;;) {
            if (!ss_ms_readline(m, &s, &e)) {
                m->pending_none = 1;
                break;
            }
            Py_ssize_t len = ss_ms_key_len(m, s);
            const unsigned char *k = m->buf + s;
            if (!((len >= 2 && k[0] == '-' && k[1] == '-') && (ss_ms_is_sep(k, len, b, bl) || ss_ms_is_close(k, len, b, bl)))) {
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
        ss_ms_readline(m, &s, &e);
        m->pos = ss_ms_eof_from(m, m->pos);  /* the epilogue */
    }
    return -1;
}

/* 1 done, 0 bail out, -1 error */
int ss_ms_run(MS *m)
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
                    nd->pay_b = m->pos = ss_ms_eof_from(m, m->pos);
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
                nd->pay_b = m->pos = ss_ms_eof_from(m, m->pos);
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

