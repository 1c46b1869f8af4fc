/* The walks of the concern spamscore._core.htmlscan (collect: htmlscan.c):
 * the scan of the whole tree (phase 1: is it one this code models, and the
 * script, form and frame walk), then the visit of the tree the img and a
 * walks see, after _drop and the styled loop (htmlhidden.c).
 */
#include "core.h"
#include "html.h"

/* Phase 1: check the tree is one this code models, and the script, form and
 * iframe/frame walk of the reference (the whole tree, before _drop). */
int ss_html_scan(ctx_t *c, xnode *root, PyObject *forms, PyObject *frames)
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
                if (ss_html_append_attr(c, n, "src", c->srcs) < 0)
                    return -1;
            } else if (strcmp(name, "form") == 0) {
                c->forms++;
                if (ss_html_append_attr(c, n, "action", forms) < 0)
                    return -1;
            } else if (strcmp(name, "iframe") == 0 || strcmp(name, "frame") == 0) {
                c->iframes++;
                if (ss_html_append_attr(c, n, "src", frames) < 0)
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
                || !ss_html_xml_valid((const unsigned char *)XCONTENT(n), strlen(XCONTENT(n)))) {
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

/* The children of a kept, not hidden element: runs of text nodes and dropped
 * elements become one text chunk each; kept elements are visited. */
static int walk(ctx_t *c, xnode *el, int depth)
{
    xnode *ch = el->children;
    while (ch != NULL) {
        if (ch->type == X_TEXT || ss_html_is_dropped(XNAME(ch))) {
            int any = 0;
            for (; ch != NULL && (ch->type == X_TEXT || ss_html_is_dropped(XNAME(ch))); ch = ch->next) {
                if (ch->type != X_TEXT)
                    continue;
                if (!any) {
                    any = 1;
                    if (c->nchunks > 0 && ss_html_buf_put(&c->text, " ", 1) < 0)
                        return -1;
                }
                if (ss_html_buf_put(&c->text, XCONTENT(ch), strlen(XCONTENT(ch))) < 0)
                    return -1;
            }
            if (any)
                c->nchunks++;
            continue;
        }
        if (ss_html_visit(c, ch, depth + 1) < 0)
            return -1;
        ch = ch->next;
    }
    return 0;
}

static int visit_img(ctx_t *c, xnode *el)
{
    PyObject *w = ss_html_get_attr(c, el, "width");
    if (w == NULL)
        return -1;
    PyObject *h = ss_html_get_attr(c, el, "height");
    if (h == NULL) {
        Py_DECREF(w);
        return -1;
    }
    long long wi = ss_html_int_attr(w), hi = ss_html_int_attr(h);
    Py_DECREF(w);
    Py_DECREF(h);
    if (wi && hi) {
        long long a = wi * hi;  /* < 10**12 */
        c->image_area += a < 10000000 ? a : 10000000;
    }
    PyObject *src = ss_html_get_attr(c, el, "src");
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
    return ss_html_append_attr(c, el, "alt", c->texts);
}

/* A kept element of the tree the img and a walks see. */
int ss_html_visit(ctx_t *c, xnode *el, int depth)
{
    if (depth > MAX_DEPTH) {
        c->bail = 1;
        return -1;
    }
    const char *name = XNAME(el);
    int hidden = ss_html_is_hidden(c, el);
    if (hidden < 0)
        return -1;
    int is_img = strcmp(name, "img") == 0;
    if (hidden) {  /* cleared: no children, no attributes */
        if (ss_html_count_hidden(c, el, 1, 1, depth) < 0)
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
        href = ss_html_get_attr(c, el, "href");
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
            text = ss_html_decode(c, c->text.p + start, (Py_ssize_t)(c->text.len - start));
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

