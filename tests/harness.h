/* harness.h: what the cases share (harness.c). Include it first: it asks
   MSVC to take sprintf and sscanf before any C header is read. */
#ifndef HARNESS_H
#define HARNESS_H

#define _CRT_SECURE_NO_WARNINGS     /* MSVC: sprintf and sscanf are fine in a test */
#include <windows.h>
#include <stdint.h>

#define LIMIT 10000             /* ms any child may run before it is killed */

struct buf {
    HANDLE pipe, thread;
    char *data;                 /* all of it, NUL-terminated, once collected */
    DWORD len;
    volatile LONG lines;        /* how many lines have come so far */
    BOOL file;                  /* pipe is a file, read when the child is done */
};

struct proc {
    PROCESS_INFORMATION pi;
    HANDLE in;                  /* our end of its stdin, until closed */
    struct buf out, err;
    int code;                   /* exit code, or -1 if it was killed */
};

extern wchar_t dir[MAX_PATH];   /* where memwrite.exe and memread.exe are */
extern wchar_t other[MAX_PATH]; /* the other architecture's pair, if given */
extern char why[1024];          /* the current case's first failed check */
extern char skip[256];          /* why the current case could not run here */

/* Checks: a failed one records why, the first only, and gives 0. */
int bad(const char *fmt, ...);
#define CHECK(cond, ...) ((cond) ? 1 : bad(__VA_ARGS__))

/* Children: started with pipes, or as flags say; finished within a limit. */
enum {
    UNREAD = 1,                 /* nobody reads its stdout: writing there fails */
    NO_STDOUT = 2,              /* it has no stdout handle at all */
    EMPTY_FILE = 4,             /* its stdin is an empty file, not a pipe */
    CONSOLE_OUT = 8,            /* its stdout is our console */
    CONSOLE_IN = 16,            /* its stdin is our console */
    NEW_GROUP = 32,             /* a process group of its own: Ctrl+C passes it by */
    ERR_STUCK = 64,             /* nobody reads its stderr, but the pipe stays open */
    GIVEN_IN = 128,             /* its stdin is given_stdin */
    TO_FILE = 256,              /* stdout and stderr go to one file, read at the end */
};

extern HANDLE given_stdin;      /* for GIVEN_IN: inheritable */

BOOL start(struct proc *p, const wchar_t *prog, const wchar_t *fmt, ...);
BOOL start_with(struct proc *p, int flags, const wchar_t *prog, const wchar_t *fmt, ...);
int finish(struct proc *p, DWORD ms);
int run(struct proc *p, const wchar_t *prog, const wchar_t *fmt, ...);
void close_stdin(struct proc *p);
BOOL say_n(struct proc *p, const char *text, DWORD n);
BOOL say(struct proc *p, const char *text);
DWORD WINAPI drain(void *arg);
void collect(struct buf *b);
BOOL wait_lines(struct buf *b, LONG lines, DWORD ms);
ULONGLONG cpu_over(const PROCESS_INFORMATION *pi, DWORD ms);

/* What children print. */
BOOL one_line(const char *s);
BOOL has_control(const char *s);
void line_at(const char *s, LONG k, char *out, size_t n);
void check_follower(const char *out, int who, long last);

/* Sections and names, as readers see them or as another program makes them. */
void ready_name(wchar_t out[MAX_PATH], const wchar_t *m);
BOOL wait_writer(const wchar_t *m, DWORD ms);
BOOL exists(const wchar_t *m);
BOOL peek(const wchar_t *m, void *out, DWORD size);
void record(unsigned char out[24], uint32_t id, const char *name, size_t len);
HANDLE section_sd(const wchar_t *m, const void *bytes, DWORD size, const wchar_t *sddl);
HANDLE section(const wchar_t *m, const void *bytes, DWORD size);
void reads(const wchar_t *m, const char *want);
void refuses(const wchar_t *m, const char *what);
BOOL shows(const wchar_t *m, const char *want, DWORD ms);

/* .sleep: one LONG, asking. */
#define SLEEP_SIZE 4

LONG *map_sleep(const wchar_t *m, HANDLE *h);

/* The README's layout of memwrite's section, in LONGs. */
enum { SEQ = 6, STOPPED = 7, GEN = 8, PID = 9, STARTED = 10 };

void gen_name(wchar_t out[MAX_PATH], const wchar_t *m, LONG gen);

/* The objects memwrite makes, made by the test to play a writer by hand:
   the section holds its pid and start time, and gen the name of the event
   that the test sets to end a generation. */
struct fake {
    HANDLE ready, alive, sleep, map, gen;
    const wchar_t *m;
};

void fake_section(struct fake *f, const wchar_t *m, uint32_t id, const char *name, LONG seq);
void fake_write(struct fake *f, uint32_t id, const char *name, LONG seq);
void fake_set(struct fake *f, int at, LONG value);
BOOL fake_wake(struct fake *f);
void unfake(struct fake *f);

/* A follower played by the test, by the README's protocol: it opens the
   generation's event and sets asking; NULL if the event cannot be opened. */
HANDLE play_ask(const wchar_t *m, const LONG *view, LONG *sleep);

#endif
