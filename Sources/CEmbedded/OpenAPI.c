// The repository's openapi.yaml, compiled into the binary (C23 #embed): one source for
// the document the service serves at /openapi.yaml, nothing to regenerate and no resource
// bundle to install beside the binary.
#include "CEmbedded.h"

static const char document[] = {
#embed "../../openapi.yaml"
};

const char *cembedded_openapi_yaml(void) { return document; }
unsigned long cembedded_openapi_yaml_length(void) { return sizeof document; }
