/* Where the per-word stage of the body words (bodystage.h) puts its tokens:
 * a set of str, or the token hash of each (sink_t: bodyscan.h).  This file
 * has what does not depend on the width of the characters; making the str
 * or the UTF-8 of a token reads them: bodystage.h.
 */
#include "core.h"
#include "bodyscan.h"

/* k->scratch grown to at least ``bytes`` bytes (ss_sink_scratch's slow path): 0, or -1 with MemoryError */
int ss_sink_scratch_grow(sink_t *k, Py_ssize_t bytes)
{
    Py_ssize_t cap = bytes > 64 ? bytes : 64;
    unsigned char *p = PyMem_Realloc(k->scratch, (size_t)cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    k->scratch = p;
    k->scratch_cap = cap;
    return 0;
}

void ss_sink_free(sink_t *k)
{
    PyMem_Free(k->h);
    PyMem_Free(k->scratch);
    k->h = NULL;
    k->scratch = NULL;
}
