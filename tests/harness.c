/* harness: what the cases share. It starts memwrite and memread as real
   processes, with pipes for their standard handles and a time limit each,
   records a case's first failed check, reads and makes sections, and makes
   the objects a writer makes, to play one by hand. */
#include "harness.h"
#include <sddl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "cputime.h"

/* What each holds is said in harness.h. */
wchar_t dir[MAX_PATH];
wchar_t other[MAX_PATH];
char why[1024];
char skip[256];
HANDLE given_stdin;

/* Record a failed check unless one is recorded already; returns 0. */
int bad(const char *fmt, ...)
{
    va_list ap;

    if (!*why) {
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
    }
    return 0;
}

DWORD WINAPI drain(void *arg)
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

void close_stdin(struct proc *p)
{
    if (p->in)
        CloseHandle(p->in);
    p->in = NULL;
}

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
    if (flags & TO_FILE) {
        static LONG files;
        wchar_t tmp[MAX_PATH + 40];

        swprintf(tmp + GetTempPathW(MAX_PATH, tmp), 40, L"memtest.%lu.out%ld",
                 GetCurrentProcessId(), InterlockedIncrement(&files));
        CloseHandle(p->out.pipe);
        p->out.pipe = CreateFileW(tmp, GENERIC_READ | GENERIC_WRITE,
                                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa,
                                  CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
        si.hStdOutput = si.hStdError = p->out.pipe;
        p->out.file = TRUE;
    }
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
    if (flags & TO_FILE) {
        SetHandleInformation(p->out.pipe, HANDLE_FLAG_INHERIT, 0);
        CloseHandle(p->err.pipe);
        p->err.pipe = NULL;
    } else if (flags & (UNREAD | NO_STDOUT | CONSOLE_OUT)) {
        CloseHandle(p->out.pipe);
        p->out.pipe = NULL;
    } else {
        p->out.thread = CreateThread(NULL, 0, drain, &p->out, 0, NULL);
    }
    if (!(flags & (ERR_STUCK | TO_FILE)))
        p->err.thread = CreateThread(NULL, 0, drain, &p->err, 0, NULL);
    return ok;
}

BOOL start(struct proc *p, const wchar_t *prog, const wchar_t *fmt, ...)
{
    va_list ap;
    BOOL ok;

    va_start(ap, fmt);
    ok = vstart(p, 0, prog, fmt, ap);
    va_end(ap);
    return ok;
}

BOOL start_with(struct proc *p, int flags, const wchar_t *prog, const wchar_t *fmt, ...)
{
    va_list ap;
    BOOL ok;

    va_start(ap, fmt);
    ok = vstart(p, flags, prog, fmt, ap);
    va_end(ap);
    return ok;
}

void collect(struct buf *b)
{
    if (b->file && b->pipe && SetFilePointer(b->pipe, 0, NULL, FILE_BEGIN) == 0)
        drain(b);
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
int finish(struct proc *p, DWORD ms)
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

int run(struct proc *p, const wchar_t *prog, const wchar_t *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstart(p, 0, prog, fmt, ap);
    va_end(ap);
    return finish(p, LIMIT);
}

/* Write n bytes of text to its stdin. */
BOOL say_n(struct proc *p, const char *text, DWORD n)
{
    DWORD done;

    return CHECK(WriteFile(p->in, text, n, &done, NULL) && done == n, "cannot write to stdin");
}

BOOL say(struct proc *p, const char *text)
{
    return say_n(p, text, (DWORD)strlen(text));
}

/* Wait until b has at least lines lines; FALSE after ms. */
BOOL wait_lines(struct buf *b, LONG lines, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;

    while (b->lines < lines)
        if (GetTickCount64() > end)
            return FALSE;
        else
            Sleep(1);
    return TRUE;
}

BOOL one_line(const char *s)
{
    const char *nl = strchr(s, '\n');

    return nl && nl[1] == 0 && nl > s && nl[-1] == '\r';
}

BOOL has_control(const char *s)
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

void ready_name(wchar_t out[MAX_PATH], const wchar_t *m)
{
    swprintf(out, MAX_PATH, L"%ls.ready", m);
}

/* Wait until memwrite's record in m is complete, as a reader would. */
BOOL wait_writer(const wchar_t *m, DWORD ms)
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

BOOL exists(const wchar_t *m)
{
    HANDLE h = OpenFileMappingW(FILE_MAP_READ, FALSE, m);

    if (h)
        CloseHandle(h);
    return h != NULL;
}

/* Read size bytes of section m; FALSE if it cannot be opened or mapped. */
BOOL peek(const wchar_t *m, void *out, DWORD size)
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
void record(unsigned char out[24], uint32_t id, const char *name, size_t len)
{
    memset(out, 0, 24);
    for (int i = 0; i < 4; i++)
        out[i] = (unsigned char)(id >> 8 * i);
    memcpy(out + 4, name, len);
}

/* A section the test makes itself, as another program might, with the
   security descriptor sddl if not NULL. */
HANDLE section_sd(const wchar_t *m, const void *bytes, DWORD size, const wchar_t *sddl)
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

HANDLE section(const wchar_t *m, const void *bytes, DWORD size)
{
    return section_sd(m, bytes, size, NULL);
}

/* memread -m m must print exactly want and exit 0. */
void reads(const wchar_t *m, const char *want)
{
    struct proc r;

    run(&r, L"memread", L"-m %ls", m);
    CHECK(r.code == 0, "memread -m %ls: exit %d, stderr %s", m, r.code, r.err.data);
    CHECK(!strcmp(r.out.data, want), "memread -m %ls printed \"%s\", not \"%s\"",
          m, r.out.data, want);
}

/* memread -m m must fail: exit 1, nothing on stdout, one line naming m. */
void refuses(const wchar_t *m, const char *what)
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

/* The README's name of generation gen's event. */
void gen_name(wchar_t out[MAX_PATH], const wchar_t *m, LONG gen)
{
    const wchar_t *prefix = !wcsncmp(m, L"Global\\", 7) ? L"Global\\"
                            : !wcsncmp(m, L"Local\\", 6) ? L"Local\\" : L"";

    swprintf(out, MAX_PATH, L"%lsmemwrite.%08lx", prefix, (unsigned long)gen);
}

/* A new generation's event, its number in *gen. */
static HANDLE new_gen(const wchar_t *m, LONG *gen)
{
    static LONG next;
    wchar_t n[MAX_PATH];
    HANDLE h;

    for (;;) {
        *gen = (LONG)(GetCurrentProcessId() << 16) + InterlockedIncrement(&next);
        gen_name(n, m, *gen);
        h = CreateEventW(NULL, TRUE, FALSE, n);
        if (!h || GetLastError() != ERROR_ALREADY_EXISTS)
            return h;
        CloseHandle(h);
    }
}

void fake_section(struct fake *f, const wchar_t *m, uint32_t id, const char *name,
                         LONG seq)
{
    unsigned char bytes[48] = {0};
    wchar_t n[MAX_PATH];
    FILETIME t[4];
    LONG gen = 0, pid = (LONG)GetCurrentProcessId();

    record(bytes, id, name, strlen(name));
    memcpy(bytes + 24, &seq, 4);
    f->gen = new_gen(m, &gen);
    memcpy(bytes + 4 * GEN, &gen, 4);
    memcpy(bytes + 4 * PID, &pid, 4);
    GetProcessTimes(GetCurrentProcess(), &t[0], &t[1], &t[2], &t[3]);
    memcpy(bytes + 4 * STARTED, &t[0], 8);
    swprintf(n, MAX_PATH, L"%ls.ready", m);
    f->ready = CreateEventW(NULL, TRUE, FALSE, n);
    swprintf(n, MAX_PATH, L"%ls.alive", m);
    f->alive = CreateMutexW(NULL, TRUE, n);
    swprintf(n, MAX_PATH, L"%ls.sleep", m);
    f->sleep = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SLEEP_SIZE, n);
    f->m = m;
    f->map = section(m, bytes, 48);
}

void fake_write(struct fake *f, uint32_t id, const char *name, LONG seq)
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

/* LONG at of the section (SEQ, STOPPED, GEN, PID, STARTED...) set to value. */
void fake_set(struct fake *f, int at, LONG value)
{
    LONG *v = MapViewOfFile(f->map, FILE_MAP_WRITE, 0, 0, 48);

    if (v) {
        InterlockedExchange(&v[at], value);
        UnmapViewOfFile(v);
    }
}

/* End the generation as memwrite does: the next one's name published,
   then the old event set and closed. */
BOOL fake_wake(struct fake *f)
{
    LONG gen;
    HANDLE next = new_gen(f->m, &gen);

    if (!next)
        return FALSE;
    fake_set(f, GEN, gen);
    SetEvent(f->gen);
    CloseHandle(f->gen);
    f->gen = next;
    return TRUE;
}

void unfake(struct fake *f)
{
    CloseHandle(f->map);
    CloseHandle(f->sleep);
    if (f->alive) {
        ReleaseMutex(f->alive);
        CloseHandle(f->alive);
    }
    CloseHandle(f->ready);
    if (f->gen)
        CloseHandle(f->gen);
}

/* CPU time the process uses while this one sleeps for ms. */
ULONGLONG cpu_over(const PROCESS_INFORMATION *pi, DWORD ms)
{
    ULONGLONG before = cpu_ms(pi);

    Sleep(ms);
    return cpu_ms(pi) - before;
}

/* Check a follower's output: pairs of lines "ID", "nID" (the stress
   test's names), IDs strictly increasing, the last one last. */
void check_follower(const char *out, int who, long last)
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

/* Line k (from 0) of s, without its line end, into out. */
void line_at(const char *s, LONG k, char *out, size_t n)
{
    size_t len;

    for (; k > 0 && s; k--)
        if ((s = strchr(s, '\n')))
            s++;
    len = s ? strcspn(s, "\r\n") : 0;
    snprintf(out, n, "%.*s", (int)min(len, n - 1), s ? s : "");
}

/* Wait until memread -m m prints want; FALSE after about ms. */
BOOL shows(const wchar_t *m, const char *want, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    struct proc r;

    do
        run(&r, L"memread", L"-m %ls", m);
    while (strcmp(r.out.data, want) && GetTickCount64() < end);
    return !strcmp(r.out.data, want);
}

/* .sleep of m mapped for writing, as any follower may; NULL if it cannot be. */
LONG *map_sleep(const wchar_t *m, HANDLE *h)
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

/* Ask as a follower does: the generation's event, opened, then asking set. */
HANDLE play_ask(const wchar_t *m, const LONG *view, LONG *sleep)
{
    wchar_t n[MAX_PATH];
    HANDLE h;

    gen_name(n, m, *(volatile const LONG *)&view[GEN]);
    h = OpenEventW(SYNCHRONIZE, FALSE, n);
    MemoryBarrier();
    InterlockedExchange(sleep, 1);
    MemoryBarrier();
    return h;
}
