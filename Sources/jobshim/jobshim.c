// jobshim: the parent of one job. It outlives the manager so that a manager crash or
// upgrade never kills or loses a job (the containerd-shim / conmon pattern).
//
//   jobshim STATE_DIR ID CWD [--run-dir DIR] [--max-log-bytes N] [--kill-grace SECONDS]
//           [--leftovers kill|wait] [--cgroup DIR] [--uid U --gid G --groups G1,G2]
//           -- COMMAND [ARG...]
//
// --run-dir: where the run file goes (default STATE_DIR/run).
//
// --cgroup DIR: a cgroup v2 directory made for this job (jobs.cgroups). The job's process
// is created in it (clone3 with CLONE_INTO_CGROUP, so nothing it starts is ever outside);
// the shim itself stays out, so that `cgroup.kill` stops the job and not its shim. The
// final SIGKILL rounds begin with `cgroup.kill` (every member at once, even one forking
// as fast as it can), and the exit record carries the group's `memory.peak` and
// `memory.events` oom_kill count. Where the group cannot be used (no clone3, not
// writable) the job runs as without the option and the record says `"cgroup":false`.
//
// The job is every process the shim's child starts. The shim is a child subreaper
// (PR_SET_CHILD_SUBREAPER): a descendant that leaves the job's session or process group
// (setsid, a double fork, `nohup … &`) is re-parented to the shim, not to init, so "every
// descendant of the shim" is the job whatever sessions or groups it creates.
//
// Stopping: SIGTERM sent to the shim (timeout, cancel, memory limit) goes to the job's
// process group and to every descendant; --kill-grace seconds later (default 5) every
// descendant left gets SIGKILL, again every 100 ms until none is left. SIGINT and SIGHUP
// are forwarded the same way, without the escalation.
//
// When the job's own process exits and descendants remain, --leftovers decides: `kill`
// (default: SIGTERM to each, SIGKILL after the grace, like systemd's control-group mode) or
// `wait` (the job ends when its last descendant does). The exit record counts them
// (`leftoverProcesses`, the most found at once). Its CPU time and peak RSS are the
// kernel's accounting of every descendant the shim reaped (getrusage RUSAGE_CHILDREN).
//
// CWD "-" keeps the current directory. With --uid/--gid/--groups the job drops to that
// user and its groups before exec (the shim itself keeps its user, to write the records).
// With --max-log-bytes N the job's stdout and stderr are pipes the shim copies into the
// files, keeping the newest bytes: when a file holds more than 1.5 N bytes of output it
// is rewritten as a note line "[jobrunner: D earlier bytes dropped (jobs.maxLogBytes)]"
// (D: every byte dropped so far) followed by its newest N bytes; when the job ends the
// file is cut the same way to exactly N bytes after the note. A file is created when its
// first byte comes (a job that writes nothing has no log file). Without the option the
// job writes straight to the files.
//
// The job gets the shim's environment (the manager builds it), stdin from /dev/null,
// stdout/stderr appended to STATE_DIR/logs/ID.out|.err, a new session (it leads its own
// process group), default signal dispositions and an empty signal mask. The shim keeps
// the stop signals blocked from its first instruction (the manager spawns it with them
// blocked) and reads them from a signalfd, so a signal sent at any moment — even before
// the job exists — is acted on, never fatal to the shim.
//
// The shim keeps one file per job, RUN_DIR/ID: its first line "PID STARTTIME\n"
// (STARTTIME from /proc/PID/stat field 22) is written as soon as the job exists; when the
// job and every descendant have ended it appends the exit record (one JSON line ending in
// a newline), syncs the file and exits 0. Readers take a line only when it ends with a
// newline, so a file cut short by a crash reads as "no exit record yet". (One file, not a
// pid file and an exit file: creating inodes dominates the cost of a short job on ext4.)
// Exit codes of the shim itself: 0 record written, 2 usage, 1 could not write the record.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_micros(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// Reads a small /proc file into buf (NUL-terminated); returns its length or -1.
static ssize_t read_small(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n;
    do { n = read(fd, buf, size - 1); } while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    return n;
}

// Field `want` (22: start time, 4: ppid) of /proc/PID/stat, or -1.
static long long proc_stat_field(pid_t pid, int want) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0) return -1;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    // after ") " comes field 3 (state)
    int field = 2;
    for (; *p; p++) {
        if (*p == ' ') {
            field++;
            if (field == want) return strtoll(p + 1, NULL, 10);
        }
    }
    return -1;
}

static int write_all(int fd, const char *data, size_t len, size_t *written) {
    size_t done = 0;
    int rc = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = -1;
            break;
        }
        done += (size_t)n;
    }
    if (written) *written = done;
    return rc;
}

// MARK: - The job's tree

// Every descendant of this process, from one pass over /proc (pid -> ppid, then the
// closure from our pid). Returns how many were found (at most `max`), or -1 when /proc
// cannot be listed.
static int descendants(pid_t *out, int max) {
    static pid_t pids[65536], parents[65536];
    static unsigned char in_tree[65536];
    DIR *dir = opendir("/proc");
    if (!dir) return -1;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && n < 65536) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
        pid_t pid = (pid_t)atoi(entry->d_name);
        long long ppid = proc_stat_field(pid, 4);
        if (ppid < 0) continue;
        pids[n] = pid;
        parents[n] = (pid_t)ppid;
        in_tree[n] = 0;
        n++;
    }
    closedir(dir);
    pid_t self = getpid();
    int found = 0;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < n; i++) {
            if (in_tree[i]) continue;
            int member = parents[i] == self;
            for (int k = 0; !member && k < found; k++) member = parents[i] == out[k];
            if (!member) continue;
            in_tree[i] = 1;
            changed = 1;
            if (found < max) out[found++] = pids[i];
        }
    }
    return found;
}

static pid_t job_pid = 0;
static int job_reaped = 0;

// Sends `sig` to the job's process group and to every descendant; returns how many
// descendants there were.
static int signal_tree(int sig) {
    static pid_t tree[65536];
    if (job_pid > 0 && !job_reaped) kill(-job_pid, sig);  // its group: faster than the scan
    int n = descendants(tree, 65536);
    for (int i = 0; i < n; i++) kill(tree[i], sig);
    return n < 0 ? 0 : n;
}

// MARK: - cgroup v2 (--cgroup)

static const char *cgroup_dir = NULL;  // set while the job runs in its own group

// Writes `text` to DIR/NAME; 0 on success.
static int cgroup_write(const char *name, const char *text) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", cgroup_dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = write_all(fd, text, strlen(text), NULL);
    close(fd);
    return rc;
}

// The number after `key` in DIR/NAME (a flat-keyed file such as memory.events), or the
// file's first number when `key` is NULL; -1 when there is none.
static long long cgroup_read(const char *name, const char *key) {
    char path[4200], buf[4096];
    snprintf(path, sizeof path, "%s/%s", cgroup_dir, name);
    if (read_small(path, buf, sizeof buf) < 0) return -1;
    if (!key) return buf[0] >= '0' && buf[0] <= '9' ? strtoll(buf, NULL, 10) : -1;
    size_t k = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, k) == 0 && line[k] == ' ') return strtoll(line + k + 1, NULL, 10);
    return -1;
}

// fork(), but the child starts inside the cgroup at `dirfd` (Linux 5.7+). -1 with errno
// when the kernel cannot (ENOSYS, EINVAL, EACCES, …): the caller forks the plain way.
static pid_t fork_into_cgroup(int dirfd) {
#ifdef SYS_clone3
    struct {
        unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
            set_tid_size, cgroup;
    } args;
    memset(&args, 0, sizeof args);
    args.flags = 0x200000000ULL;  // CLONE_INTO_CGROUP
    args.exit_signal = SIGCHLD;
    args.cgroup = (unsigned long long)dirfd;
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
#else
    (void)dirfd;
    errno = ENOSYS;
    return -1;
#endif
}

// Whether any child (and so any descendant: orphans come to the subreaper) is left.
static int has_children(void) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    do { rc = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT); } while (rc < 0 && errno == EINTR);
    return !(rc < 0 && errno == ECHILD);
}

// MARK: - Captured output (--max-log-bytes)

// One captured stream: the pipe the job writes, the file it goes to.
struct stream {
    int src, dst;
    long long size, header, dropped;
    long long noted;  // the count the file's note line gives
    const char *path;
};

// Copies `len` bytes at `from` of `in` to the end of `out`; returns the bytes copied.
static long long copy_range(int in, long long from, int out, long long len) {
    long long done = 0;
    loff_t offset = from;
    while (done < len) {
        ssize_t c = copy_file_range(in, &offset, out, NULL, (size_t)(len - done), 0);
        if (c > 0) {
            done += c;
            continue;
        }
        if (c < 0 && errno == EINTR) continue;
        if (c == 0) break;
        // Not supported between these files: read and write.
        static char buf[65536];
        while (done < len) {
            size_t want = (size_t)(len - done) < sizeof buf ? (size_t)(len - done) : sizeof buf;
            ssize_t r = pread(in, buf, want, from + done);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return done;
            size_t w = 0;
            write_all(out, buf, (size_t)r, &w);
            done += (long long)w;
            if (w < (size_t)r) return done;
        }
    }
    return done;
}

// Rewrites the file as: a note of every byte dropped so far, then its newest `keep` bytes
// of output. When the copy cannot be made (no space, no inode) the file starts again
// with the note alone: it never grows past the cap, and the note counts what was lost.
static void compact(struct stream *s, long long keep) {
    long long data = s->size - s->header;
    if (keep > data) keep = data;
    char tmp_path[4200];
    snprintf(tmp_path, sizeof tmp_path, "%s.cut", s->path);
    char note[200];
    int fd = open(tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd >= 0) {
        int n = snprintf(note, sizeof note, "[jobrunner: %lld earlier bytes dropped (jobs.maxLogBytes)]\n",
            s->dropped + data - keep);
        size_t w = 0;
        long long copied = -1;
        if (write_all(fd, note, (size_t)n, &w) == 0) copied = copy_range(s->dst, s->size - keep, fd, keep);
        if (copied == keep && rename(tmp_path, s->path) == 0) {
            close(s->dst);
            s->dst = fd;
            s->dropped += data - keep;
            s->noted = s->dropped;
            s->header = n;
            s->size = n + keep;
            return;
        }
        close(fd);
        unlink(tmp_path);
    }
    // Fallback: the note alone, in the file itself.
    s->dropped += data;
    s->size = s->header = 0;
    if (ftruncate(s->dst, 0) != 0 || lseek(s->dst, 0, SEEK_SET) != 0) return;
    int n = snprintf(note, sizeof note, "[jobrunner: %lld earlier bytes dropped (jobs.maxLogBytes)]\n", s->dropped);
    size_t w = 0;
    write_all(s->dst, note, (size_t)n, &w);
    s->size = s->header = (long long)w;
    s->noted = s->dropped;
}

static void capped_write(struct stream *s, const char *buf, size_t n, long long cap) {
    if (s->dst < 0) {
        s->dst = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (s->dst < 0) {
            s->dropped += (long long)n;
            return;
        }
        off_t end = lseek(s->dst, 0, SEEK_END);
        s->size = end < 0 ? 0 : end;
    }
    // Bytes of this chunk beyond the newest `cap` are dropped outright.
    if ((long long)n > cap) {
        long long skip = (long long)n - cap;
        s->dropped += skip;
        buf += skip;
        n = (size_t)cap;
    }
    long long data = s->size - s->header;
    long long limit = cap + cap / 2;
    if (data + (long long)n > limit) compact(s, cap - (long long)n);
    size_t w = 0;
    write_all(s->dst, buf, n, &w);
    s->size += (long long)w;
    s->dropped += (long long)(n - w);  // a write the disk refused is lost: counted
}

// Reads what the pipe holds now into the file; returns 0 at end of file.
static int pump(struct stream *s, long long cap) {
    static char buf[65536];
    for (;;) {
        ssize_t n = read(s->src, buf, sizeof buf);
        if (n > 0) {
            capped_write(s, buf, (size_t)n, cap);
            continue;
        }
        if (n == 0) return 0;
        if (errno == EINTR) continue;
        return errno == EAGAIN ? 1 : 0;
    }
}

static int usage(void) {
    fprintf(stderr,
        "usage: jobshim STATE_DIR ID CWD [--run-dir DIR] [--max-log-bytes N] [--kill-grace SECONDS] "
        "[--leftovers kill|wait] [--cgroup DIR] [--uid U --gid G --groups G1,G2] -- COMMAND [ARG...]\n");
    return 2;
}

int main(int argc, char **argv) {
    // The stop signals stay blocked for the shim's whole life and are read from a
    // signalfd (the manager spawns it with them blocked already; this covers a shim
    // started by hand). SIGCHLD too: the loop reaps on it.
    sigset_t handled, empty;
    sigemptyset(&handled);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGHUP);
    sigaddset(&handled, SIGCHLD);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &handled, NULL);

    if (argc < 6) return usage();
    const char *state = argv[1];
    const char *id = argv[2];
    const char *cwd = argv[3];
    long long max_log = 0;
    double grace = 5;
    int wait_leftovers = 0;
    const char *run_dir = NULL;
    const char *cgroup_arg = NULL;
    int drop_user = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    gid_t groups[256];
    int ngroups = 0;
    int a = 4;
    while (a < argc && strcmp(argv[a], "--") != 0) {
        if (a + 1 >= argc) return usage();
        const char *value = argv[a + 1];
        if (strcmp(argv[a], "--run-dir") == 0) {
            run_dir = value;
        } else if (strcmp(argv[a], "--max-log-bytes") == 0) {
            max_log = atoll(value);
        } else if (strcmp(argv[a], "--kill-grace") == 0) {
            grace = atof(value);
            if (grace < 0) grace = 0;
        } else if (strcmp(argv[a], "--leftovers") == 0) {
            if (strcmp(value, "wait") == 0) wait_leftovers = 1;
            else if (strcmp(value, "kill") != 0) return usage();
        } else if (strcmp(argv[a], "--cgroup") == 0) {
            cgroup_arg = value;
        } else if (strcmp(argv[a], "--uid") == 0) {
            uid = (uid_t)strtoul(value, NULL, 10);
            drop_user = 1;
        } else if (strcmp(argv[a], "--gid") == 0) {
            gid = (gid_t)strtoul(value, NULL, 10);
        } else if (strcmp(argv[a], "--groups") == 0) {
            for (const char *p = value; *p && ngroups < 256;) {
                char *end;
                groups[ngroups++] = (gid_t)strtoul(p, &end, 10);
                if (end == p) break;
                p = *end == ',' ? end + 1 : end;
            }
        } else {
            return usage();
        }
        a += 2;
    }
    if (a + 1 >= argc) return usage();
    char **command = argv + a + 1;
    long long grace_ms = (long long)(grace * 1000);

    int sigfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    // Orphaned descendants come to the shim, not to init.
    // (Without it — a kernel before 3.4 — escapees are not followed; the rest still holds.)
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    char out_path[4096], err_path[4096], run_path[4096];
    snprintf(out_path, sizeof out_path, "%s/logs/%s.out", state, id);
    snprintf(err_path, sizeof err_path, "%s/logs/%s.err", state, id);
    if (run_dir) snprintf(run_path, sizeof run_path, "%s/%s", run_dir, id);
    else snprintf(run_path, sizeof run_path, "%s/run/%s", state, id);
    int run = open(run_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);

    // Without a cap the job writes straight into its files. With one, the shim copies the
    // pipes into the files and creates each file when its first byte comes: a job that
    // writes nothing (most short jobs) costs no log inode.
    int out = -1, err = -1;
    if (max_log <= 0) {
        out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        err = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    }
    struct stream streams[2] = {{-1, -1, 0, 0, 0, 0, out_path}, {-1, -1, 0, 0, 0, 0, err_path}};
    int job_out = out, job_err = err;
    if (max_log > 0) {
        int p[2];
        for (int i = 0; i < 2; i++) {
            if (pipe2(p, O_CLOEXEC) == 0) {
                streams[i].src = p[0];
                if (i == 0) job_out = p[1]; else job_err = p[1];
            } else {
                int fd = open(streams[i].path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
                if (i == 0) out = job_out = fd; else err = job_err = fd;
            }
        }
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) report[0] = report[1] = -1;

    long long started = now_micros();
    pid_t pid = -1;
    if (cgroup_arg) {
        int dirfd = open(cgroup_arg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd >= 0) {
            pid = fork_into_cgroup(dirfd);
            if (pid >= 0) cgroup_dir = cgroup_arg;
            close(dirfd);
        }
    }
    if (pid < 0) pid = fork();
    if (pid == 0) {
        setsid();
        if (devnull >= 0) dup2(devnull, 0);
        if (job_out >= 0) dup2(job_out, 1);
        if (job_err >= 0) dup2(job_err, 2);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
        sigprocmask(SIG_SETMASK, &empty, NULL);
        int failure[2] = {0, 0};  // stage (1 chdir, 2 exec, 3 user), errno
        if (drop_user && (setgroups((size_t)ngroups, groups) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) {
            failure[0] = 3;
            failure[1] = errno;
        } else if (strcmp(cwd, "-") != 0 && chdir(cwd) != 0) {
            failure[0] = 1;
            failure[1] = errno;
        } else {
            execvp(command[0], command);
            failure[0] = 2;
            failure[1] = errno;
        }
        if (report[1] >= 0) {
            ssize_t ignored = write(report[1], failure, sizeof failure);
            (void)ignored;
        }
        _exit(127);
    }
    int spawn_errno = 0;
    if (pid < 0) spawn_errno = errno;
    if (report[1] >= 0) close(report[1]);
    if (job_out != out) close(job_out);
    if (job_err != err) close(job_err);

    char line[1024], pid_line[64];
    int pid_line_length = 0;
    if (pid > 0) {
        job_pid = pid;
        long long start_time = proc_stat_field(pid, 22);
        pid_line_length = snprintf(pid_line, sizeof pid_line, "%d %lld\n", (int)pid, start_time);
        if (run >= 0) write_all(run, pid_line, (size_t)pid_line_length, NULL);
    }
    int exec_errno = 0;
    const char *exec_stage = "exec";
    if (pid > 0 && report[0] >= 0) {
        int failure[2] = {0, 0};
        ssize_t n;
        do { n = read(report[0], failure, sizeof failure); } while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof failure) {
            exec_errno = failure[1];
            exec_stage = failure[0] == 1 ? "chdir" : failure[0] == 3 ? "setuid" : "exec";
        }
        close(report[0]);
    }

    // The loop: copy output, act on signals, reap every child, stop the tree when asked,
    // settle leftovers once the job's own process has exited.
    int status = 0;
    int leftovers = 0;         // most descendants found once the job's process had exited
    int leftovers_handled = 0;
    long long kill_at = 0;     // monotonic ms of the next SIGKILL round; 0: none due
    if (max_log > 0)
        for (int i = 0; i < 2; i++)
            if (streams[i].src >= 0 && fcntl(streams[i].src, F_SETFL, O_NONBLOCK) != 0) {
                // a blocking pipe would stall the loop: give it up (the job gets EPIPE)
                close(streams[i].src);
                streams[i].src = -1;
            }
    if (pid <= 0) job_reaped = 1;
    for (;;) {
        // Reap whatever exited; the job's own status is kept.
        for (;;) {
            int st = 0;
            pid_t r = waitpid(-1, &st, WNOHANG);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            if (r == pid) {
                status = st;
                job_reaped = 1;
            }
        }
        int children = pid > 0 && has_children();
        if (job_reaped && children && !leftovers_handled) {
            // The job's process is gone and descendants remain.
            static pid_t tree[65536];
            int n = descendants(tree, 65536);
            if (n > leftovers) leftovers = n;
            if (!wait_leftovers) {
                signal_tree(SIGTERM);
                if (kill_at == 0) kill_at = monotonic_ms() + grace_ms;
            }
            leftovers_handled = 1;
        }
        int open_streams = (streams[0].src >= 0) + (streams[1].src >= 0);
        if (job_reaped && !children) {
            // Nothing can write any more (outside processes holding the pipe aside): drain.
            for (int i = 0; i < 2; i++)
                if (streams[i].src >= 0) {
                    pump(&streams[i], max_log);
                    close(streams[i].src);
                    streams[i].src = -1;
                }
            break;
        }

        struct pollfd fds[3];
        int index[3], nfds = 0;
        for (int i = 0; i < 2 && open_streams; i++) {
            if (streams[i].src < 0) continue;
            fds[nfds].fd = streams[i].src;
            fds[nfds].events = POLLIN;
            index[nfds++] = i;
        }
        if (sigfd >= 0) {
            fds[nfds].fd = sigfd;
            fds[nfds].events = POLLIN;
            index[nfds++] = -1;
        }
        int timeout = sigfd >= 0 ? -1 : 100;  // without a signalfd: poll for exits
        if (kill_at) {
            long long left = kill_at - monotonic_ms();
            timeout = left < 0 ? 0 : (int)(left > 1000 ? 1000 : left);
        }
        int r = poll(fds, (nfds_t)nfds, timeout);
        if (r < 0 && errno != EINTR) {
            struct timespec pause = {0, 50 * 1000000};
            nanosleep(&pause, NULL);
        }
        for (int k = 0; k < nfds && r > 0; k++) {
            if (!fds[k].revents) continue;
            if (index[k] >= 0) {
                struct stream *s = &streams[index[k]];
                if (!pump(s, max_log)) {
                    close(s->src);
                    s->src = -1;
                }
                continue;
            }
            struct signalfd_siginfo info;
            while (read(sigfd, &info, sizeof info) == (ssize_t)sizeof info) {
                int sig = (int)info.ssi_signo;
                if (sig == SIGCHLD) continue;  // reaped at the top of the loop
                signal_tree(sig);
                if (sig == SIGTERM && kill_at == 0) kill_at = monotonic_ms() + grace_ms;
            }
        }
        if (kill_at && monotonic_ms() >= kill_at) {
            if (cgroup_dir) cgroup_write("cgroup.kill", "1");  // every member at once
            signal_tree(SIGKILL);
            kill_at = monotonic_ms() + 100;  // again until nothing is left
        }
    }
    for (int i = 0; i < 2; i++) {
        struct stream *s = &streams[i];
        // Exactly the newest max_log bytes after a note with the final count.
        if (s->dst >= 0 && (s->size - s->header > max_log || s->dropped != s->noted)) compact(s, max_log);
        if (s->dst >= 0) close(s->dst);
    }

    // Every descendant was reaped by the shim or by a reaped descendant: the kernel's
    // account of the whole tree.
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_CHILDREN, &ru);
    long long ended = now_micros();

    char error_text[256] = "";
    if (spawn_errno) snprintf(error_text, sizeof error_text, "fork: %s", strerror(spawn_errno));
    else if (exec_errno) snprintf(error_text, sizeof error_text, "%s: %s", exec_stage, strerror(exec_errno));
    char exit_code[16] = "null", signal_text[16] = "null";
    if (pid > 0 && WIFEXITED(status)) snprintf(exit_code, sizeof exit_code, "%d", WEXITSTATUS(status));
    if (pid > 0 && WIFSIGNALED(status)) snprintf(signal_text, sizeof signal_text, "%d", WTERMSIG(status));
    if (pid < 0) snprintf(exit_code, sizeof exit_code, "127");
    // The group's own account: its peak of charged memory (anonymous, page cache, kernel)
    // and the processes the OOM killer took; -1 where the group or the controller is absent.
    long long memory_peak = cgroup_dir ? cgroup_read("memory.peak", NULL) : -1;
    long long oom_kills = cgroup_dir ? cgroup_read("memory.events", "oom_kill") : -1;
    char peak_text[24] = "null", oom_text[24] = "null";
    if (memory_peak >= 0) snprintf(peak_text, sizeof peak_text, "%lld", memory_peak);
    if (oom_kills >= 0) snprintf(oom_text, sizeof oom_text, "%lld", oom_kills);
    long long user = (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    long long sys = (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
    int n = snprintf(line, sizeof line,
        "{\"id\":%s,\"pid\":%d,\"startedAtMicros\":%lld,\"endedAtMicros\":%lld,\"exitCode\":%s,\"signal\":%s,"
        "\"userMicros\":%lld,\"systemMicros\":%lld,\"maxRssKilobytes\":%ld,\"leftoverProcesses\":%d,"
        "\"cgroup\":%s,\"memoryPeakBytes\":%s,\"oomKills\":%s,\"error\":\"%s\"}\n",
        id, (int)pid, started, ended, exit_code, signal_text, user, sys, ru.ru_maxrss, leftovers,
        cgroup_dir ? "true" : "false", peak_text, oom_text, error_text);
    // A run file that could not be opened at the start (no descriptor, no memory then) is
    // opened again: the record is what tells the manager how the job ended.
    for (int attempt = 0; run < 0 && attempt < 50; attempt++) {
        run = open(run_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
        if (run < 0) {
            struct timespec pause = {0, 100 * 1000000};
            nanosleep(&pause, NULL);
        } else if (pid_line_length > 0 && write_all(run, pid_line, (size_t)pid_line_length, NULL) != 0) {
            close(run);
            run = -1;
        }
    }
    if (run < 0 || write_all(run, line, (size_t)n, NULL) != 0 || fdatasync(run) != 0 || close(run) != 0) return 1;
    return 0;
}
