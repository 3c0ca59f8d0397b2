/* followers: memread -f over time: its CPU while idle, a writer killed
   under it, a follower frozen past the stop, a hostile .sleep, a stranger
   holding .alive, 100 and 2,000 followers at once, 10,000 sessions, names
   squatted by others, and a stderr nobody drains. */
#include "harness.h"
#include <sddl.h>
#include <aclapi.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <winternl.h>
#include <psapi.h>
#include "cases.h"

void idle(const wchar_t *m)
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

/* memwrite killed under a follower: one line, exit 1, within a second. */
void killed_under_follower(const wchar_t *m)
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

struct vandal {
    LONG *sleep;
    volatile LONG stop;
};

/* A hostile follower: asking flips between huge, negative and small values
   as fast as it can (a field of .sleep was once a count that memwrite
   indexed by). Only 4 bytes: Windows maps no more of a 4-byte section. */
static DWORD WINAPI vandalize(void *arg)
{
    static const LONG first[] = {0x40000000, 1, -5, INT_MAX, INT_MIN};
    struct vandal *v = arg;

    for (LONG k = 1; !v->stop; k++) {
        *(volatile LONG *)&v->sleep[0] = first[k % 5];
        Sleep(0);
    }
    return 0;
}

/* Whatever another process writes in .sleep, memwrite neither crashes nor
   stalls, and a real follower is still woken for each burst. */
void hostile_sleep(const wchar_t *m)
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
void lingers(const wchar_t *m)
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

struct holder {
    wchar_t name[MAX_PATH];
    HANDLE go;                  /* set: let .alive go */
    DWORD got;                  /* what the wait on .alive gave */
};

/* A stranger that may only wait on .alive: it waits, and so holds it from
   the moment memwrite lets it go, until told. */
static DWORD WINAPI hold_alive(void *arg)
{
    struct holder *ho = arg;
    HANDLE alive = OpenMutexW(SYNCHRONIZE, FALSE, ho->name);

    if (!alive)
        return bad("cannot open %ls to wait on: error %lu", ho->name, GetLastError());
    ho->got = WaitForSingleObject(alive, INFINITE);
    WaitForSingleObject(ho->go, INFINITE);
    CloseHandle(alive);         /* not released: abandoned, if anyone looks */
    return 0;
}

/* A stranger waiting on .alive, and a follower frozen in its wait, hide
   neither a clean stop nor a death from the other followers: at a stop
   each prints the last record and exits 0, at a death each exits 1, both
   within a second, while the stranger holds .alive. The frozen one, thawed,
   does the same. */
void alive_waiter(const wchar_t *m)
{
    static struct proc f[4];
    struct holder ho;
    wchar_t mm[MAX_PATH];
    struct proc w;
    HANDLE t;
    ULONGLONG t0, ms;

    for (int death = 0; death < 2 && !*why; death++) {
        swprintf(mm, MAX_PATH, L"%ls.%d", m, death);
        swprintf(ho.name, MAX_PATH, L"%ls.alive", mm);
        ho.go = CreateEventW(NULL, TRUE, FALSE, NULL);
        ho.got = WAIT_FAILED;
        start(&w, L"memwrite", L"-m %ls 1 n1", mm);
        if (!wait_writer(mm, LIMIT)) {
            finish(&w, LIMIT);
            CloseHandle(ho.go);
            return;
        }
        t = CreateThread(NULL, 0, hold_alive, &ho, 0, NULL);
        for (int i = 0; i < 4; i++) {
            start(&f[i], L"memread", L"-f -m %ls", mm);
            CHECK(wait_lines(&f[i].out, 2, LIMIT), "follower %d printed nothing: %s", i,
                  f[i].err.data);
        }
        say(&w, "2 n2\n");
        for (int i = 0; i < 4; i++)
            CHECK(wait_lines(&f[i].out, 4, LIMIT), "follower %d did not print 2", i);
        Sleep(100);             /* each is in its wait again */
        SuspendThread(f[0].pi.hThread);
        if (death)
            TerminateProcess(w.pi.hProcess, 9);
        else
            close_stdin(&w);
        t0 = GetTickCount64();
        for (int i = 1; i < 4; i++)
            WaitForSingleObject(f[i].pi.hProcess, 5000);
        ms = GetTickCount64() - t0;
        CHECK(ms < 1000, "after memwrite's %s, with a stranger waiting on .alive and a "
              "follower frozen, the others took %llu ms to exit", death ? "death" : "stop", ms);
        finish(&w, LIMIT);
        CHECK(ho.got == (death ? WAIT_ABANDONED : WAIT_OBJECT_0), "the stranger's wait on "
              ".alive gave %lu: it was not given .alive", ho.got);
        ResumeThread(f[0].pi.hThread);
        for (int i = 0; i < 4; i++) {
            finish(&f[i], LIMIT);
            CHECK(death ? f[i].code == 1 && strstr(f[i].err.data, "killed or crashed")
                        : f[i].code == 0 && !strcmp(f[i].out.data, "1\r\nn1\r\n2\r\nn2\r\n"),
                  "follower %d%s after memwrite's %s: exit %d, \"%s\" %s", i,
                  i ? "" : " (frozen, thawed)", death ? "death" : "stop", f[i].code,
                  f[i].out.data, f[i].err.data);
        }
        SetEvent(ho.go);
        WaitForSingleObject(t, INFINITE);
        CloseHandle(t);
        CloseHandle(ho.go);
    }
}

#define MANY 100

/* 100 followers through bursts of updates: each has printed every burst's
   last record before the next, and all exit 0 at the stop. */
void many_followers(const wchar_t *m)
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


/* memwrite's section of m, mapped to read as a follower does; NULL if not. */
static const LONG *map_view(const wchar_t *m, HANDLE *h)
{
    const LONG *v;

    *h = OpenFileMappingW(FILE_MAP_READ, FALSE, m);
    v = *h ? MapViewOfFile(*h, FILE_MAP_READ, 0, 0, 48) : NULL;
    if (!CHECK(v != NULL, "cannot map %ls: error %lu", m, GetLastError()) && *h)
        CloseHandle(*h);
    return v;
}

static SIZE_T working_set(HANDLE process)
{
    PROCESS_MEMORY_COUNTERS pmc;

    return K32GetProcessMemoryInfo(process, &pmc, sizeof pmc) ? pmc.WorkingSetSize : 0;
}

#define SESSIONS 10000

/* 10,000 follower sessions, played by the test, come and go through one
   memwrite: each opens the generation's event, asks, is woken by the next
   update, and leaves, half of them after asking again, as a follower
   killed in its wait does. Three real followers follow throughout and end
   on the last record. memwrite keeps nothing of a follower: its working
   set after the sessions is what it was after the first 1,000. */
void churn(const wchar_t *m)
{
    static struct proc f[3];
    struct proc w;
    const LONG *view = NULL;
    LONG *sleep = NULL;
    HANDLE hs = NULL, hv = NULL, ev;
    SIZE_T early = 0, late;
    char line[32];

    start(&w, L"memwrite", L"-m %ls 0 n0", m);
    if (wait_writer(m, LIMIT) && (sleep = map_sleep(m, &hs)) && (view = map_view(m, &hv))) {
        for (int i = 0; i < 3; i++) {
            start(&f[i], L"memread", L"-f -m %ls", m);
            CHECK(wait_lines(&f[i].out, 2, LIMIT), "follower %d printed nothing", i);
        }
        for (int k = 1; k <= SESSIONS && !*why; k++) {
            ev = play_ask(m, view, sleep);
            if (!CHECK(ev != NULL, "session %d could not open the generation's event: "
                       "error %lu", k, GetLastError()))
                break;
            sprintf(line, "%d n%d\n", k, k);
            say(&w, line);
            CHECK(WaitForSingleObject(ev, 2000) == WAIT_OBJECT_0, "session %d was not woken", k);
            if (k % 2)
                InterlockedExchange(sleep, 1);
            CloseHandle(ev);
            if (k == 1000)
                early = working_set(w.pi.hProcess);
        }
        late = working_set(w.pi.hProcess);
        CHECK(early && late <= early + 256 * 1024, "memwrite's working set grew from %zu KB "
              "after 1,000 sessions to %zu KB after %d", early / 1024, late / 1024, SESSIONS);
    }
    close_stdin(&w);
    for (int i = 0; i < 3 && f[i].pi.hProcess; i++) {
        finish(&f[i], LIMIT);
        CHECK(f[i].code == 0, "follower %d: exit %d: %s", i, f[i].code, f[i].err.data);
        check_follower(f[i].out.data, i, SESSIONS);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
    if (view) {
        UnmapViewOfFile(view);
        CloseHandle(hv);
    }
    if (sleep) {
        UnmapViewOfFile(sleep);
        CloseHandle(hs);
    }
}

/* An object-manager symbolic link named name, in this session's
   BaseNamedObjects, to a directory that does not exist; NULL if not made. */
static HANDLE symlink(const wchar_t *name)
{
    typedef LONG(NTAPI * open_dir_fn)(HANDLE *, ACCESS_MASK, OBJECT_ATTRIBUTES *);
    typedef LONG(NTAPI * make_link_fn)(HANDLE *, ACCESS_MASK, OBJECT_ATTRIBUTES *,
                                       UNICODE_STRING *);
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    open_dir_fn open_dir = (open_dir_fn)(void (*)(void))GetProcAddress(nt, "NtOpenDirectoryObject");
    make_link_fn make_link =
        (make_link_fn)(void (*)(void))GetProcAddress(nt, "NtCreateSymbolicLinkObject");
    wchar_t dirname[64], target[] = L"\\nowhere\\at all";
    UNICODE_STRING u, t = {sizeof target - 2, sizeof target, target};
    OBJECT_ATTRIBUTES oa;
    HANDLE dir = NULL, link = NULL;
    DWORD session = 0;
    LONG st = 0;

    ProcessIdToSessionId(GetCurrentProcessId(), &session);
    swprintf(dirname, 64, L"\\Sessions\\%lu\\BaseNamedObjects", session);
    u = (UNICODE_STRING){(USHORT)(2 * wcslen(dirname)), (USHORT)(2 * wcslen(dirname) + 2), dirname};
    InitializeObjectAttributes(&oa, &u, OBJ_CASE_INSENSITIVE, NULL, NULL);
    if (!open_dir || !make_link || (st = open_dir(&dir, 0x0005, &oa)) != 0) {
        bad("cannot open %ls: status 0x%lx", dirname, open_dir ? (unsigned long)st : 0ul);
        return NULL;
    }                           /* 0x0005: DIRECTORY_QUERY | DIRECTORY_CREATE_OBJECT */
    u = (UNICODE_STRING){(USHORT)(2 * wcslen(name)), (USHORT)(2 * wcslen(name) + 2),
                         (wchar_t *)name};
    InitializeObjectAttributes(&oa, &u, OBJ_CASE_INSENSITIVE, dir, NULL);
    if ((st = make_link(&link, 0xf0001, &oa, &t)) != 0)     /* SYMBOLIC_LINK_ALL_ACCESS */
        bad("cannot make a symbolic link %ls: status 0x%lx", name, (unsigned long)st);
    CloseHandle(dir);
    return link;
}

/* Names squatted by another program with symbolic links that lead nowhere
   (other kinds of object: case 9). Followers make no name of their own, so
   one under the old follower's event name, .w0, changes nothing: they
   follow. Under a name memwrite makes, memwrite refuses, in one line that
   names it, and shares nothing. */
void squatted(const wchar_t *m)
{
    static const wchar_t *suffix[] = {L".w0", L".alive", L".ready", L".sleep", L""};
    wchar_t n[MAX_PATH], mm[MAX_PATH];
    char want[MAX_PATH];
    struct proc w, f;
    HANDLE link;

    for (int i = 0; i < 5 && !*why; i++) {
        swprintf(mm, MAX_PATH, L"%ls.%d", m, i);
        swprintf(n, MAX_PATH, L"%ls%ls", mm, suffix[i]);
        if (!(link = symlink(n)))
            return;
        start(&w, L"memwrite", L"-m %ls 1 n1", mm);
        if (i == 0 && wait_writer(mm, LIMIT)) {
            start(&f, L"memread", L"-f -m %ls", mm);
            CHECK(wait_lines(&f.out, 2, LIMIT), "a follower beside a link .w0 printed "
                  "nothing: %s", f.err.data);
            say(&w, "2 n2\n");
            CHECK(wait_lines(&f.out, 4, LIMIT), "a follower beside a link .w0 was not woken");
            close_stdin(&w);
            finish(&f, LIMIT);
            CHECK(f.code == 0 && !strcmp(f.out.data, "1\r\nn1\r\n2\r\nn2\r\n"),
                  "the follower: exit %d, \"%s\" %s", f.code, f.out.data, f.err.data);
        }
        finish(&w, LIMIT);
        sprintf(want, "\"%ls\": ", n);
        CHECK(i == 0 ? w.code == 0 : w.code == 1 && one_line(w.err.data)
              && strstr(w.err.data, want) && strstr(w.err.data, "(error 3); the name leads "
                        "nowhere")
              && !exists(mm), "memwrite beside a link %ls: exit %d: %s", n, w.code, w.err.data);
        CloseHandle(link);
    }
}

/* memwrite's messages never hold up its stop. With stderr a pipe nobody
   drains: 2,000 bad lines and an update, which its follower prints, then
   an empty line: memwrite stops at once, its follower exits 0 while
   memwrite still waits a second for its messages, and memwrite exits 1.
   With stderr drained, each bad line is said or counted. */
void stuck_lines(const wchar_t *m)
{
    static char lines[2 * 2000 + 16];
    wchar_t mm[MAX_PATH];
    struct proc w, f;
    unsigned long said, more = 0;
    ULONGLONG t0, ms;
    const char *p;

    for (int i = 0; i < 2000; i++)
        memcpy(lines + 2 * i, "x\n", 2);        /* each refused: no NAME */
    strcpy(lines + 4000, "2 n2\n");
    for (int stuck = 1; stuck >= 0 && !*why; stuck--) {
        swprintf(mm, MAX_PATH, L"%ls.%d", m, stuck);
        start_with(&w, stuck ? ERR_STUCK : 0, L"memwrite", L"-m %ls 1 n1", mm);
        if (!wait_writer(mm, LIMIT)) {
            finish(&w, LIMIT);
            return;
        }
        start(&f, L"memread", L"-f -m %ls", mm);
        CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
        say_n(&w, lines, (DWORD)strlen(lines));
        CHECK(wait_lines(&f.out, 4, LIMIT), "stderr %s: the follower did not print the update "
              "after 2,000 bad lines", stuck ? "stuck" : "drained");
        Sleep(100);             /* it sleeps again */
        t0 = GetTickCount64();
        say(&w, "\n");
        WaitForSingleObject(f.pi.hProcess, 5000);
        ms = GetTickCount64() - t0;
        CHECK(ms < 2000, "the follower took %llu ms to see the stop, stderr %s", ms,
              stuck ? "stuck" : "drained");
        /* The stop reaches followers before memwrite's last second for its
           messages, not only with its end. */
        CHECK(!stuck || WaitForSingleObject(w.pi.hProcess, 0) == WAIT_TIMEOUT, "the follower "
              "saw the stop only when memwrite ended");
        WaitForSingleObject(w.pi.hProcess, 5000);
        ms = GetTickCount64() - t0;
        CHECK(ms < 3000, "memwrite took %llu ms to exit after its empty line, stderr %s", ms,
              stuck ? "stuck" : "drained");
        finish(&w, LIMIT);
        finish(&f, LIMIT);
        CHECK(w.code == 1 && f.code == 0 && !strcmp(f.out.data, "1\r\nn1\r\n2\r\nn2\r\n"),
              "stderr %s: memwrite exit %d; the follower: exit %d, \"%s\" %s",
              stuck ? "stuck" : "drained", w.code, f.code, f.out.data, f.err.data);
        if (stuck)
            continue;
        for (said = 0, p = w.err.data; (p = strstr(p, ": no NAME after the ID")) != NULL; p++)
            said++;
        if ((p = strstr(w.err.data, "memwrite: ")) && (p = strstr(p, " more messages")))
            while (p > w.err.data && p[-1] >= '0' && p[-1] <= '9')
                p--;
        if (p && strstr(p, " more messages were not said"))
            more = strtoul(p, NULL, 10);
        CHECK(said + more == 2000 && said >= 128, "stderr drained: %lu bad lines said and %lu "
              "counted, not 2,000: %.200s", said, more, w.err.data);
    }
}

#define CROWD 2000

/* Waits until out has reached n bytes; FALSE after ms. */
static BOOL file_reaches(struct buf *out, LONGLONG n, DWORD ms)
{
    ULONGLONG end = GetTickCount64() + ms;
    LARGE_INTEGER size;

    while (GetFileSizeEx(out->pipe, &size) && size.QuadPart < n)
        if (GetTickCount64() > end)
            return FALSE;
        else
            Sleep(20);
    return TRUE;
}

/* 2,000 followers at once, twice the old cap of 1,000: each prints the
   record, is woken by the update, and exits 0 at the stop. */
void crowd(const wchar_t *m)
{
    static struct proc f[CROWD];
    struct proc w;
    int n = 0;

    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        for (n = 0; n < CROWD && !*why; n++)
            start_with(&f[n], TO_FILE, L"memread", L"-f -m %ls", m);
        for (int i = 0; i < n && !*why; i++)
            CHECK(file_reaches(&f[i].out, 7, 120000), "follower %d of %d printed nothing", i, n);
        say(&w, "2 n2\n");
        for (int i = 0; i < n && !*why; i++)
            CHECK(file_reaches(&f[i].out, 14, 60000), "follower %d of %d was not woken", i, n);
    }
    close_stdin(&w);
    for (int i = 0; i < n; i++) {
        finish(&f[i], 60000);
        CHECK(f[i].code == 0 && !strcmp(f[i].out.data, "1\r\nn1\r\n2\r\nn2\r\n"),
              "follower %d of %d: exit %d, \"%s\"", i, n, f[i].code, f[i].out.data);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
}
