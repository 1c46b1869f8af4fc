/* What the files of the HTML concern (spamscore._core.htmlscan) share:
 * htmlscan.c (collect and the method table), htmlwalk.c (the walks),
 * htmlhidden.c (the styled loop's hidden elements) and htmlnodes.c (a
 * node's text and attributes); with lxml's headers, which these files, and
 * no other of the native core, need (setup.py compiles html*.c only when
 * lxml is importable at build time).
 */
#ifndef SPAMSCORE_HTML_H
#define SPAMSCORE_HTML_H

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

typedef struct {
    int bail;                /* the tree has something not modelled: return None */
    int check_styled;        /* styled_gate(source), asked before the walk (0: no element has a style) */
    PyObject *hidden_search; /* _HIDDEN_STYLE.search: a compiled pattern's search, no Python code */
    Py_ssize_t n_srcs, n_links, max_links;
    long long hidden_chars, images, image_area;
    long scripts, forms, iframes;
    PyObject *srcs, *texts, *links;  /* lists */
    buf_t text;              /* the text chunks joined by " " (UTF-8) */
    Py_ssize_t nchunks;
} ctx_t;

/* htmlnodes.c: the functions of the same names without "ss_html_" */
int ss_html_buf_put(buf_t *b, const char *s, size_t n);
int ss_html_is_dropped(const char *name);
PyObject *ss_html_decode(ctx_t *c, const char *s, Py_ssize_t n);
int ss_html_xml_valid(const unsigned char *s, size_t len);
PyObject *ss_html_get_attr(ctx_t *c, xnode *el, const char *name);
long long ss_html_int_attr(PyObject *v);
int ss_html_append_attr(ctx_t *c, xnode *el, const char *name, PyObject *list);

/* htmlhidden.c */
int ss_html_any_styled(xdoc *doc);
int ss_html_is_hidden(ctx_t *c, xnode *el);
int ss_html_count_hidden(ctx_t *c, xnode *el, long long w, int drop, int depth);

/* htmlwalk.c */
int ss_html_scan(ctx_t *c, xnode *root, PyObject *forms, PyObject *frames);
int ss_html_visit(ctx_t *c, xnode *el, int depth);

#endif
