/* followers: memread -f over time: its CPU while idle, a writer killed
   under it, a follower frozen past the stop, a hostile .sleep, the slots,
   and 100 followers at once. */
#include "harness.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
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

/* Slots in .sleep count only followers that are alive: a killed
   follower's slot is taken again, a slot whose event name another kind of
   object holds is passed over, and with every slot held by a live process
   a follower is told that 1000 follow already. */
void slots(const wchar_t *m)
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
