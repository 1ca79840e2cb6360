/* Versions of the libraries syncctl is linked with, read at run time where
 * the library can say (compile time for libpg_query). */
#ifndef SC_VERSION_H
#define SC_VERSION_H

#include <stddef.h>

typedef struct sc_libversion {
	const char *name;
	char version[256];
} sc_libversion;

/* Fills up to max entries; returns how many. */
size_t sc_library_versions(sc_libversion *out, size_t max);

#endif
