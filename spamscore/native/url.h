/* What the files of the URL concern (spamscore._core.urlscan) share:
 * urlscan.c (URL discovery and the method table), urltokens.c (the tokens
 * of one URL) and urlfeatures.c (the url_features loop).
 */
#ifndef SPAMSCORE_URL_H
#define SPAMSCORE_URL_H

#include "core.h"

/* urltokens.c: url_tokens of one URL, the C path for an ASCII str, else
 * fallback(url) (url_features calls it for each distinct URL) */
PyObject *ss_url_tokens_of(PyObject *url, PyObject *regdom, PyObject *shorteners, PyObject *fallback);

/* the functions of urlscan's method table of the same names without "ss_":
 * urltokens.c, urlfeatures.c */
PyObject *ss_url_tokens(PyObject *self, PyObject *args);
PyObject *ss_url_features(PyObject *self, PyObject *args);

#endif
