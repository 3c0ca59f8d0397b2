/* run: the test suite. It starts memwrite and memread as real processes,
   with pipes for their standard handles and a time limit each, and checks
   their output, exit codes and the sections they leave. It knows the record
   and the ready event from the README, not from student.h, so that a wrong
   definition there cannot hide. */
#include <windows.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include "cputime.h"

#define LIMIT 10000             /* ms any child may run before it is killed */

struct buf {
    HANDLE pipe, thread;
    char data[8192];
    DWORD len;
};

struct proc {
    PROCESS_INFORMATION pi;
    HANDLE in;                  /* our end of its stdin, until closed */
    struct buf out, err;
    int code;                   /* exit code, or -1 if it was killed */
};

static wchar_t dir[MAX_PATH];   /* where memwrite.exe and memread.exe are */
static char why[1024];          /* the current case's first failed check */
static int passed, failed;

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
    DWORD n;

    while (b->len < sizeof b->data - 1
           && ReadFile(b->pipe, b->data + b->len, sizeof b->data - 1 - b->len, &n, NULL) && n)
        b->len += n;
    b->data[b->len] = 0;
    return 0;
}

/* Start PROG.exe from dir with arguments; flags: 1 = stdout closed for reading. */
static BOOL vstart(struct proc *p, int flags, const wchar_t *prog, const wchar_t *fmt, va_list ap)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOW si = {0};
    HANDLE in, out, err;
    wchar_t cmd[4096];
    int n = swprintf(cmd, 4096, L"\"%ls\\%ls.exe\" ", dir, prog);
    BOOL ok;

    memset(p, 0, sizeof *p);
    vswprintf(cmd + n, 4096 - n, fmt, ap);
    if (!CreatePipe(&in, &p->in, &sa, 0) || !CreatePipe(&p->out.pipe, &out, &sa, 0)
        || !CreatePipe(&p->err.pipe, &err, &sa, 0))
        return bad("CreatePipe: error %lu", GetLastError());
    SetHandleInformation(p->in, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(p->out.pipe, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(p->err.pipe, HANDLE_FLAG_INHERIT, 0);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in;
    si.hStdOutput = out;
    si.hStdError = err;
    /* Wine 8 now and then loses a new process before its loader is done
       (error 1359, ERROR_INTERNAL_ERROR): none of the program ran, so try again. */
    for (int tries = 0; tries < 3; tries++)
        if ((ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &p->pi))
            || GetLastError() != ERROR_INTERNAL_ERROR)
            break;
    if (!ok)
        bad("CreateProcess %ls: error %lu", prog, GetLastError());
    CloseHandle(in);
    CloseHandle(out);
    CloseHandle(err);
    if (flags & 1) {
        CloseHandle(p->out.pipe);
        p->out.pipe = NULL;
    } else {
        p->out.thread = CreateThread(NULL, 0, drain, &p->out, 0, NULL);
    }
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

/* The same, with nobody reading its stdout: writing there fails. */
static BOOL start_unread(struct proc *p, const wchar_t *prog, const wchar_t *fmt, ...)
{
    va_list ap;
    BOOL ok;

    va_start(ap, fmt);
    ok = vstart(p, 1, prog, fmt, ap);
    va_end(ap);
    return ok;
}

static void close_stdin(struct proc *p)
{
    if (p->in)
        CloseHandle(p->in);
    p->in = NULL;
}

static void collect(struct buf *b)
{
    if (b->thread) {
        WaitForSingleObject(b->thread, INFINITE);
        CloseHandle(b->thread);
    }
    if (b->pipe)
        CloseHandle(b->pipe);
}

/* Close its stdin, wait up to ms for it to end (killing it then), collect
   its output and return its exit code, -1 if it had to be killed. */
static int finish(struct proc *p, DWORD ms)
{
    DWORD code = (DWORD)-1;

    close_stdin(p);
    if (!p->pi.hProcess)
        return p->code = -1;
    if (WaitForSingleObject(p->pi.hProcess, ms) != WAIT_OBJECT_0) {
        TerminateProcess(p->pi.hProcess, 99);
        WaitForSingleObject(p->pi.hProcess, INFINITE);
        bad("a child ran past its limit and was killed");
    } else {
        GetExitCodeProcess(p->pi.hProcess, &code);
    }
    collect(&p->out);
    collect(&p->err);
    CloseHandle(p->pi.hThread);
    CloseHandle(p->pi.hProcess);
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

/* A section the test makes itself, as another program might. */
static HANDLE section(const wchar_t *m, const void *bytes, DWORD size)
{
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, size, m);
    void *v = h ? MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, size) : NULL;

    if (!v) {
        bad("cannot make section %ls: error %lu", m, GetLastError());
        return h;
    }
    memcpy(v, bytes, size);
    UnmapViewOfFile(v);
    return h;
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
    struct proc w;

    (void)unused;
    start(&w, L"memwrite", L"");
    if (wait_writer(L"TestMemShare", LIMIT))
        reads(L"TestMemShare", "99041232\r\nSecBug\r\n");
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
    };
    static const wchar_t *reads_[] = {
        L"-x", L"-m", L"-w", L"-w abc", L"-w -1", L"-w 1.2345", L"-w 86401", L"-w .5",
        L"-w 5.", L"-m %ls extra", L"-m a\\b", L"-m \"\"",
    };
    wchar_t args[600], toolong[300];
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
    CHECK(r.code == 1 && strstr(r.err.data, "(error 2)"), "-w 0.5: exit %d: %s",
          r.code, r.err.data);
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
    /* A ready event someone left behind, set: a reader would trust it. */
    swprintf(other, 300, L"%ls.event", m);
    ready_name(ev, other);
    e = CreateEventW(NULL, TRUE, TRUE, ev);
    run(&w2, L"memwrite", L"-m %ls", other);
    CHECK(w2.code == 1 && strstr(w2.err.data, "CreateEvent") && !exists(other),
          "memwrite beside a ready event it did not make: exit %d: %s", w2.code, w2.err.data);
    CloseHandle(e);
}

static void stops(const wchar_t *m)
{
    wchar_t ev[MAX_PATH], m2[300];
    struct proc w;
    DWORD n;

    start(&w, L"memwrite", L"-m %ls", m);
    if (wait_writer(m, LIMIT)) {
        finish(&w, LIMIT);      /* end of input */
        CHECK(w.code == 0, "memwrite at end of input: exit %d", w.code);
        ready_name(ev, m);
        CHECK(!exists(m) && !OpenEventW(SYNCHRONIZE, FALSE, ev),
              "the section or its event outlived memwrite");
    }
    swprintf(m2, 300, L"%ls.enter", m);
    start(&w, L"memwrite", L"-m %ls", m2);
    if (wait_writer(m2, LIMIT)) {
        WriteFile(w.in, "\r\n", 2, &n, NULL);
        CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "memwrite went on after Enter");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0 && !exists(m2), "memwrite after Enter: exit %d", w.code);
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
}

static void layout(const wchar_t *m)
{
    unsigned char want[24], got[24];
    wchar_t m2[300];
    struct proc w, r;

    start(&w, L"memwrite", L"-m %ls -- -2 Zoë", m);
    if (wait_writer(m, LIMIT)) {
        record(want, 0xfffffffe, "Zo\xc3\xab", 4);
        CHECK(peek(m, got, 24) && !memcmp(want, got, 24),
              "memwrite's section is not ID -2 at 0 and \"Zoë\" at 4, NUL-padded");
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
    TerminateProcess(w.pi.hProcess, 0);
    finish(&w, LIMIT);
}

/* The test plays a writer by hand: memread must wait for the event. */
static void waits_for_ready(const wchar_t *m)
{
    unsigned char bytes[24];
    wchar_t ev[MAX_PATH];
    HANDLE e, h;
    void *v;
    struct proc r;
    ULONGLONG t0 = GetTickCount64();

    ready_name(ev, m);
    e = CreateEventW(NULL, TRUE, FALSE, ev);
    record(bytes, 0, "", 0);
    h = section(m, bytes, 24);
    start(&r, L"memread", L"-m %ls -w 5", m);
    Sleep(300);
    record(bytes, 31, "late", 4);
    if ((v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 24))) {
        memcpy(v, bytes, 24);
        UnmapViewOfFile(v);
    }
    SetEvent(e);
    finish(&r, LIMIT);
    CHECK(r.code == 0 && !strcmp(r.out.data, "31\r\nlate\r\n"),
          "memread did not wait for the ready event: exit %d, \"%s\" %s",
          r.code, r.out.data, r.err.data);
    CHECK(GetTickCount64() - t0 >= 300, "memread returned before the event was set");
    ResetEvent(e);
    t0 = GetTickCount64();
    run(&r, L"memread", L"-m %ls -w 0.3", m);
    CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data) && strstr(r.err.data, "not ready"),
          "an event never set: exit %d, \"%s\" %s", r.code, r.out.data, r.err.data);
    CHECK(GetTickCount64() - t0 >= 300, "memread gave up before -w 0.3 ran out");
    CloseHandle(h);
    CloseHandle(e);
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
    struct proc w;
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
    }
    finish(&w, LIMIT);
}

static void help(const wchar_t *unused)
{
    static const char *want[] = {
        "usage: memwrite [-m MAPPING] [--] [ID [NAME]]\r\n",
        "usage: memread [-m MAPPING] [-w SECONDS]\r\n",
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
        start_unread(&r, L"memread", L"-m %ls", m);
        finish(&r, LIMIT);
        CHECK(r.code == 1 && one_line(r.err.data) && strstr(r.err.data, "stdout"),
              "memread into a closed pipe: exit %d, %s", r.code, r.err.data);
        start_unread(&r, L"memread", L"--help");
        finish(&r, LIMIT);
        CHECK(r.code == 1, "memread --help into a closed pipe: exit %d", r.code);
    }
    finish(&w, LIMIT);
}

/* run [N ...]: only cases N, if any are named */
static BOOL chosen(int argc, wchar_t **argv, size_t n)
{
    for (int i = 1; i < argc; i++)
        if (wcstoul(argv[i], NULL, 10) == n)
            return TRUE;
    return FALSE;
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
        {"the record's bytes; the article's programs", layout},
        {"memread waits for the ready event", waits_for_ready},
        {"50 races of a writer and a waiting reader", race},
        {"32 readers at once", many_readers},
        {"a waiting memwrite uses no CPU", idle},
        {"--help and -h", help},
        {"a failed write to stdout is an error", output_fails},
    };
    wchar_t mapping[100], *slash;

    GetModuleFileNameW(NULL, dir, MAX_PATH);
    for (int up = 0; up < 2 && (slash = wcsrchr(dir, L'\\')); up++)
        *slash = 0;             /* dir\tests\run.exe: the programs are in dir */
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ULONGLONG t0 = GetTickCount64();

        if (argc > 1 && !chosen(argc, argv, i + 1))
            continue;
        *why = 0;
        swprintf(mapping, 100, L"memtest.%lu.%u", GetCurrentProcessId(), (unsigned)i);
        cases[i].run(mapping);
        if (*why) {
            failed++;
            printf("FAIL %2u %s: %s\n", (unsigned)i + 1, cases[i].name, why);
        } else {
            passed++;
            printf("ok   %2u %s (%llu ms)\n", (unsigned)i + 1, cases[i].name,
                   GetTickCount64() - t0);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
