/* split_mime of the concern spamscore._core.mimescan (its other functions:
 * mimescan.c): spamscore.message's MIME splitter for the common case, in C:
 * this file has the entry, split_mime, and _walk's order of the parts;
 * mimetree.c reads the parts into a tree (ss_ms_run); mimelines.c reads lines
 * against the active boundaries; mimesplit.h holds what the three share.
 * The Python code (spamscore.message._MimeSplitter and _walk) is the
 * reference (tests/test_mimescan.py, tests/test_native_equivalence.py).
 */
#include "core.h"
#include "mime.h"
#include "mimesplit.h"

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

/* the names of the defect bits D_NOBOUNDARY ... D_INVARIANT (mimesplit.h), in order */
static const char *const defect_names[5] = {
    "NoBoundaryInMultipartDefect", "InvalidMultipartContentTransferEncodingDefect",
    "StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect",
};

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
            m.dash_len[i] = ss_ms_key_len(&m, m.dash_at[i]);
    }
    int rc = ss_ms_run(&m);
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
