/* The dashboard's static files (web/: html, js, css; and the uPlot chart library
 * from npm), compiled into the binary by scripts/embed-assets.sh at build
 * time: the table is generated, this header only declares it. */
#ifndef RLC_SERVE_ASSETS_H
#define RLC_SERVE_ASSETS_H

#include <stddef.h>

typedef struct rlc_serve_asset {
    const char *path; /* URL path, "/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} rlc_serve_asset;

/* Ends with an entry whose path is NULL. */
extern const rlc_serve_asset rlc_serve_assets[];

#endif
