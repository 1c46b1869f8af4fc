/* The sets of distinct spans of the concern spamscore._core.bodyscan:
 * words() (bodywords.c) keeps each distinct word of a text, and the stage
 * (bodystage.h) each distinct stripped word, once, as a span of a buffer of
 * characters, with a hash table over them (bodyscan.h: spanset_t, and the
 * tables' probe limit).  This file has what does not depend on the width of
 * the characters; adding and finding a span read them: bodystage.h.
 */
#include "core.h"
#include "bodyscan.h"

Py_ssize_t ss_pow2_at_least(Py_ssize_t n)
{
    Py_ssize_t c = 16;
    while (c < n)
        c *= 2;
    return c;
}

int ss_spanset_init(spanset_t *s, const void *text, Py_ssize_t cap)
{
    memset(s, 0, sizeof(*s));
    s->text = text;
    s->cap = cap;
    s->room = cap / 2;
    s->slots = PyMem_Malloc((size_t)cap * sizeof(slot_t));
    s->spans = PyMem_Malloc((size_t)s->room * sizeof(span_t));
    s->hashes = PyMem_Malloc((size_t)s->room * sizeof(uint32_t));
    if (s->slots == NULL || s->spans == NULL || s->hashes == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < cap; i++)
        s->slots[i].id = -1;
    return 0;
}

void ss_spanset_free(spanset_t *s)
{
    PyMem_Free(s->slots);
    PyMem_Free(s->spans);
    PyMem_Free(s->hashes);
    memset(s, 0, sizeof(*s));
}

/* double the table (rehash from the stored hashes); -1 with an exception
 * set on error, -2 when a probe runs long */
int ss_spanset_grow(spanset_t *s)
{
    if (s->cap > ((Py_ssize_t)1 << 40) / (Py_ssize_t)sizeof(slot_t)) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t cap = s->cap * 2, room = cap / 2;
    slot_t *slots = PyMem_Malloc((size_t)cap * sizeof(slot_t));
    span_t *spans = PyMem_Realloc(s->spans, (size_t)room * sizeof(span_t));
    if (spans != NULL)
        s->spans = spans;
    uint32_t *hashes = PyMem_Realloc(s->hashes, (size_t)room * sizeof(uint32_t));
    if (hashes != NULL)
        s->hashes = hashes;
    if (slots == NULL || spans == NULL || hashes == NULL) {
        PyMem_Free(slots);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < cap; i++)
        slots[i].id = -1;
    uint64_t mask = (uint64_t)cap - 1;
    for (Py_ssize_t id = 0; id < s->count; id++) {
        uint64_t j = s->hashes[id] & mask;
        for (int probes = 0; slots[j].id >= 0; probes++) {
            if (probes >= MAX_PROBE) {
                PyMem_Free(slots);
                return -2;
            }
            j = (j + 1) & mask;
        }
        slots[j].hash = s->hashes[id];
        slots[j].id = (int32_t)id;
    }
    PyMem_Free(s->slots);
    s->slots = slots;
    s->cap = cap;
    s->room = room;
    return 0;
}
