/* spamscore._core: the one extension module of spamscore's native core.
 *
 * One concern a module object, made by the file of its name (bodyscan.c,
 * hdrscan.c, htmlscan.c, mimescan.c, speedups.c, urlscan.c: the method
 * table and ss_init_<name>; the concern's other jobs in the files beside it,
 * what they share in its header: bodyscan.h, hdr.h, html.h, mime.h,
 * speedups.h, url.h), each an attribute of this one:
 * spamscore._core.speedups, .bodyscan, ...  Python
 * code never imports them directly: spamscore._native.load("_speedups")
 * returns spamscore._core.speedups (or None: SPAMSCORE_PURE=1, not built,
 * or turned off by its importer's self-check, one concern at a time).
 *
 * htmlscan is compiled only against lxml's headers (setup.py defines
 * SPAMSCORE_LXML_VERSION when lxml is importable at build time); without
 * them the core has no attribute htmlscan and the Python tree walk serves.
 */
#include "core.h"

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "spamscore._core",
    "spamscore's optional compiled helpers, one attribute a concern (spamscore._native.load is the door).",
    -1, NULL, NULL, NULL, NULL, NULL,
};

typedef PyObject *(*concern_init)(void);

PyMODINIT_FUNC PyInit__core(void)
{
    static const struct { const char *name; concern_init init; } concerns[] = {
        {"bodyscan", ss_init_bodyscan},
        {"hdrscan", ss_init_hdrscan},
#ifdef SPAMSCORE_LXML_VERSION
        {"htmlscan", ss_init_htmlscan},
#endif
        {"mimescan", ss_init_mimescan},
        {"speedups", ss_init_speedups},
        {"urlscan", ss_init_urlscan},
    };
    PyObject *m = PyModule_Create(&core_module);
    if (m == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof concerns / sizeof concerns[0]; i++) {
        PyObject *sub = concerns[i].init();
        if (sub == NULL || PyModule_AddObject(m, concerns[i].name, sub) < 0) {
            Py_XDECREF(sub);
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
