/* soak: the real programs for minutes, with followers coming and going by
   every path (issue 18, point 7). One memwrite takes lines without pause;
   `memread -f` sessions start and end all the time (killed, their stdout
   closed, Ctrl+C in a console of their own, and cleanly when memwrite
   stops at the end); one-shot readers read now and then; a second memwrite,
   made with -s, restarts again and again under `memread -w 10` readers.
   It fails (exit 1, saying which) on a torn record, a lost follower (one
   not on the newest record within 1 s), a refused follower, or growth
   (memwrite's memory or handles, or generations' events beyond what the
   memwrites and followers alive may hold; once the followers have gone,
   any but the one memwrite's section names).

   usage: soak [SECONDS [FOLLOWERS]]    default 600 s, 30 followers */
#define _CRT_SECURE_NO_WARNINGS
#include <windows.h>
#include <psapi.h>
#include <tlhelp32.h>
#include <winternl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "../tests/cputime.h"
#include "common.h"

#define MAX_FOL     200         /* followers of the main driver at once, at most */
#define BATCH       200         /* lines per write to memwrite */
#define FEED_MS     10          /* pause between writes */
#define MARK_EVERY  5000        /* ms between marked lines */
#define SAMPLE_EVERY 10000      /* ms between counts of generations' events */
#define LOST_MS     1000        /* a follower must print a marked line within this */
#define LIFE_MIN    200         /* a follower's planned life, ms */
#define LIFE_MAX    8000
#define CTRL_BATCH  4           /* followers per Ctrl+C round */
#define SDDL_B      L"D:(A;;GA;;;WD)"
#define HANDLES_SLACK 2         /* memwrite's handles may be this many over the first count */

/* What fails the run. */
enum { TORN, LOST, REFUSED, GROWTH, OTHER, KINDS };
static const char *kind_name[KINDS] = {"torn record", "lost follower", "refused follower",
                                       "growth", "other failure"};
static volatile LONG failures[KINDS];

static wchar_t dir[MAX_PATH];
static HANDLE nul;              /* NUL, inheritable: stdin and stdout nobody reads */
static LARGE_INTEGER freq;
static double t_start;
static SRWLOCK starting = SRWLOCK_INIT;     /* pipes are made and handed over under it */
static CRITICAL_SECTION say_lock;
static HANDLE report;           /* in the Ctrl+C helper: the pipe to the driver */
static volatile LONG stop_all;  /* the run is over: the readers stop */
static volatile LONG stop_b;    /* and then the second memwrite */

static double now_ms(void)
{
    LARGE_INTEGER t;

    QueryPerformanceCounter(&t);
    return t.QuadPart * 1000.0 / freq.QuadPart;
}

static double elapsed_s(void)
{
    return (now_ms() - t_start) / 1000;
}

static void say(const char *fmt, ...)
{
    va_list ap;

    EnterCriticalSection(&say_lock);
    printf("[%6.1f s] ", elapsed_s());
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    LeaveCriticalSection(&say_lock);
}

/* A failure of kind k: counted, and said (the first 20 of each kind). In
   the Ctrl+C helper it goes to the driver, which counts and says it. */
static void problem(int k, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    LONG n = InterlockedIncrement(&failures[k]);

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    if (report) {
        char line[640];
        DWORD done;
        int len = snprintf(line, sizeof line, "F %d %s\n", k, msg);

        EnterCriticalSection(&say_lock);
        WriteFile(report, line, (DWORD)min(len, (int)sizeof line - 1), &done, NULL);
        LeaveCriticalSection(&say_lock);
    } else if (n <= 20) {
        say("FAIL (%s): %s", kind_name[k], msg);
    }
}

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "soak: %s (error %lu)\n", what, GetLastError());
    exit(2);
}

static volatile ULONG64 seed;

static ULONG rnd(ULONG n)
{
    ULONG64 old, next;

    do {
        old = seed;
        next = old * 6364136223846793005ULL + 1442695040888963407ULL;
    } while ((ULONG64)InterlockedCompareExchange64((volatile LONG64 *)&seed, (LONG64)next,
                                                   (LONG64)old) != old);
    return (ULONG)(next >> 33) % n;
}

/* A child process, and our ends of the pipes it was given. */
struct child {
    PROCESS_INFORMATION pi;
    HANDLE in, out, err;
};

enum { P_IN = 1, P_OUT = 2, P_ERR = 4 };

/* Start dir\PROG.exe ARGS with a pipe for each standard handle in pipes,
   NUL for the others. The child's ends are inheritable only here, under
   the lock, so that no other child gets them (a Wine program keeps every
   Unix fd it inherits). */
static BOOL spawn(struct child *c, int pipes, DWORD flags, const wchar_t *prog,
                  const wchar_t *fmt, ...)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOW si = {0};
    HANDLE in = nul, out = nul, err = nul;
    wchar_t cmd[1024];
    int n = swprintf(cmd, 1024, L"\"%ls\\%ls.exe\" ", dir, prog);
    BOOL ok = FALSE;
    va_list ap;

    memset(c, 0, sizeof *c);
    va_start(ap, fmt);
    vswprintf(cmd + n, 1024 - n, fmt, ap);
    va_end(ap);
    AcquireSRWLockExclusive(&starting);
    if (((pipes & P_IN) && !CreatePipe(&in, &c->in, &sa, 1 << 16))
        || ((pipes & P_OUT) && !CreatePipe(&c->out, &out, &sa, 1 << 16))
        || ((pipes & P_ERR) && !CreatePipe(&c->err, &err, &sa, 1 << 14))) {
        ReleaseSRWLockExclusive(&starting);
        die("CreatePipe");
    }
    for (HANDLE *h = &c->in; h <= &c->err; h++)
        if (*h)
            SetHandleInformation(*h, HANDLE_FLAG_INHERIT, 0);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in;
    si.hStdOutput = out;
    si.hStdError = err;
    /* Wine 8 now and then loses a new process before its loader is done
       (error 1359): none of the program ran, so try again (tests/run.c). */
    for (int tries = 0; tries < 3; tries++)
        if ((ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, flags, NULL, NULL, &si, &c->pi))
            || GetLastError() != ERROR_INTERNAL_ERROR)
            break;
    if (in != nul)
        CloseHandle(in);
    if (out != nul)
        CloseHandle(out);
    if (err != nul)
        CloseHandle(err);
    ReleaseSRWLockExclusive(&starting);
    if (!ok) {
        say("CreateProcess %ls: error %lu", prog, GetLastError());
        for (HANDLE *h = &c->in; h <= &c->err; h++)
            if (*h)
                CloseHandle(*h);
        memset(c, 0, sizeof *c);
        return FALSE;
    }
    CloseHandle(c->pi.hThread);
    return TRUE;
}

/* Everything left in a pipe whose writer has ended, NUL-terminated. */
static char *read_all(HANDLE h, char *buf, size_t cap)
{
    size_t len = 0;
    DWORD n;
    char junk[512];

    while (len < cap - 1 && ReadFile(h, buf + len, (DWORD)(cap - 1 - len), &n, NULL) && n)
        len += n;
    while (ReadFile(h, junk, sizeof junk, &n, NULL) && n)
        ;
    buf[len] = 0;
    return buf;
}

/* Wait up to ms for c to end (then kill it); its exit code, 99 if killed;
   its stdout and stderr read into out and err, if asked. */
static DWORD reap_child(struct child *c, DWORD ms, char *out, size_t out_cap, char *err,
                        size_t err_cap)
{
    DWORD code = 98;

    if (WaitForSingleObject(c->pi.hProcess, ms) != WAIT_OBJECT_0) {
        TerminateProcess(c->pi.hProcess, 99);
        WaitForSingleObject(c->pi.hProcess, INFINITE);
    }
    GetExitCodeProcess(c->pi.hProcess, &code);
    if (c->out && out)
        read_all(c->out, out, out_cap);
    if (c->err && err)
        read_all(c->err, err, err_cap);
    for (HANDLE *h = &c->in; h <= &c->err; h++)
        if (*h)
            CloseHandle(*h);
    CloseHandle(c->pi.hProcess);
    memset(c, 0, sizeof *c);
    return code;
}

/* Is s exactly one whole record as memread prints it, "ID\r\nnID\r\n"? */
static BOOL whole(const char *s, long *id)
{
    char want[64], *end;

    *id = strtol(s, &end, 10);
    if (end == s)
        return FALSE;
    snprintf(want, sizeof want, "%ld\r\nn%ld\r\n", *id, *id);
    return !strcmp(s, want);
}

/* ---------- followers ---------- */

enum { PLAN_KILL, PLAN_CLOSE, PLAN_FINAL, PLAN_CTRL };
static const char *plan_name[] = {"killed", "stdout closed", "clean end", "Ctrl+C"};

struct fol {
    struct child c;
    HANDLE thread;              /* ours, reading its stdout */
    int plan;
    double started, end_at, ending_at;
    volatile LONG ending;       /* we have begun to end it: not in marks */
    volatile LONG closing;      /* its reader is to close its stdout */
    volatile LONG first;        /* it has printed a whole record */
    double first_at;
    volatile LONG last;         /* the ID it printed last */
    volatile LONG records;
    volatile LONG in_mark, mark_seen;
    double mark_at;
    BOOL used, join_said;
};

static struct fol fols[MAX_FOL];
static volatile LONG mark_id, mark_want, mark_got;
static HANDLE mark_done;
static volatile LONG64 records_total;

/* Read a follower's stdout: each record must be whole (name "n" + ID) and
   newer than the one before. */
static DWORD WINAPI read_follower(void *arg)
{
    struct fol *f = arg;
    struct lines l = {.len = 0};
    char buf[8192], *line;
    BOOL name_next = FALSE;
    long id = 0, prev = LONG_MIN;
    DWORD n;

    while (ReadFile(f->c.out, buf, sizeof buf, &n, NULL) && n) {
        double t = now_ms();

        for (DWORD i = 0; i < n; i++) {
            char *end;

            if (!(line = next_line(&l, buf[i])))
                continue;
            if (!name_next) {
                id = strtol(line, &end, 10);
                if (end == line || strcmp(end, "\r"))
                    problem(TORN, "follower %lu printed \"%s\" for an ID",
                            f->c.pi.dwProcessId, line);
                name_next = TRUE;
                continue;
            }
            name_next = FALSE;
            if (line[0] != 'n' || strtol(line + 1, &end, 10) != id || strcmp(end, "\r")
                || end == line + 1) {
                problem(TORN, "follower %lu printed ID %ld with name \"%s\"",
                        f->c.pi.dwProcessId, id, line);
                continue;
            }
            if (id <= prev)
                problem(TORN, "follower %lu printed %ld after %ld: out of order or twice",
                        f->c.pi.dwProcessId, id, prev);
            prev = id;
            f->last = id;
            InterlockedIncrement(&f->records);
            InterlockedIncrement64(&records_total);
            if (!f->first) {
                f->first_at = t;
                InterlockedExchange(&f->first, 1);
            }
            if (f->in_mark && mark_id && id >= mark_id && !f->mark_seen) {
                f->mark_at = t;
                InterlockedExchange(&f->mark_seen, 1);
                if (InterlockedIncrement(&mark_got) == mark_want)
                    SetEvent(mark_done);
            }
        }
        if (f->closing) {
            CloseHandle(f->c.out);      /* its next print fails: it exits 1 */
            f->c.out = NULL;
            return 0;
        }
    }
    return 0;
}

static wchar_t map_a[64], map_b[64];

static BOOL start_follower(struct fol *f, int plan, const wchar_t *mapping)
{
    memset(f, 0, sizeof *f);
    if (!spawn(&f->c, P_OUT | P_ERR, 0, L"memread", L"-f -m %ls", mapping))
        return FALSE;
    f->plan = plan;
    f->used = TRUE;
    f->started = now_ms();
    f->last = LONG_MIN;
    if (!(f->thread = CreateThread(NULL, 0, read_follower, f, 0, NULL)))
        die("CreateThread");
    return TRUE;
}

/* Begin to end it, by its plan. */
static void end_follower(struct fol *f)
{
    if (f->ending)
        return;
    InterlockedExchange(&f->ending, 1);
    f->ending_at = now_ms();
    if (f->plan == PLAN_KILL)
        TerminateProcess(f->c.pi.hProcess, 99);     /* a closed window, a crash */
    else if (f->plan == PLAN_CLOSE)
        InterlockedExchange(&f->closing, 1);
}

static struct {
    LONG started, killed, closed, clean, refused, ctrl, ctrl_refused;
    double join_max;
} fs;

/* A follower that has ended: how, and was that right? want_last: the
   record a clean end must print last. */
static void finish_follower(struct fol *f, long want_last)
{
    char err[1024];
    DWORD code = 98, pid = f->c.pi.dwProcessId;

    WaitForSingleObject(f->thread, 10000);      /* its stdout has ended, or we closed it */
    CloseHandle(f->thread);
    GetExitCodeProcess(f->c.pi.hProcess, &code);
    read_all(f->c.err, err, sizeof err);
    if (f->first && f->first_at - f->started > fs.join_max)
        fs.join_max = f->first_at - f->started;
    if (f->plan == PLAN_KILL && f->ending && code == 99 && !*err)
        fs.killed++;
    else if (f->plan == PLAN_CLOSE && f->ending && code == 1 && strstr(err, "writing \"stdout\""))
        fs.closed++;
    else if (f->plan == PLAN_FINAL && code == 0 && !*err && f->last == want_last)
        fs.clean++;
    else if (code == 1 && *err) {
        fs.refused++;
        problem(REFUSED, "follower %lu (to end by: %s) exited 1: %s", pid, plan_name[f->plan],
                err);
    } else {
        problem(f->plan == PLAN_FINAL ? LOST : OTHER, "follower %lu (to end by: %s%s) exited %lu, "
                "last printed %ld%s%s", pid, plan_name[f->plan], f->ending ? ", begun" : "",
                code, f->last, *err ? ", said: " : "", err);
    }
    reap_child(&f->c, 0, NULL, 0, NULL, 0);
    f->used = FALSE;
}

static int live_followers(void)
{
    int n = 0;

    for (int i = 0; i < MAX_FOL; i++)
        n += fols[i].used;
    return n;
}

/* ---------- memwrite A and its feeder ---------- */

static struct child writer_a;
static const volatile LONG *view_a;     /* memwrite's section: ID at 0, seq at 24, gen at 32 */
static HANDLE map_handle_a;
static SRWLOCK feed_lock = SRWLOCK_INIT;
static volatile LONG next_id = 1, last_written;
static volatile LONG64 published;
static volatile LONG feeding = 1;
static char *err_a;                     /* memwrite's stderr, drained */
static size_t err_a_len;

static BOOL write_lines(LONG from, LONG to)
{
    static char text[BATCH * 32];
    char *p = text;
    DWORD done;

    for (LONG i = from; i <= to; i++)
        p += sprintf(p, "%ld n%ld\n", (long)i, (long)i);
    if (!WriteFile(writer_a.in, text, (DWORD)(p - text), &done, NULL))
        return FALSE;
    last_written = to;
    published += to - from + 1;
    return TRUE;
}

static DWORD WINAPI feeder(void *unused)
{
    (void)unused;
    while (feeding) {
        AcquireSRWLockExclusive(&feed_lock);
        if (feeding && !write_lines(next_id, next_id + BATCH - 1)) {
            ReleaseSRWLockExclusive(&feed_lock);
            problem(OTHER, "writing to memwrite failed: error %lu", GetLastError());
            return 0;
        }
        next_id += BATCH;
        ReleaseSRWLockExclusive(&feed_lock);
        Sleep(FEED_MS);
    }
    return 0;
}

static DWORD WINAPI drain_a(void *unused)
{
    char buf[4096];
    DWORD n;

    (void)unused;
    while (ReadFile(writer_a.err, buf, sizeof buf, &n, NULL) && n) {
        if (err_a_len + n < 65536) {
            memcpy(err_a + err_a_len, buf, n);
            err_a_len += n;
            err_a[err_a_len] = 0;
        }
    }
    return 0;
}

/* Until memwrite's section holds the last line written (the stream paused). */
static BOOL caught_up(DWORD ms)
{
    ULONGLONG give_up = GetTickCount64() + ms;

    while (view_a[0] != last_written || (view_a[6] & 1))
        if (GetTickCount64() > give_up)
            return FALSE;
        else
            Sleep(1);
    return TRUE;
}

/* ---------- the churn ---------- */

static CRITICAL_SECTION churn;          /* followers start and end under it */
static int fol_target;
static volatile LONG churning = 1;

static void churn_once(void)
{
    double t = now_ms();
    int live = 0;

    EnterCriticalSection(&churn);
    for (int i = 0; i < MAX_FOL; i++) {
        struct fol *f = &fols[i];

        if (!f->used)
            continue;
        if (WaitForSingleObject(f->c.pi.hProcess, 0) == WAIT_OBJECT_0) {
            finish_follower(f, 0);
            continue;
        }
        live++;
        if (!f->first && !f->ending && !f->join_said && t - f->started > 30000) {
            f->join_said = TRUE;
            problem(REFUSED, "follower %lu has printed nothing in 30 s", f->c.pi.dwProcessId);
        }
        if (!f->ending && t >= f->end_at)
            end_follower(f);
        else if (f->ending && f->plan == PLAN_CLOSE && t - f->ending_at > 20000) {
            problem(OTHER, "follower %lu went on 20 s after its stdout was closed",
                    f->c.pi.dwProcessId);
            f->plan = PLAN_KILL;
            f->ending = 0;
            end_follower(f);
        }
    }
    for (int i = 0; i < MAX_FOL && live < fol_target && churning; i++) {
        struct fol *f = &fols[i];

        if (f->used)
            continue;
        if (start_follower(f, rnd(2) ? PLAN_KILL : PLAN_CLOSE, map_a)) {
            f->end_at = f->started + LIFE_MIN + rnd(LIFE_MAX - LIFE_MIN);
            fs.started++;
            live++;
        }
    }
    LeaveCriticalSection(&churn);
}

static DWORD WINAPI churner(void *unused)
{
    (void)unused;
    while (churning) {
        churn_once();
        Sleep(20);
    }
    return 0;
}

/* ---------- marks: publish to print, for every live follower ---------- */

static double mark_worst[4096];
static int marks;
static LONG marked_followers;

static void mark(void)
{
    int n = 0;
    double t0, worst = 0;
    LONG id;

    EnterCriticalSection(&churn);           /* no follower starts or ends */
    AcquireSRWLockExclusive(&feed_lock);    /* the stream pauses */
    if (!caught_up(10000)) {
        problem(OTHER, "memwrite's section never reached the last line written, %ld",
                (long)last_written);
        goto out;
    }
    Sleep(20);                              /* the followers print it and sleep */
    for (int i = 0; i < MAX_FOL; i++) {
        struct fol *f = &fols[i];

        if (f->used && f->first && !f->ending
            && WaitForSingleObject(f->c.pi.hProcess, 0) == WAIT_TIMEOUT) {
            f->mark_seen = 0;
            InterlockedExchange(&f->in_mark, 1);
            n++;
        }
    }
    mark_got = 0;
    mark_want = n;
    ResetEvent(mark_done);
    id = next_id++;
    InterlockedExchange(&mark_id, id);
    t0 = now_ms();
    if (!write_lines(id, id))
        problem(OTHER, "writing to memwrite failed: error %lu", GetLastError());
    if (n)
        WaitForSingleObject(mark_done, 5000);
    InterlockedExchange(&mark_id, 0);
    for (int i = 0; i < MAX_FOL; i++) {
        struct fol *f = &fols[i];
        double d;

        if (!f->in_mark)
            continue;
        InterlockedExchange(&f->in_mark, 0);
        d = f->mark_seen ? f->mark_at - t0 : 5000;
        worst = max(worst, d);
        if (d > LOST_MS)
            problem(LOST, "follower %lu %s the marked line %ld %s%.0f ms", f->c.pi.dwProcessId,
                    f->mark_seen ? "printed" : "never printed", (long)id,
                    f->mark_seen ? "after " : "in ", d);
    }
    marked_followers += n;
    if (marks < 4096)
        mark_worst[marks++] = worst;
out:
    ReleaseSRWLockExclusive(&feed_lock);
    LeaveCriticalSection(&churn);
}

/* ---------- one-shot readers of A ---------- */

static SRWLOCK quiet = SRWLOCK_INIT;    /* one-shot and -w readers run under it, shared */
static volatile LONG oneshots, oneshots_ok, waits, waits_ok;

/* One reader, memread ARGS (its format takes the mapping): it must print
   a whole record and exit 0; counted in *runs and *ok. */
static void read_once(const wchar_t *args, const wchar_t *map, DWORD limit,
                      volatile LONG *runs, volatile LONG *ok)
{
    char out[256], err[1024];
    struct child c;
    long id;
    DWORD code;

    AcquireSRWLockShared(&quiet);
    if (spawn(&c, P_OUT | P_ERR, 0, L"memread", args, map)) {
        code = reap_child(&c, limit, out, sizeof out, err, sizeof err);
        InterlockedIncrement(runs);
        if (code == 0 && !*err && whole(out, &id))
            InterlockedIncrement(ok);
        else if (code == 0 && !*err)
            problem(TORN, "memread %ls printed \"%s\"", args, out);
        else
            problem(OTHER, "memread %ls exited %lu: \"%s\" %s", args, code, out, err);
    }
    ReleaseSRWLockShared(&quiet);
}

static DWORD WINAPI oneshot(void *unused)
{
    (void)unused;
    while (!stop_all) {
        read_once(L"-m %ls", map_a, 15000, &oneshots, &oneshots_ok);
        Sleep(100 + rnd(300));
    }
    return 0;
}

/* ---------- memwrite B, restarted, and memread -w readers ---------- */

static volatile LONG b_runs, b_ok, b_held, b_lines;

static DWORD WINAPI restarter(void *unused)
{
    char err[2048];
    struct child c;
    LONG id = 1;
    DWORD code, done;

    (void)unused;
    while (!stop_b) {
        if (!spawn(&c, P_IN | P_ERR, 0, L"memwrite", L"-m %ls -s \"%ls\" -- %ld n%ld", map_b,
                   SDDL_B, (long)id, (long)id)) {
            Sleep(100);
            continue;
        }
        id++;
        for (int k = 3 + rnd(20); k > 0 && !stop_b; k--) {
            char line[40];
            int len = snprintf(line, sizeof line, "%ld n%ld\n", (long)id, (long)id);

            Sleep(100);
            if (!WriteFile(c.in, line, len, &done, NULL))
                break;          /* it ended: said below */
            id++;
            InterlockedIncrement(&b_lines);
        }
        CloseHandle(c.in);      /* end of input: it stops */
        c.in = NULL;
        code = reap_child(&c, 15000, NULL, 0, err, sizeof err);
        InterlockedIncrement(&b_runs);
        if (code == 0 && !strncmp(err, "memwrite: sharing ", 18) && strstr(err, "\r\n")
            && !strstr(err, "\r\n")[2])
            InterlockedIncrement(&b_ok);
        else if (code == 1 && strstr(err, "still open in another process"))
            InterlockedIncrement(&b_held);  /* a reader held the stopped one's section */
        else
            problem(OTHER, "the second memwrite exited %lu: %s", code, err);
        Sleep(rnd(1500));       /* the -w readers wait across the gap */
    }
    return 0;
}

static DWORD WINAPI waiter(void *unused)
{
    (void)unused;
    while (!stop_all) {
        read_once(L"-w 10 -m %ls", map_b, 20000, &waits, &waits_ok);
        Sleep(rnd(400));
    }
    return 0;
}

/* ---------- Ctrl+C: a helper in a console of its own ---------- */

static BOOL WINAPI swallow(DWORD type)
{
    (void)type;
    return TRUE;
}

/* The helper: rounds of CTRL_BATCH followers, each ended by Ctrl+C once all
   have printed; reports "R stopped refused" per round, "F kind msg" per
   failure. It stops when the driver sets the stop event. */
static int ctrl_helper(const wchar_t *mapping, HANDLE pipe, const wchar_t *stop_name)
{
    HANDLE stop = OpenEventW(SYNCHRONIZE, FALSE, stop_name);
    static struct fol batch[CTRL_BATCH];

    report = pipe;
    SetConsoleCtrlHandler(swallow, TRUE);   /* the event reaches us too */
    if (!stop)
        die("OpenEvent stop");
    while (WaitForSingleObject(stop, 0) == WAIT_TIMEOUT) {
        int n = 0, stopped = 0, refused = 0;
        ULONGLONG give_up = GetTickCount64() + 30000;

        for (int i = 0; i < CTRL_BATCH; i++)
            n += start_follower(&batch[n], PLAN_CTRL, mapping);
        for (int i = 0; i < n; i++)
            while (!batch[i].first && GetTickCount64() < give_up
                   && WaitForSingleObject(batch[i].c.pi.hProcess, 5) == WAIT_TIMEOUT)
                ;
        Sleep(200 + rnd(1300));
        if (!GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0))
            problem(OTHER, "GenerateConsoleCtrlEvent: error %lu", GetLastError());
        for (int i = 0; i < n; i++) {
            struct fol *f = &batch[i];
            char err[1024];
            DWORD code = 98, pid = f->c.pi.dwProcessId;
            BOOL ended = WaitForSingleObject(f->c.pi.hProcess, 10000) == WAIT_OBJECT_0;

            if (!ended)
                TerminateProcess(f->c.pi.hProcess, 99);
            WaitForSingleObject(f->thread, 10000);
            CloseHandle(f->thread);
            GetExitCodeProcess(f->c.pi.hProcess, &code);
            read_all(f->c.err, err, sizeof err);
            if (!ended)
                problem(OTHER, "follower %lu went on 10 s after Ctrl+C", pid);
            else if (code == 0 && !strcmp(err, "memread: Ctrl+C: stopping\r\n") && f->first)
                stopped++;
            else if (code == 1 && *err) {
                refused++;
                problem(REFUSED, "Ctrl+C round: follower %lu exited 1: %s", pid, err);
            } else
                problem(OTHER, "Ctrl+C round: follower %lu exited %lu%s, said \"%s\"", pid, code,
                        f->first ? "" : " having printed nothing", err);
            reap_child(&f->c, 0, NULL, 0, NULL, 0);
        }
        {
            char line[64];
            DWORD done;
            int len = snprintf(line, sizeof line, "R %d %d\n", stopped, refused);

            EnterCriticalSection(&say_lock);
            WriteFile(report, line, len, &done, NULL);
            LeaveCriticalSection(&say_lock);
        }
        Sleep(rnd(500));
    }
    return 0;
}

static HANDLE helper_stop, helper_proc, helper_pipe, helper_thread;
static BOOL ctrl_works = TRUE;

static DWORD WINAPI read_helper(void *unused)
{
    struct lines l = {.len = 0};
    char buf[4096], *line;
    DWORD n;

    (void)unused;
    while (ReadFile(helper_pipe, buf, sizeof buf, &n, NULL) && n) {
        for (DWORD i = 0; i < n; i++) {
            int a, b;

            if (!(line = next_line(&l, buf[i])))
                continue;
            if (sscanf(line, "R %d %d", &a, &b) == 2) {
                fs.ctrl += a;
                fs.ctrl_refused += b;
            } else if (sscanf(line, "F %d", &a) == 1 && a >= 0 && a < KINDS) {
                problem(a, "%s", line + 4);
                if (strstr(line, "GenerateConsoleCtrlEvent"))
                    ctrl_works = FALSE;
            }
        }
    }
    return 0;
}

static void start_helper(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOW si = {0};
    PROCESS_INFORMATION pi;
    wchar_t self[MAX_PATH], cmd[MAX_PATH + 300], stop_name[64];
    HANDLE w;

    swprintf(stop_name, 64, L"soak.%lu.stop", GetCurrentProcessId());
    if (!(helper_stop = CreateEventW(NULL, TRUE, FALSE, stop_name)))
        die("CreateEvent");
    GetModuleFileNameW(NULL, self, MAX_PATH);
    si.cb = sizeof si;
    AcquireSRWLockExclusive(&starting);
    if (!CreatePipe(&helper_pipe, &w, &sa, 0))
        die("CreatePipe");
    SetHandleInformation(helper_pipe, HANDLE_FLAG_INHERIT, 0);
    swprintf(cmd, MAX_PATH + 300, L"\"%ls\" --ctrlc %ls %llu %ls", self, map_a,
             (unsigned long long)(ULONG_PTR)w, stop_name);
    /* A console of its own, with no window: Ctrl+C there reaches only the
       helper and its followers (tests/README.md, "Consoles under Wine"). */
    if (!CreateProcessW(self, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi))
        die("CreateProcess for the Ctrl+C helper");
    CloseHandle(w);
    ReleaseSRWLockExclusive(&starting);
    CloseHandle(pi.hThread);
    helper_proc = pi.hProcess;
    if (!(helper_thread = CreateThread(NULL, 0, read_helper, NULL, 0, NULL)))
        die("CreateThread");
}

/* ---------- what memwrite holds, and the generations' events ---------- */

/* SystemExtendedHandleInformation (64): every handle of every process, its
   owner's pid in full. Wine's server answers it for any process, where
   GetProcessHandleCount gives 0 under Wine 8 (measured). */
#define SYSTEM_EXTENDED_HANDLE_INFORMATION 64
#define STATUS_INFO_LENGTH_MISMATCH ((LONG)0xC0000004)

struct handle_entry {
    void *object;
    ULONG_PTR pid, handle;
    ULONG access;
    USHORT backtrace, type;
    ULONG attributes, reserved;
};

struct handle_table {
    ULONG_PTR count, reserved;
    struct handle_entry entry[];
};

typedef LONG (WINAPI *query_system_fn)(ULONG, void *, ULONG, ULONG *);

/* How many handles process pid has open; -1 if they cannot be counted. */
static long handles_of(DWORD pid)
{
    static query_system_fn query;
    static ULONG size = 1 << 16;
    struct handle_table *t = NULL;
    long n = -1;
    ULONG got;
    LONG st;

    if (!query)
        query = (query_system_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"ntdll.dll"),
                                                                "NtQuerySystemInformation");
    for (int tries = 0; query && tries < 8; tries++, size *= 2) {
        free(t);
        if (!(t = malloc(size)))
            break;
        if ((st = query(SYSTEM_EXTENDED_HANDLE_INFORMATION, t, size, &got)) == 0) {
            n = 0;
            for (ULONG_PTR i = 0; i < t->count; i++)
                n += t->entry[i].pid == pid;
            break;
        }
        if (st != STATUS_INFO_LENGTH_MISMATCH)
            break;
    }
    free(t);
    return n;
}

struct mem {
    double ws, pf, peak;        /* KiB */
    long handles;               /* -1: not counted */
    BOOL ok;
};

static struct mem memory_of(DWORD pid)
{
    PROCESS_MEMORY_COUNTERS pmc = {0};
    struct mem m = {0};
    HANDLE h = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid);

    pmc.cb = sizeof pmc;
    if (h && GetProcessMemoryInfo(h, &pmc, sizeof pmc)) {
        m.ws = pmc.WorkingSetSize / 1024.0;
        m.pf = pmc.PagefileUsage / 1024.0;
        m.peak = pmc.PeakWorkingSetSize / 1024.0;
        m.ok = TRUE;
    }
    if (h)
        CloseHandle(h);
    m.handles = handles_of(pid);
    return m;
}

/* An entry of NtQueryDirectoryObject, and the two calls on a directory of
   named objects, looked up in ntdll at run time (as NtQuerySystemInformation
   above), so that the Makefile links nothing more. */
struct dir_entry {
    UNICODE_STRING name, type;
};

typedef LONG (WINAPI *open_dir_fn)(HANDLE *, ACCESS_MASK, OBJECT_ATTRIBUTES *);
typedef LONG (WINAPI *query_dir_fn)(HANDLE, void *, ULONG, BOOLEAN, BOOLEAN, ULONG *, ULONG *);

#define DIRECTORY_QUERY 1
#define GEN_PREFIX L"memwrite."         /* gen_name() in student.h: then 8 hex digits */

/* The generations' events of every memwrite in this session (memwrite
   names them at random, so they are found by listing, not by name): the
   events named "memwrite." and 8 hex digits in the session's
   BaseNamedObjects, read one entry at a time, since Wine 8 reads no more
   at once (STATUS_NOT_IMPLEMENTED, measured). *found: whether one of them
   is named want. -1 if the directory cannot be read. The list is not one
   snapshot: a name made or gone while it is read may be missed or seen
   twice. */
static int gen_events(const wchar_t *want, BOOL *found)
{
    static open_dir_fn open_dir;
    static query_dir_fn query_dir;
    static HANDLE dir;
    const size_t prefix = wcslen(GEN_PREFIX);
    union {
        struct dir_entry e;
        char room[2048];
    } buf;
    ULONG ctx = 0, got;
    int n = 0;

    *found = FALSE;
    if (!dir) {
        HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
        wchar_t path[64];
        DWORD session = 0;
        UNICODE_STRING us;
        OBJECT_ATTRIBUTES oa;

        open_dir = (open_dir_fn)(void (*)(void))GetProcAddress(ntdll, "NtOpenDirectoryObject");
        query_dir = (query_dir_fn)(void (*)(void))GetProcAddress(ntdll, "NtQueryDirectoryObject");
        ProcessIdToSessionId(GetCurrentProcessId(), &session);
        if (session)
            swprintf(path, 64, L"\\Sessions\\%lu\\BaseNamedObjects", session);
        else
            wcscpy(path, L"\\BaseNamedObjects");
        us.Buffer = path;
        us.Length = (USHORT)(wcslen(path) * sizeof *path);
        us.MaximumLength = us.Length + sizeof *path;
        InitializeObjectAttributes(&oa, &us, 0, NULL, NULL);
        if (!open_dir || !query_dir || open_dir(&dir, DIRECTORY_QUERY, &oa) != 0) {
            dir = NULL;
            return -1;
        }
    }
    while (query_dir(dir, &buf, sizeof buf, TRUE, ctx == 0, &ctx, &got) == 0) {
        const UNICODE_STRING *name = &buf.e.name, *type = &buf.e.type;

        if (type->Length == 5 * sizeof(wchar_t) && !wcsncmp(type->Buffer, L"Event", 5)
            && name->Length == (prefix + 8) * sizeof(wchar_t)
            && !wcsncmp(name->Buffer, GEN_PREFIX, prefix)) {
            n++;
            if (want && !_wcsnicmp(name->Buffer, want, prefix + 8) && !want[prefix + 8])
                *found = TRUE;
        }
    }
    return n;
}

/* The name of the generation memwrite's section names now (gen, at 32). */
static const wchar_t *current_gen(wchar_t out[32])
{
    swprintf(out, 32, GEN_PREFIX L"%08lx", (unsigned long)view_a[8]);
    return out;
}

/* Pids, added without repeats, as many as there are. */
struct pids {
    DWORD *pid;
    int n, cap;
};

/* The pids of processes named exe now, added to p. */
static void processes(const wchar_t *exe, struct pids *p)
{
    PROCESSENTRY32W pe = {0};
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);

    pe.dwSize = sizeof pe;
    for (BOOL ok = Process32FirstW(snap, &pe); ok; ok = Process32NextW(snap, &pe)) {
        int k = 0;

        if (_wcsicmp(pe.szExeFile, exe))
            continue;
        while (k < p->n && p->pid[k] != pe.th32ProcessID)
            k++;
        if (k < p->n)
            continue;
        if (p->n == p->cap) {
            DWORD *more = realloc(p->pid, (p->cap = p->cap ? 2 * p->cap : 256) * sizeof *more);

            if (!more)
                die("realloc");
            p->pid = more;
        }
        p->pid[p->n++] = pe.th32ProcessID;
    }
    CloseHandle(snap);
}

/* A memwrite holds its generation's event, and during a wake-up the next
   one as well; a follower holds at most one, which may be of a generation
   gone by, until it asks again. */
#define GENS_PER_WRITER 2

static int samples, sample_max_events, sample_max_live, sample_max_writers;
static int sample_worst_excess = INT_MIN;
static long sample_max_handles = -1;

/* The generations' events, against the followers (memread processes; the
   one-shot and -w readers, held off meanwhile, hold none) and the
   memwrites alive at some time during the count: never more than
   GENS_PER_WRITER a memwrite and one a follower. A second count 200 ms
   later settles a count that raced with a wake-up. Then memwrite's
   handles. */
static void sample_events(void)
{
    struct pids readers = {0}, writers = {0};
    int e = 0, bound = 0, mine = 0;
    long handles;
    BOOL unused;

    AcquireSRWLockExclusive(&quiet);
    EnterCriticalSection(&churn);
    for (int tries = 0; tries < 2; tries++) {
        readers.n = writers.n = 0;
        processes(L"memread.exe", &readers);
        processes(L"memwrite.exe", &writers);
        e = gen_events(NULL, &unused);
        processes(L"memread.exe", &readers);
        processes(L"memwrite.exe", &writers);
        bound = readers.n + GENS_PER_WRITER * writers.n;
        if (e >= 0 && e <= bound)
            break;
        Sleep(200);
    }
    mine = live_followers();
    handles = handles_of(writer_a.pi.dwProcessId);
    LeaveCriticalSection(&churn);
    ReleaseSRWLockExclusive(&quiet);
    samples++;
    sample_max_events = max(sample_max_events, e);
    sample_max_live = max(sample_max_live, readers.n);
    sample_max_writers = max(sample_max_writers, writers.n);
    sample_worst_excess = max(sample_worst_excess, e - bound);
    sample_max_handles = max(sample_max_handles, handles);
    say("generations' events %d, live followers %d (%d of this driver's, the rest Ctrl+C "
        "rounds'), memwrites %d: at most %d allowed%s; memwrite's handles %ld", e, readers.n,
        mine, writers.n, bound, e < 0 ? ": NOT COUNTED" : e > bound ? ": TOO MANY" : "",
        handles);
    if (e < 0)
        problem(OTHER, "the generations' events could not be counted");
    else if (e > bound)
        problem(GROWTH, "%d generations' events, for %d live followers and %d memwrites", e,
                readers.n, writers.n);
    free(readers.pid);
    free(writers.pid);
}

/* ---------- the run ---------- */

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void show_mem(const char *when, struct mem m)
{
    if (m.ok)
        say("memwrite %s: working set %.0f KiB, page file %.0f KiB, peak working set %.0f KiB, "
            "handles %ld", when, m.ws, m.pf, m.peak, m.handles);
    else
        say("memwrite %s: GetProcessMemoryInfo failed: error %lu", when, GetLastError());
}

int wmain(int argc, wchar_t **argv)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE threads[8];
    int nthreads = 0;
    double seconds = 600, warm, next_mark, next_sample, next_progress, t_end;
    struct mem m0 = {0}, m1 = {0};
    ULONGLONG cpu0 = 0, cpu1 = 0;
    LONG64 pub0 = 0, pub1 = 0;
    wchar_t *slash;
    int events_end = -1, events_final = -1, final_n;
    BOOL current_end = FALSE, unused;
    wchar_t gen[32];
    long final_id;
    DWORD code;
    BOOL ok;

    QueryPerformanceFrequency(&freq);
    t_start = now_ms();
    InitializeCriticalSection(&say_lock);
    InitializeCriticalSection(&churn);
    seed = (ULONG64)GetTickCount64() * 2654435761u ^ GetCurrentProcessId();
    GetModuleFileNameW(NULL, dir, MAX_PATH);
    for (int up = 0; up < 2 && (slash = wcsrchr(dir, L'\\')); up++)
        *slash = 0;             /* dir\bench\soak.exe: the programs are in dir */
    /* Our own standard handles go to no child. */
    SetHandleInformation(GetStdHandle(STD_INPUT_HANDLE), HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(GetStdHandle(STD_OUTPUT_HANDLE), HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(GetStdHandle(STD_ERROR_HANDLE), HANDLE_FLAG_INHERIT, 0);
    nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                      &sa, OPEN_EXISTING, 0, NULL);
    if (nul == INVALID_HANDLE_VALUE)
        die("opening NUL");
    if (argc == 5 && !wcscmp(argv[1], L"--ctrlc"))
        return ctrl_helper(argv[2], (HANDLE)(ULONG_PTR)_wcstoui64(argv[3], NULL, 10), argv[4]);
    fol_target = 30;
    if (argc > 1)
        seconds = _wtof(argv[1]);
    if (argc > 2)
        fol_target = _wtoi(argv[2]);
    if (argc > 3 || seconds < 20 || fol_target < 1 || fol_target > MAX_FOL / 2) {
        fprintf(stderr, "usage: soak [SECONDS [FOLLOWERS]]: at least 20 s (default 600), "
                "1 to %d followers (default 30)\n", MAX_FOL / 2);
        return 2;
    }
    warm = min(60, max(5, seconds / 10));
    if (!(mark_done = CreateEventW(NULL, TRUE, FALSE, NULL)) || !(err_a = malloc(65536)))
        die("CreateEvent");
    *err_a = 0;
    swprintf(map_a, 64, L"soak.%lu", GetCurrentProcessId());
    swprintf(map_b, 64, L"soak.%lu.b", GetCurrentProcessId());

    machine();
    printf("run:     %.0f s, %d followers of this driver at once (each lives %.1f to %.1f s, "
           "then killed or its stdout closed), Ctrl+C rounds of %d, warm-up %.0f s\n",
           seconds, fol_target, LIFE_MIN / 1000.0, LIFE_MAX / 1000.0, CTRL_BATCH, warm);
    printf("         mapping %ls; second memwrite %ls with -s \"%ls\"\n", map_a, map_b, SDDL_B);
    printf("         updates: %d lines every %d ms; a marked line every %d s\n\n", BATCH, FEED_MS,
           MARK_EVERY / 1000);
    fflush(stdout);

    if (!spawn(&writer_a, P_IN | P_ERR, 0, L"memwrite", L"-m %ls -- 0 n0", map_a))
        die("starting memwrite");
    for (int i = 0; i < 1000 && !(map_handle_a = OpenFileMappingW(FILE_MAP_READ, FALSE, map_a)); i++)
        Sleep(10);
    if (!map_handle_a || !(view_a = MapViewOfFile(map_handle_a, FILE_MAP_READ, 0, 0, 48)))
        die("memwrite's section never appeared");
    while (!view_a[6])
        Sleep(1);
    threads[nthreads++] = CreateThread(NULL, 0, drain_a, NULL, 0, NULL);
    threads[nthreads++] = CreateThread(NULL, 0, feeder, NULL, 0, NULL);
    threads[nthreads++] = CreateThread(NULL, 0, churner, NULL, 0, NULL);
    threads[nthreads++] = CreateThread(NULL, 0, oneshot, NULL, 0, NULL);
    threads[nthreads++] = CreateThread(NULL, 0, restarter, NULL, 0, NULL);
    threads[nthreads++] = CreateThread(NULL, 0, waiter, NULL, 0, NULL);
    threads[nthreads++] = CreateThread(NULL, 0, waiter, NULL, 0, NULL);
    for (int i = 0; i < nthreads; i++)
        if (!threads[i])
            die("CreateThread");
    start_helper();

    t_end = t_start + seconds * 1000;
    next_mark = now_ms() + 3000;
    next_sample = t_start + warm * 1000 + 2000;
    next_progress = t_start + 30000;
    while (now_ms() < t_end) {
        double t = now_ms();

        if (!m0.ok && t >= t_start + warm * 1000) {
            m0 = memory_of(writer_a.pi.dwProcessId);
            cpu0 = cpu_ms(&writer_a.pi);
            pub0 = published;
            show_mem("after the warm-up", m0);
        }
        if (t >= next_mark) {
            mark();
            next_mark = now_ms() + MARK_EVERY;
        }
        if (t >= next_sample) {
            sample_events();
            next_sample = now_ms() + SAMPLE_EVERY;
        }
        if (t >= next_progress) {
            say("followers %ld started, %ld ended (%ld killed, %ld stdout closed), %ld by "
                "Ctrl+C; live %d; updates %.0f; one-shot reads %ld; -w reads %ld; second "
                "memwrite runs %ld", fs.started, fs.killed + fs.closed + fs.refused, fs.killed,
                fs.closed, fs.ctrl, live_followers(), (double)published, oneshots, waits, b_runs);
            next_progress = now_ms() + (seconds > 120 ? 60000 : 15000);
        }
        if (WaitForSingleObject(writer_a.pi.hProcess, 0) == WAIT_OBJECT_0) {
            problem(OTHER, "memwrite ended during the run: %s", err_a);
            break;
        }
        Sleep(50);
    }

    /* The end: the side programs stop, every follower goes by its path, then
       the generations' events are counted and memwrite's memory and handles
       read; then a last batch
       follows until memwrite stops, and each must end on the last record. */
    say("stopping: the side programs, then every follower");
    stop_all = 1;
    SetEvent(helper_stop);
    if (WaitForSingleObject(helper_proc, 60000) != WAIT_OBJECT_0) {
        problem(OTHER, "the Ctrl+C helper did not stop");
        TerminateProcess(helper_proc, 99);
    }
    WaitForSingleObject(helper_thread, 10000);
    /* The -w readers end before the second memwrite does: none waits in vain. */
    WaitForSingleObject(threads[3], 30000);
    WaitForMultipleObjects(2, threads + 5, TRUE, 30000);
    stop_b = 1;
    WaitForSingleObject(threads[4], 30000);
    churning = 0;
    WaitForSingleObject(threads[2], 30000);
    EnterCriticalSection(&churn);
    for (int i = 0; i < MAX_FOL; i++)
        if (fols[i].used)
            end_follower(&fols[i]);
    for (ULONGLONG give_up = GetTickCount64() + 30000; GetTickCount64() < give_up;) {
        int left = 0;

        for (int i = 0; i < MAX_FOL; i++)
            if (fols[i].used && WaitForSingleObject(fols[i].c.pi.hProcess, 0) == WAIT_OBJECT_0)
                finish_follower(&fols[i], 0);
            else
                left += fols[i].used;
        if (!left)
            break;
        Sleep(20);
    }
    for (int i = 0; i < MAX_FOL; i++)
        if (fols[i].used) {
            problem(OTHER, "follower %lu did not end", fols[i].c.pi.dwProcessId);
            TerminateProcess(fols[i].c.pi.hProcess, 99);
            finish_follower(&fols[i], 0);
        }
    LeaveCriticalSection(&churn);
    feeding = 0;
    WaitForSingleObject(threads[1], 10000);
    if (!caught_up(10000))
        problem(OTHER, "memwrite's section never reached the last line written");
    Sleep(500);
    {
        struct pids readers = {0};

        processes(L"memread.exe", &readers);
        events_end = gen_events(current_gen(gen), &current_end);
        say("every follower gone (%d memread processes left): generations' events %d, %ls "
            "(the section's) %s", readers.n, events_end, gen,
            current_end ? "among them" : "NOT AMONG THEM");
        if (events_end != 1 || !current_end) {
            Sleep(2000);
            events_end = gen_events(current_gen(gen), &current_end);
            if (events_end != 1 || !current_end)
                problem(GROWTH, "2 s after every follower went, %d generations' events, %s the "
                        "one memwrite's section names, %ls", events_end,
                        current_end ? "with" : "without", gen);
        }
        free(readers.pid);
    }
    m1 = memory_of(writer_a.pi.dwProcessId);
    cpu1 = cpu_ms(&writer_a.pi);
    pub1 = published;
    show_mem("at the end", m1);
    if (!m0.ok || !m1.ok)
        problem(OTHER, "memwrite's memory could not be read");
    else if (m1.ws > m0.ws * 1.10 || m1.pf > m0.pf * 1.10)
        problem(GROWTH, "memwrite's memory grew more than 10%%: working set %.0f -> %.0f KiB, "
                "page file %.0f -> %.0f KiB", m0.ws, m1.ws, m0.pf, m1.pf);
    if (m0.handles < 0 || m1.handles < 0)
        problem(OTHER, "memwrite's handles could not be counted");
    else if (m0.ok && m1.handles > m0.handles + HANDLES_SLACK)
        problem(GROWTH, "memwrite's handles grew: %ld after the warm-up, %ld at the end",
                m0.handles, m1.handles);

    final_n = fol_target;
    say("a last %d followers, then memwrite stops", final_n);
    for (int i = 0; i < final_n; i++)
        if (!start_follower(&fols[i], PLAN_FINAL, map_a))
            problem(OTHER, "a last follower could not start");
    for (ULONGLONG give_up = GetTickCount64() + 60000; GetTickCount64() < give_up;) {
        int in = 0;

        for (int i = 0; i < final_n; i++)
            in += !fols[i].used || fols[i].first;
        if (in == final_n)
            break;
        Sleep(20);
    }
    events_final = gen_events(NULL, &unused);
    say("generations' events %d for the %d last followers and memwrite", events_final, final_n);
    if (events_final > final_n + GENS_PER_WRITER)
        problem(GROWTH, "%d generations' events for %d followers and one memwrite", events_final,
                final_n);
    for (int k = 0; k < 10; k++) {
        write_lines(next_id, next_id + BATCH - 1);
        next_id += BATCH;
        Sleep(FEED_MS);
    }
    final_id = next_id - 1;
    UnmapViewOfFile((const void *)view_a);
    CloseHandle(map_handle_a);
    CloseHandle(writer_a.in);   /* end of input: memwrite stops */
    writer_a.in = NULL;
    for (int i = 0; i < final_n; i++)
        if (fols[i].used) {
            if (WaitForSingleObject(fols[i].c.pi.hProcess, 15000) != WAIT_OBJECT_0)
                TerminateProcess(fols[i].c.pi.hProcess, 98);
            finish_follower(&fols[i], final_id);
        }
    WaitForSingleObject(threads[0], 15000);     /* memwrite's stderr has ended */
    code = reap_child(&writer_a, 15000, NULL, 0, NULL, 0);
    {
        char *nl = strstr(err_a, "\r\n");

        if (code != 0 || strncmp(err_a, "memwrite: sharing ", 18) || !nl || nl[2])
            problem(OTHER, "memwrite exited %lu, said: %s", code, err_a);
    }

    /* The figures. */
    qsort(mark_worst, marks, sizeof *mark_worst, by_value);
    printf("\nresults after %.0f s\n", elapsed_s());
    printf("  follower sessions served           %ld: %ld killed, %ld stdout closed, %ld Ctrl+C, "
           "%ld clean at the end\n", fs.killed + fs.closed + fs.ctrl + fs.clean, fs.killed,
           fs.closed, fs.ctrl, fs.clean);
    printf("  follower sessions refused          %ld (target 0)\n", fs.refused + fs.ctrl_refused);
    printf("  slowest join (start to first record) %.0f ms\n", fs.join_max);
    printf("  updates published                  %.0f, %.0f/s; followers printed %.0f records\n",
           (double)published, published / elapsed_s(), (double)records_total);
    if (marks)
        printf("  publish to print, every live follower: %d marks, %ld follower-samples; worst "
               "of each mark: median %.1f ms, max %.1f ms (target <= %d ms)\n", marks,
               marked_followers, mark_worst[marks / 2], mark_worst[marks - 1], LOST_MS);
    printf("  one-shot memread                   %ld, %ld whole\n", oneshots, oneshots_ok);
    printf("  second memwrite (-s)               %ld runs, %ld stopped cleanly, %ld refused "
           "because a reader held the stopped one's section; %ld lines\n", b_runs, b_ok, b_held,
           b_lines);
    printf("  memread -w 10 on it                %ld, %ld whole\n", waits, waits_ok);
    if (m0.ok && m1.ok) {
        printf("  memwrite working set               %.0f KiB after the warm-up, %.0f KiB at the "
               "end (%+.1f%%)\n", m0.ws, m1.ws, (m1.ws / m0.ws - 1) * 100);
        printf("  memwrite page-file use             %.0f KiB after the warm-up, %.0f KiB at the "
               "end (%+.1f%%)\n", m0.pf, m1.pf, (m1.pf / m0.pf - 1) * 100);
        printf("  memwrite handles                   %ld after the warm-up, %ld at the end, at most "
               "%ld in the counts (target: at the end, at most %d over the first)\n", m0.handles,
               m1.handles, sample_max_handles, HANDLES_SLACK);
        if (pub1 > pub0)
            printf("  memwrite CPU between the two       %.0f ms, %.3f ms per 1,000 updates\n",
                   (double)(cpu1 - cpu0), (cpu1 - cpu0) / ((pub1 - pub0) / 1000.0));
    }
    printf("  generations' events                %d once every follower had gone, %s the "
           "one memwrite's section names (target: that one alone)\n", events_end,
           current_end ? "among them" : "NOT");
    if (samples)
        printf("  ... in the counts during the run   %d counts, at most %d events, %d followers and "
               "%d memwrites; at the fullest, %d %s the bound of one a follower and %d a "
               "memwrite (target: not over)\n", samples, sample_max_events, sample_max_live,
               sample_max_writers, abs(sample_worst_excess), sample_worst_excess > 0 ? "over"
               : "under", GENS_PER_WRITER);
    printf("  ... with the last followers        %d for %d followers (target <= %d)\n",
           events_final, fol_target, fol_target + GENS_PER_WRITER);
    if (!ctrl_works)
        printf("  Ctrl+C could not be sent: those rounds were not run\n");
    ok = TRUE;
    for (int k = 0; k < KINDS; k++)
        if (failures[k]) {
            printf("FAILED: %ld %s%s\n", failures[k], kind_name[k], failures[k] > 1 ? "s" : "");
            ok = FALSE;
        }
    printf("%s\n", ok ? "soak: passed" : "soak: FAILED");
    return !ok;
}
