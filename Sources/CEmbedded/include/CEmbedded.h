#ifndef CEMBEDDED_H
#define CEMBEDDED_H

/// The bytes of the repository's openapi.yaml (not NUL-terminated).
const char *cembedded_openapi_yaml(void);
unsigned long cembedded_openapi_yaml_length(void);

#endif
