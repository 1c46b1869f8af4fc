/* Optional compiled helper for spamscore.message.parse: the top-level header
 * block in one pass over the bytes (this file, with the concern's method
 * table), a multipart's counts (mime_counts: mimecounts.c), and what parse
 * reads of Content-Type / Content-Disposition values (leaf_info,
 * charset_hint, boundary: mimeparams.c): the concern
 * spamscore._core.mimescan.  Its split_mime, the MIME splitter
 * (_MimeSplitter) with _walk's order of the parts for the common case, is in
 * mimesplit.c, mimetree.c and mimelines.c (mimesplit.h joins those three,
 * mime.h all of them).
 *
 * split_headers(raw, max_headers) does what the fast path of
 * spamscore.message._split_headers and the plain-value part of
 * _decode_headers do together (those Python functions are the reference and
 * run when this module is not built, or when this returns None):
 *
 *   - skip an mbox "From " line; the header block ends at the first
 *     "\n\n" or "\n\r\n" (whichever comes first), CR LF inside it becomes LF;
 *   - every line of the block must be a field ("name[ \t]*:", the name 1-200
 *     characters of [!-9;-~]) or a continuation (starts with space or tab,
 *     not the first line); otherwise None (Python's field-by-field loop
 *     decides);
 *   - a field's value is the rest of its line after ":[ \t]*" plus its
 *     continuation lines (joined with "\n").
 *
 * Returns None, or a tuple
 *   (headers, special, body_at, content_type, cte, disposition, too_many)
 * headers: list of (lower-case name, value) for the first max_headers
 *   fields; for a plain value (ASCII, no "=?") the value has C0 controls
 *   and DEL made spaces (decode_header_value's result); for the others it is
 *   the raw value (8-bit bytes as surrogates, as bytes.decode("ascii",
 *   "surrogateescape") gives), which the caller must decode;
 * special: None, or the list of the indices of those other values;
 * body_at: the offset of the body;
 * content_type, cte, disposition: the raw value of the first such field
 *   among the kept ones, or None;
 * too_many: True when fields were cut at max_headers.
 *
 * Linear in the input: one scan for the block's end, one over the block.
 * No global state.  raw must hold no NUL (parse removes them); a NUL makes
 * it return None.
 */
#include "core.h"
#include "mime.h"

#define MAX_NAME 200

/* raw value bytes -> str (ASCII, or 8-bit bytes as lone surrogates) */
static PyObject *raw_str(const unsigned char *p, Py_ssize_t n, int ascii)
{
    if (ascii)
        return ss_ascii_str(p, n, 0);
    return PyUnicode_DecodeASCII((const char *)p, n, "surrogateescape");
}

/* an ASCII value with C0 controls (but tab) and DEL made spaces */
static PyObject *clean_str(const unsigned char *p, Py_ssize_t n)
{
    PyObject *s = PyUnicode_New(n, 127);
    if (s == NULL)
        return NULL;
    Py_UCS1 *d = PyUnicode_1BYTE_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        d[i] = ((c < 0x20 && c != 0x09) || c == 0x7f) ? 0x20 : c;
    }
    return s;
}

/* Module state: the lower-case names of common header fields as str
 * objects, made once at import and never changed (split_headers hands out
 * the same object for every "Received" instead of a new str each). */
static const char *const common_names[] = {
    "received", "delivered-to", "from", "date", "message-id", "subject",
    "return-path", "to", "content-type", "mime-version", "precedence", "sender",
    "list-id", "errors-to", "x-beenthere", "x-mailman-version", "content-transfer-encoding", "list-unsubscribe",
    "list-subscribe", "list-help", "x-mailer", "list-post", "cc", "list-archive",
    "reply-to", "in-reply-to", "references", "x-priority", "x-original-date", "x-authentication-warning",
    "x-msmail-priority", "user-agent", "delivery-date", "x-mimeole", "x-keywords", "organization",
    "content-disposition", "importance", "x-mailscanner", "x-loop", "x-originalarrivaltime", "x-accept-language",
    "x-mime-autoconverted", "x-sender", "x-url", "x-antiabuse", "mail-followup-to", "mailing-list",
};
#define N_COMMON ((Py_ssize_t)(sizeof common_names / sizeof common_names[0]))
#define NAME_SLOTS 128  /* a power of two, over twice N_COMMON */

typedef struct {
    PyObject *str[NAME_SLOTS];
    const char *lit[NAME_SLOTS];
    Py_ssize_t len[NAME_SLOTS];
} mod_state;

static unsigned int name_hash(const unsigned char *p, Py_ssize_t n)
{
    unsigned int h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        h = (h ^ c) * 16777619u;
    }
    return h;
}

/* the lower-case name as a str: the shared object of a common name, or a new one */
static PyObject *field_name(PyObject *module, const unsigned char *p, Py_ssize_t n)
{
    mod_state *st = module ? (mod_state *)PyModule_GetState(module) : NULL;
    if (st != NULL) {
        for (unsigned int i = name_hash(p, n) & (NAME_SLOTS - 1);; i = (i + 1) & (NAME_SLOTS - 1)) {
            if (st->lit[i] == NULL)
                break;
            if (st->len[i] != n)
                continue;
            Py_ssize_t k = 0;
            while (k < n) {
                unsigned char c = p[k];
                if (c >= 'A' && c <= 'Z')
                    c = (unsigned char)(c + 32);
                if (c != (unsigned char)st->lit[i][k])
                    break;
                k++;
            }
            if (k == n) {
                Py_INCREF(st->str[i]);
                return st->str[i];
            }
        }
    }
    return ss_ascii_str(p, n, 1);
}

static int name_is(const unsigned char *p, Py_ssize_t n, const char *lower)
{
    return n == (Py_ssize_t)strlen(lower) && ss_ascii_ieq(p, lower, n);
}

static PyObject *split_headers(PyObject *self, PyObject *args)
{
    PyObject *raw;
    Py_ssize_t max_headers;
    if (!PyArg_ParseTuple(args, "On:split_headers", &raw, &max_headers))
        return NULL;
    if (!PyBytes_CheckExact(raw) || max_headers < 0)
        Py_RETURN_NONE;
    const unsigned char *buf = (const unsigned char *)PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw);

    Py_ssize_t pos = 0;
    if (n >= 5 && memcmp(buf, "From ", 5) == 0) {
        const unsigned char *nl = memchr(buf, '\n', (size_t)n);
        pos = nl ? (nl - buf) + 1 : n;
    }
    /* the block's end: the first "\n\n" or "\n\r\n" at or after pos */
    Py_ssize_t end = -1, sep = 0;
    for (Py_ssize_t i = pos; i < n;) {
        const unsigned char *nl = memchr(buf + i, '\n', (size_t)(n - i));
        if (nl == NULL)
            break;
        Py_ssize_t j = nl - buf;
        if (j + 1 < n && buf[j + 1] == '\n') {
            end = j + 1;
            sep = 1;
            break;
        }
        if (j + 2 < n && buf[j + 1] == '\r' && buf[j + 2] == '\n') {
            end = j + 1;
            sep = 2;
            break;
        }
        i = j + 1;
    }
    if (end == -1 || end <= pos)
        Py_RETURN_NONE;

    /* the block [pos, end), ending in "\n"; CR LF -> LF into a copy if needed */
    Py_ssize_t len = end - pos;
    const unsigned char *t = buf + pos;
    unsigned char *copy = NULL;
    if (memchr(t, '\r', (size_t)len) != NULL) {
        copy = PyMem_Malloc((size_t)len);
        if (copy == NULL)
            return PyErr_NoMemory();
        Py_ssize_t m = 0;
        for (Py_ssize_t i = 0; i < len; i++) {
            if (t[i] == '\r' && i + 1 < len && t[i + 1] == '\n')
                continue;
            copy[m++] = t[i];
        }
        t = copy;
        len = m;
    }
    if (memchr(t, '\0', (size_t)len) != NULL || t[0] == ' ' || t[0] == '\t') {
        PyMem_Free(copy);
        Py_RETURN_NONE;
    }

    PyObject *headers = PyList_New(0);
    PyObject *special = NULL, *result = NULL;
    PyObject *found[3] = {NULL, NULL, NULL};  /* content-type, -transfer-encoding, -disposition */
    int too_many = 0;
    Py_ssize_t kept = 0;
    if (headers == NULL)
        goto done;

    Py_ssize_t s = 0;  /* a line start: not a continuation */
    while (s < len) {
        /* the name */
        Py_ssize_t k = s;
        while (k < len && is_name_char(t[k]) && k - s <= MAX_NAME)
            k++;
        Py_ssize_t name_len = k - s;
        if (name_len < 1 || name_len > MAX_NAME)
            goto fallback;
        Py_ssize_t c = k;
        while (c < len && (t[c] == ' ' || t[c] == '\t'))
            c++;
        if (c >= len || t[c] != ':')
            goto fallback;
        c++;
        while (c < len && (t[c] == ' ' || t[c] == '\t'))
            c++;
        /* the value: to the end of the line and its continuation lines */
        Py_ssize_t v = c, e;
        int ascii = 1, encoded = 0;
        for (e = c;; e++) {
            /* the block ends in "\n": e < len on every line */
            unsigned char ch = t[e];
            if (ch == '\n') {
                if (e + 1 < len && (t[e + 1] == ' ' || t[e + 1] == '\t'))
                    continue;
                break;
            }
            if (ch >= 0x80)
                ascii = 0;
            else if (ch == '=' && e + 1 < len && t[e + 1] == '?')
                encoded = 1;
        }
        if (kept < max_headers) {
            PyObject *name = field_name(self, t + s, name_len);
            if (name == NULL)
                goto done;
            int which = -1;
            if (name_is(t + s, name_len, "content-type"))
                which = 0;
            else if (name_is(t + s, name_len, "content-transfer-encoding"))
                which = 1;
            else if (name_is(t + s, name_len, "content-disposition"))
                which = 2;
            PyObject *rawv = NULL, *value;
            if (!ascii || encoded || (which >= 0 && found[which] == NULL)) {
                rawv = raw_str(t + v, e - v, ascii);
                if (rawv == NULL) {
                    Py_DECREF(name);
                    goto done;
                }
            }
            if (ascii && !encoded) {
                value = clean_str(t + v, e - v);
                if (value == NULL) {
                    Py_DECREF(name);
                    Py_XDECREF(rawv);
                    goto done;
                }
            }
            else {
                value = rawv;
                Py_INCREF(value);
                if (special == NULL && (special = PyList_New(0)) == NULL) {
                    Py_DECREF(name);
                    Py_DECREF(value);
                    Py_DECREF(rawv);
                    goto done;
                }
                PyObject *idx = PyLong_FromSsize_t(kept);
                if (idx == NULL || PyList_Append(special, idx) < 0) {
                    Py_XDECREF(idx);
                    Py_DECREF(name);
                    Py_DECREF(value);
                    Py_DECREF(rawv);
                    goto done;
                }
                Py_DECREF(idx);
            }
            if (which >= 0 && found[which] == NULL) {
                found[which] = rawv;  /* takes the reference */
                rawv = NULL;
            }
            Py_XDECREF(rawv);
            PyObject *pair = PyTuple_New(2);
            if (pair == NULL) {
                Py_DECREF(name);
                Py_DECREF(value);
                goto done;
            }
            PyTuple_SET_ITEM(pair, 0, name);
            PyTuple_SET_ITEM(pair, 1, value);
            int rc = PyList_Append(headers, pair);
            Py_DECREF(pair);
            if (rc < 0)
                goto done;
            kept++;
        }
        else
            too_many = 1;
        s = e + 1;
    }
    {
        PyObject *none = Py_None;
        result = Py_BuildValue("(OOnOOOO)", headers, special ? special : none, end + sep,
                               found[0] ? found[0] : none, found[1] ? found[1] : none,
                               found[2] ? found[2] : none, too_many ? Py_True : Py_False);
    }
    goto done;
fallback:
    result = Py_None;
    Py_INCREF(result);
done:
    PyMem_Free(copy);
    Py_XDECREF(headers);
    Py_XDECREF(special);
    for (int i = 0; i < 3; i++)
        Py_XDECREF(found[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"split_headers", split_headers, METH_VARARGS,
     "split_headers(raw, max_headers) -> None or (headers, special, body_at, content_type, cte, "
     "disposition, too_many): the top-level header block (see spamscore.message)"},
    {"mime_counts", ss_mime_counts, METH_VARARGS,
     "mime_counts(raw, body_at) -> (lines, boundaries, delimiters, lone_cr): parse's counts of a multipart"},
    {"leaf_info", ss_leaf_info, METH_VARARGS,
     "leaf_info(content_type, disposition) -> None or (ctype, charset, filename, bad_content_type, attachment): "
     "what _leaf reads of a part's header values (see spamscore.message)"},
    {"charset_hint", ss_charset_hint, METH_O,
     "charset_hint(content_type) -> None, \"\" or the top-level charset hint (parse's _HEADER_CHARSET_HINT)"},
    {"boundary", ss_boundary, METH_O,
     "boundary(content_type) -> None, False or bytes: _boundary's answer (False: no boundary parameter; "
     "None: the Python code decides)"},
    {"split_mime", ss_split_mime, METH_VARARGS,  /* (mimesplit.c) */
     "split_mime(raw, max_parts, max_depth) -> None or (root_defects, events): _MimeSplitter(raw).run() and "
     "_walk's order of its parts for the common case (see spamscore.message; None: the Python code decides)"},
    {NULL, NULL, 0, NULL},
};

static void module_free(void *m)
{
    mod_state *st = (mod_state *)PyModule_GetState((PyObject *)m);
    if (st == NULL)
        return;
    for (int i = 0; i < NAME_SLOTS; i++)
        Py_CLEAR(st->str[i]);
}

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "spamscore._core.mimescan",
    "Compiled top-level header split for spamscore.message.parse (optional; the Python code is the reference).",
    sizeof(mod_state), methods, NULL, NULL, NULL, module_free,
};

PyObject *ss_init_mimescan(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    mod_state *st = (mod_state *)PyModule_GetState(m);
    memset(st, 0, sizeof *st);
    for (Py_ssize_t k = 0; k < N_COMMON; k++) {
        const char *lit = common_names[k];
        Py_ssize_t n = (Py_ssize_t)strlen(lit);
        unsigned int i = name_hash((const unsigned char *)lit, n) & (NAME_SLOTS - 1);
        while (st->lit[i] != NULL)
            i = (i + 1) & (NAME_SLOTS - 1);
        PyObject *str = PyUnicode_InternFromString(lit);
        if (str == NULL) {
            Py_DECREF(m);
            return NULL;
        }
        st->str[i] = str;
        st->lit[i] = lit;
        st->len[i] = n;
    }
    return m;
}
