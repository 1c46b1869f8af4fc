/* Optional compiled helpers for the body words of spamscore.features.tokens:
 * the concern spamscore._core.bodyscan, and the per-word stage it shares
 * with speedups.word_tokens (wordtokens.c, beside this concern's files).
 *
 * One per-word stage, two ways in.  words() and word_hashes() fuse
 * normalize + lower + split + dedupe into one pass over the text's
 * characters as UCS-2 (ch_t; bodywords.c), with their own tables (CHAR_MAP,
 * map_wide), and decline (None) whatever they cannot map (CJK, for one).
 * What comes after, the per-word stage (strip the punctuation, keep 3 to 12
 * characters or make a skip token, pair adjacent kept words among the first
 * max_pair_words, each distinct token once, to a sink: a set of str or the
 * token hashes), is written once, in bodystage.h, over a character type,
 * and compiled by bodystage.c for Py_UCS2 and Py_UCS4.  words() runs it as
 * UCS-2 on the distinct words its pass found.  speedups.word_tokens, for
 * the texts words() leaves to Python, takes the words of Python's split (any
 * str kind: astral characters after NFKC, the pieces of CJK segmentation;
 * a set of distinct words that is not set(seq): CJK words leave it, their
 * pieces join it) and only converts them: it copies them into one buffer
 * (UCS-2 when they fit, else UCS-4), looks the sequence's words up among
 * the distinct ones by their characters, and runs the same stage.  The word
 * rule itself (ss_strip_punct, ss_word_fate, ss_skip_length) is in core.h.
 * The text pass stays UCS-2: as UCS-4 its buffer would double for the
 * common text, and only the pre-split words can hold astral characters.
 *
 * The Python code in spamscore/features/tokens.py is the reference; these
 * functions give exactly the same results (tests/test_bodyscan.py,
 * tests/test_word_tokens.py).  words() takes a str of one or
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
 *       runs long (crafted collisions): the Python code then does the work
 *       (its split, then speedups.word_tokens, or _word_tokens after a
 *       None from that too).
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
 * The concern's files: bodyscan.c (this one: the method table, letters and
 * char_classes), bodywords.c (words and word_hashes: the one pass over the
 * text), bodystage.h with bodystage.c (the per-word stage, for each width),
 * bodyspans.c (the width-free half of the sets of distinct spans the pass
 * and the stage keep their words in), bodysink.c (the width-free half of
 * where the tokens go: a set of str, or their token hashes), bodychars.h
 * (the character tables) and bodyscan.h (what the .c files, and
 * wordtokens.c, share).
 */
#include "core.h"
#include "bodyscan.h"
#include "bodychars.h"

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

static PyMethodDef methods[] = {
    {"char_classes", char_classes, METH_NOARGS,
     "char_classes() -> (word_from, word_to, spaces, deleted): the BMP characters words() takes"},
    {"words", ss_words, METH_VARARGS,
     "words(text, prefix, punct, pair_prefix, max_pair_words) -> set or None: "
     "the word tokens of an ASCII text (see the module doc)"},
    {"word_hashes", ss_word_hashes, METH_VARARGS,
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
