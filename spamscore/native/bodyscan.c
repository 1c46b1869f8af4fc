/* Optional compiled helpers for the body words of spamscore.features.tokens:
 * the concern spamscore._core.bodyscan, and speedups.word_tokens (the
 * per-word loop over Python's split, for the texts words() leaves to Python),
 * whose code is here (the end of this file) beside the other word loop.
 *
 * Why two loops and not one: words() fuses normalize + lower + split +
 * dedupe into one pass over the text's characters as UCS-2 (ch_t), with its
 * own tables (CHAR_MAP, map_wide), and declines (None) whatever it cannot
 * map; word_tokens() must take every word Python's split gives, of any str
 * kind (astral characters after NFKC, the pieces of CJK segmentation) and a
 * set of distinct words that is not set(seq) (CJK words leave it, their
 * pieces join it), and it has no None to fall back on.  Serving both from
 * the words() pass would need ch_t as UCS-4 (twice the buffer) and a second
 * entry that takes pre-split words: not done.  What they share, the word
 * rule (strip punct, keep 3 to 12 characters, skip longer ones), is one
 * copy in core.h (ss_strip_punct, ss_word_fate, ss_skip_length).
 *
 * The Python code in spamscore/features/tokens.py is the reference; these
 * functions give exactly the same results (tests/test_bodyscan.py,
 * tests/test_bodyscan.py).  words() takes a str of one or
 * two bytes a character whose characters all have a known fate under
 * normalize(), str.lower() and str.split() (CHAR_MAP up to U+00FF, then
 * map_wide: white space, zero-width characters and common punctuation and
 * symbols); for any other input it returns None and the caller runs the
 * Python code.  No global mutable state.
 *
 *   words(text, prefix, punct, pair_prefix, max_pair_words) -> set or None
 *       what tokens.words(text, prefix, bigrams=...) gives for a ``text``
 *       already cut to max_chars: in one pass, the words of
 *       normalize(text).lower().split(), each distinct word once (a table
 *       of spans of the normalized characters: no str per occurrence),
 *       stripped of the characters of ``punct`` at both ends; 3-12
 *       characters give prefix + word, more give prefix + "skip:" + first
 *       character + " " + length rounded down to tens.  With
 *       ``pair_prefix`` (a str; None: no pairs), adjacent kept words among
 *       the first ``max_pair_words`` words also give pair_prefix + "a b",
 *       each distinct pair made once (by the ids of the stripped words).
 *       None when text holds a character that maps to BAIL (CJK, for one,
 *       which the Python code segments), when prefix, pair_prefix or punct
 *       is not an ASCII str, when max_pair_words < 0, or when a hash probe
 *       runs long (crafted collisions): the Python code then does the work.
 *   word_hashes(text, prefix, punct, pair_prefix, max_pair_words) -> bytes or None
 *       the same tokens as words(), as the int64 token hash of each
 *       (spamscore/native/core.h: SipHash-1-3 of its UTF-8, fixed key; one per
 *       distinct token, in no set order), without making the str: the
 *       scoring path looks them up by hash
 *       (spamscore.model.TokenNB.clue_rows_sums_h).  None where words() is.
 *   letters(texts, max_chars) -> (letters, upper) or None
 *       the ASCII letters and capitals of
 *       "\n".join([t[:max_chars] for t in texts])[:max_chars] (what
 *       body_tokens counts in its UTF-8 encoding: other characters encode
 *       to bytes >= 0x80, or '?' for a lone surrogate); None when texts is
 *       not a list of str or max_chars < 0.
 *
 * Tables: open addressing with linear probing, at most half full (doubled
 * as they fill), so every probe sequence reaches a free slot; a probe longer
 * than MAX_PROBE slots gives up (None), which keeps the work linear in the
 * text whatever the words are.
 */
#include "core.h"

#define MAX_PROBE 96
/* texts longer than this go to the Python code (ids and offsets fit int32) */
#define MAX_TEXT ((Py_ssize_t)1 << 30)

/* What words() makes of each character up to U+00FF (map_wide: above), as
 * normalize(), str.lower() and str.split() of tokens.words do: the
 * lower-cased character (NFKC first: U+00AA -> a, U+00B2 -> 2, ...), SPC
 * for white space (ASCII's, U+0085, and U+00A0, which NFKC makes a space),
 * DEL for U+00AD (a zero-width character normalize() removes), BAIL for
 * what NFKC turns into more than one character or a combining mark
 * (U+00A8, U+00B4, U+00BC...) or a character outside Latin-1 (U+00B5):
 * the Python code takes such a text.  No two of these characters compose
 * under NFKC (none is a combining mark), so the mapping is per character.
 * Generated from unicodedata (tests/test_bodyscan.py checks every entry).
 */
#define SPC 0x10000u
#define DEL 0x10001u
#define BAIL 0x10002u
static const uint32_t CHAR_MAP[256] = {
       0,    1,    2,    3,    4,    5,    6,    7,    8,  SPC,  SPC,  SPC,  SPC,  SPC,   14,   15,  /* 0x00 */
      16,   17,   18,   19,   20,   21,   22,   23,   24,   25,   26,   27,  SPC,  SPC,  SPC,  SPC,  /* 0x10 */
     SPC,   33,   34,   35,   36,   37,   38,   39,   40,   41,   42,   43,   44,   45,   46,   47,  /* 0x20 */
      48,   49,   50,   51,   52,   53,   54,   55,   56,   57,   58,   59,   60,   61,   62,   63,  /* 0x30 */
      64,   97,   98,   99,  100,  101,  102,  103,  104,  105,  106,  107,  108,  109,  110,  111,  /* 0x40 */
     112,  113,  114,  115,  116,  117,  118,  119,  120,  121,  122,   91,   92,   93,   94,   95,  /* 0x50 */
      96,   97,   98,   99,  100,  101,  102,  103,  104,  105,  106,  107,  108,  109,  110,  111,  /* 0x60 */
     112,  113,  114,  115,  116,  117,  118,  119,  120,  121,  122,  123,  124,  125,  126,  127,  /* 0x70 */
     128,  129,  130,  131,  132,  SPC,  134,  135,  136,  137,  138,  139,  140,  141,  142,  143,  /* 0x80 */
     144,  145,  146,  147,  148,  149,  150,  151,  152,  153,  154,  155,  156,  157,  158,  159,  /* 0x90 */
     SPC,  161,  162,  163,  164,  165,  166,  167, BAIL,  169,   97,  171,  172,  DEL,  174, BAIL,  /* 0xa0 */
     176,  177,   50,   51, BAIL, BAIL,  182,  183, BAIL,   49,  111,  187, BAIL, BAIL, BAIL,  191,  /* 0xb0 */
     224,  225,  226,  227,  228,  229,  230,  231,  232,  233,  234,  235,  236,  237,  238,  239,  /* 0xc0 */
     240,  241,  242,  243,  244,  245,  246,  215,  248,  249,  250,  251,  252,  253,  254,  223,  /* 0xd0 */
     224,  225,  226,  227,  228,  229,  230,  231,  232,  233,  234,  235,  236,  237,  238,  239,  /* 0xe0 */
     240,  241,  242,  243,  244,  245,  246,  247,  248,  249,  250,  251,  252,  253,  254,  255,  /* 0xf0 */
};

#define FNV_PRIME 0x100000001b3ULL
#define FNV_BASIS 0xcbf29ce484222325ULL

/* the characters of the words: UCS-2 (what words() takes is at most that) */
typedef Py_UCS2 ch_t;

/* U+2010..U+2BFF: 1 where the character is a word character that normalize()
 * and str.lower() leave as it is (NFKC-stable, no case, not a combining
 * mark, not white space, not a format or unassigned character, no
 * composition with what comes before it); generated from unicodedata
 * (tests/test_bodyscan.py checks every character of the BMP). */
#define WIDE_LO 0x2010
#define WIDE_HI 0x2C00
static const uint32_t WIDE_WORD[(WIDE_HI - WIDE_LO + 31) / 32] = {
    0x008fff7du, 0xfc7faf27u, 0x00007f7fu, 0x00000000u, 0xfeff0000u, 0x0001ffffu,
    0x00000000u, 0x01100000u, 0x42a8c190u, 0xfc1e0400u, 0x00000000u, 0x0df70000u,
    0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x4fffffffu, 0xfffffffeu,
    0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xf9ffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xffffffffu, 0xffffffffu, 0x007fffffu, 0x07ff0000u, 0x00000000u, 0x00000000u,
    0x00000000u, 0x00000000u, 0xf8000000u, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xffffffffu, 0xefffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffff8fu,
    0xffffffffu, 0xffffffffu, 0xffffefffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
    0xffffffffu, 0xffffffcfu, 0xffffffbfu, 0xffffffffu, 0xffffffffu, 0x0000ffffu,
};

/* CHAR_MAP for a character above U+00FF */
static inline uint32_t map_wide(Py_UCS4 c)
{
    switch (c) {
    case 0x1680: case 0x2000: case 0x2001: case 0x2002: case 0x2003: case 0x2004: case 0x2005:
    case 0x2006: case 0x2007: case 0x2008: case 0x2009: case 0x200A: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return SPC;  /* white space, or a space after NFKC */
    case 0x200B: case 0x200C: case 0x200D: case 0x2060: case 0xFEFF: case 0x180E:
        return DEL;  /* tokens._ZERO_WIDTH */
    default:
        break;
    }
    if (c >= WIDE_LO && c < WIDE_HI && (WIDE_WORD[(c - WIDE_LO) / 32] >> ((c - WIDE_LO) % 32)) & 1u)
        return c;
    return BAIL;
}

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* FNV-1a, then a full mix (words are short: a character at a time is fine) */
static inline uint32_t hash_chars(const ch_t *s, Py_ssize_t n)
{
    uint64_t h = FNV_BASIS;
    for (Py_ssize_t i = 0; i < n; i++)
        h = (h ^ s[i]) * FNV_PRIME;
    return (uint32_t)mix64(h ^ (uint64_t)n);
}

static inline int same_chars(const ch_t *a, const ch_t *b, Py_ssize_t n)
{
    if (n > 8)
        return memcmp(a, b, (size_t)n * sizeof(ch_t)) == 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* a distinct span of the words' characters */
typedef struct {
    int32_t off, len;
} span_t;

typedef struct {
    uint32_t hash;
    int32_t id;  /* -1: free */
} slot_t;

/* a set of distinct spans: spans[id] with a hash table over them */
typedef struct {
    const ch_t *text;
    slot_t *slots;
    span_t *spans;
    uint32_t *hashes;
    Py_ssize_t cap;     /* slots: a power of two */
    Py_ssize_t count;   /* spans in use */
    Py_ssize_t room;    /* spans allocated */
} spanset_t;

static int spanset_init(spanset_t *s, const ch_t *text, Py_ssize_t cap)
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

static void spanset_free(spanset_t *s)
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
static Py_ssize_t spanset_add(spanset_t *s, Py_ssize_t off, Py_ssize_t len, uint32_t h, int *added)
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

/* the str of the concatenation of up to 4 runs of characters (in its
 * canonical form: the narrowest kind that holds them, ASCII when all are,
 * which str equality needs) */
static PyObject *make_str(const ch_t *a, Py_ssize_t la, const ch_t *b, Py_ssize_t lb,
                          const ch_t *c, Py_ssize_t lc, const ch_t *d, Py_ssize_t ld)
{
    const ch_t *runs[4] = {a, b, c, d};
    Py_ssize_t lens[4] = {la, lb, lc, ld};
    ch_t maxc = 0;
    for (int r = 0; r < 4; r++)
        for (Py_ssize_t i = 0; i < lens[r]; i++)
            maxc |= runs[r][i];
    PyObject *s = PyUnicode_New(la + lb + lc + ld, maxc < 128 ? 127 : maxc < 256 ? 255 : 65535);
    if (s == NULL)
        return NULL;
    if (PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND) {
        Py_UCS1 *o = PyUnicode_1BYTE_DATA(s);
        for (int r = 0; r < 4; r++)
            for (Py_ssize_t i = 0; i < lens[r]; i++)
                *o++ = (Py_UCS1)runs[r][i];
    } else {
        Py_UCS2 *o = PyUnicode_2BYTE_DATA(s);
        for (int r = 0; r < 4; r++) {
            if (lens[r])
                memcpy(o, runs[r], (size_t)lens[r] * sizeof(ch_t));
            o += lens[r];
        }
    }
    return s;
}

/* an ASCII str as characters (PyMem_Free it); NULL with an exception set on error */
static ch_t *to_chars(PyObject *ascii)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(ascii);
    ch_t *out = PyMem_Malloc((size_t)(n + 1) * sizeof(ch_t));
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    const Py_UCS1 *p = PyUnicode_1BYTE_DATA(ascii);
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = p[i];
    return out;
}

/* Where words() puts its tokens: a set of str (``set``), or, for
 * word_hashes(), the token hash each str would have (ss_token_hash of its
 * UTF-8 bytes, spamscore/native/core.h; the reference is
 * spamscore._native.token_hash), appended to ``h`` (the str itself never
 * made).  The characters here are never surrogates (map_wide bails on
 * them), so their UTF-8 is the plain one. */
typedef struct {
    PyObject *set;
    int64_t *h;
    Py_ssize_t n, cap;
    unsigned char *scratch;
    Py_ssize_t scratch_cap;
} sink_t;

static int sink_emit(sink_t *k, const ch_t *a, Py_ssize_t la, const ch_t *b, Py_ssize_t lb,
                     const ch_t *c, Py_ssize_t lc, const ch_t *d, Py_ssize_t ld)
{
    if (k->set != NULL)
        return ss_set_add_new(k->set, make_str(a, la, b, lb, c, lc, d, ld));
    const ch_t *runs[4] = {a, b, c, d};
    Py_ssize_t lens[4] = {la, lb, lc, ld}, total = la + lb + lc + ld;
    Py_ssize_t room = 3 * total;  /* UTF-8: at most 3 bytes a BMP character */
    if (room > k->scratch_cap) {
        unsigned char *p = PyMem_Realloc(k->scratch, (size_t)(room > 64 ? room : 64));
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        k->scratch = p;
        k->scratch_cap = room > 64 ? room : 64;
    }
    unsigned char *o = k->scratch;
    for (int r = 0; r < 4; r++)
        for (Py_ssize_t i = 0; i < lens[r]; i++) {
            ch_t ch = runs[r][i];
            if (ch < 0x80)
                *o++ = (unsigned char)ch;
            else if (ch < 0x800) {
                *o++ = (unsigned char)(0xC0 | (ch >> 6));
                *o++ = (unsigned char)(0x80 | (ch & 0x3F));
            } else {
                *o++ = (unsigned char)(0xE0 | (ch >> 12));
                *o++ = (unsigned char)(0x80 | ((ch >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (ch & 0x3F));
            }
        }
    if (ss_grow((void **)&k->h, &k->cap, k->n + 1, sizeof(int64_t), 256) < 0)
        return -1;
    k->h[k->n++] = ss_token_hash(k->scratch, (size_t)(o - k->scratch));
    return 0;
}

static void sink_free(sink_t *k)
{
    PyMem_Free(k->h);
    PyMem_Free(k->scratch);
    k->h = NULL;
    k->scratch = NULL;
}

static int is_ascii_str(PyObject *o)
{
    return PyUnicode_Check(o) && PyUnicode_IS_ASCII(o);
}

static Py_ssize_t pow2_at_least(Py_ssize_t n)
{
    Py_ssize_t c = 16;
    while (c < n)
        c *= 2;
    return c;
}

/* words() (as_hashes 0: a set of str) and word_hashes() (1: bytes of the
 * int64 token hash of each distinct token); the same tokens, in one pass. */
static PyObject *words_impl(PyObject *args, int as_hashes)
{
    PyObject *text, *prefix, *punct, *pair_prefix;
    Py_ssize_t max_pair_words;
    if (!PyArg_ParseTuple(args, as_hashes ? "OOOOn:word_hashes" : "OOOOn:words", &text, &prefix, &punct,
                          &pair_prefix, &max_pair_words))
        return NULL;
    int pairs = pair_prefix != Py_None;
#if PY_VERSION_HEX < 0x030C0000  /* (a no-op, and deprecated, from 3.12) */
    if (PyUnicode_Check(text) && PyUnicode_READY(text) < 0)
        return NULL;
#endif
    if (!PyUnicode_Check(text) || PyUnicode_KIND(text) == PyUnicode_4BYTE_KIND
        || !is_ascii_str(prefix) || !is_ascii_str(punct)
        || (pairs && !is_ascii_str(pair_prefix)) || max_pair_words < 0)
        Py_RETURN_NONE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > MAX_TEXT)
        Py_RETURN_NONE;
    int kind = PyUnicode_KIND(text);
    const Py_UCS1 *src1 = kind == PyUnicode_1BYTE_KIND ? PyUnicode_1BYTE_DATA(text) : NULL;
    const Py_UCS2 *src2 = kind == PyUnicode_2BYTE_KIND ? PyUnicode_2BYTE_DATA(text) : NULL;
    unsigned char is_punct[128];
    (void)ss_punct_table(punct, is_punct);  /* (an ASCII str: checked above) */

    PyObject *out = as_hashes ? NULL : PySet_New(NULL), *result = NULL;
    ch_t *low = NULL, *pre = NULL, *ppre = NULL;
    int32_t *seq_ids = NULL, *kept_of = NULL;
    uint64_t *pair_keys = NULL;
    spanset_t ws, ks;
    sink_t sink;
    memset(&ws, 0, sizeof(ws));
    memset(&ks, 0, sizeof(ks));
    memset(&sink, 0, sizeof(sink));
    sink.set = out;
    if (!as_hashes && out == NULL)
        return NULL;
    if (n == 0) {
        if (as_hashes)
            return PyBytes_FromStringAndSize(NULL, 0);
        return out;
    }
    Py_ssize_t lpre = PyUnicode_GET_LENGTH(prefix), lppre = pairs ? PyUnicode_GET_LENGTH(pair_prefix) : 0;
    if ((pre = to_chars(prefix)) == NULL || (pairs && (ppre = to_chars(pair_prefix)) == NULL))
        goto fail;

    /* the words' characters, normalized and lower-cased, one word after the other */
    low = PyMem_Malloc((size_t)n * sizeof(ch_t));
    if (low == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    /* at most (n + 1) / 2 words; the first max_pair_words of them are kept in order */
    Py_ssize_t max_words = (n + 1) / 2;
    Py_ssize_t m_cap = pairs ? (max_pair_words < max_words ? max_pair_words : max_words) : 0;
    if (m_cap > 0) {
        seq_ids = PyMem_Malloc((size_t)m_cap * sizeof(int32_t));
        if (seq_ids == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
    }
    if (spanset_init(&ws, low, pow2_at_least(max_words < 512 ? 2 * max_words : 1024)) < 0)
        goto fail;
    /* normalize, lower, split and dedupe in one pass */
    Py_ssize_t nseq = 0, w = 0, start = 0;
    uint64_t h = FNV_BASIS;
    for (Py_ssize_t i = 0; i <= n; i++) {
        uint32_t m;
        if (i == n)
            m = SPC;
        else {
            Py_UCS4 c = src1 != NULL ? src1[i] : src2[i];
            m = c < 256 ? CHAR_MAP[c] : map_wide(c);
        }
        if (m < 0x10000u) {
            low[w++] = (ch_t)m;
            h = (h ^ m) * FNV_PRIME;
            continue;
        }
        if (m == DEL)
            continue;
        if (m == BAIL)
            goto bail;
        if (w > start) {  /* white space after a word */
            int added;
            Py_ssize_t len = w - start;
            Py_ssize_t id = spanset_add(&ws, start, len, (uint32_t)mix64(h ^ (uint64_t)len), &added);
            if (id == -1)
                goto fail;
            if (id == -2)
                goto bail;
            if (nseq < m_cap)
                seq_ids[nseq] = (int32_t)id;
            nseq++;
        }
        start = w;
        h = FNV_BASIS;
    }
    if (nseq == 0)
        goto finish;
    /* each distinct word, stripped */
    kept_of = PyMem_Malloc((size_t)ws.count * sizeof(int32_t));
    if (kept_of == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    if (spanset_init(&ks, low, pow2_at_least(ws.count < 512 ? 2 * ws.count : 1024)) < 0)
        goto fail;
    for (Py_ssize_t id = 0; id < ws.count; id++) {
        Py_ssize_t s = ws.spans[id].off, e = s + ws.spans[id].len;
        ss_strip_punct(is_punct, PyUnicode_2BYTE_KIND, low, &s, &e);  /* (ch_t is Py_UCS2) */
        Py_ssize_t len = e - s;
        int fate = ss_word_fate(len);
        kept_of[id] = -1;
        if (fate == SS_WORD_SKIP) {
            /* "skip:" + first character + " " + len // 10 * 10 */
            ch_t tail[40];
            char digits[24];
            int nd = snprintf(digits, sizeof(digits), "%zd", ss_skip_length(len));
            if (nd <= 0 || nd >= (int)sizeof(digits)) {
                PyErr_SetString(PyExc_SystemError, "skip token");
                goto fail;
            }
            static const char skip[] = "skip:";
            int lt = 0;
            for (int k = 0; k < 5; k++)
                tail[lt++] = (ch_t)skip[k];
            tail[lt++] = low[s];
            tail[lt++] = ' ';
            for (int k = 0; k < nd; k++)
                tail[lt++] = (ch_t)digits[k];
            if (sink_emit(&sink, pre, lpre, tail, lt, NULL, 0, NULL, 0) < 0)
                goto fail;
        } else if (fate == SS_WORD_KEEP) {
            int added;
            Py_ssize_t kid = spanset_add(&ks, s, len, hash_chars(low + s, len), &added);
            if (kid == -1)
                goto fail;
            if (kid == -2)
                goto bail;
            kept_of[id] = (int32_t)kid;
            if (added && sink_emit(&sink, pre, lpre, low + s, len, NULL, 0, NULL, 0) < 0)
                goto fail;
        }
    }
    /* pairs of adjacent kept words among the first max_pair_words */
    if (pairs && nseq > 1 && m_cap > 1) {
        Py_ssize_t m = nseq < m_cap ? nseq : m_cap;
        Py_ssize_t pcap = pow2_at_least(2 * m);
        uint64_t pmask = (uint64_t)pcap - 1;
        pair_keys = PyMem_Malloc((size_t)pcap * sizeof(uint64_t));
        if (pair_keys == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        memset(pair_keys, 0xff, (size_t)pcap * sizeof(uint64_t));
        static const ch_t space[1] = {' '};
        int32_t prev = -1;
        for (Py_ssize_t k = 0; k < m; k++) {
            int32_t v = kept_of[seq_ids[k]];
            if (v >= 0 && prev >= 0) {
                uint64_t key = ((uint64_t)(uint32_t)prev << 32) | (uint32_t)v;
                uint64_t j = mix64(key) & pmask;
                int probes = 0, seen = 0;
                while (pair_keys[j] != UINT64_MAX) {
                    if (pair_keys[j] == key) {
                        seen = 1;
                        break;
                    }
                    if (++probes > MAX_PROBE)
                        goto bail;
                    j = (j + 1) & pmask;
                }
                if (!seen) {
                    pair_keys[j] = key;  /* at most m keys in 2m+ slots */
                    span_t a = ks.spans[prev], b = ks.spans[v];
                    if (sink_emit(&sink, ppre, lppre, low + a.off, a.len, space, 1, low + b.off, b.len) < 0)
                        goto fail;
                }
            }
            prev = v;
        }
    }
finish:
    if (as_hashes) {
        result = PyBytes_FromStringAndSize((const char *)sink.h, sink.n * (Py_ssize_t)sizeof(int64_t));
        if (result == NULL)
            goto fail;
    } else {
        result = out;
        out = NULL;
    }
    goto done;
bail:
    result = Py_None;
    Py_INCREF(result);
    goto done;
fail:
    result = NULL;
done:
    Py_XDECREF(out);
    PyMem_Free(low);
    PyMem_Free(pre);
    PyMem_Free(ppre);
    PyMem_Free(seq_ids);
    PyMem_Free(kept_of);
    PyMem_Free(pair_keys);
    spanset_free(&ws);
    spanset_free(&ks);
    sink_free(&sink);
    return result;
}

static PyObject *words(PyObject *self, PyObject *args)
{
    (void)self;
    return words_impl(args, 0);
}

static PyObject *word_hashes(PyObject *self, PyObject *args)
{
    (void)self;
    return words_impl(args, 1);
}

static PyObject *letters(PyObject *self, PyObject *args)
{
    PyObject *texts;
    Py_ssize_t max_chars;
    (void)self;
    if (!PyArg_ParseTuple(args, "On:letters", &texts, &max_chars))
        return NULL;
    if (!PyList_Check(texts) || max_chars < 0)
        Py_RETURN_NONE;
    Py_ssize_t nt = PyList_GET_SIZE(texts);
    for (Py_ssize_t k = 0; k < nt; k++) {
        PyObject *t = PyList_GET_ITEM(texts, k);
        if (!PyUnicode_Check(t))
            Py_RETURN_NONE;
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(t) < 0)
            return NULL;
#endif
    }
    Py_ssize_t budget = max_chars, n_letters = 0, n_upper = 0;
    for (Py_ssize_t k = 0; k < nt && budget > 0; k++) {
        if (k > 0 && --budget <= 0)  /* the "\n" between texts */
            break;
        PyObject *t = PyList_GET_ITEM(texts, k);
        Py_ssize_t n = PyUnicode_GET_LENGTH(t);
        if (n > budget)
            n = budget;
        budget -= n;
        int kind = PyUnicode_KIND(t);
        const void *data = PyUnicode_DATA(t);
        if (kind == PyUnicode_1BYTE_KIND) {
            const unsigned char *p = data;
            for (Py_ssize_t i = 0; i < n; i++) {
                unsigned char c = p[i] | 0x20;
                n_letters += (c >= 'a' && c <= 'z');
                n_upper += (p[i] >= 'A' && p[i] <= 'Z');
            }
        } else {
            for (Py_ssize_t i = 0; i < n; i++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, i);
                if (c < 128) {
                    n_letters += ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
                    n_upper += (c >= 'A' && c <= 'Z');
                }
            }
        }
    }
    return Py_BuildValue("(nn)", n_letters, n_upper);
}

/* char_classes() -> (word_from, word_to, spaces, deleted): every BMP
 * character words() takes, by what it makes of it: word characters (each
 * becomes the character at the same place of word_to), white space, and
 * characters it drops.  Any other character makes it decline the text.
 * spamscore.features.tokens checks these against the running interpreter's
 * unicodedata at import (normalize() and str.lower() of each), so that the
 * tables, generated from one Unicode version, are used under any other only
 * where they still agree with the Python code. */
static PyObject *char_classes(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    Py_UCS4 *buf = PyMem_Malloc((size_t)4 * 0x10000 * sizeof(Py_UCS4));
    if (buf == NULL)
        return PyErr_NoMemory();
    Py_UCS4 *from = buf, *to = buf + 0x10000, *sp = buf + 2 * 0x10000, *del = buf + 3 * 0x10000;
    Py_ssize_t nw = 0, ns = 0, nd = 0;
    for (Py_UCS4 c = 0; c < 0x10000; c++) {
        uint32_t m = c < 256 ? CHAR_MAP[c] : map_wide(c);
        if (m == SPC)
            sp[ns++] = c;
        else if (m == DEL)
            del[nd++] = c;
        else if (m < 0x10000u) {
            from[nw] = c;
            to[nw++] = m;
        }
    }
    PyObject *r = Py_BuildValue("(NNNN)", PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, from, nw),
                                PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, to, nw),
                                PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, sp, ns),
                                PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, del, nd));
    PyMem_Free(buf);
    return r;
}

/* ------------------------------------------------------------------------
 * word_tokens(raw, seq, prefix, punct, pair_prefix, max_pair_words) -> set
 * (spamscore._core.speedups.word_tokens: the name it has always had)
 *
 * The per-word loop of spamscore.features.tokens.words (its reference,
 * _word_tokens, is the Python code): for each distinct word of ``raw`` (a
 * set of str), strip the characters of ``punct`` (ASCII only) from both
 * ends; 3-12 characters: prefix + word; more: prefix + "skip:" + first
 * character + " " + length rounded down to tens.  With ``pair_prefix`` (a
 * str; None: no pairs), adjacent kept words among the first
 * ``max_pair_words`` items of ``seq`` (a list of str) also give
 * pair_prefix + "a b".
 */

/* prefix + a + sep + b (sep and b may be NULL) in one allocation */
static PyObject *join3(PyObject *prefix, PyObject *a, const char *sep, PyObject *b)
{
    Py_ssize_t lp = PyUnicode_GET_LENGTH(prefix), la = PyUnicode_GET_LENGTH(a);
    Py_ssize_t ls = sep ? (Py_ssize_t)strlen(sep) : 0, lb = b ? PyUnicode_GET_LENGTH(b) : 0;
    Py_UCS4 maxc = PyUnicode_MAX_CHAR_VALUE(prefix);
    if (PyUnicode_MAX_CHAR_VALUE(a) > maxc) maxc = PyUnicode_MAX_CHAR_VALUE(a);
    if (b && PyUnicode_MAX_CHAR_VALUE(b) > maxc) maxc = PyUnicode_MAX_CHAR_VALUE(b);
    PyObject *r = PyUnicode_New(lp + la + ls + lb, maxc);
    if (r == NULL)
        return NULL;
    Py_ssize_t at = 0;
    if (lp && PyUnicode_CopyCharacters(r, at, prefix, 0, lp) < 0) goto fail;
    at += lp;
    if (la && PyUnicode_CopyCharacters(r, at, a, 0, la) < 0) goto fail;
    at += la;
    for (Py_ssize_t i = 0; i < ls; i++)
        PyUnicode_WRITE(PyUnicode_KIND(r), PyUnicode_DATA(r), at + i, (Py_UCS4)(unsigned char)sep[i]);
    at += ls;
    if (lb && PyUnicode_CopyCharacters(r, at, b, 0, lb) < 0) goto fail;
    return r;
fail:
    Py_DECREF(r);
    return NULL;
}

PyObject *ss_word_tokens(PyObject *self, PyObject *args)
{
    PyObject *raw, *seq, *prefix, *punct, *pair_prefix;
    Py_ssize_t max_pair_words;
    if (!PyArg_ParseTuple(args, "O!OUOOn:word_tokens", &PySet_Type, &raw, &seq, &prefix, &punct,
                          &pair_prefix, &max_pair_words))
        return NULL;
    unsigned char is_punct[128];
    if (ss_punct_table(punct, is_punct) < 0) {
        PyErr_SetString(PyExc_TypeError, "punct must be an ASCII str");
        return NULL;
    }
    int pairs = pair_prefix != Py_None;
    if (pairs && (!PyUnicode_Check(pair_prefix) || !PyList_Check(seq))) {
        PyErr_SetString(PyExc_TypeError, "pairs need a str pair_prefix and a list seq");
        return NULL;
    }
    PyObject *out = PySet_New(NULL), *kept = pairs ? PyDict_New() : NULL, *it = NULL, *w = NULL;
    if (out == NULL || (pairs && kept == NULL) || (it = PyObject_GetIter(raw)) == NULL)
        goto fail;
    while ((w = PyIter_Next(it)) != NULL) {
        if (!PyUnicode_Check(w)) {
            PyErr_SetString(PyExc_TypeError, "words must be str");
            goto fail;
        }
        Py_ssize_t start = 0, end = PyUnicode_GET_LENGTH(w);
        ss_strip_punct(is_punct, PyUnicode_KIND(w), PyUnicode_DATA(w), &start, &end);
        Py_ssize_t n = end - start;
        int fate = ss_word_fate(n);
        if (fate == SS_WORD_SKIP) {
            PyObject *first = PyUnicode_Substring(w, start, start + 1);
            if (first == NULL)
                goto fail;
            PyObject *tok = PyUnicode_FromFormat("%Uskip:%U %zd", prefix, first, ss_skip_length(n));
            Py_DECREF(first);
            if (ss_set_add_new(out, tok) < 0)
                goto fail;
        } else if (fate == SS_WORD_KEEP) {
            PyObject *v = PyUnicode_Substring(w, start, end);
            if (v == NULL)
                goto fail;
            PyObject *tok = PyUnicode_GET_LENGTH(prefix) ? join3(prefix, v, NULL, NULL) : (Py_INCREF(v), v);
            if (ss_set_add_new(out, tok) < 0 || (pairs && PyDict_SetItem(kept, w, v) < 0)) {
                Py_DECREF(v);
                goto fail;
            }
            Py_DECREF(v);
        }
        Py_CLEAR(w);
    }
    if (PyErr_Occurred())
        goto fail;
    Py_CLEAR(it);
    if (pairs && PyList_GET_SIZE(seq) > 1) {
        Py_ssize_t m = PyList_GET_SIZE(seq);
        if (m > max_pair_words)
            m = max_pair_words;
        PyObject *prev = NULL;  /* borrowed from kept */
        for (Py_ssize_t i = 0; i < m; i++) {
            PyObject *item = PyList_GET_ITEM(seq, i);
            if (!PyUnicode_CheckExact(item)) {
                PyErr_SetString(PyExc_TypeError, "seq must hold str");
                goto fail;
            }
            PyObject *v = PyDict_GetItemWithError(kept, item);
            if (v == NULL && PyErr_Occurred())
                goto fail;
            if (v != NULL && prev != NULL && ss_set_add_new(out, join3(pair_prefix, prev, " ", v)) < 0)
                goto fail;
            prev = v;
        }
    }
    Py_XDECREF(kept);
    return out;
fail:
    Py_XDECREF(out);
    Py_XDECREF(kept);
    Py_XDECREF(it);
    Py_XDECREF(w);
    return NULL;
}

static PyMethodDef methods[] = {
    {"char_classes", char_classes, METH_NOARGS,
     "char_classes() -> (word_from, word_to, spaces, deleted): the BMP characters words() takes"},
    {"words", words, METH_VARARGS,
     "words(text, prefix, punct, pair_prefix, max_pair_words) -> set or None: "
     "the word tokens of an ASCII text (see the module doc)"},
    {"word_hashes", word_hashes, METH_VARARGS,
     "word_hashes(text, prefix, punct, pair_prefix, max_pair_words) -> bytes or None: "
     "the token hash (spamscore._native.token_hash, native int64) of each token words() would give, without the str"},
    {"letters", letters, METH_VARARGS,
     "letters(texts, max_chars) -> (letters, upper) or None: the ASCII letters and capitals "
     "of \"\\n\".join([t[:max_chars] for t in texts])[:max_chars]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "spamscore._core.bodyscan",
    "Compiled body word tokens (optional; spamscore.features.tokens is the reference).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyObject *ss_init_bodyscan(void)
{
    PyObject *m = PyModule_Create(&module);
    /* the Unicode version the tables above were generated from (Python
     * 3.11's unicodedata; informational: tokens.py checks char_classes()
     * against the running interpreter's unicodedata instead) */
    if (m != NULL && PyModule_AddStringConstant(m, "UNIDATA_VERSION", "14.0.0") < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
