/* A node's text and attributes as Python values, for the walks of the
 * concern spamscore._core.htmlscan (htmlwalk.c, htmlhidden.c, htmlscan.c):
 * UTF-8 decoded as lxml decodes it, attributes read as el.get() gives them.
 */
#include "core.h"
#include "html.h"

int ss_html_buf_put(buf_t *b, const char *s, size_t n)
{
    if (ss_grow((void **)&b->p, &b->cap, (Py_ssize_t)(b->len + n + 1), 1, 4096) < 0)
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

int ss_html_is_dropped(const char *name)
{
    switch (name[0]) {
    case 's':
        return strcmp(name, "script") == 0 || strcmp(name, "style") == 0;
    case 'n':
        return strcmp(name, "noscript") == 0;
    case 't':
        return strcmp(name, "template") == 0 || strcmp(name, "title") == 0;
    default:
        return 0;
    }
}

/* Decode UTF-8 as lxml's funicode does; invalid UTF-8 (the reference would
 * raise) sets bail and returns NULL with no exception set. */
PyObject *ss_html_decode(ctx_t *c, const char *s, Py_ssize_t n)
{
    PyObject *r = PyUnicode_DecodeUTF8(s, n, NULL);
    if (r == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        c->bail = 1;
    }
    return r;
}

/* lxml's _is_valid_xml_utf8, which its text and tail setters apply: _drop
 * and the styled loop set merged text and restored tails, and the reference
 * gives up (ValueError) on text this rejects.  A concatenation of valid UTF-8
 * strings passes iff each one does. */
int ss_html_xml_valid(const unsigned char *s, size_t len)
{
    const unsigned char *end = s + len;
    unsigned long next3 = 0;
    if (len > 2)
        next3 = ((unsigned long)s[0] << 8) | s[1];
    while (len > 2 && s < end - 2) {
        next3 = 0x00ffffffUL & ((next3 << 8) | s[2]);
        if (s[0] & 0x80) {
            if (next3 == 0x00efbfbeUL || next3 == 0x00efbfbfUL)
                return 0;
            if (0x00eda080UL <= next3 && next3 <= 0x00edbfbfUL)
                return 0;
        } else if (!(s[0] == 0x9 || s[0] == 0xa || s[0] == 0xd || s[0] >= 0x20)) {
            return 0;
        }
        s++;
    }
    for (; s < end; s++)
        if (!(s[0] & 0x80) && !(s[0] == 0x9 || s[0] == 0xa || s[0] == 0xd || s[0] >= 0x20))
            return 0;
    return 1;
}

static xattr *find_attr(xnode *el, const char *name)
{
    for (xattr *a = el->properties; a != NULL; a = a->next)
        if (a->ns == NULL && XNAME(a) != NULL && strcmp(XNAME(a), name) == 0)
            return a;
    return NULL;
}

/* el.get(name): a new reference to the str, Py_None if absent, NULL on error
 * or bail. */
PyObject *ss_html_get_attr(ctx_t *c, xnode *el, const char *name)
{
    xattr *a = find_attr(el, name);
    if (a == NULL)
        Py_RETURN_NONE;
    if (a->type != X_ATTRIBUTE) {
        c->bail = 1;
        return NULL;
    }
    xnode *t = a->children;
    if (t == NULL)
        return PyUnicode_FromStringAndSize("", 0);
    for (xnode *u = t; u != NULL; u = u->next)
        if (u->type != X_TEXT || XCONTENT(u) == NULL) {
            c->bail = 1;
            return NULL;
        }
    if (t->next == NULL)
        return ss_html_decode(c, XCONTENT(t), (Py_ssize_t)strlen(XCONTENT(t)));
    buf_t b = {NULL, 0, 0};
    for (xnode *u = t; u != NULL; u = u->next)
        if (ss_html_buf_put(&b, XCONTENT(u), strlen(XCONTENT(u))) < 0) {
            PyMem_Free(b.p);
            return NULL;
        }
    PyObject *r = ss_html_decode(c, b.p ? b.p : "", (Py_ssize_t)b.len);
    PyMem_Free(b.p);
    return r;
}

/* Like _int_attr: re.match(r"\s*(\d{1,6})", value), else 0. */
long long ss_html_int_attr(PyObject *v)
{
    if (v == Py_None)
        return 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(v), i = 0;
    int kind = PyUnicode_KIND(v);
    const void *data = PyUnicode_DATA(v);
    while (i < n && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)))
        i++;
    long long r = 0;
    for (int k = 0; k < 6 && i < n; k++, i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (!Py_UNICODE_ISDECIMAL(ch))
            break;
        r = r * 10 + Py_UNICODE_TODECIMAL(ch);
    }
    return r;
}

/* Append el.get(name) to list if it is a non-empty str. */
int ss_html_append_attr(ctx_t *c, xnode *el, const char *name, PyObject *list)
{
    PyObject *v = ss_html_get_attr(c, el, name);
    if (v == NULL)
        return -1;
    int r = 0;
    if (v != Py_None && PyUnicode_GET_LENGTH(v) > 0)
        r = PyList_Append(list, v);
    Py_DECREF(v);
    return r;
}

