// jobshim: the parent of one job. It outlives the manager so that a manager crash or
// upgrade never kills or loses a job (the containerd-shim / conmon pattern).
//
//   jobshim STATE_DIR ID CWD [--run-dir DIR] [--max-log-bytes N] [--uid U --gid G --groups G1,G2] -- COMMAND [ARG...]
//
// --run-dir: where the run file goes (default STATE_DIR/run).
//
// CWD "-" keeps the current directory. With --uid/--gid/--groups the job drops to that
// user and its groups before exec (the shim itself keeps its user, to write the records).
// With --max-log-bytes the job's stdout and stderr are pipes the shim copies into the
// files, keeping the newest bytes: when a file would pass N bytes it is rewritten with a
// first line noting how many earlier bytes were dropped, then its last N/2 bytes. A file
// is created when its first byte comes (a job that writes nothing has no log file).
// Output written after the job's own process exited (by a child it left behind) is not
// kept in that mode. Without it the job writes straight to the files.
//
// The job gets the shim's environment (the manager builds it), stdin from /dev/null,
// stdout/stderr appended to STATE_DIR/logs/ID.out|.err,
// a new session (it leads its own process group), default signal dispositions and an
// empty signal mask. SIGTERM, SIGINT and SIGHUP sent to the shim are forwarded to the
// job's process group. The shim keeps one file per job, STATE_DIR/run/ID: its first line
// "PID STARTTIME\n" (STARTTIME from /proc/PID/stat field 22) is written as soon as the job
// exists; when the shim has reaped the job with wait4 it appends the exit record (one JSON
// line ending in a newline), syncs the file and exits 0. Readers take a line only when it
// ends with a newline, so a file cut short by a crash reads as "no exit record yet".
// (One file, not a pid file and an exit file: creating inodes dominates the cost of a
// short job on ext4.)
// Exit codes of the shim itself: 0 record written, 2 usage, 1 could not write the record.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t job_pid = 0;

static void forward(int sig) {
    if (job_pid > 0) kill(-job_pid, sig);
}

static long long now_micros(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long proc_start_time(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    // after ") " comes field 3 (state); start time is field 22
    int field = 2;
    for (; *p; p++) {
        if (*p == ' ') {
            field++;
            if (field == 22) return strtoll(p + 1, NULL, 10);
        }
    }
    return -1;
}

static int write_all(int fd, const char *data, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

// One captured stream (--max-log-bytes): the pipe the job writes, the file it goes to.
struct stream {
    int src, dst;
    long long size, header, dropped;
    const char *path;
};

// Rewrites the file as: a note of the dropped bytes, then its newest `keep_from_file` bytes.
static void compact(struct stream *s, long long keep_from_file, long long also_dropped) {
    long long data = s->size - s->header;
    if (keep_from_file > data) keep_from_file = data;
    s->dropped += data - keep_from_file + also_dropped;
    char tmp_path[4200];
    snprintf(tmp_path, sizeof tmp_path, "%s.cut", s->path);
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {  // cannot make the copy: start the file again rather than grow it
        if (ftruncate(s->dst, 0) == 0) s->size = s->header = 0;
        return;
    }
    char note[200];
    int n = snprintf(note, sizeof note, "[jobrunner: %lld earlier bytes dropped (jobs.maxLogBytes)]\n", s->dropped);
    write_all(fd, note, (size_t)n);
    loff_t from = s->size - keep_from_file;
    long long left = keep_from_file;
    while (left > 0) {
        ssize_t c = copy_file_range(s->dst, &from, fd, NULL, (size_t)left, 0);
        if (c <= 0) {
            if (c < 0 && errno == EINTR) continue;
            break;
        }
        left -= c;
    }
    rename(tmp_path, s->path);
    close(s->dst);
    s->dst = fd;
    s->header = n;
    s->size = n + (keep_from_file - left);
}

static void capped_write(struct stream *s, const char *buf, size_t n, long long cap) {
    if (s->dst < 0) {
        s->dst = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (s->dst < 0) return;
        s->size = lseek(s->dst, 0, SEEK_END);
    }
    if (s->size + (long long)n > cap) {
        long long keep = cap / 2;
        if ((long long)n >= keep) {
            compact(s, 0, (long long)n - keep);
            buf += n - (size_t)keep;
            n = (size_t)keep;
        } else {
            compact(s, keep - (long long)n, 0);
        }
    }
    if (write_all(s->dst, buf, n) == 0) s->size += (long long)n;
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
        "usage: jobshim STATE_DIR ID CWD [--run-dir DIR] [--max-log-bytes N] [--uid U --gid G --groups G1,G2] -- "
        "COMMAND [ARG...]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 6) return usage();
    const char *state = argv[1];
    const char *id = argv[2];
    const char *cwd = argv[3];
    long long max_log = 0;
    const char *run_dir = NULL;
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
        } else if (strcmp(argv[a], "--uid") == 0) {
            uid = (uid_t)strtoul(value, NULL, 10);
            drop_user = 1;
        } else if (strcmp(argv[a], "--gid") == 0) {
            gid = (gid_t)strtoul(value, NULL, 10);
        } else if (strcmp(argv[a], "--groups") == 0) {
            for (const char *p = value; *p && ngroups < 256;) {
                char *end;
                groups[ngroups++] = (gid_t)strtoul(p, &end, 10);
                p = *end == ',' ? end + 1 : end;
                if (end == p && *p) break;
            }
        } else {
            return usage();
        }
        a += 2;
    }
    if (a + 1 >= argc) return usage();
    char **command = argv + a + 1;

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
    struct stream streams[2] = {{-1, -1, 0, 0, 0, out_path}, {-1, -1, 0, 0, 0, err_path}};
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

    // Block the forwarded signals until the job exists, so none is lost or misdirected.
    sigset_t forwarded, empty, old;
    sigemptyset(&forwarded);
    sigaddset(&forwarded, SIGTERM);
    sigaddset(&forwarded, SIGINT);
    sigaddset(&forwarded, SIGHUP);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &forwarded, &old);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    long long started = now_micros();
    pid_t pid = fork();
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

    char line[1024];
    if (pid > 0) {
        job_pid = pid;
        long long start_time = proc_start_time(pid);
        int n = snprintf(line, sizeof line, "%d %lld\n", (int)pid, start_time);
        if (run >= 0) write_all(run, line, (size_t)n);
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
    }
    sigprocmask(SIG_SETMASK, &old, NULL);

    // --max-log-bytes: copy the pipes into the files until the job exits (pidfd) or both close.
    if (pid > 0 && max_log > 0) {
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        for (int i = 0; i < 2; i++)
            if (streams[i].src >= 0) fcntl(streams[i].src, F_SETFL, O_NONBLOCK);
        int exited = 0;
        while (!exited && (streams[0].src >= 0 || streams[1].src >= 0)) {
            struct pollfd fds[3];
            int index[3], n = 0;
            for (int i = 0; i < 2; i++) {
                if (streams[i].src < 0) continue;
                fds[n].fd = streams[i].src;
                fds[n].events = POLLIN;
                index[n++] = i;
            }
            if (pidfd >= 0) {
                fds[n].fd = pidfd;
                fds[n].events = POLLIN;
                index[n++] = -1;
            }
            int r = poll(fds, (nfds_t)n, pidfd >= 0 ? -1 : 200);
            if (r < 0 && errno != EINTR) break;
            for (int k = 0; k < n && r > 0; k++) {
                if (!fds[k].revents) continue;
                if (index[k] < 0) {
                    exited = 1;
                    continue;
                }
                struct stream *s = &streams[index[k]];
                if (!pump(s, max_log)) {
                    close(s->src);
                    s->src = -1;
                }
            }
            if (pidfd < 0) {
                siginfo_t info;
                memset(&info, 0, sizeof info);
                if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) exited = 1;
            }
        }
        for (int i = 0; i < 2; i++) {
            if (streams[i].src >= 0) {
                pump(&streams[i], max_log);
                close(streams[i].src);
            }
        }
        if (pidfd >= 0) close(pidfd);
    }

    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (pid > 0) {
        while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {}
    }
    long long ended = now_micros();

    char error_text[256] = "";
    if (spawn_errno) snprintf(error_text, sizeof error_text, "fork: %s", strerror(spawn_errno));
    else if (exec_errno) snprintf(error_text, sizeof error_text, "%s: %s", exec_stage, strerror(exec_errno));
    char exit_code[16] = "null", signal_text[16] = "null";
    if (pid > 0 && WIFEXITED(status)) snprintf(exit_code, sizeof exit_code, "%d", WEXITSTATUS(status));
    if (pid > 0 && WIFSIGNALED(status)) snprintf(signal_text, sizeof signal_text, "%d", WTERMSIG(status));
    if (pid < 0) snprintf(exit_code, sizeof exit_code, "127");
    long long user = (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    long long sys = (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
    int n = snprintf(line, sizeof line,
        "{\"id\":%s,\"pid\":%d,\"startedAtMicros\":%lld,\"endedAtMicros\":%lld,\"exitCode\":%s,\"signal\":%s,"
        "\"userMicros\":%lld,\"systemMicros\":%lld,\"maxRssKilobytes\":%ld,\"error\":\"%s\"}\n",
        id, (int)pid, started, ended, exit_code, signal_text, user, sys, ru.ru_maxrss, error_text);
    if (run < 0 || write_all(run, line, (size_t)n) != 0 || fdatasync(run) != 0 || close(run) != 0) return 1;
    return 0;
}
