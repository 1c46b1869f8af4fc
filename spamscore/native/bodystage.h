/* The per-word stage of the body words, written once for a character type
 * (included by bodystage.c once per width, with SS_CH the type and SS_W the
 * suffix of the names: Py_UCS2 and u2 for the text pass of
 * bodyscan.words/word_hashes, bodywords.c, and for the pre-split words of
 * speedups.word_tokens, wordtokens.c, when they all fit; Py_UCS4 and u4 for
 * the pre-split words that hold astral characters).  What each function
 * does: bodyscan.h.  No include guard: it is meant to be included twice.
 */
#if !defined(SS_CH) || !defined(SS_W)
#error "bodystage.h: define SS_CH and SS_W before including it"
#endif

#define SS_CAT_(a, b) a##_##b
#define SS_CAT(a, b) SS_CAT_(a, b)
#define SS_FN(name) SS_CAT(name, SS_W)

/* the hash the sets of distinct spans take of s[:n]: FNV-1a, then a full mix (words are short: a
 * character at a time is fine); the text pass (bodywords.c) and wordtokens.c's put_chars compute the
 * same one as the characters come */
static inline uint32_t SS_FN(hash_chars)(const SS_CH *s, Py_ssize_t n)
{
    uint64_t h = SS_FNV_BASIS;
    for (Py_ssize_t i = 0; i < n; i++)
        h = (h ^ s[i]) * SS_FNV_PRIME;
    return (uint32_t)ss_mix64(h ^ (uint64_t)n);
}

static inline int SS_FN(same_chars)(const SS_CH *a, const SS_CH *b, Py_ssize_t n)
{
    if (n > 8)
        return memcmp(a, b, (size_t)n * sizeof(SS_CH)) == 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* the id of s[:len] (hash h) in the set, or -1 with *slot its free slot, or -2 when the probe runs long */
static inline Py_ssize_t SS_FN(probe)(const spanset_t *s, const SS_CH *p, Py_ssize_t len, uint32_t h,
                                      uint64_t *slot)
{
    const SS_CH *text = s->text;
    uint64_t mask = (uint64_t)s->cap - 1, j = h & mask;
    for (int probes = 0;; probes++) {
        const slot_t *sl = &s->slots[j];
        if (sl->id < 0) {
            *slot = j;
            return -1;
        }
        if (sl->hash == h) {
            span_t sp = s->spans[sl->id];
            if (sp.len == len && SS_FN(same_chars)(text + sp.off, p, len))
                return sl->id;
        }
        if (probes >= MAX_PROBE)
            return -2;
        j = (j + 1) & mask;
    }
}

Py_ssize_t SS_FN(ss_spanset_find)(const spanset_t *s, const SS_CH *p, Py_ssize_t len, uint32_t h)
{
    uint64_t slot;
    return SS_FN(probe)(s, p, len, h, &slot);
}

Py_ssize_t SS_FN(ss_spanset_add)(spanset_t *s, Py_ssize_t off, Py_ssize_t len, uint32_t h, int *added)
{
    uint64_t j;
    *added = 0;
    Py_ssize_t found = SS_FN(probe)(s, (const SS_CH *)s->text + off, len, h, &j);
    if (found != -1)
        return found;   /* its id, or -2 */
    if (s->count + 1 > s->room) {  /* more than half full: grow, then find the free slot again */
        int rc = ss_spanset_grow(s);
        if (rc < 0)
            return rc;
        uint64_t mask = (uint64_t)s->cap - 1;
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

/* the str of the concatenation of up to 4 runs of characters (in its
 * canonical form: the narrowest kind that holds them, ASCII when all are,
 * which str equality needs) */
static PyObject *SS_FN(make_str)(const SS_CH *a, Py_ssize_t la, const SS_CH *b, Py_ssize_t lb,
                                 const SS_CH *c, Py_ssize_t lc, const SS_CH *d, Py_ssize_t ld)
{
    const SS_CH *runs[4] = {a, b, c, d};
    Py_ssize_t lens[4] = {la, lb, lc, ld};
    SS_CH maxc = 0;  /* the OR of the characters: below 128, 256, 0x10000 exactly when the largest is */
    for (int r = 0; r < 4; r++)
        for (Py_ssize_t i = 0; i < lens[r]; i++)
            maxc |= runs[r][i];
    PyObject *s = PyUnicode_New(la + lb + lc + ld,
                                maxc < 128 ? 127 : maxc < 256 ? 255 : (Py_UCS4)maxc < 0x10000 ? 65535 : 0x10FFFF);
    if (s == NULL)
        return NULL;
    int kind = PyUnicode_KIND(s);
    if (kind == (int)sizeof(SS_CH)) {
        SS_CH *o = PyUnicode_DATA(s);
        for (int r = 0; r < 4; r++) {
            if (lens[r])
                memcpy(o, runs[r], (size_t)lens[r] * sizeof(SS_CH));
            o += lens[r];
        }
    } else if (kind == PyUnicode_1BYTE_KIND) {
        Py_UCS1 *o = PyUnicode_1BYTE_DATA(s);
        for (int r = 0; r < 4; r++)
            for (Py_ssize_t i = 0; i < lens[r]; i++)
                *o++ = (Py_UCS1)runs[r][i];
    } else {  /* (Py_UCS4 characters into a 2-byte str) */
        Py_UCS2 *o = PyUnicode_2BYTE_DATA(s);
        for (int r = 0; r < 4; r++)
            for (Py_ssize_t i = 0; i < lens[r]; i++)
                *o++ = (Py_UCS2)runs[r][i];
    }
    return s;
}

/* one token, the concatenation of up to 4 runs, to the sink: 0, or -1 with an exception set */
static int SS_FN(sink_emit)(sink_t *k, const SS_CH *a, Py_ssize_t la, const SS_CH *b, Py_ssize_t lb,
                            const SS_CH *c, Py_ssize_t lc, const SS_CH *d, Py_ssize_t ld)
{
    if (k->set != NULL)
        return ss_set_add_new(k->set, SS_FN(make_str)(a, la, b, lb, c, lc, d, ld));
    const SS_CH *runs[4] = {a, b, c, d};
    Py_ssize_t lens[4] = {la, lb, lc, ld};
    /* UTF-8: at most 3 bytes a BMP character, 4 an astral one */
    if (ss_sink_scratch(k, (sizeof(SS_CH) > 2 ? 4 : 3) * (la + lb + lc + ld)) < 0)
        return -1;
    unsigned char *o = k->scratch;
    for (int r = 0; r < 4; r++)
        for (Py_ssize_t i = 0; i < lens[r]; i++) {
            Py_UCS4 ch = runs[r][i];
            if (ch < 0x80)
                *o++ = (unsigned char)ch;
            else if (ch < 0x800) {
                *o++ = (unsigned char)(0xC0 | (ch >> 6));
                *o++ = (unsigned char)(0x80 | (ch & 0x3F));
            } else if (sizeof(SS_CH) <= 2 || ch < 0x10000) {
                *o++ = (unsigned char)(0xE0 | (ch >> 12));
                *o++ = (unsigned char)(0x80 | ((ch >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (ch & 0x3F));
            } else {
                *o++ = (unsigned char)(0xF0 | (ch >> 18));
                *o++ = (unsigned char)(0x80 | ((ch >> 12) & 0x3F));
                *o++ = (unsigned char)(0x80 | ((ch >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (ch & 0x3F));
            }
        }
    return ss_sink_push_hash(k, o - k->scratch);
}

int SS_FN(ss_word_stage)(const spanset_t *ws, const int32_t *seq_ids, Py_ssize_t m, const SS_CH *pre,
                         Py_ssize_t lpre, int pairs, const SS_CH *ppre, Py_ssize_t lppre,
                         const unsigned char is_punct[128], sink_t *sink)
{
    const SS_CH *low = ws->text;
    int32_t *kept_of = NULL;
    uint64_t *pair_keys = NULL;
    spanset_t ks;
    int rc = -1;
    memset(&ks, 0, sizeof(ks));
    /* kept_of[id]: the id of word id's stripped form among the kept words, or
     * -1; kept_of[-1] = -1 for a word of the sequence that is none of ws's */
    kept_of = PyMem_Malloc((size_t)(ws->count + 1) * sizeof(int32_t));
    if (kept_of == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    *kept_of++ = -1;
    if (ss_spanset_init(&ks, low, ss_pow2_at_least(ws->count < 512 ? 2 * ws->count : 1024)) < 0)
        goto done;
    /* each distinct word, stripped */
    for (Py_ssize_t id = 0; id < ws->count; id++) {
        Py_ssize_t s = ws->spans[id].off, e = s + ws->spans[id].len;
        ss_strip_punct(is_punct, (int)sizeof(SS_CH), low, &s, &e);  /* (the kind of a str of SS_CH) */
        Py_ssize_t len = e - s;
        int fate = ss_word_fate(len);
        kept_of[id] = -1;
        if (fate == SS_WORD_SKIP) {
            /* "skip:" + first character + " " + len // 10 * 10 */
            SS_CH tail[40];
            char digits[24];
            int nd = snprintf(digits, sizeof(digits), "%zd", ss_skip_length(len));
            if (nd <= 0 || nd >= (int)sizeof(digits)) {
                PyErr_SetString(PyExc_SystemError, "skip token");
                goto done;
            }
            static const char skip[] = "skip:";
            int lt = 0;
            for (int k = 0; k < 5; k++)
                tail[lt++] = (SS_CH)skip[k];
            tail[lt++] = low[s];
            tail[lt++] = ' ';
            for (int k = 0; k < nd; k++)
                tail[lt++] = (SS_CH)digits[k];
            if (SS_FN(sink_emit)(sink, pre, lpre, tail, lt, NULL, 0, NULL, 0) < 0)
                goto done;
        } else if (fate == SS_WORD_KEEP) {
            int added;
            Py_ssize_t kid = SS_FN(ss_spanset_add)(&ks, s, len, SS_FN(hash_chars)(low + s, len), &added);
            if (kid < 0) {
                rc = (int)kid;
                goto done;
            }
            kept_of[id] = (int32_t)kid;
            if (added && SS_FN(sink_emit)(sink, pre, lpre, low + s, len, NULL, 0, NULL, 0) < 0)
                goto done;
        }
    }
    /* pairs of adjacent kept words among the first m */
    if (pairs && m > 1) {
        Py_ssize_t pcap = ss_pow2_at_least(2 * m);
        uint64_t pmask = (uint64_t)pcap - 1;
        pair_keys = PyMem_Malloc((size_t)pcap * sizeof(uint64_t));
        if (pair_keys == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        memset(pair_keys, 0xff, (size_t)pcap * sizeof(uint64_t));
        static const SS_CH space[1] = {' '};
        int32_t prev = -1;
        for (Py_ssize_t k = 0; k < m; k++) {
            int32_t v = kept_of[seq_ids[k]];
            if (v >= 0 && prev >= 0) {
                uint64_t key = ((uint64_t)(uint32_t)prev << 32) | (uint32_t)v;
                uint64_t j = ss_mix64(key) & pmask;
                int probes = 0, seen = 0;
                while (pair_keys[j] != UINT64_MAX) {
                    if (pair_keys[j] == key) {
                        seen = 1;
                        break;
                    }
                    if (++probes > MAX_PROBE) {
                        rc = -2;
                        goto done;
                    }
                    j = (j + 1) & pmask;
                }
                if (!seen) {
                    pair_keys[j] = key;  /* at most m keys in 2m+ slots */
                    span_t a = ks.spans[prev], b = ks.spans[v];
                    if (SS_FN(sink_emit)(sink, ppre, lppre, low + a.off, a.len, space, 1, low + b.off, b.len) < 0)
                        goto done;
                }
            }
            prev = v;
        }
    }
    rc = 0;
done:
    if (kept_of != NULL)
        PyMem_Free(kept_of - 1);
    PyMem_Free(pair_keys);
    ss_spanset_free(&ks);
    return rc;
}

#undef SS_FN
#undef SS_CAT
#undef SS_CAT_
