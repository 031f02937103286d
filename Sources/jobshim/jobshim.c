// jobshim: the parent of one job. It outlives the manager so that a manager crash or
// upgrade never kills or loses a job (the containerd-shim / conmon pattern).
//
//   jobshim STATE_DIR ID CWD -- COMMAND [ARG...]
//
// CWD "-" keeps the current directory. The job gets the shim's environment (the manager
// builds it), stdin from /dev/null, stdout/stderr appended to STATE_DIR/logs/ID.out|.err,
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
#include <sys/resource.h>
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

int main(int argc, char **argv) {
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: jobshim STATE_DIR ID CWD -- COMMAND [ARG...]\n");
        return 2;
    }
    const char *state = argv[1];
    const char *id = argv[2];
    const char *cwd = argv[3];
    char **command = argv + 5;

    char out_path[4096], err_path[4096], run_path[4096];
    snprintf(out_path, sizeof out_path, "%s/logs/%s.out", state, id);
    snprintf(err_path, sizeof err_path, "%s/logs/%s.err", state, id);
    snprintf(run_path, sizeof run_path, "%s/run/%s", state, id);
    int run = open(run_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);

    int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    int err = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
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
        if (out >= 0) dup2(out, 1);
        if (err >= 0) dup2(err, 2);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
        sigprocmask(SIG_SETMASK, &empty, NULL);
        int failure[2] = {0, 0};  // stage (1 chdir, 2 exec), errno
        if (strcmp(cwd, "-") != 0 && chdir(cwd) != 0) {
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
            exec_stage = failure[0] == 1 ? "chdir" : "exec";
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);

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
