/* The character tables of the concern spamscore._core.bodyscan: what
 * words() (bodywords.c) makes of each character, and so what char_classes()
 * (bodyscan.c) reports of it.  Static, as they were in one file: each of
 * those two files (the only ones that include this header) has its own copy
 * of the same tables, and words() reads its own copy inline.
 */
#ifndef SPAMSCORE_BODYCHARS_H
#define SPAMSCORE_BODYCHARS_H

#include "core.h"

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

#endif
