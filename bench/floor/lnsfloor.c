/* The C floor of the collection's set lifecycle: the same syscalls for the same work, nothing else.
 *
 *   lnsfloor create DIR TYPE...   make the namespaces, bind-mount each /proc/PID/ns/TYPE on DIR/TYPE
 *                                  (DIR must already be on a private mount); a set with pid gets a
 *                                  holder (PID 1 of the new PID namespace), its pid written to DIR/holder
 *   lnsfloor enter DIR CMD...     join every namespace file in DIR, fork for pid/time, exec CMD
 *   lnsfloor remove DIR           SIGKILL the holder through its pidfd and wait for its exit on the
 *                                  pidfd, detach every namespace file, remove them and DIR's holder file
 *
 * bench/bench_lifecycle.py builds it with the system's compiler and times it beside the collection.
 * Every result is checked (docs/PITFALLS.md P5); a failure prints the call and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

struct nstype {
    const char *name;       /* the file under /proc/PID/ns and in DIR */
    int flag;
};

/* Join order: user first (it grants the rights for the others), mnt last (it changes path lookup). */
static const struct nstype TYPES[] = {
    {"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID},       {"time", CLONE_NEWTIME}, {"mnt", CLONE_NEWNS},
};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

static void die(const char *call, const char *what)
{
    fprintf(stderr, "lnsfloor: %s %s: %s\n", call, what ? what : "", strerror(errno));
    exit(1);
}

static const struct nstype *type_named(const char *name)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(TYPES[i].name, name) == 0)
            return &TYPES[i];
    errno = EINVAL;
    die("type", name);
    return NULL;
}

static void write_all(int fd, const void *data, size_t size)
{
    if (write(fd, data, size) != (ssize_t)size)
        die("write", "pipe");
}

static void read_all(int fd, void *data, size_t size)
{
    if (read(fd, data, size) != (ssize_t)size)
        die("read", "pipe");
}

/* The child that unshares. With pid it forks the holder, which pauses as PID 1 of the new namespace. */
static void creator(int flags, int up, int down)
{
    if (unshare(flags) < 0)
        die("unshare", NULL);
    pid_t holder = 0;
    if (flags & CLONE_NEWPID) {
        holder = fork();
        if (holder < 0)
            die("fork", "holder");
        if (holder == 0) {
            /* Like the collection's holder: no stdio of the caller's kept open (a caller reading our
             * output to its end would wait for the holder's exit). */
            int null = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                die("dup2", "/dev/null");
            setsid();
            for (;;)
                pause();
        }
    }
    write_all(up, &holder, sizeof holder);
    char done;
    read_all(down, &done, 1);   /* the parent has bound our namespace files */
    _exit(0);
}

static int create(const char *dir, int argc, char **argv)
{
    int flags = 0;
    for (int i = 0; i < argc; i++)
        flags |= type_named(argv[i])->flag;
    int up[2], down[2];
    if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0)
        die("pipe2", NULL);
    pid_t child = fork();
    if (child < 0)
        die("fork", "creator");
    if (child == 0)
        creator(flags, up[1], down[0]);
    pid_t holder;
    read_all(up[0], &holder, sizeof holder);
    char source[64], target[4096];
    for (int i = 0; i < argc; i++) {
        const char *name = argv[i];
        /* The creator itself stays in the caller's PID namespace: the holder is in the new one. */
        if (strcmp(name, "pid") == 0)
            snprintf(source, sizeof source, "/proc/%d/ns/pid", holder);
        else if (strcmp(name, "time") == 0)
            snprintf(source, sizeof source, "/proc/%d/ns/time_for_children", child);
        else
            snprintf(source, sizeof source, "/proc/%d/ns/%s", child, name);
        snprintf(target, sizeof target, "%s/%s", dir, name);
        int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd < 0)
            die("open", target);
        close(fd);
        if (mount(source, target, NULL, MS_BIND, NULL) < 0)
            die("mount", target);
    }
    write_all(down[1], "x", 1);
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("waitpid", "creator");
    if (holder) {
        snprintf(target, sizeof target, "%s/holder", dir);
        FILE *out = fopen(target, "we");
        if (!out || fprintf(out, "%d\n", holder) < 0 || fclose(out) != 0)
            die("write", target);
    }
    return 0;
}

static int enter(const char *dir, char **argv)
{
    int fork_after = 0;
    char path[4096];
    for (size_t i = 0; i < NTYPES; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, TYPES[i].name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            die("open", path);
        }
        if (setns(fd, TYPES[i].flag) < 0)
            die("setns", path);
        close(fd);
        fork_after |= TYPES[i].flag & (CLONE_NEWPID | CLONE_NEWTIME);
    }
    if (fork_after) {   /* pid and time apply to children only (docs/PITFALLS.md P3) */
        pid_t child = fork();
        if (child < 0)
            die("fork", NULL);
        if (child > 0) {
            int status;
            if (waitpid(child, &status, 0) < 0)
                die("waitpid", NULL);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
    execvp(argv[0], argv);
    die("execvp", argv[0]);
    return 1;
}

static int remove_set(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/holder", dir);
    FILE *in = fopen(path, "re");
    if (in) {
        int holder = 0;
        if (fscanf(in, "%d", &holder) != 1)
            die("read", path);
        fclose(in);
        int pidfd = (int)syscall(SYS_pidfd_open, holder, 0);
        if (pidfd < 0)
            die("pidfd_open", path);
        if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
            die("pidfd_send_signal", path);
        struct pollfd exited = {.fd = pidfd, .events = POLLIN};
        if (poll(&exited, 1, -1) < 0)
            die("poll", "pidfd");
        close(pidfd);
        if (unlink(path) < 0)
            die("unlink", path);
    }
    for (size_t i = 0; i < NTYPES; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, TYPES[i].name);
        if (umount2(path, MNT_DETACH) < 0) {
            if (errno == ENOENT)
                continue;
            die("umount2", path);
        }
        if (unlink(path) < 0)
            die("unlink", path);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "create") == 0)
        return create(argv[2], argc - 3, argv + 3);
    if (argc >= 4 && strcmp(argv[1], "enter") == 0)
        return enter(argv[2], argv + 3);
    if (argc == 3 && strcmp(argv[1], "remove") == 0)
        return remove_set(argv[2]);
    fprintf(stderr, "usage: lnsfloor create DIR TYPE... | enter DIR CMD... | remove DIR\n");
    return 2;
}
