/* The sets of distinct spans of the concern spamscore._core.bodyscan:
 * words() (bodywords.c) keeps each distinct word of a text, and each
 * distinct stripped word, once, as a span of its buffer of normalized
 * characters, with a hash table over them (bodyscan.h: spanset_t, and the
 * tables' probe limit).
 */
#include "core.h"
#include "bodyscan.h"

static inline int same_chars(const ch_t *a, const ch_t *b, Py_ssize_t n)
{
    if (n > 8)
        return memcmp(a, b, (size_t)n * sizeof(ch_t)) == 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

int ss_spanset_init(spanset_t *s, const ch_t *text, Py_ssize_t cap)
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
static int spanset_grow(spanset_t *s)
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

/* The id of text[off:off+len] (added when new; *added set to 1 then).
 * -1 with an exception set on error, -2 (no exception) when a probe ran long. */
Py_ssize_t ss_spanset_add(spanset_t *s, Py_ssize_t off, Py_ssize_t len, uint32_t h, int *added)
{
    const ch_t *p = s->text + off;
    uint64_t mask = (uint64_t)s->cap - 1, j = h & mask;
    *added = 0;
    for (int probes = 0;; probes++) {
        slot_t *sl = &s->slots[j];
        if (sl->id < 0)
            break;
        if (sl->hash == h) {
            span_t sp = s->spans[sl->id];
            if (sp.len == len && same_chars(s->text + sp.off, p, len))
                return sl->id;
        }
        if (probes >= MAX_PROBE)
            return -2;
        j = (j + 1) & mask;
    }
    if (s->count + 1 > s->room) {  /* more than half full: grow, then find the free slot again */
        int rc = spanset_grow(s);
        if (rc < 0)
            return rc;
        mask = (uint64_t)s->cap - 1;
        j = h & mask;
        for (int probes = 0; s->slots[j].id >= 0; probes++) {
            if (probes >= MAX_PROBE)
                return -2;
            j = (j + 1) & mask;
        }
    }
    Py_ssize_t id = s->count++;
    s->spans[id].off = (int32_t)off;
    s->spans[id].len = (int32_t)len;
    s->hashes[id] = h;
    s->slots[j].hash = h;
    s->slots[j].id = (int32_t)id;
    *added = 1;
    return id;
}

