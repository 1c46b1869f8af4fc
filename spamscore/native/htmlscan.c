/* Optional compiled helper for spamscore.features.html: the tree walks of
 * ``_collect`` in one read-only pass over lxml's libxml2 tree.
 *
 * ``collect(root, element_type, source, styled_gate, hidden_search, n_srcs,
 * n_links, max_links)`` returns what ``_collect(root, info, max_links, source)`` adds
 * to an HtmlInfo, as a tuple (scripts, forms, iframes, srcs, hidden_chars,
 * images, image_area, texts, links), or None when the tree has anything this
 * code does not model (a node other than an element or a non-empty text node,
 * two adjacent text nodes, a namespace, an attribute value made of other
 * nodes, text that is not valid UTF-8, text with characters lxml's setters
 * refuse, an internal DTD subset, a deep tree):
 * the caller then runs the Python reference, on the same (untouched) tree.
 *
 * The Python code beside the caller is the reference; this gives the same
 * results (tests/test_htmlscan.py, tests/equivalence.py's inputs).
 * What it models, without changing the tree:
 *
 * - ``_drop`` removes script/style/noscript/template/title elements (never
 *   the root) and merges each one's tail into the text before it.  With no
 *   adjacent text nodes to start with, every maximal run of text nodes and
 *   dropped elements among an element's children becomes one text node:
 *   the concatenation of its text nodes (if it has any).
 * - the styled XPath and ``clear()``: an element (outside dropped subtrees)
 *   with a ``hidden`` attribute or a style that ``hidden_search`` matches
 *   adds the length of its text to hidden_chars -- once per hidden
 *   ancestor-or-self, as the Python loop also counts hidden elements inside
 *   an already cleared one -- and the walks that follow see it without
 *   children or attributes.
 * - the img and a walks and the text nodes, on that tree, in document order.
 *
 * It reads libxml2's public xmlNode, xmlAttr and xmlDoc and lxml's public
 * ``struct LxmlElement`` through the headers lxml itself ships (see below):
 * nothing is linked, lxml's own libxml2 built the tree, this code only reads
 * it.  The Python side enables this module only when the lxml imported is
 * the one whose headers it was built with, and after a self-test against the
 * reference.
 */
#include "core.h"

#define X_ELEMENT 1
#define X_ATTRIBUTE 2
#define X_TEXT 3
#define X_HTML_DOCUMENT 13
#define X_DTD 14
#define MAX_DEPTH 1000

/* Built against the headers lxml installs (setup.py puts lxml.get_include()
 * on the include path: libxml2's own tree.h, of the libxml2 lxml was built
 * with, and lxml's public lxml.etree.h): no copied layouts.  (name and
 * content are xmlChar*, UTF-8 bytes; read as char below.)  setup.py records
 * the lxml and libxml2 versions whose headers it used (LXML_BUILD_VERSION,
 * LIBXML_BUILD_VERSION); spamscore.features.html turns this module off when
 * the lxml imported at run time is another one. */
#ifndef SPAMSCORE_LXML_VERSION
#error "build with setup.py: it passes lxml's include path and version (SPAMSCORE_LXML_VERSION)"
#endif
#include <libxml/tree.h>
#include "lxml.etree.h"
typedef xmlNode xnode;
typedef xmlAttr xattr;
typedef xmlDoc xdoc;
typedef struct LxmlElement lxml_element;
#define XNAME(p) ((const char *)(p)->name)
#define XCONTENT(p) ((const char *)(p)->content)

/* ------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len;
    Py_ssize_t cap;
} buf_t;

static int buf_put(buf_t *b, const char *s, size_t n)
{
    if (ss_grow((void **)&b->p, &b->cap, (Py_ssize_t)(b->len + n + 1), 1, 4096) < 0)
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

typedef struct {
    int bail;                /* the tree has something not modelled: return None */
    int check_styled;        /* styled_gate(source), or -1 while not needed yet */
    PyObject *source, *styled_gate;
    PyObject *hidden_search; /* _HIDDEN_STYLE.search */
    Py_ssize_t n_srcs, n_links, max_links;
    long long hidden_chars, images, image_area;
    long scripts, forms, iframes;
    PyObject *srcs, *texts, *links;  /* lists */
    buf_t text;              /* the text chunks joined by " " (UTF-8) */
    Py_ssize_t nchunks;
} ctx_t;

static int is_dropped(const char *name)
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
static PyObject *decode(ctx_t *c, const char *s, Py_ssize_t n)
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
static int xml_valid(const unsigned char *s, size_t len)
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
static PyObject *get_attr(ctx_t *c, xnode *el, const char *name)
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
        return decode(c, XCONTENT(t), (Py_ssize_t)strlen(XCONTENT(t)));
    buf_t b = {NULL, 0, 0};
    for (xnode *u = t; u != NULL; u = u->next)
        if (buf_put(&b, XCONTENT(u), strlen(XCONTENT(u))) < 0) {
            PyMem_Free(b.p);
            return NULL;
        }
    PyObject *r = decode(c, b.p ? b.p : "", (Py_ssize_t)b.len);
    PyMem_Free(b.p);
    return r;
}

/* Like _int_attr: re.match(r"\s*(\d{1,6})", value), else 0. */
static long long int_attr(PyObject *v)
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
static int append_attr(ctx_t *c, xnode *el, const char *name, PyObject *list)
{
    PyObject *v = get_attr(c, el, name);
    if (v == NULL)
        return -1;
    int r = 0;
    if (v != Py_None && PyUnicode_GET_LENGTH(v) > 0)
        r = PyList_Append(list, v);
    Py_DECREF(v);
    return r;
}

/* Phase 1: check the tree is one this code models, and the script, form and
 * iframe/frame walk of the reference (the whole tree, before _drop). */
static int scan(ctx_t *c, xnode *root, PyObject *forms, PyObject *frames)
{
    xnode *n = root;
    int depth = 0;
    for (;;) {
        if (n->type == X_ELEMENT) {
            if (n->ns != NULL || XNAME(n) == NULL) {
                c->bail = 1;
                return -1;
            }
            const char *name = XNAME(n);
            if (name[0] != 's' && name[0] != 'f' && name[0] != 'i') {
                /* none of the four */
            } else if (strcmp(name, "script") == 0) {
                c->scripts++;
                if (append_attr(c, n, "src", c->srcs) < 0)
                    return -1;
            } else if (strcmp(name, "form") == 0) {
                c->forms++;
                if (append_attr(c, n, "action", forms) < 0)
                    return -1;
            } else if (strcmp(name, "iframe") == 0 || strcmp(name, "frame") == 0) {
                c->iframes++;
                if (append_attr(c, n, "src", frames) < 0)
                    return -1;
            }
            if (n->children != NULL) {
                if (++depth > MAX_DEPTH) {
                    c->bail = 1;
                    return -1;
                }
                n = n->children;
                continue;
            }
        } else if (n->type == X_TEXT) {
            if (XCONTENT(n) == NULL || XCONTENT(n)[0] == '\0'
                || (n->next != NULL && n->next->type == X_TEXT)
                || !xml_valid((const unsigned char *)XCONTENT(n), strlen(XCONTENT(n)))) {
                c->bail = 1;
                return -1;
            }
        } else {
            c->bail = 1;
            return -1;
        }
        while (n != root && n->next == NULL) {
            n = n->parent;
            depth--;
            if (n == NULL) {  /* cannot happen: root is an ancestor */
                c->bail = 1;
                return -1;
            }
        }
        if (n == root)
            return 0;
        n = n->next;
    }
}

static int has_styled_attr(xnode *el)
{
    for (xattr *a = el->properties; a != NULL; a = a->next)
        if (a->ns == NULL && XNAME(a) != NULL
            && (strcmp(XNAME(a), "style") == 0 || strcmp(XNAME(a), "hidden") == 0))
            return 1;
    return 0;
}

/* A necessary condition for _HIDDEN_STYLE.search(style): each of its
 * alternatives has a colon, optional whitespace (\s: Py_UNICODE_ISSPACE),
 * then n, h, 0 or 1 (IGNORECASE adds only N and H to those). */
static int may_hide(PyObject *style)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(style);
    int kind = PyUnicode_KIND(style);
    const void *data = PyUnicode_DATA(style);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyUnicode_READ(kind, data, i) != ':')
            continue;
        Py_ssize_t j = i + 1;
        while (j < n && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, j)))
            j++;
        if (j < n) {
            Py_UCS4 ch = PyUnicode_READ(kind, data, j);
            if (ch == 'n' || ch == 'N' || ch == 'h' || ch == 'H' || ch == '0' || ch == '1')
                return 1;
        }
    }
    return 0;
}

/* 1 if the styled loop clears el, 0 if not, -1 on error or bail. */
static int is_hidden(ctx_t *c, xnode *el)
{
    if (!has_styled_attr(el))
        return 0;
    if (c->check_styled < 0) {
        /* the gate of the reference's styled XPath (a cheap test on the
         * source, made the first time it matters) */
        PyObject *g = PyObject_CallOneArg(c->styled_gate, c->source);
        if (g == NULL)
            return -1;
        c->check_styled = PyObject_IsTrue(g);
        Py_DECREF(g);
        if (c->check_styled < 0)
            return -1;
    }
    if (!c->check_styled)
        return 0;
    PyObject *style = get_attr(c, el, "style");
    if (style == NULL)
        return -1;
    PyObject *hidden = get_attr(c, el, "hidden");
    if (hidden == NULL) {
        Py_DECREF(style);
        return -1;
    }
    int r = 0;
    if (hidden != Py_None) {
        r = 1;
    } else if (style != Py_None && PyUnicode_GET_LENGTH(style) > 0 && may_hide(style)) {
        PyObject *m = PyObject_CallOneArg(c->hidden_search, style);
        if (m == NULL)
            r = -1;
        else {
            r = PyObject_IsTrue(m);
            Py_DECREF(m);
        }
    }
    Py_DECREF(style);
    Py_DECREF(hidden);
    return r;
}

/* hidden_chars for el's subtree: each text node counts once per hidden
 * element among its ancestors-or-self (weight w at el, el included): the
 * Python loop counts the text of a hidden element inside an already cleared
 * one again.  ``drop``: dropped elements are gone (the root's tree) or not
 * (the document's other element trees, which _drop does not walk). */
static int count_hidden(ctx_t *c, xnode *el, long long w, int drop, int depth)
{
    if (depth > MAX_DEPTH) {
        c->bail = 1;
        return -1;
    }
    for (xnode *ch = el->children; ch != NULL; ch = ch->next) {
        if (ch->type == X_TEXT) {
            if (XCONTENT(ch) == NULL
                || (!drop && !xml_valid((const unsigned char *)XCONTENT(ch), strlen(XCONTENT(ch))))) {
                c->bail = 1;  /* (the root's tree: checked by scan) */
                return -1;
            }
            if (w == 0)
                continue;
            PyObject *s = decode(c, XCONTENT(ch), (Py_ssize_t)strlen(XCONTENT(ch)));
            if (s == NULL)
                return -1;
            c->hidden_chars += w * (long long)PyUnicode_GET_LENGTH(s);
            Py_DECREF(s);
        } else if (ch->type != X_ELEMENT || ch->ns != NULL || XNAME(ch) == NULL) {
            c->bail = 1;
            return -1;
        } else if (!drop || !is_dropped(XNAME(ch))) {
            int h = is_hidden(c, ch);
            if (h < 0 || count_hidden(c, ch, w + h, drop, depth + 1) < 0)
                return -1;
        }
    }
    return 0;
}

static int visit(ctx_t *c, xnode *el, int depth);

/* The children of a kept, not hidden element: runs of text nodes and dropped
 * elements become one text chunk each; kept elements are visited. */
static int walk(ctx_t *c, xnode *el, int depth)
{
    xnode *ch = el->children;
    while (ch != NULL) {
        if (ch->type == X_TEXT || is_dropped(XNAME(ch))) {
            int any = 0;
            for (; ch != NULL && (ch->type == X_TEXT || is_dropped(XNAME(ch))); ch = ch->next) {
                if (ch->type != X_TEXT)
                    continue;
                if (!any) {
                    any = 1;
                    if (c->nchunks > 0 && buf_put(&c->text, " ", 1) < 0)
                        return -1;
                }
                if (buf_put(&c->text, XCONTENT(ch), strlen(XCONTENT(ch))) < 0)
                    return -1;
            }
            if (any)
                c->nchunks++;
            continue;
        }
        if (visit(c, ch, depth + 1) < 0)
            return -1;
        ch = ch->next;
    }
    return 0;
}

static int visit_img(ctx_t *c, xnode *el)
{
    PyObject *w = get_attr(c, el, "width");
    if (w == NULL)
        return -1;
    PyObject *h = get_attr(c, el, "height");
    if (h == NULL) {
        Py_DECREF(w);
        return -1;
    }
    long long wi = int_attr(w), hi = int_attr(h);
    Py_DECREF(w);
    Py_DECREF(h);
    if (wi && hi) {
        long long a = wi * hi;  /* < 10**12 */
        c->image_area += a < 10000000 ? a : 10000000;
    }
    PyObject *src = get_attr(c, el, "src");
    if (src == NULL)
        return -1;
    int r = 0;
    if (src != Py_None && PyUnicode_GET_LENGTH(src) > 0 && c->n_srcs < c->max_links) {
        r = PyList_Append(c->srcs, src);
        c->n_srcs++;
    }
    Py_DECREF(src);
    if (r < 0)
        return -1;
    return append_attr(c, el, "alt", c->texts);
}

/* A kept element of the tree the img and a walks see. */
static int visit(ctx_t *c, xnode *el, int depth)
{
    if (depth > MAX_DEPTH) {
        c->bail = 1;
        return -1;
    }
    const char *name = XNAME(el);
    int hidden = is_hidden(c, el);
    if (hidden < 0)
        return -1;
    int is_img = strcmp(name, "img") == 0;
    if (hidden) {  /* cleared: no children, no attributes */
        if (count_hidden(c, el, 1, 1, depth) < 0)
            return -1;
        if (is_img)
            c->images++;
        return 0;
    }
    if (is_img) {
        c->images++;
        if (visit_img(c, el) < 0)
            return -1;
    }
    Py_ssize_t slot = -1;
    size_t start = 0;
    Py_ssize_t start_chunks = 0;
    PyObject *href = NULL;
    if (name[0] == 'a' && name[1] == '\0') {
        href = get_attr(c, el, "href");
        if (href == NULL)
            return -1;
        if (href != Py_None && c->n_links < c->max_links) {
            /* a placeholder, filled in once the link's text is known */
            slot = PyList_GET_SIZE(c->links);
            if (PyList_Append(c->links, Py_None) < 0) {
                Py_DECREF(href);
                return -1;
            }
            c->n_links++;
            start = c->text.len;
            start_chunks = c->nchunks;
        }
    }
    if (walk(c, el, depth) < 0) {
        Py_XDECREF(href);
        return -1;
    }
    if (slot >= 0) {
        PyObject *text;
        if (c->nchunks == start_chunks) {
            text = PyUnicode_FromStringAndSize("", 0);
        } else {
            if (start_chunks > 0)
                start++;  /* the separator before the link's first chunk */
            text = decode(c, c->text.p + start, (Py_ssize_t)(c->text.len - start));
        }
        if (text == NULL) {
            Py_DECREF(href);
            return -1;
        }
        /* text.strip()[:300] (str.strip strips Py_UNICODE_ISSPACE) */
        Py_ssize_t lo = 0, hi = PyUnicode_GET_LENGTH(text);
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        while (lo < hi && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, lo)))
            lo++;
        while (hi > lo && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, hi - 1)))
            hi--;
        PyObject *cut = PyUnicode_Substring(text, lo, hi - lo < 300 ? hi : lo + 300);
        Py_DECREF(text);
        if (cut == NULL) {
            Py_DECREF(href);
            return -1;
        }
        PyObject *pair = PyTuple_Pack(2, href, cut);
        Py_DECREF(cut);
        if (pair == NULL) {
            Py_DECREF(href);
            return -1;
        }
        PyList_SetItem(c->links, slot, pair);  /* steals pair */
    }
    Py_XDECREF(href);
    return 0;
}

static PyObject *collect(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "collect expects 8 arguments");
        return NULL;
    }
    PyObject *root = args[0], *eltype = args[1];
    if (!PyType_Check(eltype) || !PyObject_TypeCheck(root, (PyTypeObject *)eltype)) {
        PyErr_SetString(PyExc_TypeError, "collect: root must be an lxml element");
        return NULL;
    }
    ctx_t c;
    memset(&c, 0, sizeof(c));
    c.check_styled = -1;
    c.source = args[2];
    c.styled_gate = args[3];
    c.hidden_search = args[4];
    c.n_srcs = PyLong_AsSsize_t(args[5]);
    c.n_links = PyLong_AsSsize_t(args[6]);
    c.max_links = PyLong_AsSsize_t(args[7]);
    if (PyErr_Occurred())
        return NULL;

    xnode *rn = ((lxml_element *)root)->_c_node;
    if (rn == NULL || rn->type != X_ELEMENT || XNAME(rn) == NULL)
        Py_RETURN_NONE;
    /* the reference's styled XPath starts from the document node: it also
     * sees the document's other element trees (libxml2 puts what follows
     * </html> into a second html element), which nothing else walks */
    xdoc *doc = (xdoc *)rn->parent;
    if (doc == NULL || doc->type != X_HTML_DOCUMENT || (void *)doc != rn->doc)
        Py_RETURN_NONE;
    for (xnode *n = doc->children; n != NULL; n = n->next)
        if (n != rn && n->type != X_DTD && n->type != X_ELEMENT && n->type != X_TEXT)
            Py_RETURN_NONE;
    if (doc->intSubset != NULL && doc->intSubset->children != NULL)
        Py_RETURN_NONE;

    PyObject *result = NULL;
    PyObject *forms = PyList_New(0), *frames = PyList_New(0);
    c.srcs = PyList_New(0);
    c.texts = PyList_New(0);
    c.links = PyList_New(0);
    if (!forms || !frames || !c.srcs || !c.texts || !c.links)
        goto done;
    if (scan(&c, rn, forms, frames) < 0)
        goto fail;
    if (PyList_SetSlice(c.srcs, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, forms) < 0
        || PyList_SetSlice(c.srcs, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, frames) < 0)
        goto done;
    c.n_srcs += PyList_GET_SIZE(c.srcs);
    if (visit(&c, rn, 0) < 0)
        goto fail;
    for (xnode *n = doc->children; n != NULL; n = n->next)
        if (n != rn && n->type == X_ELEMENT) {
            if (n->ns != NULL || XNAME(n) == NULL) {
                c.bail = 1;
                goto fail;
            }
            int h = is_hidden(&c, n);
            if (h < 0 || count_hidden(&c, n, h, 0, 0) < 0)
                goto fail;
        }
    PyObject *text = decode(&c, c.text.p ? c.text.p : "", (Py_ssize_t)c.text.len);
    if (text == NULL)
        goto fail;
    int r = PyList_Append(c.texts, text);
    Py_DECREF(text);
    if (r < 0)
        goto done;
    result = Py_BuildValue("(lllOLLLOO)", c.scripts, c.forms, c.iframes, c.srcs,
                           c.hidden_chars, c.images, c.image_area, c.texts, c.links);
    goto done;
fail:
    if (c.bail && !PyErr_Occurred()) {
        result = Py_None;
        Py_INCREF(result);
    }
done:
    Py_XDECREF(forms);
    Py_XDECREF(frames);
    Py_XDECREF(c.srcs);
    Py_XDECREF(c.texts);
    Py_XDECREF(c.links);
    PyMem_Free(c.text.p);
    return result;
}

static PyObject *py_int_attr(PyObject *self, PyObject *arg)
{
    (void)self;
    if (arg != Py_None && !PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "int_attr expects a str or None");
        return NULL;
    }
    return PyLong_FromLongLong(int_attr(arg));
}

static PyMethodDef methods[] = {
    {"collect", (PyCFunction)(void (*)(void))collect, METH_FASTCALL,
     "collect(root, element_type, source, styled_gate, hidden_search, n_srcs, n_links, max_links)"
     " -> tuple or None: what _collect adds to an HtmlInfo (None: run _collect)."},
    {"int_attr", py_int_attr, METH_O, "int_attr(value) -> int, as _int_attr."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "spamscore._core.htmlscan", "Compiled tree walks of spamscore.features.html.", -1, methods,
    NULL, NULL, NULL, NULL
};

PyObject *ss_init_htmlscan(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddStringConstant(m, "LXML_BUILD_VERSION", SPAMSCORE_LXML_VERSION) < 0
        || PyModule_AddStringConstant(m, "LIBXML_BUILD_VERSION", SPAMSCORE_LIBXML_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
