/* The per-word stage of the body words (bodystage.h), compiled for each
 * character width it serves: Py_UCS2 (the _u2 functions: the text pass of
 * bodyscan.words/word_hashes, and speedups.word_tokens when its words fit
 * two bytes a character) and Py_UCS4 (_u4: speedups.word_tokens otherwise).
 */
#include "core.h"
#include "bodyscan.h"

#define SS_CH Py_UCS2
#define SS_W u2
#include "bodystage.h"
#undef SS_CH
#undef SS_W

#define SS_CH Py_UCS4
#define SS_W u4
#include "bodystage.h"
#undef SS_CH
#undef SS_W
