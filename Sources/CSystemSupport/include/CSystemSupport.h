#ifndef CSYSTEMSUPPORT_H
#define CSYSTEMSUPPORT_H

// Small wrappers for C APIs Swift cannot import directly (macros, variadics, headers
// outside Glibc's module map).

/// Keeps memory freed by the program in its heap for reuse, instead of unmapping large
/// blocks and faulting fresh pages in again. For short-lived, allocation-heavy tools.
void csys_keep_freed_memory(void);

#endif
