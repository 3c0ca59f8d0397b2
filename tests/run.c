/* run: the test suite. It starts memwrite and memread as real processes,
   with pipes for their standard handles and a time limit each, and checks
   their output, exit codes and the sections they leave. It knows the record
   and the ready event from the README, not from student.h, so that a wrong
   definition there cannot hide. */
#define _CRT_SECURE_NO_WARNINGS     /* MSVC: sprintf and sscanf are fine in a test */
#include <windows.h>
#include <sddl.h>
#include <aclapi.h>
#include <stdarg.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "cputime.h"

#define LIMIT 10000             /* ms any child may run before it is killed */

struct buf {
    HANDLE pipe, thread;
    char *data;                 /* all of it, NUL-terminated, once collected */
    DWORD len;
    volatile LONG lines;        /* how many lines have come so far */
};

struct proc {
    PROCESS_INFORMATION pi;
    HANDLE in;                  /* our end of its stdin, until closed */
    struct buf out, err;
    int code;                   /* exit code, or -1 if it was killed */
};

static wchar_t dir[MAX_PATH];   /* where memwrite.exe and memread.exe are */
static wchar_t other[MAX_PATH]; /* the other architecture's pair, if given */
static char why[1024];          /* the current case's first failed check */
static char skip[256];          /* why the current case could not run here */
static int passed, failed, skipped;

/* Record a failed check unless one is recorded already; returns 0. */
static int bad(const char *fmt, ...)
{
    va_list ap;

    if (!*why) {
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
    }
    return 0;
}

#define CHECK(cond, ...) ((cond) ? 1 : bad(__VA_ARGS__))

static DWORD WINAPI drain(void *arg)
{
    struct buf *b = arg;
    DWORD n, cap = 4096;
    char *data = malloc(cap);

    while (data && ReadFile(b->pipe, data + b->len, cap - 1 - b->len, &n, NULL) && n) {
        for (DWORD i = b->len; i < b->len + n; i++)
            if (data[i] == '\n')
                InterlockedIncrement(&b->lines);
        b->len += n;
        if (b->len == cap - 1)
            data = realloc(data, cap *= 2);
    }
    if (data)
        data[b->len] = 0;
    b->data = data ? data : "";
    return 0;
}

static void close_stdin(struct proc *p)
{
    if (p->in)
        CloseHandle(p->in);
    p->in = NULL;
}

enum {
    UNREAD = 1,                 /* nobody reads its stdout: writing there fails */
    NO_STDOUT = 2,              /* it has no stdout handle at all */
    EMPTY_FILE = 4,             /* its stdin is an empty file, not a pipe */
    CONSOLE_OUT = 8,            /* its stdout is our console */
    CONSOLE_IN = 16,            /* its stdin is our console */
    NEW_GROUP = 32,             /* a process group of its own: Ctrl+C passes it by */
    ERR_STUCK = 64,             /* nobody reads its stderr, but the pipe stays open */
    GIVEN_IN = 128,             /* its stdin is given_stdin */
};

static HANDLE given_stdin;      /* for GIVEN_IN: inheritable */

/* Held from making a child's inheritable handles until they are closed
   here, so that a child started by another thread inherits none of them:
   an end of a pipe held by the wrong child would keep it open. */
static SRWLOCK starting = SRWLOCK_INIT;

/* Start PROG.exe from dir (or PROG.exe, if it is a full path) with
   arguments, and pipes for its standard handles unless flags say otherwise. */
static BOOL vstart(struct proc *p, int flags, const wchar_t *prog, const wchar_t *fmt, va_list ap)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOW si = {0};
    HANDLE in, out, err;
    wchar_t cmd[4096];
    int n = wcschr(prog, L':') ? swprintf(cmd, 4096, L"\"%ls.exe\" ", prog)
            : swprintf(cmd, 4096, L"\"%ls\\%ls.exe\" ", dir, prog);
    BOOL ok = FALSE;

    memset(p, 0, sizeof *p);
    p->out.data = p->err.data = "";
    vswprintf(cmd + n, 4096 - n, fmt, ap);
    AcquireSRWLockExclusive(&starting);
    if (!CreatePipe(&in, &p->in, &sa, 0) || !CreatePipe(&p->out.pipe, &out, &sa, 0)
        || !CreatePipe(&p->err.pipe, &err, &sa, 0)) {
        ReleaseSRWLockExclusive(&starting);
        return bad("CreatePipe: error %lu", GetLastError());
    }
    SetHandleInformation(p->in, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(p->out.pipe, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(p->err.pipe, HANDLE_FLAG_INHERIT, 0);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = flags & CONSOLE_IN ? GetStdHandle(STD_INPUT_HANDLE)
                   : flags & GIVEN_IN ? given_stdin : in;
    si.hStdOutput = flags & NO_STDOUT ? NULL
                    : flags & CONSOLE_OUT ? GetStdHandle(STD_OUTPUT_HANDLE) : out;
    si.hStdError = err;
    if (flags & EMPTY_FILE) {
        wchar_t tmp[MAX_PATH + 40];

        CloseHandle(in);
        swprintf(tmp + GetTempPathW(MAX_PATH, tmp), 40, L"memtest.%lu.empty",
                 GetCurrentProcessId());
        si.hStdInput = in = CreateFileW(tmp, GENERIC_READ | GENERIC_WRITE,
                                        FILE_SHARE_READ | FILE_SHARE_DELETE, &sa, CREATE_ALWAYS,
                                        FILE_FLAG_DELETE_ON_CLOSE, NULL);
    }
    /* Wine 8 now and then loses a new process before its loader is done
       (error 1359, ERROR_INTERNAL_ERROR): none of the program ran, so try again. */
    for (int tries = 0; tries < 3; tries++) {
        ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE,
                            flags & NEW_GROUP ? CREATE_NEW_PROCESS_GROUP : 0, NULL, NULL, &si,
                            &p->pi);
        if (ok || GetLastError() != ERROR_INTERNAL_ERROR)
            break;
    }
    if (!ok)
        bad("CreateProcess %ls: error %lu", prog, GetLastError());
    CloseHandle(in);
    CloseHandle(out);
    CloseHandle(err);
    ReleaseSRWLockExclusive(&starting);
    if (flags & CONSOLE_IN)
        close_stdin(p);
    if (flags & (UNREAD | NO_STDOUT | CONSOLE_OUT)) {
        CloseHandle(p->out.pipe);
        p->out.pipe = NULL;
    } else {
        p->out.thread = CreateThread(NULL, 0, drain, &p->out, 0, NULL);
    }
    if (!(flags & ERR_STUCK))
        p->err.thread = CreateThread(NULL, 0, drain, &p->err, 0, NULL);
    return ok;
}

static BOOL start(struct proc *p, const wchar_t *prog, const wchar_t *fmt, ...)
{
    va_list ap;
    BOOL ok;

    va_start(ap, fmt);
    ok = vstart(p, 0, prog, fmt, ap);
    va_end(ap);
    return ok;
}

static BOOL start_with(struct proc *p, int flags, const wchar_t *prog, const wchar_t *fmt, ...)
{
    va_list ap;
    BOOL ok;

    va_start(ap, fmt);
    ok = vstart(p, flags, prog, fmt, ap);
    va_end(ap);
    return ok;
}

static void collect(struct buf *b)
{
    if (b->thread) {
        WaitForSingleObject(b->thread, INFINITE);
        CloseHandle(b->thread);
    }
    if (b->pipe)
        CloseHandle(b->pipe);
    b->thread = b->pipe = NULL;
}

/* Close its stdin, wait up to ms for it to end (killing it then), collect
   its output and return its exit code, -1 if it had to be killed. */
static int finish(struct proc *p, DWORD ms)
{
    DWORD code = (DWORD)-1;
    HANDLE h = p->pi.hProcess;

    close_stdin(p);
    if (h && WaitForSingleObject(h, ms) != WAIT_OBJECT_0) {
        TerminateProcess(h, 99);
        WaitForSingleObject(h, INFINITE);
        bad("a child ran past its limit and was killed");
    } else if (h) {
        GetExitCodeProcess(h, &code);
    }
    collect(&p->out);           /* even if it never started: its threads are ours */
    collect(&p->err);
    if (h) {
        CloseHandle(p->pi.hThread);
        CloseHandle(h);
    }
    p->pi.hProcess = NULL;
    return p->code = (int)code;
}

static int run(struct proc *p, const wchar_t *prog, const wchar_t *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstart(p, 0, prog, fmt, ap);
    va_end(ap);
    return finish(p, LIMIT);
}

/* Write n bytes of text to its stdin. */
static BOOL say_n(struct proc *p, const char *text, DWORD n)
{
    DWORD done;

    return CHECK(WriteFile(p->in, text, n, &done, NULL) && done == n, "cannot write to stdin");
}

static BOOL say(struct proc *p, const char *text)
{
    return say_n(p, text, (DWORD)strlen(text));
}

/* Wait until b has at least lines lines; FALSE after ms. */
static BOOL wait_lines(struct buf *b, LONG lines, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;

    while (b->lines < lines)
        if (GetTickCount64() > end)
            return FALSE;
        else
            Sleep(1);
    return TRUE;
}

static BOOL one_line(const char *s)
{
    const char *nl = strchr(s, '\n');

    return nl && nl[1] == 0 && nl > s && nl[-1] == '\r';
}

static BOOL has_control(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\r' && *s != '\n') || *s == 0x7f)
            return TRUE;
    return FALSE;
}

static void utf8(char *out, size_t n, const wchar_t *s)
{
    WideCharToMultiByte(CP_UTF8, 0, s, -1, out, (int)n, NULL, NULL);
}

static void ready_name(wchar_t out[MAX_PATH], const wchar_t *m)
{
    swprintf(out, MAX_PATH, L"%ls.ready", m);
}

/* Wait until memwrite's record in m is complete, as a reader would. */
static BOOL wait_writer(const wchar_t *m, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    wchar_t ev[MAX_PATH];
    HANDLE h;
    DWORD r;

    ready_name(ev, m);
    while (!(h = OpenEventW(SYNCHRONIZE, FALSE, ev)) && GetTickCount64() < end)
        Sleep(5);
    if (!h)
        return bad("the ready event of %ls never appeared", m);
    r = WaitForSingleObject(h, ms);
    CloseHandle(h);
    return CHECK(r == WAIT_OBJECT_0, "%ls never became ready", m);
}

static BOOL exists(const wchar_t *m)
{
    HANDLE h = OpenFileMappingW(FILE_MAP_READ, FALSE, m);

    if (h)
        CloseHandle(h);
    return h != NULL;
}

/* Read size bytes of section m; FALSE if it cannot be opened or mapped. */
static BOOL peek(const wchar_t *m, void *out, DWORD size)
{
    HANDLE h = OpenFileMappingW(FILE_MAP_READ, FALSE, m);
    void *v = h ? MapViewOfFile(h, FILE_MAP_READ, 0, 0, size) : NULL;

    if (v) {
        memcpy(out, v, size);
        UnmapViewOfFile(v);
    }
    if (h)
        CloseHandle(h);
    return v != NULL;
}

/* The article's record as raw bytes: ID little-endian at 0, name at 4. */
static void record(unsigned char out[24], uint32_t id, const char *name, size_t len)
{
    memset(out, 0, 24);
    for (int i = 0; i < 4; i++)
        out[i] = (unsigned char)(id >> 8 * i);
    memcpy(out + 4, name, len);
}

/* A section the test makes itself, as another program might, with the
   security descriptor sddl if not NULL. */
static HANDLE section_sd(const wchar_t *m, const void *bytes, DWORD size, const wchar_t *sddl)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
    HANDLE h;

    if (sddl && !ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
                                                                      &sa.lpSecurityDescriptor, NULL))
        bad("bad security descriptor %ls", sddl);
    h = CreateFileMappingW(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, size, m);
    LocalFree(sa.lpSecurityDescriptor);
    void *v = h ? MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, size) : NULL;

    if (!v) {
        bad("cannot make section %ls: error %lu", m, GetLastError());
        return h;
    }
    memcpy(v, bytes, size);
    UnmapViewOfFile(v);
    return h;
}

static HANDLE section(const wchar_t *m, const void *bytes, DWORD size)
{
    return section_sd(m, bytes, size, NULL);
}

/* memread -m m must print exactly want and exit 0. */
static void reads(const wchar_t *m, const char *want)
{
    struct proc r;

    run(&r, L"memread", L"-m %ls", m);
    CHECK(r.code == 0, "memread -m %ls: exit %d, stderr %s", m, r.code, r.err.data);
    CHECK(!strcmp(r.out.data, want), "memread -m %ls printed \"%s\", not \"%s\"",
          m, r.out.data, want);
}

/* memread -m m must fail: exit 1, nothing on stdout, one line naming m. */
static void refuses(const wchar_t *m, const char *what)
{
    struct proc r;
    char name[1024];

    utf8(name, sizeof name, m);
    run(&r, L"memread", L"-m %ls", m);
    CHECK(r.code == 1, "%s: memread exit %d, not 1", what, r.code);
    CHECK(!*r.out.data, "%s: memread printed \"%s\"", what, r.out.data);
    CHECK(one_line(r.err.data) && strstr(r.err.data, name),
          "%s: stderr is not one line naming the mapping: %s", what, r.err.data);
    CHECK(!has_control(r.err.data), "%s: a control character on stderr", what);
}

static void defaults(const wchar_t *unused)
{
    struct proc w, r;

    (void)unused;
    start(&w, L"memwrite", L"");
    if (wait_writer(L"TestMemShare", LIMIT)) {
        reads(L"TestMemShare", "99041232\r\nSecBug\r\n");
        run(&r, L"memread", L"-w 86400");
        CHECK(r.code == 0 && !strcmp(r.out.data, "99041232\r\nSecBug\r\n"),
              "memread -w 86400: exit %d, %s", r.code, r.err.data);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite exit %d", w.code);
    CHECK(one_line(w.err.data) && strstr(w.err.data, "99041232 \"SecBug\" as \"TestMemShare\""),
          "memwrite's status line: %s", w.err.data);
    CHECK(!*w.out.data, "memwrite printed on stdout: %s", w.out.data);
}

static void values(const wchar_t *m)
{
    static const struct {
        const wchar_t *args;
        const char *out;
    } t[] = {
        {L"42 Alice", "42\r\nAlice\r\n"},
        {L"7", "7\r\nSecBug\r\n"},
        {L"-- -7 Bob", "-7\r\nBob\r\n"},
        {L"-- -2147483648 min", "-2147483648\r\nmin\r\n"},
        {L"2147483647 max", "2147483647\r\nmax\r\n"},
        {L"0 \"two words\"", "0\r\ntwo words\r\n"},
        {L"1 abcdefghijklmnopqrs", "1\r\nabcdefghijklmnopqrs\r\n"},
        {L"2 Ωμέγα", "2\r\n\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1\r\n"},
        {L"3 日本語日本語a", "3\r\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"
                          "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" "a\r\n"},
        {L"4 \U0001F600", "4\r\n\xf0\x9f\x98\x80\r\n"},
    };
    wchar_t name[300];
    struct proc w;

    for (size_t i = 0; i < sizeof t / sizeof *t && !*why; i++) {
        swprintf(name, 300, L"%ls.%u", m, (unsigned)i);
        start(&w, L"memwrite", L"-m %ls %ls", name, t[i].args);
        if (wait_writer(name, LIMIT))
            reads(name, t[i].out);
        finish(&w, LIMIT);
        CHECK(w.code == 0, "memwrite %ls: exit %d", t[i].args, w.code);
    }
}

/* Every usage error: exit 2, one line on stderr, nothing on stdout, and a
   writer already sharing the same mapping left alone. */
static void usage_errors(const wchar_t *m)
{
    static const wchar_t *writes[] = {
        L"-x", L"-m", L"-m \"\"", L"-m a\\b", L"-m Global\\", L"-m Local\\a\\b",
        L"-m \"a\x01\"", L"-m %ls abc", L"-m %ls 12x", L"-m %ls 2147483648",
        L"-m %ls -- -2147483649", L"-m %ls -- -", L"-m %ls \"\"", L"-m %ls 1 \"\"",
        L"-m %ls 1 abcdefghijklmnopqrst", L"-m %ls 1 日本語日本語ab", L"-m %ls 1 \"a\tb\"",
        L"-m %ls 1 \"a\x1b[31m\"", L"-m %ls 1 \xd800", L"-m %ls 1 a b", L"-m %ls -5",
        L"-m local\\x", L"-m global\\x", L"-m LOCAL\\x", L"-m %ls 12345678901234567890123",
        L"-m %ls 1 \"a\x7f\"", L"-m %ls 1 \"a\x85\"", L"-m %ls 1 \"\x9f\"",
    };
    static const wchar_t *reads_[] = {
        L"-x", L"-m", L"-w", L"-w abc", L"-w -1", L"-w 1.2345", L"-w 86401", L"-w .5",
        L"-w 5.", L"-m %ls extra", L"-m a\\b", L"-m \"\"", L"-m local\\x", L"-f -m global\\x",
        L"-w 86400.5", L"-w 86401", L"-w 86400.001",
    };
    wchar_t args[600], toolong[1200];
    struct proc w, r;

    start(&w, L"memwrite", L"-m %ls 5 first", m);
    if (!wait_writer(m, LIMIT))
        goto out;
    for (size_t i = 0; i < sizeof writes / sizeof *writes + sizeof reads_ / sizeof *reads_; i++) {
        int isw = i < sizeof writes / sizeof *writes;
        const wchar_t *fmt = isw ? writes[i] : reads_[i - sizeof writes / sizeof *writes];

        swprintf(args, 600, fmt, m);
        run(&r, isw ? L"memwrite" : L"memread", L"%ls", args);
        CHECK(r.code == 2, "%ls %ls: exit %d, not 2 (%s)", isw ? L"memwrite" : L"memread",
              args, r.code, r.err.data);
        CHECK(!*r.out.data, "%ls: stdout \"%s\"", args, r.out.data);
        CHECK(one_line(r.err.data) && strstr(r.err.data, "usage: mem"),
              "%ls: stderr is not one line with the usage: %s", args, r.err.data);
        CHECK(!has_control(r.err.data), "%ls: a control character on stderr", args);
    }
    /* The longest name Windows takes with ".ready" after it is 253 characters. */
    wmemset(toolong, L'n', 254);
    toolong[254] = 0;
    run(&r, L"memwrite", L"-m %ls", toolong);
    CHECK(r.code == 2, "a 254-character mapping name: exit %d", r.code);
    toolong[253] = 0;
    start(&r, L"memwrite", L"-m %ls", toolong);
    wait_writer(toolong, LIMIT);
    finish(&r, LIMIT);
    CHECK(r.code == 0, "a 253-character mapping name: exit %d: %s", r.code, r.err.data);
    /* The limit counts a Local\ prefix too. */
    wmemcpy(toolong, L"Local\\", 6);
    start(&r, L"memwrite", L"-m %ls", toolong);
    wait_writer(toolong, LIMIT);
    finish(&r, LIMIT);
    CHECK(r.code == 0, "Local\\ and 247 characters: exit %d: %s", r.code, r.err.data);
    toolong[253] = L'n';
    run(&r, L"memwrite", L"-m %ls", toolong);
    CHECK(r.code == 2, "Local\\ and 248 characters: exit %d", r.code);
    /* A message cut short still says why, on one clean line, with either printf. */
    wmemset(toolong, L'n', 1100);
    toolong[1100] = 0;
    for (int i = 0; i < 2; i++) {
        run(&r, i ? L"memread" : L"memwrite", L"-m %ls", toolong);
        CHECK(r.code == 2 && one_line(r.err.data) && !has_control(r.err.data)
              && strstr(r.err.data, "longer than 253 characters") && strlen(r.err.data) < 300,
              "an 1100-character mapping name: exit %d, %s", r.code, r.err.data);
    }
    reads(m, "5\r\nfirst\r\n");
out:
    finish(&w, LIMIT);
}

static void no_writer(const wchar_t *m)
{
    struct proc r;
    ULONGLONG t0 = GetTickCount64(), ms;

    refuses(m, "no writer");
    ms = GetTickCount64() - t0;
    CHECK(ms < 1000, "memread without -w took %llu ms", ms);
    t0 = GetTickCount64();
    run(&r, L"memread", L"-m %ls -w 0.5", m);
    ms = GetTickCount64() - t0;
    CHECK(r.code == 1 && strstr(r.err.data, ". (error 2)"), "-w 0.5: exit %d: %s",
          r.code, r.err.data);
    /* A failed call's message cuts a long name to 40 characters. */
    {
        wchar_t longname[254];

        wmemset(longname, L'x', 253);
        longname[253] = 0;
        run(&r, L"memread", L"-m %ls", longname);
        CHECK(r.code == 1 && one_line(r.err.data) && strlen(r.err.data) < 200
              && strstr(r.err.data, "xxx...\": "), "a 253-character name: exit %d: %s",
              r.code, r.err.data);
    }
    CHECK(ms >= 500 && ms < 1500, "memread -w 0.5 took %llu ms", ms);
}

static void second_writer(const wchar_t *m)
{
    unsigned char bytes[24], after[24];
    wchar_t other[300], ev[MAX_PATH];
    struct proc w, w2;
    HANDLE h, e;

    start(&w, L"memwrite", L"-m %ls 1 first", m);
    if (wait_writer(m, LIMIT)) {
        run(&w2, L"memwrite", L"-m %ls 2 second", m);
        CHECK(w2.code == 1, "a second memwrite: exit %d", w2.code);
        CHECK(one_line(w2.err.data) && strstr(w2.err.data, "(error 183)"),
              "a second memwrite: %s", w2.err.data);
        reads(m, "1\r\nfirst\r\n");
    }
    finish(&w, LIMIT);
    /* A section of another program's, with no ready event: refused as well. */
    swprintf(other, 300, L"%ls.other", m);
    record(bytes, 77, "theirs", 6);
    h = section(other, bytes, 24);
    run(&w2, L"memwrite", L"-m %ls 2 second", other);
    CHECK(w2.code == 1 && strstr(w2.err.data, "CreateFileMapping"),
          "memwrite over another's section: exit %d: %s", w2.code, w2.err.data);
    CHECK(peek(other, after, 24) && !memcmp(bytes, after, 24),
          "memwrite changed another program's section");
    CloseHandle(h);
    /* Another writer's .alive, owned, with no ready event yet: refused too. */
    swprintf(other, 300, L"%ls.alive", m);
    swprintf(ev, MAX_PATH, L"%ls.alive", other);
    e = CreateMutexW(NULL, TRUE, ev);
    run(&w2, L"memwrite", L"-m %ls", other);
    CHECK(w2.code == 1 && strstr(w2.err.data, "CreateMutex") && strstr(w2.err.data, "(error 183)")
          && !exists(other),
          "memwrite beside a .alive mutex it did not make: exit %d: %s", w2.code, w2.err.data);
    CloseHandle(e);
}

static void stops(const wchar_t *m)
{
    static const char *enter[] = {"\r\n", "\n"};
    wchar_t ev[MAX_PATH], m2[300];
    ULONGLONG t0, ms;
    struct proc w;
    HANDLE e;

    start(&w, L"memwrite", L"-m %ls", m);
    if (wait_writer(m, LIMIT)) {
        finish(&w, LIMIT);      /* end of input */
        CHECK(w.code == 0, "memwrite at end of input: exit %d", w.code);
        ready_name(ev, m);
        e = OpenEventW(SYNCHRONIZE, FALSE, ev);
        CHECK(!exists(m) && !e, "the section or its event outlived memwrite");
        if (e)
            CloseHandle(e);
    }
    for (int i = 0; i < 2; i++) {
        swprintf(m2, 300, L"%ls.enter%d", m, i);
        start(&w, L"memwrite", L"-m %ls", m2);
        if (wait_writer(m2, LIMIT)) {
            say(&w, enter[i]);
            CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
                  "memwrite went on after Enter (%d)", i);
        }
        finish(&w, LIMIT);
        CHECK(w.code == 0 && !exists(m2), "memwrite after Enter (%d): exit %d", i, w.code);
    }
    /* Empty input from the start, a file or a pipe: it shares, then stops. */
    for (int i = 0; i < 2; i++) {
        t0 = GetTickCount64();
        start_with(&w, i ? 0 : EMPTY_FILE, L"memwrite", L"-m %ls.empty%d", m, i);
        if (i)
            close_stdin(&w);
        WaitForSingleObject(w.pi.hProcess, 5000);
        ms = GetTickCount64() - t0;
        finish(&w, LIMIT);
        CHECK(w.code == 0 && strstr(w.err.data, "sharing") && ms < 2000,
              "memwrite with empty stdin (%ls): exit %d after %llu ms: %s",
              i ? L"a pipe" : L"a file", w.code, ms, w.err.data);
    }
}

static void killed(const wchar_t *m)
{
    struct proc w;

    start(&w, L"memwrite", L"-m %ls", m);
    if (wait_writer(m, LIMIT)) {
        TerminateProcess(w.pi.hProcess, 9);
        WaitForSingleObject(w.pi.hProcess, LIMIT);
        CHECK(!exists(m), "the section outlived a killed memwrite");
        refuses(m, "after memwrite was killed");
    }
    finish(&w, LIMIT);
}

static void untrusted(const wchar_t *m)
{
    static const struct {
        const char *name;       /* the name's bytes, NUL-padded to 20 */
        size_t len;
        const char *out;        /* what memread prints, or NULL: it refuses */
    } t[] = {
        {"", 0, NULL},
        {"AAAAAAAAAAAAAAAAAAAA", 20, NULL},
        {"a\x1b[31mb\a\x7f\tc", 11, "5\r\na\\x1b[31mb\\x07\\x7f\\x09c\r\n"},
        {"\xc2\x85\xc2\x9b" "x", 5, "5\r\n\\u0085\\u009bx\r\n"},
        {"\xff\xc0\x80\xed\xa0\x80", 6, "5\r\n\\xff\\xc0\\x80\\xed\\xa0\\x80\r\n"},
        {"\xf4\x90\x80\x80" "a\xe2\x82", 7, "5\r\n\\xf4\\x90\\x80\\x80a\\xe2\\x82\r\n"},
        {"a\\b", 3, "5\r\na\\\\b\r\n"},
        {"\xe2\x82\xac\xf0\x9f\x98\x80", 7, "5\r\n\xe2\x82\xac\xf0\x9f\x98\x80\r\n"},
        {"ok\0\x1b\x1b\x1b", 6, "5\r\nok\r\n"},
        {"\xe0\x83\xa9" "o", 4, "5\r\n\\xe0\\x83\\xa9o\r\n"},
        {"s\xed\xbf\xbf", 4, "5\r\ns\\xed\\xbf\\xbf\r\n"},
    };
    unsigned char bytes[24];
    wchar_t name[300];
    HANDLE h;

    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        swprintf(name, 300, L"%ls.%u", m, (unsigned)i);
        record(bytes, 5, t[i].name, t[i].len);
        h = section(name, bytes, 24);
        if (t[i].out)
            reads(name, t[i].out);
        else
            refuses(name, "a name with no NUL, or an empty one");
        CloseHandle(h);
    }
    /* Smaller than a record: Windows will not map 24 bytes of it, Wine maps
       a zero-filled page and the name is empty; refused either way. */
    swprintf(name, 300, L"%ls.small", m);
    h = section(name, "\x05\x00\x00", 3);
    refuses(name, "a 3-byte section");
    CloseHandle(h);
    /* A section whose DACL lets everyone read it and do nothing else. */
    swprintf(name, 300, L"%ls.readonly", m);
    record(bytes, 6, "locked", 6);
    h = section_sd(name, bytes, 24, L"D:(A;;GR;;;WD)");
    reads(name, "6\r\nlocked\r\n");
    CloseHandle(h);
}

/* Names taken by objects of another kind: a clear error at once, with or
   without -w, from both programs. */
static void taken_names(const wchar_t *m)
{
    static const wchar_t *how[] = {L"-m %ls", L"-m %ls -w 5", L"-f -m %ls -w 5"};
    wchar_t name[300], other[MAX_PATH];
    unsigned char bytes[24] = {0};
    HANDLE h[2];
    struct proc r;
    ULONGLONG t0, ms;

    swprintf(name, 300, L"%ls.event", m);
    h[0] = CreateEventW(NULL, TRUE, TRUE, name);
    swprintf(other, MAX_PATH, L"%ls.section.ready", m);
    h[1] = section(other, bytes, 24);
    for (int k = 0; k < 2; k++) {
        swprintf(name, 300, k ? L"%ls.section" : L"%ls.event", m);
        for (int i = 0; i < 4; i++) {
            t0 = GetTickCount64();
            if (i < 3)
                run(&r, L"memread", how[i], name);
            else
                run(&r, L"memwrite", L"-m %ls", name);
            ms = GetTickCount64() - t0;
            CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data)
                  && strstr(r.err.data, "(error 6)") && strstr(r.err.data, "another kind")
                  && ms < 2000,
                  "%ls, taken by %ls: exit %d after %llu ms: %s", i < 3 ? how[i] : L"memwrite",
                  k ? L"a section for .ready" : L"an event", r.code, ms, r.err.data);
        }
    }
    CloseHandle(h[1]);
    CloseHandle(h[0]);
}

static void layout(const wchar_t *m)
{
    unsigned char want[32], got[32];
    wchar_t m2[300];
    struct proc w, r;

    start(&w, L"memwrite", L"-m %ls -- -2 Zoë", m);
    if (wait_writer(m, LIMIT)) {
        record(want, 0xfffffffe, "Zo\xc3\xab", 4);
        memcpy(want + 24, "\x02\0\0\0\0\0\0\0", 8);     /* seq 2: one publish; not stopped */
        CHECK(peek(m, got, 32) && !memcmp(want, got, 32),
              "memwrite's section is not ID -2 at 0, \"Zoë\" at 4, NUL-padded, "
              "then seq 2 and stopped 0");
        run(&r, L"tests\\article\\memread", L"%ls", m);
        CHECK(r.code == 0 && !strcmp(r.out.data, "-2\r\nZo\xc3\xab\r\n"),
              "the article's MemRead on memwrite's section: exit %d, \"%s\"",
              r.code, r.out.data);
    }
    finish(&w, LIMIT);
    swprintf(m2, 300, L"%ls.article", m);
    start(&w, L"tests\\article\\memwrite", L"%ls", m2);
    for (int i = 0; i < 500 && !(peek(m2, got, 24) && got[0]); i++)
        Sleep(10);
    reads(m2, "99041232\r\nSecBug\r\n");
    run(&r, L"memread", L"-f -m %ls", m2);
    CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data)
          && strstr(r.err.data, "nothing to follow"),
          "memread -f on the article's section: exit %d, %s", r.code, r.err.data);
    TerminateProcess(w.pi.hProcess, 0);
    finish(&w, LIMIT);
}

/* .sleep: LONG asking, then 1000 slots of LONG pid, LONG asked. */
#define SLEEP_SIZE (4 + 1000 * 8)

/* The objects memwrite makes, made by the test to play a writer by hand:
   the README's layout, ID at 0, name at 4, seq at 24, stopped at 28. */
struct fake {
    HANDLE ready, alive, sleep, map;
    const wchar_t *m;
};

static void fake_section(struct fake *f, const wchar_t *m, uint32_t id, const char *name,
                         LONG seq)
{
    unsigned char bytes[32] = {0};
    wchar_t n[MAX_PATH];

    record(bytes, id, name, strlen(name));
    memcpy(bytes + 24, &seq, 4);
    swprintf(n, MAX_PATH, L"%ls.ready", m);
    f->ready = CreateEventW(NULL, TRUE, FALSE, n);
    swprintf(n, MAX_PATH, L"%ls.alive", m);
    f->alive = CreateMutexW(NULL, TRUE, n);
    swprintf(n, MAX_PATH, L"%ls.sleep", m);
    f->sleep = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SLEEP_SIZE, n);
    f->m = m;
    f->map = section(m, bytes, 32);
}

static void fake_write(struct fake *f, uint32_t id, const char *name, LONG seq)
{
    unsigned char bytes[28];
    void *v;

    record(bytes, id, name, strlen(name));
    memcpy(bytes + 24, &seq, 4);
    if ((v = MapViewOfFile(f->map, FILE_MAP_WRITE, 0, 0, 28))) {
        memcpy(v, bytes, 28);
        UnmapViewOfFile(v);
    }
}

static void unfake(struct fake *f)
{
    CloseHandle(f->map);
    CloseHandle(f->sleep);
    if (f->alive) {
        ReleaseMutex(f->alive);
        CloseHandle(f->alive);
    }
    CloseHandle(f->ready);
}

/* The test plays a writer by hand: memread must wait for the event. */
static void waits_for_ready(const wchar_t *m)
{
    struct fake f;
    struct proc r;
    void *v;
    ULONGLONG t0 = GetTickCount64();

    fake_section(&f, m, 0, "", 0);
    start(&r, L"memread", L"-m %ls -w 5", m);
    Sleep(300);
    fake_write(&f, 31, "late", 2);
    SetEvent(f.ready);
    finish(&r, LIMIT);
    CHECK(r.code == 0 && !strcmp(r.out.data, "31\r\nlate\r\n"),
          "memread did not wait for the ready event: exit %d, \"%s\" %s",
          r.code, r.out.data, r.err.data);
    CHECK(GetTickCount64() - t0 >= 300, "memread returned before the event was set");
    fake_write(&f, 0, "", 0);   /* seq 0: no record yet */
    ResetEvent(f.ready);
    t0 = GetTickCount64();
    run(&r, L"memread", L"-m %ls -w 0.3", m);
    CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data) && strstr(r.err.data, "not ready"),
          "an event never set: exit %d, \"%s\" %s", r.code, r.out.data, r.err.data);
    CHECK(GetTickCount64() - t0 >= 300, "memread gave up before -w 0.3 ran out");
    /* A writer that stopped and is gone, its record left: -f prints it. */
    fake_write(&f, 32, "last", 4);
    if ((v = MapViewOfFile(f.map, FILE_MAP_WRITE, 0, 0, 32))) {
        ((LONG *)v)[7] = 1;     /* stopped, at 28 */
        UnmapViewOfFile(v);
    }
    SetEvent(f.ready);
    ReleaseMutex(f.alive);
    CloseHandle(f.alive);       /* the last handle: .alive is gone */
    f.alive = NULL;
    run(&r, L"memread", L"-f -m %ls", m);
    CHECK(r.code == 0 && !strcmp(r.out.data, "32\r\nlast\r\n"),
          "memread -f after the writer stopped and left: exit %d, \"%s\" %s", r.code,
          r.out.data, r.err.data);
    unfake(&f);
}

struct observer {
    const wchar_t *m;
    volatile LONG stop;
    const char *problem;
};

/* Look for the section as fast as possible: the instant it exists, its
   ready event must exist, and once that is set the record is whole. */
static DWORD WINAPI observe(void *arg)
{
    struct observer *o = arg;
    unsigned char want[24], got[24];
    wchar_t ev[MAX_PATH];
    HANDLE h, e;
    void *v;

    ready_name(ev, o->m);
    record(want, 1234567, "Race condition", 14);
    while (!o->stop) {
        if (!(h = OpenFileMappingW(FILE_MAP_READ, FALSE, o->m)))
            continue;
        if (!(e = OpenEventW(SYNCHRONIZE, FALSE, ev))) {
            o->problem = "the section existed before its ready event";
        } else {
            if (WaitForSingleObject(e, 0) == WAIT_OBJECT_0
                && (v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 24))) {
                memcpy(got, v, 24);
                UnmapViewOfFile(v);
                if (memcmp(want, got, 24))
                    o->problem = "the event was set before the record was whole";
            }
            CloseHandle(e);
        }
        CloseHandle(h);
        break;
    }
    return 0;
}

static void race(const wchar_t *m)
{
    wchar_t name[300];
    struct proc w, r;

    for (int i = 0; i < 50 && !*why; i++) {
        struct observer o = {name, 0, NULL};
        HANDLE t;

        swprintf(name, 300, L"%ls.%d", m, i);
        t = CreateThread(NULL, 0, observe, &o, 0, NULL);
        if (i % 2) {
            start(&r, L"memread", L"-m %ls -w 5", name);
            start(&w, L"memwrite", L"-m %ls 1234567 \"Race condition\"", name);
        } else {
            start(&w, L"memwrite", L"-m %ls 1234567 \"Race condition\"", name);
            start(&r, L"memread", L"-m %ls -w 5", name);
        }
        finish(&r, LIMIT);
        o.stop = 1;
        WaitForSingleObject(t, INFINITE);
        CloseHandle(t);
        finish(&w, LIMIT);
        CHECK(r.code == 0 && !strcmp(r.out.data, "1234567\r\nRace condition\r\n"),
              "round %d: memread exit %d, \"%s\" %s", i, r.code, r.out.data, r.err.data);
        CHECK(!o.problem, "round %d: %s", i, o.problem);
    }
}

static void many_readers(const wchar_t *m)
{
    static struct proc r[32];
    struct proc w;

    start(&w, L"memwrite", L"-m %ls 32 crowd", m);
    if (wait_writer(m, LIMIT)) {
        for (int i = 0; i < 32; i++)
            start(&r[i], L"memread", L"-m %ls -w 5", m);
        for (int i = 0; i < 32; i++) {
            finish(&r[i], LIMIT);
            CHECK(r[i].code == 0 && !strcmp(r[i].out.data, "32\r\ncrowd\r\n"),
                  "reader %d: exit %d, \"%s\"", i, r[i].code, r[i].out.data);
        }
    }
    finish(&w, LIMIT);
}

/* CPU time the process uses while this one sleeps for ms. */
static ULONGLONG cpu_over(const PROCESS_INFORMATION *pi, DWORD ms)
{
    ULONGLONG before = cpu_ms(pi);

    Sleep(ms);
    return cpu_ms(pi) - before;
}

static void idle(const wchar_t *m)
{
    wchar_t m2[300];
    ULONGLONG used;
    struct proc w, f = {0};
    unsigned char got[24];

    /* First show that the measure can see a busy process: the article's loop. */
    swprintf(m2, 300, L"%ls.spin", m);
    start(&w, L"tests\\article\\memwrite", L"%ls", m2);
    for (int i = 0; i < 500 && !(peek(m2, got, 24) && got[0]); i++)
        Sleep(10);
    used = cpu_over(&w.pi, 500);
    CHECK(used >= 200, "the spinning writer used %llu ms of CPU in 500 ms: "
          "the measure does not work here", used);
    TerminateProcess(w.pi.hProcess, 0);
    finish(&w, LIMIT);

    start(&w, L"memwrite", L"-m %ls", m);
    if (wait_writer(m, LIMIT)) {
        Sleep(100);
        used = cpu_over(&w.pi, 2000);
        CHECK(used < 20, "memwrite used %llu ms of CPU in 2 s of waiting", used);
        start(&f, L"memread", L"-f -m %ls", m);
        if (CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing")) {
            Sleep(100);
            used = cpu_over(&f.pi, 2000);
            CHECK(used < 20, "memread -f used %llu ms of CPU in 2 s of waiting", used);
        }
    }
    finish(&w, LIMIT);
    finish(&f, LIMIT);
    CHECK(f.code == 0, "the idle follower: exit %d, %s", f.code, f.err.data);
}

static void help(const wchar_t *unused)
{
    static const char *want[] = {
        "usage: memwrite [-m MAPPING] [-s SDDL] [--] [ID [NAME]]\r\n",
        "usage: memread [-f] [-m MAPPING] [-w SECONDS]\r\n",
    };
    static const wchar_t *flags[] = {L"-h", L"--help"};
    struct proc p;

    (void)unused;
    for (int i = 0; i < 4; i++) {
        run(&p, i / 2 ? L"memread" : L"memwrite", flags[i % 2]);
        CHECK(p.code == 0 && !strncmp(p.out.data, want[i / 2], strlen(want[i / 2]))
              && strstr(p.out.data, "Exit status") && !*p.err.data,
              "%ls %ls: exit %d, stdout %s, stderr %s", i / 2 ? L"memread" : L"memwrite",
              flags[i % 2], p.code, p.out.data, p.err.data);
    }
}

static void output_fails(const wchar_t *m)
{
    struct proc w, r;

    start(&w, L"memwrite", L"-m %ls", m);
    if (wait_writer(m, LIMIT)) {
        start_with(&r, UNREAD, L"memread", L"-m %ls", m);
        finish(&r, LIMIT);
        CHECK(r.code == 1 && one_line(r.err.data) && strstr(r.err.data, "stdout"),
              "memread into a closed pipe: exit %d, %s", r.code, r.err.data);
        for (int i = 0; i < 4; i++) {
            start_with(&r, i / 2 ? NO_STDOUT : UNREAD, i % 2 ? L"memwrite" : L"memread",
                       L"--help");
            finish(&r, LIMIT);
            CHECK(r.code == 1, "%ls --help with %ls: exit %d", i % 2 ? L"memwrite" : L"memread",
                  i / 2 ? L"no stdout" : L"a closed pipe", r.code);
        }
        start_with(&r, NO_STDOUT, L"memread", L"-m %ls", m);
        finish(&r, LIMIT);
        CHECK(r.code == 1 && one_line(r.err.data) && strstr(r.err.data, "stdout"),
              "memread with no stdout: exit %d, %s", r.code, r.err.data);
    }
    finish(&w, LIMIT);
}

/* Check a follower's output: pairs of lines "ID", "nID" (the stress
   test's names), IDs strictly increasing, the last one last. */
static void check_follower(const char *out, int who, long last)
{
    long prev = LONG_MIN, id = 0;
    char name[32];
    int got, n;

    for (const char *p = out; *p && !*why; p += n) {
        n = 0;
        got = sscanf(p, "%ld\r\n%31[^\r\n]\r\n%n", &id, name, &n);
        if (got != 2 || !n) {
            bad("follower %d: cannot read its output near \"%.40s\"", who, p);
            return;
        }
        CHECK(atol(name + 1) == id && name[0] == 'n',
              "follower %d: torn record: ID %ld with name %s", who, id, name);
        CHECK(id > prev, "follower %d: ID %ld after %ld", who, id, prev);
        prev = id;
    }
    CHECK(prev == last, "follower %d ended on %ld, not %ld", who, prev, last);
}

struct oneshots {
    const wchar_t *m;
    volatile LONG stop;
    int runs;
};

/* One-shot memreads, one after another, while the writer streams. */
static DWORD WINAPI oneshots(void *arg)
{
    struct oneshots *o = arg;
    struct proc r;
    char name[32];
    long id = 0;

    while (!o->stop && !*why) {
        run(&r, L"memread", L"-m %ls", o->m);
        o->runs++;
        if (CHECK(r.code == 0 && sscanf(r.out.data, "%ld\r\n%31[^\r\n]", &id, name) == 2,
                  "one-shot memread: exit %d, %s", r.code, r.err.data))
            CHECK(name[0] == 'n' && atol(name + 1) == id,
                  "one-shot memread: torn record: ID %ld with name %s", id, name);
    }
    return 0;
}

struct peeker {
    const wchar_t *m;
    volatile LONG stop;
    long copies;
    char problem[96];
};

/* Read memwrite's section in a tight loop, by the README's seqlock rules
   done right: a record memwrite let through half-written shows here. */
static DWORD WINAPI peek_loop(void *arg)
{
    struct peeker *pk = arg;
    HANDLE h = OpenFileMappingW(FILE_MAP_READ, FALSE, pk->m);
    const volatile unsigned char *v = h ? MapViewOfFile(h, FILE_MAP_READ, 0, 0, 32) : NULL;
    const volatile LONG *seq = v ? (const volatile LONG *)(v + 24) : NULL;
    unsigned char copy[24];
    char name[21];
    LONG before;
    int32_t id;

    while (v && !pk->stop && !*pk->problem) {
        before = *seq;
        MemoryBarrier();
        for (int i = 0; i < 24; i++)
            copy[i] = v[i];
        MemoryBarrier();
        if ((before & 1) || *seq != before)
            continue;
        pk->copies++;
        memcpy(&id, copy, 4);
        memcpy(name, copy + 4, 20);
        name[20] = 0;
        if (name[0] != 'n' || atol(name + 1) != id)
            snprintf(pk->problem, sizeof pk->problem, "seq %ld let through ID %ld with name %s",
                     (long)before, (long)id, name);
    }
    if (v)
        UnmapViewOfFile((const void *)v);
    if (h)
        CloseHandle(h);
    return 0;
}

#define UPDATES 100000
#define ROUNDS  20

/* Line k (from 0) of s, without its line end, into out. */
static void line_at(const char *s, LONG k, char *out, size_t n)
{
    size_t len;

    for (; k > 0 && s; k--)
        if ((s = strchr(s, '\n')))
            s++;
    len = s ? strcspn(s, "\r\n") : 0;
    snprintf(out, n, "%.*s", (int)min(len, n - 1), s ? s : "");
}

/* 100,000 updates through a pipe, three followers and one-shot readers:
   no torn record, followers' IDs increasing, each ending on the last. */
static void stress(const wchar_t *m)
{
    static struct proc f[3];
    static LONG seen[ROUNDS][3];
    struct oneshots o = {m, 0, 0};
    struct peeker pk = {m, 0, 0, ""};
    struct proc w;
    HANDLE t, tp;
    char *lines = malloc(UPDATES * 16), *p = lines, *round[ROUNDS + 1], got[32], want[32];

    for (int i = 1; i <= UPDATES; i++) {
        if ((i - 1) % (UPDATES / ROUNDS) == 0)
            round[(i - 1) / (UPDATES / ROUNDS)] = p;
        p += sprintf(p, "%d n%d\n", i, i);
    }
    round[ROUNDS] = p;
    start(&w, L"memwrite", L"-m %ls 0 n0", m);
    if (wait_writer(m, LIMIT)) {
        for (int i = 0; i < 3; i++)
            start(&f[i], L"memread", L"-f -m %ls", m);
        for (int i = 0; i < 3; i++)
            CHECK(wait_lines(&f[i].out, 2, LIMIT), "follower %d printed nothing", i);
        t = CreateThread(NULL, 0, oneshots, &o, 0, NULL);
        tp = CreateThread(NULL, 0, peek_loop, &pk, 0, NULL);
        /* In bursts, each followed by a pause in which every follower must
           catch up on its own: the stop would wake a follower that missed
           a wake-up, so each burst's last record is checked before it. */
        for (int r = 0; r < ROUNDS && !*why; r++) {
            for (char *q = round[r]; q < round[r + 1]; q += 65536)
                say_n(&w, q, (DWORD)min(65536, round[r + 1] - q));
            Sleep(300);
            for (int i = 0; i < 3; i++)
                seen[r][i] = f[i].out.lines;
        }
        o.stop = pk.stop = 1;
        WaitForSingleObject(t, INFINITE);
        CloseHandle(t);
        WaitForSingleObject(tp, INFINITE);
        CloseHandle(tp);
        close_stdin(&w);
        CHECK(o.runs > 0, "no one-shot memread ran");
        CHECK(!*pk.problem && pk.copies > 0, "the test's own reader: %s (%ld copies)",
              *pk.problem ? pk.problem : "no copy", pk.copies);
        for (int i = 0; i < 3; i++) {
            finish(&f[i], 60000);
            CHECK(f[i].code == 0, "follower %d: exit %d: %s", i, f[i].code, f[i].err.data);
            check_follower(f[i].out.data, i, UPDATES);
            for (int r = 0; r < ROUNDS && !*why; r++) {
                line_at(f[i].out.data, seen[r][i] - 1, got, sizeof got);
                sprintf(want, "n%d", (r + 1) * (UPDATES / ROUNDS));
                CHECK(!strcmp(got, want), "follower %d: 300 ms after burst %d it had printed "
                      "up to %s, not %s", i, r + 1, got, want);
            }
        }
    }
    finish(&w, 60000);
    CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
    free(lines);
}

struct slow {
    struct fake f;
    int versions;
};

/* Play memwrite, by the README's protocol, but slowly: seq odd, the
   record's bytes one at a time with a pause after each, seq even, then wake
   the followers who asked. A reader that ignored seq would print a mix. */
static DWORD WINAPI slow_writer(void *arg)
{
    struct slow *sw = arg;
    unsigned char bytes[24];
    char name[20];
    volatile unsigned char *v = MapViewOfFile(sw->f.map, FILE_MAP_WRITE, 0, 0, 32);
    LONG *seq = (LONG *)(v + 24), *stopped = (LONG *)(v + 28);
    LONG *sleep = MapViewOfFile(sw->f.sleep, FILE_MAP_WRITE, 0, 0, SLEEP_SIZE);
    HANDLE wake[1000] = {0};
    wchar_t n[MAX_PATH];

    if (!v || !sleep)
        return bad("cannot map the slow writer's section");
    for (int i = 1; i <= sw->versions; i++) {
        sprintf(name, "n%d", i);
        record(bytes, (uint32_t)i, name, strlen(name));
        InterlockedIncrement(seq);
        for (int b = 23; b >= 0; b--) {
            v[b] = bytes[b];
            for (int k = 0; k < 50; k++)
                YieldProcessor();
        }
        InterlockedIncrement(seq);
        for (int k = 0; k < 1000; k++)
            YieldProcessor();   /* even as long as odd: readers get their turn */
        for (int j = 0; j < 1000 && (j || InterlockedExchange(&sleep[0], 0)); j++) {
            if (!InterlockedExchange(&sleep[2 + 2 * j], 0))
                continue;       /* asking was set: each slot that asked */
            swprintf(n, MAX_PATH, L"%ls.w%d", sw->f.m, j);
            if (wake[j] || (wake[j] = OpenEventW(EVENT_MODIFY_STATE, FALSE, n)))
                SetEvent(wake[j]);
        }
        if (i == 1)
            SetEvent(sw->f.ready);
    }
    InterlockedExchange(stopped, 1);
    for (int j = 0; j < 1000; j++)
        if (wake[j])
            CloseHandle(wake[j]);
    UnmapViewOfFile(sleep);
    UnmapViewOfFile((void *)v);
    return 0;
}

/* The readers' half of the seqlock against the slow writer: followers and
   one-shot readers never print a torn record. */
static void slow_writes(const wchar_t *m)
{
    static struct proc f[3];
    struct oneshots o = {m, 0, 0};
    struct slow sw = {.versions = 20000};
    HANDLE t, ts;

    fake_section(&sw.f, m, 0, "", 0);
    ts = CreateThread(NULL, 0, slow_writer, &sw, 0, NULL);
    for (int i = 0; i < 3; i++)
        start(&f[i], L"memread", L"-f -w 10 -m %ls", m);
    t = CreateThread(NULL, 0, oneshots, &o, 0, NULL);
    WaitForSingleObject(ts, 60000);
    CloseHandle(ts);
    o.stop = 1;
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    ReleaseMutex(sw.f.alive);   /* the stop, as memwrite makes it */
    for (int i = 0; i < 3; i++) {
        finish(&f[i], LIMIT);
        CHECK(f[i].code == 0, "follower %d: exit %d: %s", i, f[i].code, f[i].err.data);
        check_follower(f[i].out.data, i, sw.versions);
    }
    unfake(&sw.f);
}

/* Three followers, one started before memwrite with -w: each prints
   every update it is given time for, then the last one, and exits 0. */
static void follows(const wchar_t *m)
{
    static const char *want = "1\r\nn1\r\n2\r\nn2\r\n3\r\nn3\r\n4\r\nn4\r\n5\r\nn5\r\n";
    static struct proc f[3];
    struct proc w;
    char line[32];

    start(&f[0], L"memread", L"-f -w 10 -m %ls", m);
    Sleep(200);
    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        for (int i = 1; i < 3; i++)
            start(&f[i], L"memread", L"-m %ls -f", m);
        for (int v = 2; v <= 5 && !*why; v++) {
            for (int i = 0; i < 3; i++)
                CHECK(wait_lines(&f[i].out, 2 * (v - 1), LIMIT),
                      "follower %d did not print version %d", i, v - 1);
            sprintf(line, "%d n%d\n", v, v);
            say(&w, line);
        }
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
    for (int i = 0; i < 3; i++) {
        finish(&f[i], LIMIT);
        CHECK(f[i].code == 0 && !strcmp(f[i].out.data, want) && !*f[i].err.data,
              "follower %d: exit %d, \"%s\", %s", i, f[i].code, f[i].out.data, f[i].err.data);
    }
}

/* A section whose seq stays odd: memread and memread -f give up, in time. */
static void stuck_writer(const wchar_t *m)
{
    static const wchar_t *args[] = {L"-m %ls", L"-f -m %ls"};
    struct fake f;
    struct proc r;
    ULONGLONG t0, ms;

    fake_section(&f, m, 7, "n7", 3);
    SetEvent(f.ready);
    for (int i = 0; i < 2; i++) {
        t0 = GetTickCount64();
        run(&r, L"memread", args[i], m);
        ms = GetTickCount64() - t0;
        CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data)
              && strstr(r.err.data, "half-written"),
              "memread %ls on an odd seq: exit %d, \"%s\", %s", args[i], r.code,
              r.out.data, r.err.data);
        CHECK(ms >= 1000 && ms < 3000, "memread %ls gave up after %llu ms", args[i], ms);
    }
    unfake(&f);
}

/* memwrite killed under a follower: one line, exit 1, within a second. */
static void killed_under_follower(const wchar_t *m)
{
    struct proc w, f;
    ULONGLONG t0, ms;

    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        start(&f, L"memread", L"-f -m %ls", m);
        if (CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing")) {
            t0 = GetTickCount64();
            TerminateProcess(w.pi.hProcess, 9);
            WaitForSingleObject(f.pi.hProcess, 5000);
            ms = GetTickCount64() - t0;
            CHECK(ms < 1000, "the follower took %llu ms to notice", ms);
        }
        finish(&f, LIMIT);
        CHECK(f.code == 1 && !strcmp(f.out.data, "1\r\nn1\r\n") && one_line(f.err.data)
              && strstr(f.err.data, "killed or crashed"),
              "follower of a killed memwrite: exit %d, \"%s\", %s", f.code, f.out.data,
              f.err.data);
    }
    finish(&w, LIMIT);
}

/* Wait until memread -m m prints want; FALSE after about ms. */
static BOOL shows(const wchar_t *m, const char *want, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    struct proc r;

    do
        run(&r, L"memread", L"-m %ls", m);
    while (strcmp(r.out.data, want) && GetTickCount64() < end);
    return !strcmp(r.out.data, want);
}

/* Lines in each form: a BOM, CRLF, tabs, spaces kept inside and at the end
   of NAME, a negative ID, and a last line with no line end; the article's
   MemRead then reads the last record. */
static void line_forms(const wchar_t *m)
{
    static const struct {
        const char *line, *out;
    } t[] = {
        {"\xef\xbb\xbf" "7 seven\r\n", "7\r\nseven\r\n"},
        {"8\t \tTab Name\n", "8\r\nTab Name\r\n"},
        {"-9   spaced  name \r\n", "-9\r\nspaced  name \r\n"},
        {"10 \xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1\n", "10\r\n\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1\r\n"},
        {"11 last", NULL},
    };
    struct proc w, r, f;

    start(&w, L"memwrite", L"-m %ls 1 first", m);
    if (wait_writer(m, LIMIT)) {
        start(&f, L"memread", L"-f -m %ls", m);
        for (size_t i = 0; i < sizeof t / sizeof *t && !*why; i++) {
            say(&w, t[i].line);
            if (t[i].out)
                CHECK(shows(m, t[i].out, 5000), "after line %u the record is not %s",
                      (unsigned)i + 1, t[i].out);
        }
        close_stdin(&w);
        finish(&f, LIMIT);
        CHECK(f.code == 0 && strstr(f.out.data, "11\r\nlast\r\n")
              && !strcmp(strstr(f.out.data, "11\r\nlast\r\n"), "11\r\nlast\r\n"),
              "the follower did not end on the last line: exit %d, \"%s\"", f.code, f.out.data);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
    /* The article's MemRead reads the current record after updates. */
    start(&w, L"memwrite", L"-m %ls 1 first", m);
    if (wait_writer(m, LIMIT)) {
        say(&w, "2 second\n3 third\n");
        if (CHECK(shows(m, "3\r\nthird\r\n", 5000), "memread never showed the third record")) {
            run(&r, L"tests\\article\\memread", L"%ls", m);
            CHECK(r.code == 0 && !strcmp(r.out.data, "3\r\nthird\r\n"),
                  "the article's MemRead after updates: exit %d, \"%s\"", r.code, r.out.data);
        }
    }
    finish(&w, LIMIT);
}

/* Each kind of bad line: one stderr line naming its number, the record
   unchanged, memwrite going on, and exit 1 at the end. */
static void bad_lines(const wchar_t *m)
{
    static char long257[300];   /* an ID, 236 spaces and a 19-byte name */
    const struct {
        const char *line, *why;
        DWORD n;                /* its length, if it holds a NUL */
    } t[] = {
        {"2\n", "line 1: no NAME", 0},
        {"3 \t \r\n", "line 2: no NAME", 0},
        {"x3 bob\n", "line 3: bad ID", 0},
        {"2147483648 big\n", "line 4: bad ID", 0},
        {"4 abcdefghijklmnopqrst\n", "line 5: it is longer than 19 bytes", 0},
        {"5 a\x01" "b\n", "line 6: it has a control character", 0},
        {"5 a\x7f\n", "line 7: it has a control character", 0},
        {"5 a\xc2\x85\n", "line 8: it has a control character", 0},
        {"6 \xff\xfe\n", "line 9: it is not UTF-8", 0},
        {"6 \xed\xa0\x80\n", "line 10: it is not UTF-8", 0},
        {NULL, "line 11: it is longer than any record", 0},
        {"6 \xe2\x82\n", "line 12: it is not UTF-8", 0},
        {long257, "line 13: it is longer than any record", 0},
        {"42 Bob\0garbage\n", "line 14: it has a control character", 15},
        {"43 ABCDEFGHIJKLMNOPQRS\0TUVWXYZ\n", "line 15: it has a control character", 31},
    };
    char big[400];
    struct proc w;
    const char *e;

    memset(long257, ' ', 257);
    memcpy(long257, "15", 2);
    memcpy(long257 + 257 - 19, "abcdefghijklmnopqrs\n", 21);
    memset(big, 'a', 300);
    strcpy(big + 300, "\n");
    start(&w, L"memwrite", L"-m %ls 1 first", m);
    if (wait_writer(m, LIMIT)) {
        for (size_t i = 0; i < sizeof t / sizeof *t; i++)
            say_n(&w, t[i].line ? t[i].line : big,
                  t[i].n ? t[i].n : (DWORD)strlen(t[i].line ? t[i].line : big));
        CHECK(wait_lines(&w.err, 1 + sizeof t / sizeof *t, LIMIT), "too few lines on stderr");
        reads(m, "1\r\nfirst\r\n");
        say(&w, "13 good\n");
        CHECK(shows(m, "13\r\ngood\r\n", 5000), "memwrite stopped taking lines after bad ones");
        /* The longest line taken is 256 bytes before its line end. */
        memset(big, ' ', 256);
        memcpy(big, "14", 2);
        memcpy(big + 256 - 19, "abcdefghijklmnopqrs\r\n", 22);
        say(&w, big);
        CHECK(shows(m, "14\r\nabcdefghijklmnopqrs\r\n", 5000), "a 256-byte line was refused");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 1, "memwrite after bad lines: exit %d", w.code);
    e = strchr(w.err.data, '\n');
    for (size_t i = 0; e && i < sizeof t / sizeof *t; i++) {
        CHECK(!strncmp(e + 1, "memwrite: ", 10) && strstr(e + 1, t[i].why)
              && strstr(e + 1, t[i].why) < strchr(e + 1, '\n'),
              "bad line %u: stderr has not \"%s\": %s", (unsigned)i + 1, t[i].why, w.err.data);
        e = strchr(e + 1, '\n');
    }
    CHECK(!has_control(w.err.data), "a control character on stderr");
    /* A BOM does not count against the first line's 256 bytes. */
    start(&w, L"memwrite", L"-m %ls 1 first", m);
    if (wait_writer(m, LIMIT)) {
        memcpy(big, "\xef\xbb\xbf", 3);
        memset(big + 3, ' ', 256);
        memcpy(big + 3, "16", 2);
        memcpy(big + 3 + 256 - 19, "abcdefghijklmnopqrs\n", 21);
        say(&w, big);
        CHECK(shows(m, "16\r\nabcdefghijklmnopqrs\r\n", 5000), "a BOM and 256 bytes were refused");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite after a BOM and 256 bytes: exit %d: %s", w.code, w.err.data);
}

/* Lines "k nk\n" for k from first to last, written to p's stdin in blocks. */
static void say_updates(struct proc *p, int first, int last)
{
    char *lines = malloc((size_t)(last - first + 1) * 24), *q = lines;

    for (int k = first; k <= last; k++)
        q += sprintf(q, "%d n%d\n", k, k);
    for (char *r = lines; r < q && !*why; r += 65536)
        say_n(p, r, (DWORD)min(65536, q - r));
    free(lines);
}

/* Line seen - 1 of out (a count taken while it ran) must be want. */
static void had_printed(const char *out, LONG seen, const char *want, const char *when)
{
    char got[32];

    line_at(out, seen - 1, got, sizeof got);
    CHECK(!strcmp(got, want), "%s, a follower had printed up to \"%s\", not \"%s\"",
          when, got, want);
}

/* .sleep of m mapped for writing, as any follower may; NULL if it cannot be. */
static LONG *map_sleep(const wchar_t *m, HANDLE *h)
{
    wchar_t n[MAX_PATH];
    LONG *v;

    swprintf(n, MAX_PATH, L"%ls.sleep", m);
    *h = OpenFileMappingW(FILE_MAP_WRITE, FALSE, n);
    v = *h ? MapViewOfFile(*h, FILE_MAP_WRITE, 0, 0, SLEEP_SIZE) : NULL;
    if (!CHECK(v != NULL, "cannot map %ls: error %lu", n, GetLastError()) && *h)
        CloseHandle(*h);
    return v;
}

struct vandal {
    LONG *sleep;
    volatile LONG stop;
};

/* A hostile follower: the first field flips between huge, negative and
   small values (it was once a slot count that memwrite indexed by), and
   every slot from 10 up asks to be woken, under a pid that changes each
   turn and with no event to open. */
static DWORD WINAPI vandalize(void *arg)
{
    static const LONG first[] = {0x40000000, 1, -5, INT_MAX, INT_MIN};
    struct vandal *v = arg;

    for (LONG k = 1; !v->stop; k++) {
        *(volatile LONG *)&v->sleep[0] = first[k % 5];
        for (int i = 10; i < 1000; i++) {
            *(volatile LONG *)&v->sleep[1 + 2 * i] = k * 1000 + i;
            *(volatile LONG *)&v->sleep[2 + 2 * i] = 1;
        }
        Sleep(0);
    }
    return 0;
}

/* Whatever another process writes in .sleep, memwrite neither crashes nor
   stalls, and a real follower is still woken for each burst. */
static void hostile_sleep(const wchar_t *m)
{
    struct vandal v = {NULL, 0};
    struct proc w, f;
    HANDLE h = NULL, t;
    LONG seen[5];
    char want[16];

    start(&w, L"memwrite", L"-m %ls 0 n0", m);
    if (wait_writer(m, LIMIT) && (v.sleep = map_sleep(m, &h)) != NULL) {
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing");
        t = CreateThread(NULL, 0, vandalize, &v, 0, NULL);
        for (int r = 0; r < 5; r++) {
            say_updates(&w, r * 20000 + 1, (r + 1) * 20000);
            Sleep(1000);
            seen[r] = f.out.lines;
        }
        close_stdin(&w);        /* the stop, while the waker still has work */
        WaitForSingleObject(w.pi.hProcess, LIMIT);
        v.stop = 1;
        WaitForSingleObject(t, INFINITE);
        CloseHandle(t);
        finish(&f, LIMIT);
        CHECK(f.code == 0, "the follower: exit %d: %s", f.code, f.err.data);
        check_follower(f.out.data, 0, 100000);
        for (int r = 0; r < 5; r++) {
            sprintf(want, "n%d", (r + 1) * 20000);
            had_printed(f.out.data, seen[r], want, "1 s after a burst");
        }
        UnmapViewOfFile(v.sleep);
        CloseHandle(h);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite under a hostile follower: exit %d: %s", w.code, w.err.data);
}

/* A follower that lingers, frozen, after memwrite stopped cleanly: the
   record it left is whole and is read, followed and printed as ever; a new
   memwrite on the name is refused, saying why. */
static void lingers(const wchar_t *m)
{
    struct proc w, f, r;

    start(&w, L"memwrite", L"-m %ls 5 n5", m);
    if (!wait_writer(m, LIMIT)) {
        finish(&w, LIMIT);
        return;
    }
    start(&f, L"memread", L"-f -m %ls", m);
    CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing");
    CHECK(SuspendThread(f.pi.hThread) != (DWORD)-1, "SuspendThread: error %lu", GetLastError());
    say(&w, "6 n6\n");
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
    reads(m, "6\r\nn6\r\n");
    run(&r, L"memread", L"-w 1 -m %ls", m);
    CHECK(r.code == 0 && !strcmp(r.out.data, "6\r\nn6\r\n"),
          "memread -w 1 after the stop: exit %d, \"%s\" %s", r.code, r.out.data, r.err.data);
    run(&r, L"memread", L"-f -m %ls", m);
    CHECK(r.code == 0 && !strcmp(r.out.data, "6\r\nn6\r\n"),
          "memread -f after the stop: exit %d, \"%s\" %s", r.code, r.out.data, r.err.data);
    run(&r, L"memwrite", L"-m %ls 7 n7", m);
    CHECK(r.code == 1 && one_line(r.err.data)
          && strstr(r.err.data, "a stopped memwrite's section is still open in another process"),
          "a new memwrite beside the stopped one's section: exit %d: %s", r.code, r.err.data);
    reads(m, "6\r\nn6\r\n");
    ResumeThread(f.pi.hThread);
    finish(&f, LIMIT);
    CHECK(f.code == 0 && !strcmp(f.out.data, "5\r\nn5\r\n6\r\nn6\r\n"),
          "the frozen follower, thawed: exit %d, \"%s\" %s", f.code, f.out.data, f.err.data);
}

struct restarter {
    const wchar_t *m;
    volatile LONG stop;
    int starts, refused;
};

/* memwrite started and stopped again and again on one name. A start may
   be refused while a reader still holds the last one's section open. */
static DWORD WINAPI restart(void *arg)
{
    struct restarter *s = arg;
    struct proc w;

    for (int k = 1; !s->stop && !*why; k++) {
        start(&w, L"memwrite", L"-m %ls %d n%d", s->m, k, k);
        WaitForSingleObject(w.pi.hProcess, k % 2 ? 40 : 0);     /* some stop at once */
        finish(&w, LIMIT);
        s->starts++;
        if (w.code == 1 && strstr(w.err.data, "a stopped memwrite's section is still open"))
            s->refused++;
        else
            CHECK(w.code == 0, "memwrite %d: exit %d: %s", k, w.code, w.err.data);
    }
    return 0;
}

/* While memwrite restarts in a loop, memread -w readers that start every
   50 ms each wait for a writer and print a whole record. Then the moment a
   stopping writer's readers can meet, held still: its .ready left set (and
   its .alive free) but its section gone. A reader waiting there takes it
   for "not yet", and a new memwrite starts beside them. */
static void restarts(const wchar_t *m)
{
    static struct proc r[40];
    struct restarter s = {m, 0, 0, 0};
    wchar_t n[MAX_PATH];
    HANDLE t, ready, alive;
    struct proc w, rw;
    ULONGLONG used;
    long id;
    char name[32];

    t = CreateThread(NULL, 0, restart, &s, 0, NULL);
    for (int i = 0; i < 40; i++) {
        start(&r[i], L"memread", L"-w 10 -m %ls", m);
        Sleep(50);
    }
    for (int i = 0; i < 40; i++) {
        finish(&r[i], LIMIT);
        CHECK(r[i].code == 0 && sscanf(r[i].out.data, "%ld\r\n%31[^\r\n]", &id, name) == 2
              && atol(name + 1) == id, "reader %d: exit %d, \"%s\" %s (%d starts so far)", i,
              r[i].code, r[i].out.data, r[i].err.data, s.starts);
    }
    s.stop = 1;
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    CHECK(s.starts > 10 && s.refused * 2 < s.starts, "%d starts, %d refused", s.starts, s.refused);
    /* A .ready left set and a .alive left free, held open here. */
    swprintf(n, MAX_PATH, L"%ls.ready", m);
    ready = CreateEventW(NULL, TRUE, TRUE, n);
    swprintf(n, MAX_PATH, L"%ls.alive", m);
    alive = CreateMutexW(NULL, FALSE, n);
    start(&rw, L"memread", L"-w 5 -m %ls", m);
    Sleep(100);
    used = cpu_over(&rw.pi, 500);
    CHECK(used < 60, "memread -w used %llu ms of CPU in 500 ms beside a set .ready", used);
    start(&w, L"memwrite", L"-m %ls 8 n8", m);
    finish(&rw, LIMIT);
    CHECK(rw.code == 0 && !strcmp(rw.out.data, "8\r\nn8\r\n"), "memread -w 5 where .ready "
          "was left set: exit %d, \"%s\" %s", rw.code, rw.out.data, rw.err.data);
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite beside a set .ready and a free .alive: exit %d: %s",
          w.code, w.err.data);
    CloseHandle(alive);
    CloseHandle(ready);
}

/* Slots in .sleep count only followers that are alive: a killed
   follower's slot is taken again, a slot whose event name another kind of
   object holds is passed over, and with every slot held by a live process
   a follower is told that 1000 follow already. */
static void slots(const wchar_t *m)
{
    static BOOL mine[1000];
    LONG *sleep, me = (LONG)GetCurrentProcessId(), killed;
    wchar_t n[MAX_PATH];
    HANDLE h, taken;
    struct proc w, k, f = {0}, r;

    swprintf(n, MAX_PATH, L"%ls.w0", m);
    taken = CreateMutexW(NULL, FALSE, n);       /* slot 0's event name */
    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT) && (sleep = map_sleep(m, &h)) != NULL) {
        start(&k, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&k.out, 2, LIMIT), "the first follower printed nothing: %s", k.err.data);
        killed = (LONG)k.pi.dwProcessId;
        TerminateProcess(k.pi.hProcess, 9);
        finish(&k, LIMIT);
        CHECK(!sleep[1] && sleep[3] == killed, "slot 0 (its name a mutex's) holds pid %ld, "
              "slot 1 %ld, not 0 and the killed follower's %ld", sleep[1], sleep[3], killed);
        for (int i = 0; i < 1000; i++)
            mine[i] = !InterlockedCompareExchange(&sleep[1 + 2 * i], me, 0);
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "with only a killed follower's slot free, a "
              "follower printed nothing: %s", f.err.data);
        run(&r, L"memread", L"-f -m %ls", m);
        CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data)
              && strstr(r.err.data, "1000 followers already follow this memwrite"),
              "a follower with no slot to take: exit %d, \"%s\" %s", r.code, r.out.data,
              r.err.data);
        say(&w, "2 n2\n");
        CHECK(wait_lines(&f.out, 4, LIMIT), "the follower in the killed one's slot was not woken");
        for (int i = 0; i < 1000; i++)
            if (mine[i])
                InterlockedExchange(&sleep[1 + 2 * i], 0);
        UnmapViewOfFile(sleep);
        CloseHandle(h);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
    if (f.pi.hProcess) {
        finish(&f, LIMIT);
        CHECK(f.code == 0 && !strcmp(f.out.data, "1\r\nn1\r\n2\r\nn2\r\n"),
              "the follower: exit %d, \"%s\" %s", f.code, f.out.data, f.err.data);
    }
    CloseHandle(taken);
}

/* An unreadable stdin is an error, not an end of input: a directory, and
   a file open only for writing. */
static void bad_stdin(const wchar_t *m)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    wchar_t tmp[MAX_PATH + 40];
    struct proc w;
    const char *e;

    for (int i = 0; i < 2; i++) {
        GetTempPathW(MAX_PATH, tmp);
        if (i == 0) {
            given_stdin = CreateFileW(tmp, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE
                                      | FILE_SHARE_DELETE, &sa, OPEN_EXISTING,
                                      FILE_FLAG_BACKUP_SEMANTICS, NULL);  /* a directory */
        } else {
            swprintf(tmp + wcslen(tmp), 40, L"memtest.%lu.wo", GetCurrentProcessId());
            given_stdin = CreateFileW(tmp, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE,
                                      &sa, CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
        }
        if (!CHECK(given_stdin != INVALID_HANDLE_VALUE, "cannot open %ls: error %lu", tmp,
                   GetLastError()))
            return;
        start_with(&w, GIVEN_IN, L"memwrite", L"-m %ls", m);
        finish(&w, LIMIT);
        CloseHandle(given_stdin);
        e = strchr(w.err.data, '\n');
        CHECK(w.code == 1 && e && !strncmp(e + 1, "memwrite: reading \"stdin\": ", 27)
              && one_line(e + 1), "memwrite with %s for stdin: exit %d: %s",
              i ? "a file open for writing" : "a directory", w.code, w.err.data);
    }
}

#define MANY 100

/* 100 followers through bursts of updates: each has printed every burst's
   last record before the next, and all exit 0 at the stop. */
static void many_followers(const wchar_t *m)
{
    static struct proc f[MANY];
    static LONG seen[5][MANY];
    struct proc w;
    LONG before;
    char want[16];

    start(&w, L"memwrite", L"-m %ls 0 n0", m);
    if (!wait_writer(m, LIMIT)) {
        finish(&w, LIMIT);
        return;
    }
    for (int i = 0; i < MANY; i++)
        start(&f[i], L"memread", L"-f -m %ls", m);
    for (int i = 0; i < MANY && !*why; i++)
        CHECK(wait_lines(&f[i].out, 2, 60000), "follower %d printed nothing", i);
    for (int r = 0; r < 5 && !*why; r++) {
        say_updates(&w, r * 2000 + 1, (r + 1) * 2000);
        /* Until no follower has printed anything for a second. */
        do {
            before = 0;
            for (int i = 0; i < MANY; i++)
                before += f[i].out.lines;
            Sleep(1000);
            for (int i = 0; i < MANY; i++)
                before -= seen[r][i] = f[i].out.lines;
        } while (before);
    }
    close_stdin(&w);
    for (int i = 0; i < MANY; i++) {
        finish(&f[i], 60000);
        CHECK(f[i].code == 0, "follower %d: exit %d: %s", i, f[i].code, f[i].err.data);
        check_follower(f[i].out.data, i, 10000);
        for (int r = 0; r < 5; r++) {
            sprintf(want, "n%d", (r + 1) * 2000);
            had_printed(f[i].out.data, seen[r][i], want, "once all were quiet after a burst");
        }
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
}

/* The DACL of h, which it closes: in *allowed what its allow ACEs grant
   sid, in *aces how many allow ACEs it has; FALSE if it cannot be read. */
static BOOL dacl_of(HANDLE h, PSID sid, ACCESS_MASK *allowed, int *aces)
{
    PSECURITY_DESCRIPTOR sd;
    ACCESS_ALLOWED_ACE *ace;
    BOOL present, defaulted;
    PACL dacl;
    BOOL ok;

    *allowed = 0;
    *aces = 0;
    if (!h || GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
                              NULL, NULL, &sd) != ERROR_SUCCESS)
        return FALSE;
    ok = GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) && present && dacl;
    for (DWORD i = 0; ok && i < dacl->AceCount; i++)
        if (GetAce(dacl, i, (void **)&ace) && ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE) {
            ++*aces;
            if (EqualSid(sid, &ace->SidStart))
                *allowed |= ace->Mask;
        }
    LocalFree(sd);
    CloseHandle(h);
    return ok;
}

/* A follower whose event appears only after it first asked is woken when
   it asks again; one whose event memwrite may not set is said, once,
   however often it asks. */
static void unwakable(const wchar_t *m)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
    wchar_t n[MAX_PATH], mu[MAX_PATH];
    HANDLE h = NULL, e = NULL, e6;
    LONG *sleep;
    struct proc w;
    const char *p;
    int said = 0;

    swprintf(mu, MAX_PATH, L"%ls.u", m);
    start(&w, L"memwrite", L"-m %ls 1 n1", mu);
    if (wait_writer(mu, LIMIT) && (sleep = map_sleep(mu, &h)) != NULL) {
        swprintf(n, MAX_PATH, L"%ls.w5", mu);
        ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:(D;;GA;;;WD)", SDDL_REVISION_1,
                                                             &sa.lpSecurityDescriptor, NULL);
        e = CreateEventW(&sa, FALSE, FALSE, n);
        CHECK(e != NULL, "cannot make %ls: error %lu", n, GetLastError());
        /* First a follower that asks before its event exists (as one left
           by a follower that ended might): then it makes it, and is woken. */
        sleep[1 + 2 * 6] = (LONG)GetCurrentProcessId();
        InterlockedExchange(&sleep[2 + 2 * 6], 1);
        InterlockedExchange(&sleep[0], 1);
        say(&w, "5 n5\n");
        Sleep(300);
        swprintf(n, MAX_PATH, L"%ls.w6", mu);
        e6 = CreateEventW(NULL, FALSE, FALSE, n);
        InterlockedExchange(&sleep[2 + 2 * 6], 1);
        InterlockedExchange(&sleep[0], 1);
        say(&w, "6 n6\n");
        CHECK(e6 && WaitForSingleObject(e6, 2000) == WAIT_OBJECT_0, "a follower whose event "
              "came after its first ask was not woken at its second");
        if (e6)
            CloseHandle(e6);
        sleep[1 + 2 * 5] = (LONG)GetCurrentProcessId();
        for (int k = 2; k <= 4; k++) {
            InterlockedExchange(&sleep[2 + 2 * 5], 1);     /* asked */
            InterlockedExchange(&sleep[0], 1);              /* asking */
            say(&w, k == 2 ? "2 n2\n" : k == 3 ? "3 n3\n" : "4 n4\n");
            Sleep(300);
        }
        UnmapViewOfFile(sleep);
        CloseHandle(h);
    }
    finish(&w, LIMIT);
    for (p = w.err.data; (p = strstr(p, "will not be woken")) != NULL; p++)
        said++;
    CHECK(w.code == 0 && said == 1 && strstr(w.err.data, "(error 5)"), "memwrite beside a "
          "follower it may not wake: exit %d, said so %d times: %s", w.code, said, w.err.data);
    if (e)
        CloseHandle(e);
    LocalFree(sa.lpSecurityDescriptor);
}

/* memwrite -s: each object's DACL, read back, grants Everyone (WD) what
   its users need and no more; readers and followers work; nobody may open
   the record to write; a follower's event lets memwrite's user set it. A
   DACL that denies everyone turns memread away with error 5 and a hint. */
static void access_rights(const wchar_t *m)
{
    static const struct {
        const wchar_t *suffix;
        ACCESS_MASK want;       /* READ_CONTROL, then what its users need */
    } objs[] = {
        {L"", 0x20000 | 0x1 | 0x4},                     /* SECTION_QUERY, MAP_READ */
        {L".sleep", 0x20000 | 0x1 | 0x4 | 0x2},         /* and MAP_WRITE */
        {L".ready", 0x20000 | 0x100000 | 0x1},          /* SYNCHRONIZE, QUERY_STATE */
        {L".alive", 0x20000 | 0x100000 | 0x1},
    };
    PSID everyone = NULL, owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t n[MAX_PATH];
    struct proc w, f, r;
    ACCESS_MASK got = 0;
    HANDLE h;
    int aces;

    ConvertStringSidToSidW(L"WD", &everyone);
    start(&w, L"memwrite", L"-m %ls -s D:(A;;GA;;;WD) 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
            swprintf(n, MAX_PATH, L"%ls%ls", m, objs[i].suffix);
            h = i < 2 ? OpenFileMappingW(READ_CONTROL, FALSE, n)
                : i == 2 ? OpenEventW(READ_CONTROL, FALSE, n) : OpenMutexW(READ_CONTROL, FALSE, n);
            CHECK(dacl_of(h, everyone, &got, &aces) && aces == 1 && got == objs[i].want,
                  "%ls: the DACL read back grants Everyone 0x%lx, not 0x%lx (%d ACEs)", n, got,
                  objs[i].want, aces);
        }
        CHECK(!OpenFileMappingW(FILE_MAP_WRITE, FALSE, m) && GetLastError() == ERROR_ACCESS_DENIED,
              "the record's section opened for writing: error %lu", GetLastError());
        reads(m, "1\r\nn1\r\n");
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
        swprintf(n, MAX_PATH, L"%ls.sleep", m);
        if ((h = OpenFileMappingW(READ_CONTROL, FALSE, n)) != NULL) {
            GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                            NULL, &sd);
            CloseHandle(h);
        }
        swprintf(n, MAX_PATH, L"%ls.w0", m);
        CHECK(owner && dacl_of(OpenEventW(READ_CONTROL, FALSE, n), owner, &got, &aces)
              && (got & EVENT_MODIFY_STATE), "the follower's event does not let memwrite's "
              "user (the owner of .sleep) set it: 0x%lx", got);
        say(&w, "2 n2\n");
        finish(&w, LIMIT);
        finish(&f, LIMIT);
        CHECK(f.code == 0 && !strcmp(f.out.data, "1\r\nn1\r\n2\r\nn2\r\n"),
              "the follower: exit %d, \"%s\" %s", f.code, f.out.data, f.err.data);
        LocalFree(sd);
    } else {
        finish(&w, LIMIT);
    }
    CHECK(w.code == 0, "memwrite -s: exit %d: %s", w.code, w.err.data);
    LocalFree(everyone);
    /* Everyone denied: memread is turned away, and told why. */
    start(&w, L"memwrite", L"-m %ls -s D:(D;;GA;;;WD) 1 n1", m);
    Sleep(500);
    for (int i = 0; i < 2; i++) {
        run(&r, L"memread", i ? L"-f -w 1 -m %ls" : L"-m %ls", m);
        CHECK(r.code == 1 && one_line(r.err.data) && strstr(r.err.data, "(error 5)")
              && strstr(r.err.data, "-s SDDL"), "memread%ls where the DACL denies everyone: exit "
              "%d: %s", i ? L" -f" : L"", r.code, r.err.data);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite -s D:(D;;GA;;;WD): exit %d: %s", w.code, w.err.data);
    unwakable(m);
}

/* A writer of one architecture and readers of the other, both ways: a
   negative ID, a name in three scripts, an update and a follower. */
static void mixed(const wchar_t *m)
{
    const char *want = "-5\r\n\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1\xe6\x97\xa5\xe6\x9c\xac\r\n";
    wchar_t wprog[MAX_PATH + 20], rprog[MAX_PATH + 20], name[300];
    struct proc w, r, f;

    swprintf(wprog, MAX_PATH + 20, L"%ls\\memwrite.exe", other);
    if (!*other || GetFileAttributesW(wprog) == INVALID_FILE_ATTRIBUTES) {
        snprintf(skip, sizeof skip, "no pair of the other architecture: "
                 "make ARCH=i686, then run with --other i686");
        return;
    }
    swprintf(rprog, MAX_PATH + 20, L"%ls\\memread", other);
    if (!start(&r, rprog, L"--help")) {
        finish(&r, LIMIT);
        snprintf(skip, sizeof skip, "cannot start the other architecture's programs here: %s "
                 "(for 32-bit ones under Wine, see .ci/wine32)", why);
        *why = 0;
        return;
    }
    finish(&r, LIMIT);
    for (int k = 0; k < 2 && !*why; k++) {
        swprintf(wprog, MAX_PATH + 20, L"%ls\\memwrite", k ? dir : other);
        swprintf(rprog, MAX_PATH + 20, L"%ls\\memread", k ? other : dir);
        swprintf(name, 300, L"%ls.%d", m, k);
        start(&w, wprog, L"-m %ls -- -5 Ωμέγα日本", name);
        if (wait_writer(name, LIMIT)) {
            run(&r, rprog, L"-m %ls", name);
            CHECK(r.code == 0 && !strcmp(r.out.data, want), "%ls read %ls's record: exit %d, "
                  "\"%s\" %s", rprog, wprog, r.code, r.out.data, r.err.data);
            start(&f, rprog, L"-f -m %ls", name);
            CHECK(wait_lines(&f.out, 2, LIMIT), "%ls -f printed nothing", rprog);
            say(&w, "-2147483648 Zoë\n");
            close_stdin(&w);
            finish(&f, LIMIT);
            CHECK(f.code == 0 && strstr(f.out.data, "-2147483648\r\nZo\xc3\xab\r\n"),
                  "%ls -f on %ls: exit %d, \"%s\" %s", rprog, wprog, f.code, f.out.data,
                  f.err.data);
        }
        finish(&w, LIMIT);
        CHECK(w.code == 0, "%ls: exit %d, %s", wprog, w.code, w.err.data);
    }
}

/* Console cases run in a console of their own, in a child of this program
   started again with CREATE_NO_WINDOW: under Wine that child has a real
   console with no window (one from AllocConsole does not work there). */
static HANDLE conout(void)
{
    return CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                       NULL, OPEN_EXISTING, 0, NULL);
}

static COORD cursor(void)
{
    CONSOLE_SCREEN_BUFFER_INFO c;
    HANDLE h = conout();
    COORD at = {0, 0};

    if (GetConsoleScreenBufferInfo(h, &c))
        at = c.dwCursorPosition;
    CloseHandle(h);
    return at;
}

/* The text on the screen from `from` to the cursor, rows joined by '\n',
   blanks at the end of each row cut. */
static void screen_since(COORD from, wchar_t *out, size_t cap)
{
    CONSOLE_SCREEN_BUFFER_INFO c;
    HANDLE h = conout();
    wchar_t row[1024];
    size_t len = 0;
    DWORD n;

    *out = 0;
    if (!GetConsoleScreenBufferInfo(h, &c)) {
        bad("GetConsoleScreenBufferInfo: error %lu", GetLastError());
        CloseHandle(h);
        return;
    }
    for (SHORT y = from.Y; y <= c.dwCursorPosition.Y; y++) {
        COORD at = {y == from.Y ? from.X : 0, y};
        DWORD want = (DWORD)(y == c.dwCursorPosition.Y ? c.dwCursorPosition.X : c.dwSize.X) - at.X;

        if (!ReadConsoleOutputCharacterW(h, row, min(want, 1023), at, &n))
            break;
        while (n && row[n - 1] == L' ')
            n--;
        if (len + n + 2 >= cap)
            break;
        wmemcpy(out + len, row, n);
        len += n;
        if (y < c.dwCursorPosition.Y)
            out[len++] = L'\n';
        out[len] = 0;
    }
    CloseHandle(h);
}

/* memread on the console: what it shows must be want, exactly. */
static void shows_on_console(const wchar_t *m, const wchar_t *want)
{
    COORD at = cursor();
    wchar_t text[1024];
    struct proc r;

    start_with(&r, CONSOLE_OUT, L"memread", L"-m %ls", m);
    finish(&r, LIMIT);
    screen_since(at, text, 1024);
    CHECK(r.code == 0 && !wcscmp(text, want), "memread on the console: exit %d, showed \"%ls\", "
          "not \"%ls\" %s", r.code, text, want, r.err.data);
}

/* memread writes a console in UTF-16: Greek, Japanese and an escaped name
   show as they are. The console's code page is 437, so UTF-8 bytes written
   to it would show as other characters. */
static void console(const wchar_t *m)
{
    unsigned char bytes[24];
    wchar_t name[300];
    struct proc w;
    HANDLE h;

    SetConsoleOutputCP(437);
    start(&w, L"memwrite", L"-m %ls -- -5 Ωμέγα", m);
    if (wait_writer(m, LIMIT)) {
        shows_on_console(m, L"-5\nΩμέγα\n");
        say(&w, "6 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n");
        if (CHECK(shows(m, "6\r\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n", 5000),
                  "the second record never came"))
            shows_on_console(m, L"6\n日本語\n");
    }
    finish(&w, LIMIT);
    swprintf(name, 300, L"%ls.hostile", m);
    record(bytes, 7, "a\x1b[31m\\\xc2\x9b", 9);
    h = section(name, bytes, 24);
    shows_on_console(name, L"7\na\\x1b[31m\\\\\\u009b\n");
    CloseHandle(h);
}

static BOOL WINAPI swallow(DWORD type)
{
    (void)type;
    return TRUE;
}

/* Ctrl+C stops a follower, then memwrite, through their own handlers: each
   says so on stderr (the default handler would end it silently, and Wine
   reports exit 0 for that too), exits 0, and memwrite leaves nothing. */
static void ctrl(const wchar_t *m)
{
    struct proc w, f;

    SetConsoleCtrlHandler(swallow, TRUE);   /* the event reaches us too */
    /* First the follower alone: memwrite is in a group of its own. */
    start_with(&w, NEW_GROUP, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        start(&f, L"memread", L"-f -m %ls", m);
        if (CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing"))
            CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0), "GenerateConsoleCtrlEvent: error %lu",
                  GetLastError());
        CHECK(WaitForSingleObject(f.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "the follower went on after Ctrl+C");
        finish(&f, LIMIT);
        CHECK(f.code == 0 && !strcmp(f.err.data, "memread: Ctrl+C: stopping\r\n"),
              "the follower after Ctrl+C: exit %d, %s", f.code, f.err.data);
        CHECK(WaitForSingleObject(w.pi.hProcess, 0) == WAIT_TIMEOUT,
              "Ctrl+C reached a memwrite in a process group of its own");
    }
    finish(&w, LIMIT);
    /* Then memwrite, as soon as it is ready. */
    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0), "GenerateConsoleCtrlEvent: error %lu",
              GetLastError());
        CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "memwrite went on after Ctrl+C");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0 && strstr(w.err.data, "memwrite: Ctrl+C: stopping"),
          "memwrite after Ctrl+C: exit %d, %s", w.code, w.err.data);
    CHECK(!exists(m), "the section outlived memwrite's Ctrl+C");
}

/* Keys typed at the console, as KEY_EVENT records. */
static BOOL type_keys(const wchar_t *s)
{
    INPUT_RECORD rec[512] = {0};
    HANDLE h = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    DWORD n = 0, done;
    BOOL ok;

    for (; *s && n < 510; s++)
        for (int down = 1; down >= 0; down--, n++) {
            rec[n].EventType = KEY_EVENT;
            rec[n].Event.KeyEvent.bKeyDown = down;
            rec[n].Event.KeyEvent.wRepeatCount = 1;
            rec[n].Event.KeyEvent.wVirtualKeyCode = *s == L'\r' ? VK_RETURN : 0;
            rec[n].Event.KeyEvent.uChar.UnicodeChar = *s;
        }
    ok = WriteConsoleInputW(h, rec, n, &done) && done == n;
    CloseHandle(h);
    return CHECK(ok, "WriteConsoleInputW: error %lu", GetLastError());
}

/* An update typed at the console arrives whole (ReadConsoleW), and Enter
   on an empty line stops memwrite, and so does a line that is Ctrl+Z. */
static void typed(const wchar_t *m)
{
    struct proc w;

    start_with(&w, CONSOLE_IN, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        type_keys(L"7 Ωμέγα 日本\r");
        CHECK(shows(m, "7\r\n\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1 \xe6\x97\xa5\xe6\x9c\xac\r\n",
                    5000), "the typed record never came");
        type_keys(L"\r");
        CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "memwrite went on after Enter at the console");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite at the console: exit %d, %s", w.code, w.err.data);
    /* Ctrl+Z, then Enter, is how Windows users end typed input. */
    start_with(&w, CONSOLE_IN, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        type_keys(L"8 n8\r\x1a\r");
        CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "memwrite went on after Ctrl+Z and Enter at the console");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0 && one_line(w.err.data), "memwrite after Ctrl+Z: exit %d, %s", w.code,
          w.err.data);
}

struct spinner {
    struct fake f;
    HANDLE volatile wake;       /* the follower's event, once opened */
    volatile LONG stop;
};

/* A new version every microsecond or so, and a wake-up after each: seq
   goes up by 2 (the record stays whole), from several threads so that one
   always runs, and seldom enough that a reader's copy holds still. */
static DWORD WINAPI spin(void *arg)
{
    struct spinner *sp = arg;
    unsigned char *v = MapViewOfFile(sp->f.map, FILE_MAP_WRITE, 0, 0, 32);

    while (v && !sp->stop) {
        InterlockedExchangeAdd((LONG *)(v + 24), 2);
        for (int k = 0; k < 200; k++)
            YieldProcessor();
        if (sp->wake)
            SetEvent(sp->wake);     /* as if memwrite woke it each time */
    }
    if (v)
        UnmapViewOfFile(v);
    return 0;
}

/* Ctrl+C stops a follower at once even while records and wake-ups come
   without a pause, so that it never waits for long, if at all. (Before
   each turn looked for Ctrl+C, this took 1.9 s or more here, or forever.) */
static void ctrl_busy(const wchar_t *m)
{
    struct spinner sp = {0};
    wchar_t n[MAX_PATH];
    struct proc f;
    HANDLE t[6];

    SetConsoleCtrlHandler(swallow, TRUE);
    fake_section(&sp.f, m, 0, "n0", 2);
    SetEvent(sp.f.ready);
    start(&f, L"memread", L"-f -m %ls", m);
    CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
    for (int i = 0; i < 6; i++)
        t[i] = CreateThread(NULL, 0, spin, &sp, 0, NULL);
    swprintf(n, MAX_PATH, L"%ls.w0", m);
    CHECK((sp.wake = OpenEventW(EVENT_MODIFY_STATE, FALSE, n)) != NULL,
          "cannot open the follower's event: error %lu", GetLastError());
    Sleep(300);
    CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0), "GenerateConsoleCtrlEvent: error %lu",
          GetLastError());
    CHECK(WaitForSingleObject(f.pi.hProcess, 500) == WAIT_OBJECT_0,
          "the follower went on for 500 ms after Ctrl+C while records kept coming");
    sp.stop = 1;
    WaitForMultipleObjects(6, t, TRUE, INFINITE);
    for (int i = 0; i < 6; i++)
        CloseHandle(t[i]);
    if (sp.wake)
        CloseHandle(sp.wake);
    finish(&f, LIMIT);
    CHECK(f.code == 0 && !strcmp(f.err.data, "memread: Ctrl+C: stopping\r\n"),
          "the follower after Ctrl+C: exit %d, %s", f.code, f.err.data);
    unfake(&sp.f);
}

/* With stderr a pipe nobody drains, refused lines fill it and memwrite's
   next message blocks; Ctrl+C still stops it, cleanly. */
static void stuck_stderr(const wchar_t *m)
{
    static char lines[2 * 5000];
    struct proc w;

    SetConsoleCtrlHandler(swallow, TRUE);
    for (int i = 0; i < 5000; i++)
        memcpy(lines + 2 * i, "x\n", 2);        /* each refused: no NAME */
    start_with(&w, ERR_STUCK, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        say_n(&w, lines, sizeof lines);
        Sleep(500);
        CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0), "GenerateConsoleCtrlEvent: error %lu",
              GetLastError());
        CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "memwrite went on after Ctrl+C, with its stderr full");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 1, "memwrite after refused lines and Ctrl+C: exit %d", w.code);
    CHECK(!exists(m), "the section outlived memwrite's Ctrl+C");
}

static void (*const console_cases[])(const wchar_t *) = {console, ctrl, typed, ctrl_busy,
                                                            stuck_stderr};

/* Run console case k in a child with a console of its own. */
static void in_console(int k, const wchar_t *m)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOW si = {0};
    PROCESS_INFORMATION pi;
    wchar_t self[MAX_PATH], cmd[MAX_PATH + 200];
    struct buf report = {0};
    HANDLE w;
    DWORD code = 1;

    si.cb = sizeof si;
    GetModuleFileNameW(NULL, self, MAX_PATH);
    if (!CreatePipe(&report.pipe, &w, &sa, 0)) {
        bad("CreatePipe: error %lu", GetLastError());
        return;
    }
    SetHandleInformation(report.pipe, HANDLE_FLAG_INHERIT, 0);
    swprintf(cmd, MAX_PATH + 200, L"\"%ls\" --console %d %llu %ls", self, k,
             (unsigned long long)(ULONG_PTR)w, m);
    if (!CreateProcessW(self, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
        bad("CreateProcess for a console: error %lu", GetLastError());
        CloseHandle(w);
        CloseHandle(report.pipe);
        return;
    }
    CloseHandle(w);
    report.thread = CreateThread(NULL, 0, drain, &report, 0, NULL);
    if (WaitForSingleObject(pi.hProcess, 60000) != WAIT_OBJECT_0) {
        TerminateProcess(pi.hProcess, 99);
        bad("the console child ran past 60 s and was killed");
    }
    GetExitCodeProcess(pi.hProcess, &code);
    collect(&report);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    if (code)
        bad("%s", *report.data ? report.data : "the console child failed with no word");
}

static void console_case(const wchar_t *m)
{
    in_console(0, m);
}

static void ctrl_case(const wchar_t *m)
{
    in_console(1, m);
}

static void typed_case(const wchar_t *m)
{
    in_console(2, m);
}

static void ctrl_busy_case(const wchar_t *m)
{
    in_console(3, m);
}

static void stuck_stderr_case(const wchar_t *m)
{
    in_console(4, m);
}

/* run --console K HANDLE MAPPING: the child's side. */
static int console_child(wchar_t **argv)
{
    HANDLE report = (HANDLE)(ULONG_PTR)_wcstoui64(argv[3], NULL, 10);
    DWORD n;

    console_cases[_wtoi(argv[2]) % 5](argv[4]);
    WriteFile(report, why, (DWORD)strlen(why), &n, NULL);
    CloseHandle(report);
    return *why != 0;
}

/* run [--other DIR] [N ...]: only cases N, if any are named */
static BOOL chosen(int argc, wchar_t **argv, size_t n)
{
    BOOL any = FALSE;

    for (int i = 1; i < argc; i++) {
        if (!wcscmp(argv[i], L"--other")) {
            i++;
            continue;
        }
        any = TRUE;
        if (wcstoul(argv[i], NULL, 10) == n)
            return TRUE;
    }
    return !any;
}

int wmain(int argc, wchar_t **argv)
{
    static const struct {
        const char *name;
        void (*run)(const wchar_t *mapping);
    } cases[] = {
        {"no arguments: the article's record and output", defaults},
        {"IDs and names: negative, limits, 19 bytes, scripts", values},
        {"usage errors: exit 2, one line, nothing touched", usage_errors},
        {"memread with no writer: at once, and after -w 0.5", no_writer},
        {"a second writer on the same name is refused", second_writer},
        {"memwrite stops at end of input and at Enter", stops},
        {"memwrite killed: the section goes with it", killed},
        {"untrusted sections: refused or escaped", untrusted},
        {"names taken by other kinds of object: a clear error at once", taken_names},
        {"the record's bytes; the article's programs", layout},
        {"memread waits for the ready event", waits_for_ready},
        {"50 races of a writer and a waiting reader", race},
        {"32 readers at once", many_readers},
        {"a waiting memwrite and an idle follower use no CPU", idle},
        {"--help and -h", help},
        {"a failed write to stdout is an error", output_fails},
        {"100,000 updates in 20 bursts, 3 followers, one-shot readers: none torn or late", stress},
        {"a slow writer played by the test: readers never print a mix", slow_writes},
        {"memread -f: three followers, every update, exit 0 at the stop", follows},
        {"a seq that stays odd: memread gives up in time", stuck_writer},
        {"memwrite killed under a follower: exit 1 at once", killed_under_follower},
        {"update lines in every form; the article's MemRead after updates", line_forms},
        {"bad update lines: reported by number, skipped, exit 1", bad_lines},
        {"mixed: a 32-bit and a 64-bit program share records, both ways", mixed},
        {"console: memread shows Greek, Japanese and escapes on a console", console_case},
        {"ctrl: Ctrl+C stops memwrite and a follower through their handlers", ctrl_case},
        {"typed: an update typed at the console; Enter, or Ctrl+Z, stops memwrite", typed_case},
        {"a hostile .sleep: memwrite neither crashes nor stalls", hostile_sleep},
        {"a frozen follower after the stop: the record is read, a new writer told why", lingers},
        {"memwrite restarting under memread -w: every reader gets a record", restarts},
        {"slots: a killed follower's is taken, a wrong kind passed over, no 1001st", slots},
        {"an unreadable stdin is an error", bad_stdin},
        {"100 followers through bursts: each on every burst's last record", many_followers},
        {"ctrl_busy: Ctrl+C stops a follower while records come without a pause",
         ctrl_busy_case},
        {"stuck_stderr: Ctrl+C stops memwrite whose stderr nobody drains", stuck_stderr_case},
        {"memwrite -s: each object's DACL as asked; readers read, nobody writes", access_rights},
    };
    wchar_t mapping[100], *slash;

    GetModuleFileNameW(NULL, dir, MAX_PATH);
    for (int up = 0; up < 2 && (slash = wcsrchr(dir, L'\\')); up++)
        *slash = 0;             /* dir\tests\run.exe: the programs are in dir */
    if (argc == 5 && !wcscmp(argv[1], L"--console"))
        return console_child(argv);
    for (int i = 1; i + 1 < argc; i++)
        if (!wcscmp(argv[i], L"--other"))
            GetFullPathNameW(argv[i + 1], MAX_PATH, other, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ULONGLONG t0 = GetTickCount64();

        if (!chosen(argc, argv, i + 1))
            continue;
        *why = *skip = 0;
        swprintf(mapping, 100, L"memtest.%lu.%u", GetCurrentProcessId(), (unsigned)i);
        cases[i].run(mapping);
        if (*skip && !*why) {
            skipped++;
            printf("SKIP %2u %s: %s\n", (unsigned)i + 1, cases[i].name, skip);
        } else if (*why) {
            failed++;
            printf("FAIL %2u %s: %s\n", (unsigned)i + 1, cases[i].name, why);
        } else {
            passed++;
            printf("ok   %2u %s (%llu ms)\n", (unsigned)i + 1, cases[i].name,
                   GetTickCount64() - t0);
        }
        fflush(stdout);
    }
    printf(skipped ? "%d passed, %d failed, %d skipped\n" : "%d passed, %d failed\n",
           passed, failed, skipped);
    return failed != 0;
}
