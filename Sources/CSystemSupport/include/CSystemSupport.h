#ifndef CSYSTEMSUPPORT_H
#define CSYSTEMSUPPORT_H

#include <sys/types.h>
#include <sys/resource.h>
#include <pthread.h>

// Small wrappers for C APIs Swift cannot import directly (macros, variadics, _GNU_SOURCE
// flags, headers outside Glibc's module map).

/// Keeps memory freed by the program in its heap for reuse, instead of unmapping large
/// blocks and faulting fresh pages in again. For short-lived, allocation-heavy tools.
void csys_keep_freed_memory(void);

/// Spawns `path` with `argv` and `envp` in a new session (POSIX_SPAWN_SETSID), with
/// default signal dispositions, SIGTERM, SIGINT and SIGHUP blocked (a shim acts on them
/// once it can: a stop sent while it starts is never fatal to it), stdin/stdout/stderr on
/// /dev/null and every other descriptor closed. Returns 0 and sets `*pid`, or an errno value.
int csys_spawn_detached(pid_t *pid, const char *path, char *const argv[], char *const envp[]);

/// Blocks until any child exits; returns its pid (or -1 with errno) and sets its wait
/// status and resource usage.
pid_t csys_wait_any(int *status, struct rusage *usage);
/// A no-op SIGUSR2 handler without SA_RESTART, so that SIGUSR2 interrupts a blocking call.
int csys_install_interrupt_handler(void);
/// Unblocks SIGUSR2 in the calling thread (threads started from dispatch's block it).
int csys_accept_interrupts(void);
/// SIGUSR2 to `thread` (see csys_install_interrupt_handler).
int csys_interrupt_thread(pthread_t thread);

int csys_wifexited(int status);
int csys_wexitstatus(int status);
int csys_wifsignaled(int status);
int csys_wtermsig(int status);

/// Parses an IPv4 or IPv6 address. Writes 16 bytes to `out` (IPv4 as IPv4-mapped IPv6,
/// ::ffff:a.b.c.d) and returns 4 or 6, or 0 when `text` is not an address.
int csys_parse_ip(const char *text, unsigned char out[16]);

/// Resolves a user name (or a decimal uid) to its uid, primary gid and supplementary
/// groups (at most `max_groups`). Returns the number of groups, or -1 if there is no such user.
int csys_lookup_user(const char *name, unsigned int *uid, unsigned int *gid, unsigned int *groups, int max_groups);

/// Opens a TCP connection to `host`:`port` (numeric IPv4 or IPv6) from the local address
/// `source` (NULL: any), with send and receive timeouts of `timeout_ms`. Returns the
/// descriptor, or -1 with errno.
int csys_tcp_connect(const char *source, const char *host, int port, int timeout_ms);

/// Sets the soft file-size limit (RLIMIT_FSIZE) of process `pid`; a negative `bytes` (or
/// one above the hard limit) means the hard limit. Returns 0 or an errno value.
int csys_set_file_size_limit(pid_t pid, long long bytes);

/// Whether a TCP socket can be bound to `host`:`port` now (with SO_REUSEADDR, as the
/// server binds): 0, or an errno value (EADDRINUSE, EADDRNOTAVAIL, EACCES…). The socket is
/// closed again without listening.
int csys_check_bindable(const char *host, int port);

#endif
