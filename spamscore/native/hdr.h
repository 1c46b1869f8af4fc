/* What the two files of the header concern (spamscore._core.hdrscan) share:
 * hdrscan.c (the loop of features.tokens.header_tokens) and addrscan.c
 * (address_tokens). */
#ifndef SPAMSCORE_HDR_H
#define SPAMSCORE_HDR_H

#include "core.h"

#define VALUE_MAX 2000  /* value[:2000] */

/* address_tokens(name, value, words, registered_domain) (addrscan.c) */
PyObject *ss_address_tokens(PyObject *self, PyObject *args);
/* fill addrscan.c's table of the characters of an address's local part (once, at import) */
void ss_address_init(void);

#endif
