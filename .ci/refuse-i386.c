// refuse-i386: run a command as if this kernel could not run 32-bit x86 programs
//
//   gcc -O2 -Wall -o /tmp/refuse-i386 .ci/refuse-i386.c
//   /tmp/refuse-i386 COMMAND [ARG...]
//
// An imitation of a kernel without IA-32 emulation (ia32_emulation=0, or
// CONFIG_IA32_EMULATION off), for trying the README on a machine whose
// kernel does run them. COMMAND and everything it starts run under a seccomp
// filter that hands each execve and execveat to this program, which reads the
// file to be run: an i386 ELF (ELFCLASS32, EM_386), directly or as the
// interpreter of a #! script, fails with ENOEXEC ("Exec format error"), as
// such a kernel's ELF loader refuses it, unless an enabled binfmt_misc entry
// matches its first 128 bytes; then the kernel goes on, and that entry (such
// as .ci/i386's qemu-i386) runs it, as it would on such a kernel, where
// binfmt_misc is asked before the ELF loader. Any 32-bit system call that
// gets through anyway kills its process (SIGSYS), so none runs unseen.
//
// What it does not imitate: binfmt_misc entries by extension (E), a 32-bit
// program mapped and entered without execve, x32 programs (allowed), and
// symbolic links in a path resolved from a chrooted process's working
// directory. It exits with COMMAND's status once COMMAND ends; a process
// of COMMAND's still running then gets ENOSYS from execve.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#define BFM "/proc/sys/fs/binfmt_misc"

static void die(const char *what)
{
    fprintf(stderr, "refuse-i386: %s: %s\n", what, strerror(errno));
    exit(125);
}

/* The filter: 32-bit system calls kill, execve and execveat ask us. */
static int install_filter(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};

    /* Root may filter without no_new_privs, which would stop sudo working. */
    if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        die("prctl(PR_SET_NO_NEW_PRIVS)");
    int fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                     &prog);
    if (fd < 0)
        die("seccomp");
    return fd;
}

static void send_fd(int sock, int fd)
{
    char c = 0, ctl[CMSG_SPACE(sizeof fd)] = {0};
    struct iovec iov = {&c, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                       .msg_controllen = sizeof ctl};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);

    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof fd);
    memcpy(CMSG_DATA(h), &fd, sizeof fd);
    if (sendmsg(sock, &m, 0) != 1)
        die("sendmsg");
}

static int recv_fd(int sock)
{
    char c, ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&c, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                       .msg_controllen = sizeof ctl};
    int fd;

    if (recvmsg(sock, &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
        return -1;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
    return fd;
}

/* A NUL-terminated string at addr in pid's memory, page by page. */
static int read_string(pid_t pid, unsigned long addr, char *s, size_t cap)
{
    char mem[64];
    size_t n = 0;
    int fd;

    snprintf(mem, sizeof mem, "/proc/%d/mem", pid);
    if ((fd = open(mem, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    while (n < cap - 1) {
        size_t want = 4096 - (addr + n) % 4096;
        ssize_t got = pread(fd, s + n, want < cap - 1 - n ? want : cap - 1 - n, addr + n);

        if (got <= 0)
            break;
        if (memchr(s + n, 0, got)) {
            close(fd);
            return 0;
        }
        n += got;
    }
    close(fd);
    return -1;
}

/* Open path as pid would find it: from its root, its working directory or
   dirfd. Returns an fd or -1. */
static int open_as(pid_t pid, int dirfd, const char *path, int empty_path)
{
    char base[64];
    int b, fd;

    if (empty_path && !*path) {
        snprintf(base, sizeof base, "/proc/%d/fd/%d", pid, dirfd);
        return open(base, O_RDONLY | O_CLOEXEC);
    }
    if (*path == '/')
        snprintf(base, sizeof base, "/proc/%d/root", pid);
    else if (dirfd == AT_FDCWD)
        snprintf(base, sizeof base, "/proc/%d/cwd", pid);
    else
        snprintf(base, sizeof base, "/proc/%d/fd/%d", pid, dirfd);
    if ((b = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                           .resolve = *path == '/' ? RESOLVE_IN_ROOT : 0};
    fd = syscall(__NR_openat2, b, path, &how, sizeof how);
    close(b);
    return fd;
}

static int unhex(const char *s, unsigned char *out, int cap)
{
    int n = 0;
    unsigned v;

    while (n < cap && sscanf(s + 2 * n, "%2x", &v) == 1)
        out[n++] = (unsigned char)v;
    return n;
}

/* Whether an enabled binfmt_misc entry of the magic kind matches head. */
static int binfmt_matches(const unsigned char *head, size_t len)
{
    char line[600], path[300];
    FILE *f = fopen(BFM "/status", "r");
    int on = f && fgets(line, sizeof line, f) && !strncmp(line, "enabled", 7), found = 0;
    DIR *d;
    struct dirent *e;

    if (f)
        fclose(f);
    if (!on || !(d = opendir(BFM)))
        return 0;
    while (!found && (e = readdir(d))) {
        unsigned char magic[128], mask[128];
        int enabled = 0, offset = 0, nmagic = 0, nmask = 0;

        if (*e->d_name == '.' || !strcmp(e->d_name, "status") || !strcmp(e->d_name, "register"))
            continue;
        snprintf(path, sizeof path, BFM "/%s", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        while (fgets(line, sizeof line, f)) {
            enabled |= !strcmp(line, "enabled\n");
            sscanf(line, "offset %d", &offset);
            if (!strncmp(line, "magic ", 6))
                nmagic = unhex(line + 6, magic, sizeof magic);
            if (!strncmp(line, "mask ", 5))
                nmask = unhex(line + 5, mask, sizeof mask);
        }
        fclose(f);
        if (!enabled || !nmagic || offset < 0 || (size_t)(offset + nmagic) > len)
            continue;
        found = 1; /* as the kernel compares: the bits the mask keeps */
        for (int i = 0; i < nmagic; i++)
            if ((head[offset + i] ^ magic[i]) & (i < nmask ? mask[i] : 0xff))
                found = 0;
    }
    closedir(d);
    return found;
}

/* 1 if running the file open at fd would start i386 code that no binfmt_misc
   entry takes, following #! lines as the kernel does. */
static int refused(pid_t pid, int fd, int depth)
{
    unsigned char head[128] = {0};
    struct stat st;
    ssize_t n = pread(fd, head, sizeof head, 0);

    if (n < 4 || fstat(fd, &st) || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
        return 0; /* the kernel says what is wrong */
    if (binfmt_matches(head, n))
        return 0;
    if (!memcmp(head, "\x7f" "ELF", 4))
        return n >= 20 && head[4] == 1 && head[18] == 3 && head[19] == 0;
    if (head[0] == '#' && head[1] == '!' && depth < 4) {
        char interp[128];
        size_t i = 2, j = 0;
        int r = 0, ifd;

        while (i < (size_t)n && (head[i] == ' ' || head[i] == '\t'))
            i++;
        while (i < (size_t)n && j < sizeof interp - 1 && head[i] != ' ' && head[i] != '\t'
               && head[i] != '\n')
            interp[j++] = (char)head[i++];
        interp[j] = 0;
        if (j && (ifd = open_as(pid, AT_FDCWD, interp, 0)) >= 0) {
            r = refused(pid, ifd, depth + 1);
            close(ifd);
        }
        return r;
    }
    return 0;
}

static void answer(int listener, struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
    int execveat = req->data.nr == __NR_execveat, fd;
    char path[4096];

    memset(resp, 0, sizeof *resp);
    resp->id = req->id;
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (!read_string(req->pid, req->data.args[execveat], path, sizeof path)
        && ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == 0
        && (fd = open_as(req->pid, execveat ? (int)req->data.args[0] : AT_FDCWD, path,
                         execveat && (req->data.args[4] & AT_EMPTY_PATH))) >= 0) {
        if (refused(req->pid, fd, 0)) {
            resp->flags = 0;
            resp->error = -ENOEXEC;
        }
        close(fd);
    }
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

int main(int argc, char **argv)
{
    struct seccomp_notif_sizes sz;
    int sv[2], listener, status;
    pid_t child;

    if (argc < 2) {
        fputs("usage: refuse-i386 COMMAND [ARG...]\n", stderr);
        return 2;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        die("socketpair");
    if ((child = fork()) < 0)
        die("fork");
    if (child == 0) {
        close(sv[0]);
        int fd = install_filter();
        send_fd(sv[1], fd);
        close(fd);
        close(sv[1]);
        execvp(argv[1], argv + 1);
        fprintf(stderr, "refuse-i386: %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    close(sv[1]);
    if ((listener = recv_fd(sv[0])) < 0) {
        waitpid(child, &status, 0);
        return 125;
    }
    close(sv[0]);
    if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz))
        die("seccomp(SECCOMP_GET_NOTIF_SIZES)");
    struct seccomp_notif *req = malloc(sz.seccomp_notif > sizeof *req ? sz.seccomp_notif
                                                                        : sizeof *req);
    struct seccomp_notif_resp *resp = malloc(sz.seccomp_notif_resp > sizeof *resp
                                             ? sz.seccomp_notif_resp : sizeof *resp);
    if (!req || !resp)
        die("malloc");
    for (;;) {
        struct pollfd p = {listener, POLLIN, 0};

        if (waitpid(child, &status, WNOHANG) == child)
            break;
        if (poll(&p, 1, 100) <= 0 || !(p.revents & POLLIN))
            continue;
        memset(req, 0, sz.seccomp_notif);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
            answer(listener, req, resp);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
