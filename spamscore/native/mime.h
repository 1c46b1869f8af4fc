/* What the two files of the MIME concern (spamscore._core.mimescan) share:
 * mimescan.c (header block, counts, Content-Type values) and mimesplit.c
 * (the multipart splitter, split_mime). */
#ifndef SPAMSCORE_MIME_H
#define SPAMSCORE_MIME_H

#include "core.h"

/* a field name's character: [!-9;-~] */
static inline int is_name_char(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != 0x3a;
}

/* the boundary of the ASCII value v[0:n]: -1 when the Python code must
 * decide, 0 when there is none, 1 with [*ra, *rb) the boundary (mimescan.c) */
int ss_mime_boundary_span(const unsigned char *v, Py_ssize_t n, Py_ssize_t *ra, Py_ssize_t *rb);

/* split_mime(raw, max_parts, max_depth) (mimesplit.c) */
PyObject *ss_split_mime(PyObject *self, PyObject *args);

#endif
