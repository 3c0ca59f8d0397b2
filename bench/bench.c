/* bench: what memwrite and memread cost, beside the article's busy writer
   and an empty program. It asserts nothing about speed; it fails only if a
   program it drives fails. */
#define _CRT_SECURE_NO_WARNINGS     /* MSVC: sprintf is fine in a benchmark */
#include <windows.h>
#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "../tests/cputime.h"

#define RUNS      21            /* timed runs of each kind */
#define IDLE_RUNS 3             /* idle measures of each writer */
#define IDLE_MS   5000
#define DEFAULT_ID_BENCH 99041232L   /* memwrite's first record, from the README */

static wchar_t dir[MAX_PATH];
static HANDLE nul;              /* NUL, for standard handles nobody reads */
static HANDLE out;              /* a temporary file, for the timed programs' stdout */
static LARGE_INTEGER freq;

static void die(const char *what)
{
    fprintf(stderr, "bench: %s (error %lu)\n", what, GetLastError());
    exit(1);
}

static double now_ms(void)
{
    LARGE_INTEGER t;

    QueryPerformanceCounter(&t);
    return t.QuadPart * 1000.0 / freq.QuadPart;
}

/* Start dir\PROG.exe ARGS with stdin in (NUL if NULL), stdout o (NUL if
   NULL) and stderr NUL. */
static PROCESS_INFORMATION start(const wchar_t *prog, const wchar_t *args, HANDLE in, HANDLE o)
{
    STARTUPINFOW si = {0};
    PROCESS_INFORMATION pi;
    wchar_t cmd[1024];

    swprintf(cmd, 1024, L"\"%ls\\%ls.exe\" %ls", dir, prog, args);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in ? in : nul;
    si.hStdOutput = o ? o : nul;
    si.hStdError = nul;
    if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
        die("CreateProcess");
    CloseHandle(pi.hThread);
    return pi;
}

/* Wait for it to end; it must end with want. */
static void end(PROCESS_INFORMATION *pi, DWORD want, const char *what)
{
    DWORD code = 1;

    if (WaitForSingleObject(pi->hProcess, 15000) != WAIT_OBJECT_0)
        TerminateProcess(pi->hProcess, 99);
    GetExitCodeProcess(pi->hProcess, &code);
    CloseHandle(pi->hProcess);
    if (code != want) {
        fprintf(stderr, "bench: %s exited %lu, not %lu\n", what, code, want);
        exit(1);
    }
}

/* A writer that is sharing: memwrite with its stdin a pipe we hold open. */
struct writer {
    PROCESS_INFORMATION pi;
    HANDLE in;
};

static struct writer start_writer(const wchar_t *prog, const wchar_t *mapping)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    struct writer w;
    wchar_t args[300];
    HANDLE r;

    if (!CreatePipe(&r, &w.in, &sa, 0))
        die("CreatePipe");
    SetHandleInformation(w.in, HANDLE_FLAG_INHERIT, 0);
    swprintf(args, 300, wcscmp(prog, L"memwrite") ? L"%ls" : L"-m %ls", mapping);
    w.pi = start(prog, args, r, NULL);
    CloseHandle(r);
    return w;
}

static void wait_shared(const wchar_t *mapping)
{
    HANDLE h = NULL;

    for (int i = 0; i < 1000 && !(h = OpenFileMappingW(FILE_MAP_READ, FALSE, mapping)); i++)
        Sleep(10);
    if (!h)
        die("the writer's section never appeared");
    CloseHandle(h);
    Sleep(200);                 /* let the writer finish starting up */
}

static void stop_writer(struct writer *w, BOOL busy)
{
    CloseHandle(w->in);
    if (busy)
        TerminateProcess(w->pi.hProcess, 0);    /* the article's writer never stops */
    end(&w->pi, 0, "a writer");
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

struct spread {
    double median, min, max;
};

static struct spread summarize(double *v, int n)
{
    struct spread s;

    qsort(v, n, sizeof *v, by_value);
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

static void row(const char *what, struct spread s, const char *unit)
{
    printf("  %-44s %9.1f %9.1f %9.1f  %s\n", what, s.median, s.min, s.max, unit);
}

static struct spread idle_cost(const wchar_t *prog, BOOL busy)
{
    double v[IDLE_RUNS];

    for (int i = 0; i < IDLE_RUNS; i++) {
        wchar_t mapping[64];
        ULONGLONG before;
        struct writer w;

        swprintf(mapping, 64, L"membench.%lu.idle%d%d", GetCurrentProcessId(), busy, i);
        w = start_writer(prog, mapping);
        wait_shared(mapping);
        before = cpu_ms(&w.pi);
        Sleep(IDLE_MS);
        v[i] = (double)(cpu_ms(&w.pi) - before);
        stop_writer(&w, busy);
    }
    return summarize(v, IDLE_RUNS);
}

static double time_run(const wchar_t *prog, const wchar_t *args, DWORD want)
{
    double t0 = now_ms();
    PROCESS_INFORMATION pi = start(prog, args, NULL, out);

    end(&pi, want, "a timed program");
    return now_ms() - t0;
}

/* A target line: the figure, the target, and whether it is met. */
static void target(const char *what, double v, const char *unit, const char *cmp, double goal)
{
    int met = *cmp == '<' ? v <= goal : v >= goal;

    printf("  %-44s %9.1f %-9s target %s %g %s: %s\n", what, v, unit, cmp, goal, unit,
           met ? "met" : "MISSED");
}

/* A follower: memread -f with stdout a pipe we read, or the temporary file. */
static PROCESS_INFORMATION start_follower(const wchar_t *mapping, HANDLE *read_end)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    PROCESS_INFORMATION pi;
    wchar_t args[100];
    HANDLE w = NULL;

    if (read_end) {
        if (!CreatePipe(read_end, &w, &sa, 1 << 16))
            die("CreatePipe");
        SetHandleInformation(*read_end, HANDLE_FLAG_INHERIT, 0);
    }
    swprintf(args, 100, L"-f -m %ls", mapping);
    pi = start(L"memread", args, NULL, read_end ? w : out);
    if (w)
        CloseHandle(w);
    return pi;
}

/* Read from h until a line "ID" arrives; FALSE at end of input. */
static BOOL read_until(HANDLE h, long id)
{
    static char buf[1 << 16] = "\n";     /* as if a line had just ended */
    static DWORD len = 1;
    char want[24];
    DWORD n;

    snprintf(want, sizeof want, "\n%ld\r\n", id);
    for (;;) {
        buf[len] = 0;
        if (strstr(buf, want)) {
            len = 1;            /* buf[0] is still '\n' */
            return TRUE;
        }
        if (len > sizeof buf - 4096) {      /* keep the tail, where a line may start */
            memmove(buf, buf + len - 64, 64);
            len = 64;
        }
        if (!ReadFile(h, buf + len, sizeof buf - 1 - len, &n, NULL) || !n)
            return FALSE;
        len += n;
    }
}

#define LATENCY_RUNS 300
#define UPDATES      200000

/* From writing a line to memwrite's stdin until a follower has printed it. */
static struct spread latency(double *p95)
{
    static double v[LATENCY_RUNS];
    wchar_t mapping[64];
    char line[32];
    struct writer w;
    PROCESS_INFORMATION f;
    HANDLE fout;
    DWORD n;

    swprintf(mapping, 64, L"membench.%lu.latency", GetCurrentProcessId());
    w = start_writer(L"memwrite", mapping);
    wait_shared(mapping);
    f = start_follower(mapping, &fout);
    if (!read_until(fout, DEFAULT_ID_BENCH))
        die("the follower printed nothing");
    for (int i = 0; i < LATENCY_RUNS; i++) {
        double t0;

        Sleep(5);               /* the follower is asleep again */
        n = (DWORD)snprintf(line, sizeof line, "%d n%d\n", i + 1, i + 1);
        t0 = now_ms();
        if (!WriteFile(w.in, line, n, &n, NULL) || !read_until(fout, i + 1))
            die("an update never reached the follower");
        v[i] = now_ms() - t0;
    }
    stop_writer(&w, FALSE);
    end(&f, 0, "the follower");
    CloseHandle(fout);
    qsort(v, LATENCY_RUNS, sizeof *v, by_value);
    *p95 = v[LATENCY_RUNS * 95 / 100];
    return summarize(v, LATENCY_RUNS);
}

/* Updates per second through a pipe into memwrite, with followers printing. */
static double throughput(int followers)
{
    static char lines[UPDATES * 16];
    PROCESS_INFORMATION f[3];
    wchar_t mapping[64];
    struct writer w;
    char *p = lines;
    double t0, ms;
    DWORD n;

    for (int i = 1; i <= UPDATES; i++)
        p += sprintf(p, "%d n%d\n", i, i);
    swprintf(mapping, 64, L"membench.%lu.rate%d", GetCurrentProcessId(), followers);
    w = start_writer(L"memwrite", mapping);
    wait_shared(mapping);
    for (int i = 0; i < followers; i++)
        f[i] = start_follower(mapping, NULL);
    Sleep(500);                 /* the followers have printed the first record */
    t0 = now_ms();
    for (char *q = lines; q < p; q += n)
        if (!WriteFile(w.in, q, (DWORD)min(65536, p - q), &n, NULL))
            die("writing to memwrite");
    CloseHandle(w.in);
    end(&w.pi, 0, "memwrite");
    ms = now_ms() - t0;
    for (int i = 0; i < followers; i++)
        end(&f[i], 0, "a follower");
    return UPDATES / (ms / 1000);
}

static struct spread follower_idle(void)
{
    double v[IDLE_RUNS];

    for (int i = 0; i < IDLE_RUNS; i++) {
        wchar_t mapping[64];
        PROCESS_INFORMATION f;
        ULONGLONG before;
        struct writer w;

        swprintf(mapping, 64, L"membench.%lu.fidle%d", GetCurrentProcessId(), i);
        w = start_writer(L"memwrite", mapping);
        wait_shared(mapping);
        f = start_follower(mapping, NULL);
        Sleep(300);
        before = cpu_ms(&f);
        Sleep(2000);
        v[i] = (double)(cpu_ms(&f) - before);
        stop_writer(&w, FALSE);
        end(&f, 0, "the follower");
    }
    return summarize(v, IDLE_RUNS);
}

static void machine(void)
{
    const char *(*wine_version)(void) = NULL;
    void (*wine_host)(const char **, const char **) = NULL;
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    const char *sys = "", *rel = "";
    wchar_t cpu[128] = L"unknown";
    DWORD size = sizeof cpu;
    SYSTEM_INFO si;
    OSVERSIONINFOW os = {0};

    wine_version = (const char *(*)(void))(void (*)(void))GetProcAddress(ntdll, "wine_get_version");
    wine_host = (void (*)(const char **, const char **))(void (*)(void))GetProcAddress(ntdll, "wine_get_host_version");
    RegGetValueW(HKEY_LOCAL_MACHINE, L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0",
                 L"ProcessorNameString", RRF_RT_REG_SZ, NULL, cpu, &size);
    GetNativeSystemInfo(&si);
    os.dwOSVersionInfoSize = sizeof os;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    GetVersionExW(&os);
#pragma GCC diagnostic pop
    printf("machine: %ls, %lu logical processors\n", cpu, si.dwNumberOfProcessors);
    if (wine_version && wine_host) {
        wine_host(&sys, &rel);
        printf("system:  Wine %s on %s %s (reports Windows %lu.%lu build %lu)\n",
               wine_version(), sys, rel, os.dwMajorVersion, os.dwMinorVersion,
               os.dwBuildNumber);
    } else {
        printf("system:  Windows %lu.%lu build %lu\n", os.dwMajorVersion,
               os.dwMinorVersion, os.dwBuildNumber);
    }
}

static void footprint(void)
{
    static const wchar_t *progs[] = {L"memwrite", L"memread"};
    PROCESS_MEMORY_COUNTERS pmc = {0};
    MEMORY_BASIC_INFORMATION mbi;
    WIN32_FILE_ATTRIBUTE_DATA fa;
    wchar_t mapping[64], path[MAX_PATH];
    struct writer w;
    HANDLE h;
    void *v;

    swprintf(mapping, 64, L"membench.%lu.size", GetCurrentProcessId());
    w = start_writer(L"memwrite", mapping);
    wait_shared(mapping);
    h = OpenFileMappingW(FILE_MAP_READ, FALSE, mapping);
    if (!h || !(v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0)) || !VirtualQuery(v, &mbi, sizeof mbi))
        die("mapping memwrite's section");
    printf("  %-44s %9lu bytes (%s), for a 32-byte section\n", "section's view",
           (unsigned long)mbi.RegionSize, mbi.State == MEM_COMMIT ? "committed" : "not committed");
    UnmapViewOfFile(v);
    CloseHandle(h);
    pmc.cb = sizeof pmc;
    if (GetProcessMemoryInfo(w.pi.hProcess, &pmc, sizeof pmc))
        printf("  %-44s %9lu KiB\n", "memwrite's peak working set, while waiting",
               (unsigned long)(pmc.PeakWorkingSetSize / 1024));
    stop_writer(&w, FALSE);
    for (int i = 0; i < 2; i++) {
        swprintf(path, MAX_PATH, L"%ls\\%ls.exe", dir, progs[i]);
        if (GetFileAttributesExW(path, GetFileExInfoStandard, &fa))
            printf("  %-44ls %9lu KiB\n", progs[i], fa.nFileSizeLow / 1024);
    }
}

int wmain(void)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    double reader[RUNS], empty[RUNS], alone[RUNS], handoff[RUNS];
    wchar_t mapping[64], args[100], path[MAX_PATH], *slash;
    struct spread r, e, a, h, s;
    double p95;
    struct writer w;

    QueryPerformanceFrequency(&freq);
    GetModuleFileNameW(NULL, dir, MAX_PATH);
    for (int up = 0; up < 2 && (slash = wcsrchr(dir, L'\\')); up++)
        *slash = 0;             /* dir\bench\bench.exe: the programs are in dir */
    nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                      &sa, OPEN_EXISTING, 0, NULL);
    if (nul == INVALID_HANDLE_VALUE)
        die("opening NUL");
    /* Not NUL: under Wine, msvcrt takes about 3 ms a line to write to a
       character device that is not a console (measured), which is Wine's
       cost, not the program's. */
    GetTempPathW(MAX_PATH, path);
    GetTempFileNameW(path, L"mem", 0, path);
    out = CreateFileW(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, CREATE_ALWAYS,
                      FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    if (out == INVALID_HANDLE_VALUE)
        die("creating a temporary file");
    machine();
    printf("runs: %d timed runs of each kind, alternating; %d idle measures of %d s\n\n",
           RUNS, IDLE_RUNS, IDLE_MS / 1000);
    printf("  %-44s %9s %9s %9s\n", "", "median", "min", "max");

    printf("idle cost: CPU time over %d s of waiting\n", IDLE_MS / 1000);
    row("memwrite", idle_cost(L"memwrite", FALSE), "ms");
    row("the article's writer, while(1)", idle_cost(L"tests\\article\\memwrite", TRUE), "ms");
    fflush(stdout);

    swprintf(mapping, 64, L"membench.%lu.read", GetCurrentProcessId());
    swprintf(args, 100, L"-m %ls", mapping);
    w = start_writer(L"memwrite", mapping);
    wait_shared(mapping);
    for (int i = 0; i < RUNS; i++) {
        reader[i] = time_run(L"memread", args, 0);
        empty[i] = time_run(L"bench\\empty", L"", 0);
    }
    stop_writer(&w, FALSE);
    r = summarize(reader, RUNS);
    e = summarize(empty, RUNS);
    printf("\nreader cost: wall time from CreateProcess to exit, stdout a file\n");
    row("memread, reading a waiting writer", r, "ms");
    row("an empty program (the floor)", e, "ms");
    printf("  %-44s %9.2f\n", "ratio of medians, memread / empty", r.median / e.median);
    fflush(stdout);

    for (int i = 0; i < RUNS; i++) {
        PROCESS_INFORMATION reading, writing;
        double t0;

        swprintf(mapping, 64, L"membench.%lu.alone%d", GetCurrentProcessId(), i);
        swprintf(args, 100, L"-m %ls", mapping);
        t0 = now_ms();
        writing = start(L"memwrite", args, NULL, NULL);  /* stdin NUL: shares, then stops */
        end(&writing, 0, "memwrite");
        alone[i] = now_ms() - t0;

        swprintf(mapping, 64, L"membench.%lu.handoff%d", GetCurrentProcessId(), i);
        swprintf(args, 100, L"-m %ls -w 10", mapping);
        reading = start(L"memread", args, NULL, out);
        Sleep(300);             /* memread is polling by now */
        t0 = now_ms();
        w = start_writer(L"memwrite", mapping);
        end(&reading, 0, "memread -w");
        handoff[i] = now_ms() - t0;
        stop_writer(&w, FALSE);
    }
    a = summarize(alone, RUNS);
    h = summarize(handoff, RUNS);
    printf("\nhand-off: from starting memwrite until ...\n");
    row("... a waiting memread -w has read and exited", h, "ms");
    row("... memwrite alone has shared and exited", a, "ms");
    printf("  %-44s %9.1f ms\n", "difference of medians", h.median - a.median);
    fflush(stdout);

    printf("  %-44s %9.1f ms  target <= 5 ms: %s\n", "memread -w hand-off over memwrite alone",
           h.median - a.median, h.median - a.median <= 5 ? "met" : "MISSED");
    fflush(stdout);

    printf("\nlive updates (targets from issue 9)\n");
    row("a follower's CPU over 2 s of waiting", s = follower_idle(), "ms");
    target("... median", s.median, "ms", "<=", 20);
    fflush(stdout);
    s = latency(&p95);
    row("publish to print, one follower", s, "ms");
    target("... median", s.median, "ms", "<=", 1);
    target("... 95th percentile", p95, "ms", "<=", 5);
    fflush(stdout);
    target("updates per second, no follower", throughput(0), "/s", ">=", 100000);
    target("updates per second, three followers", throughput(3), "/s", ">=", 10000);
    fflush(stdout);

    printf("\nfootprint\n");
    footprint();
    return 0;
}
