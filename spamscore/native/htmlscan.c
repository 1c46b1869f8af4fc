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
 *
 * The concern's files: htmlscan.c (this one: collect, int_attr and the
 * method table), htmlwalk.c (the walks: the scan of the whole tree, then
 * the visit of the tree the img and a walks see), htmlhidden.c (what the
 * styled loop clears, and the hidden_chars it counts), htmlnodes.c (a node's
 * text and attributes as Python values), and html.h (what they share, with
 * lxml's headers: the only files that need them, html*.c).
 */
#include "core.h"
#include "html.h"

/* re.Pattern (set at import): the only kind of hidden_search accepted */
static PyObject *pattern_type;

/* Whether f is the search method of a compiled pattern: called in the middle
 * of the walk (htmlhidden.c), it must run no Python code, and a pattern's
 * search of an exact str (the style, made by ss_html_get_attr) runs none. */
static int is_regex_search(PyObject *f)
{
    if (!PyCFunction_Check(f))
        return 0;
    PyObject *owner = PyCFunction_GET_SELF(f);
    return owner != NULL && Py_TYPE(owner) == (PyTypeObject *)pattern_type
           && strcmp(((PyCFunctionObject *)f)->m_ml->ml_name, "search") == 0;
}

/* Whether root's tree is one collect models at its top (the rest:
 * ss_html_scan); its node and document in *rn and *doc. */
static int modelled_top(PyObject *root, xnode **rn_out, xdoc **doc_out)
{
    xnode *rn = ((lxml_element *)root)->_c_node;
    if (rn == NULL || rn->type != X_ELEMENT || XNAME(rn) == NULL)
        return 0;
    /* the reference's styled XPath starts from the document node: it also
     * sees the document's other element trees (libxml2 puts what follows
     * </html> into a second html element), which nothing else walks */
    xdoc *doc = (xdoc *)rn->parent;
    if (doc == NULL || doc->type != X_HTML_DOCUMENT || (void *)doc != rn->doc)
        return 0;
    for (xnode *n = doc->children; n != NULL; n = n->next)
        if (n != rn && n->type != X_DTD && n->type != X_ELEMENT && n->type != X_TEXT)
            return 0;
    if (doc->intSubset != NULL && doc->intSubset->children != NULL)
        return 0;
    *rn_out = rn;
    *doc_out = doc;
    return 1;
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
    if (!is_regex_search(args[4])) {
        PyErr_SetString(PyExc_TypeError, "collect: hidden_search must be the search method of a compiled pattern");
        return NULL;
    }
    ctx_t c;
    memset(&c, 0, sizeof(c));
    c.hidden_search = args[4];
    c.n_srcs = PyLong_AsSsize_t(args[5]);
    c.n_links = PyLong_AsSsize_t(args[6]);
    c.max_links = PyLong_AsSsize_t(args[7]);
    if (PyErr_Occurred())
        return NULL;

    xnode *rn;
    xdoc *doc;
    if (!modelled_top(root, &rn, &doc))
        Py_RETURN_NONE;
    /* styled_gate(source): the reference's test for running its styled
     * XPath, which matters only where an element has a style or hidden
     * attribute.  It is Python code, which may change the tree and free its
     * nodes: so it is asked here, before the walk holds any node, and the
     * tree is read again after it (issue 15's audit: it was asked at the
     * first such element, in the middle of the walk, a use after free).
     * No other Python code runs until the walk ends: the garbage collector,
     * which an allocation of a tracked object (a link's pair, a regex match)
     * can start and whose finalizers are Python code, is kept off while it
     * walks (the GIL is held throughout: no other thread sees it off). */
    c.check_styled = 0;
    if (ss_html_any_styled(doc)) {
        PyObject *g = PyObject_CallOneArg(args[3], args[2]);
        if (g == NULL)
            return NULL;
        c.check_styled = PyObject_IsTrue(g);
        Py_DECREF(g);
        if (c.check_styled < 0)
            return NULL;
        if (!modelled_top(root, &rn, &doc))
            Py_RETURN_NONE;
    }

    int gc_was_on = PyGC_Disable();
    PyObject *result = NULL;
    PyObject *forms = PyList_New(0), *frames = PyList_New(0);
    c.srcs = PyList_New(0);
    c.texts = PyList_New(0);
    c.links = PyList_New(0);
    if (!forms || !frames || !c.srcs || !c.texts || !c.links)
        goto done;
    if (ss_html_scan(&c, rn, forms, frames) < 0)
        goto fail;
    if (PyList_SetSlice(c.srcs, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, forms) < 0
        || PyList_SetSlice(c.srcs, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, frames) < 0)
        goto done;
    c.n_srcs += PyList_GET_SIZE(c.srcs);
    if (ss_html_visit(&c, rn, 0) < 0)
        goto fail;
    for (xnode *n = doc->children; n != NULL; n = n->next)
        if (n != rn && n->type == X_ELEMENT) {
            if (n->ns != NULL || XNAME(n) == NULL) {
                c.bail = 1;
                goto fail;
            }
            int h = ss_html_is_hidden(&c, n);
            if (h < 0 || ss_html_count_hidden(&c, n, h, 0, 0) < 0)
                goto fail;
        }
    PyObject *text = ss_html_decode(&c, c.text.p ? c.text.p : "", (Py_ssize_t)c.text.len);
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
    if (gc_was_on)
        PyGC_Enable();
    return result;
}

static PyObject *py_int_attr(PyObject *self, PyObject *arg)
{
    (void)self;
    if (arg != Py_None && !PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "int_attr expects a str or None");
        return NULL;
    }
    return PyLong_FromLongLong(ss_html_int_attr(arg));
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
    if (pattern_type == NULL) {
        PyObject *re = PyImport_ImportModule("re");
        if (re == NULL)
            return NULL;
        pattern_type = PyObject_GetAttrString(re, "Pattern");
        Py_DECREF(re);
        if (pattern_type == NULL)
            return NULL;
        if (!PyType_Check(pattern_type)) {
            Py_CLEAR(pattern_type);
            PyErr_SetString(PyExc_TypeError, "re.Pattern is not a type");
            return NULL;
        }
    }
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
