#define _GNU_SOURCE
#include "CSystemSupport.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

void csys_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
    mallopt(M_TOP_PAD, 256 << 20);
}

int csys_spawn_detached(pid_t *pid, const char *path, char *const argv[], char *const envp[]) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    int rc = posix_spawnattr_init(&attr);
    if (rc != 0) return rc;
    rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) {
        posix_spawnattr_destroy(&attr);
        return rc;
    }
    sigset_t all, stops;
    sigfillset(&all);
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGHUP);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &stops);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    rc = posix_spawn(pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

pid_t csys_wait_any(int *status, struct rusage *usage) {
    return wait4(-1, status, 0, usage);
}

static void csys_no_op(int sig) { (void)sig; }

int csys_install_interrupt_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = csys_no_op;  // no SA_RESTART: a blocked wait4 returns EINTR
    sigemptyset(&action.sa_mask);
    return sigaction(SIGUSR2, &action, NULL);
}

int csys_accept_interrupts(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int csys_interrupt_thread(pthread_t thread) { return pthread_kill(thread, SIGUSR2); }

int csys_wifexited(int status) { return WIFEXITED(status); }
int csys_wexitstatus(int status) { return WEXITSTATUS(status); }
int csys_wifsignaled(int status) { return WIFSIGNALED(status); }
int csys_wtermsig(int status) { return WTERMSIG(status); }

int csys_parse_ip(const char *text, unsigned char out[16]) {
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return 4;
    }
    if (inet_pton(AF_INET6, text, &v6) == 1) {
        memcpy(out, &v6, 16);
        return 6;
    }
    return 0;
}

int csys_lookup_user(const char *name, unsigned int *uid, unsigned int *gid, unsigned int *groups, int max_groups) {
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        char *end = NULL;
        unsigned long n = strtoul(name, &end, 10);
        if (end && *end == 0 && *name) pw = getpwuid((uid_t)n);
    }
    if (!pw) return -1;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    gid_t list[1024];
    int count = 1024;
    if (getgrouplist(pw->pw_name, pw->pw_gid, list, &count) < 0) count = 0;
    if (count > max_groups) count = max_groups;
    for (int i = 0; i < count; i++) groups[i] = list[i];
    return count;
}

static int fill_address(const char *text, int port, struct sockaddr_storage *out, socklen_t *length) {
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        *length = sizeof *v4;
        return AF_INET;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)port);
        *length = sizeof *v6;
        return AF_INET6;
    }
    errno = EINVAL;
    return -1;
}

int csys_tcp_connect(const char *source, const char *host, int port, int timeout_ms) {
    struct sockaddr_storage to, from;
    socklen_t to_length, from_length;
    int family = fill_address(host, port, &to, &to_length);
    if (family < 0) return -1;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (timeout_ms > 0) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (source) {
        if (fill_address(source, 0, &from, &from_length) < 0 || bind(fd, (struct sockaddr *)&from, from_length) != 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *)&to, to_length) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int csys_set_file_size_limit(pid_t pid, long long bytes) {
    struct rlimit limit;
    if (prlimit(pid, RLIMIT_FSIZE, NULL, &limit) != 0) return errno;
    limit.rlim_cur = bytes < 0 || (rlim_t)bytes > limit.rlim_max ? limit.rlim_max : (rlim_t)bytes;
    return prlimit(pid, RLIMIT_FSIZE, &limit, NULL) == 0 ? 0 : errno;
}

int csys_check_bindable(const char *host, int port) {
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0) return rc == EAI_SYSTEM ? errno : EADDRNOTAVAIL;
    int result = EADDRNOTAVAIL;
    for (struct addrinfo *a = found; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            result = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0) {
            result = 0;
        } else {
            result = errno;
        }
        close(fd);
        if (result == 0) break;
    }
    freeaddrinfo(found);
    return result;
}
