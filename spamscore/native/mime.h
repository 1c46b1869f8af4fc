/* What the files of the MIME concern (spamscore._core.mimescan) share:
 * mimescan.c (the header block and the method table), mimecounts.c (a
 * multipart's counts), mimeparams.c (Content-Type values) and the multipart
 * splitter, split_mime (mimesplit.c, mimetree.c, mimelines.c; what only
 * those three share: mimesplit.h). */
#ifndef SPAMSCORE_MIME_H
#define SPAMSCORE_MIME_H

#include "core.h"

/* a field name's character: [!-9;-~] */
static inline int is_name_char(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != 0x3a;
}

/* the boundary of the ASCII value v[0:n]: -1 when the Python code must
 * decide, 0 when there is none, 1 with [*ra, *rb) the boundary (mimeparams.c) */
int ss_mime_boundary_span(const unsigned char *v, Py_ssize_t n, Py_ssize_t *ra, Py_ssize_t *rb);

/* the functions of mimescan's method table of the same names without "ss_":
 * mimecounts.c, mimeparams.c, mimesplit.c */
PyObject *ss_mime_counts(PyObject *self, PyObject *args);
PyObject *ss_leaf_info(PyObject *self, PyObject *args);
PyObject *ss_charset_hint(PyObject *self, PyObject *arg);
PyObject *ss_boundary(PyObject *self, PyObject *arg);
PyObject *ss_split_mime(PyObject *self, PyObject *args);  /* split_mime(raw, max_parts, max_depth) */

#endif
