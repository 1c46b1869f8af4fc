/* The styled loop of the concern spamscore._core.htmlscan's reference
 * (_collect): which elements it clears (is_hidden), and the hidden_chars it
 * counts for them (count_hidden); the walks that call these: htmlwalk.c,
 * htmlscan.c.
 */
#include "core.h"
#include "html.h"

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

/* Whether an element of the document's element trees has a style or hidden
 * attribute: whether collect (htmlscan.c) must ask styled_gate, which it
 * does before its walk.  Runs no Python code; an element's element children
 * have it as parent, so the walk climbs back by parent pointers. */
int ss_html_any_styled(xdoc *doc)
{
    for (xnode *top = doc->children; top != NULL; top = top->next) {
        if (top->type != X_ELEMENT)
            continue;
        xnode *n = top;
        while (n != NULL) {
            if (has_styled_attr(n))
                return 1;
            xnode *next = n->children;
            while (next != NULL && next->type != X_ELEMENT)
                next = next->next;
            while (next == NULL && n != top) {  /* no element child: the next sibling, or an ancestor's */
                next = n->next;
                while (next != NULL && next->type != X_ELEMENT)
                    next = next->next;
                if (next == NULL)
                    n = n->parent;
            }
            n = next;
        }
    }
    return 0;
}

/* 1 if the styled loop clears el, 0 if not, -1 on error or bail.  Runs no
 * Python code: collect asked styled_gate before the walk (c->check_styled),
 * and hidden_search is a compiled pattern's search (htmlscan.c checks). */
int ss_html_is_hidden(ctx_t *c, xnode *el)
{
    if (!has_styled_attr(el))
        return 0;
    if (!c->check_styled)
        return 0;
    PyObject *style = ss_html_get_attr(c, el, "style");
    if (style == NULL)
        return -1;
    PyObject *hidden = ss_html_get_attr(c, el, "hidden");
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
int ss_html_count_hidden(ctx_t *c, xnode *el, long long w, int drop, int depth)
{
    if (depth > MAX_DEPTH) {
        c->bail = 1;
        return -1;
    }
    for (xnode *ch = el->children; ch != NULL; ch = ch->next) {
        if (ch->type == X_TEXT) {
            if (XCONTENT(ch) == NULL
                || (!drop && !ss_html_xml_valid((const unsigned char *)XCONTENT(ch), strlen(XCONTENT(ch))))) {
                c->bail = 1;  /* (the root's tree: checked by ss_html_scan) */
                return -1;
            }
            if (w == 0)
                continue;
            PyObject *s = ss_html_decode(c, XCONTENT(ch), (Py_ssize_t)strlen(XCONTENT(ch)));
            if (s == NULL)
                return -1;
            c->hidden_chars += w * (long long)PyUnicode_GET_LENGTH(s);
            Py_DECREF(s);
        } else if (ch->type != X_ELEMENT || ch->ns != NULL || XNAME(ch) == NULL) {
            c->bail = 1;
            return -1;
        } else if (!drop || !ss_html_is_dropped(XNAME(ch))) {
            int h = ss_html_is_hidden(c, ch);
            if (h < 0 || ss_html_count_hidden(c, ch, w + h, drop, depth + 1) < 0)
                return -1;
        }
    }
    return 0;
}

