/* followers: memread -f over time: its CPU while idle, a writer killed
   under it, a follower frozen past the stop, a hostile .sleep, the slots,
   100 followers at once, followers without end, names taken by others,
   and wake-ups that fail. */
#include "harness.h"
#include <sddl.h>
#include <aclapi.h>
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
    static HANDLE held[1000];
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
        /* Every other slot is held, as a live follower holds it: by its event. */
        for (int i = 2; i < 1000; i++) {
            swprintf(n, MAX_PATH, L"%ls.w%d", m, i);
            held[i] = CreateEventW(NULL, FALSE, FALSE, n);
            InterlockedExchange(&sleep[1 + 2 * i], me);
        }
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "with only a killed follower's slot free, a "
              "follower printed nothing: %s", f.err.data);
        CHECK(sleep[3] == (LONG)f.pi.dwProcessId, "the new follower is not in the killed "
              "one's slot: it holds pid %ld", sleep[3]);
        run(&r, L"memread", L"-f -m %ls", m);
        CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data)
              && strstr(r.err.data, "no free slot: 999 followers follow this memwrite, and "
                        "objects of other programs hold 1 of the names"),
              "a follower with no slot, one name a mutex's: exit %d, \"%s\" %s", r.code,
              r.out.data, r.err.data);
        CloseHandle(taken);
        swprintf(n, MAX_PATH, L"%ls.w0", m);
        taken = CreateEventW(NULL, FALSE, FALSE, n);
        InterlockedExchange(&sleep[1], me);
        run(&r, L"memread", L"-f -m %ls", m);
        CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data)
              && strstr(r.err.data, "1000 followers already follow this memwrite"),
              "a follower with no slot to take: exit %d, \"%s\" %s", r.code, r.out.data,
              r.err.data);
        say(&w, "2 n2\n");
        CHECK(wait_lines(&f.out, 4, LIMIT), "the follower in the killed one's slot was not woken");
        for (int i = 2; i < 1000; i++)
            if (held[i])
                CloseHandle(held[i]);
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
    if (taken)
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

/* 1,200 follower sessions, played by the test, come and go through one
   memwrite, each woken once, leaving cleanly, killed, or killed while it
   had asked; then a real follower joins and is woken. memwrite keeps no
   departed follower's event, so no slot is lost. */
void churn(const wchar_t *m)
{
    struct played p = {NULL, 0};
    struct proc w, f = {0};
    LONG *sleep;
    HANDLE h;
    char line[32];
    int k, left = 0;

    start(&w, L"memwrite", L"-m %ls 0 n0", m);
    if (wait_writer(m, LIMIT) && (sleep = map_sleep(m, &h)) != NULL) {
        for (k = 1; k <= 1200 && !*why; k++) {
            if (!CHECK(play_join(sleep, m, &p), "session %d found no slot to take", k))
                break;
            play_ask(sleep, &p);
            sprintf(line, "%d n%d\n", k, k);
            say(&w, line);
            CHECK(WaitForSingleObject(p.event, 2000) == WAIT_OBJECT_0,
                  "session %d, in slot %d, was not woken", k, p.slot);
            if (k % 3 == 2)
                play_ask(sleep, &p);    /* killed while it had asked */
            play_leave(sleep, &p, k % 3 == 0);
        }
        /* memwrite may hold the last one's for the moment it sets it. */
        for (int tries = 0; tries < 100 && (left = events_left(m)) != 0; tries++)
            Sleep(10);
        CHECK(left == 0, "after the sessions, %d followers' events are still open", left);
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "a follower after the churn printed nothing: %s",
              f.err.data);
        say(&w, "5000 n5000\n");
        CHECK(wait_lines(&f.out, 4, 2000), "a follower after the churn was not woken");
        UnmapViewOfFile(sleep);
        CloseHandle(h);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
    if (f.pi.hProcess) {
        finish(&f, LIMIT);
        CHECK(f.code == 0 && strstr(f.out.data, "5000\r\nn5000\r\n"),
              "the follower: exit %d, \"%s\" %s", f.code, f.out.data, f.err.data);
    }
}

/* Events under followers' names made first by another program: an
   auto-reset one that would take the follower's wake-ups, a manual-reset
   one left set that would make it spin. The follower passes both over. */
void squatted(const wchar_t *m)
{
    wchar_t n[MAX_PATH];
    HANDLE ev[2], h;
    LONG *sleep;
    struct proc w, f = {0};
    ULONGLONG cpu;

    for (int i = 0; i < 2; i++) {
        swprintf(n, MAX_PATH, L"%ls.w%d", m, i);
        ev[i] = CreateEventW(NULL, i == 1, i == 1, n);
    }
    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT) && (sleep = map_sleep(m, &h)) != NULL) {
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
        CHECK(!sleep[1] && !sleep[3] && sleep[5] == (LONG)f.pi.dwProcessId,
              "slots 0 and 1, their names another program's, hold pids %ld and %ld; "
              "slot 2 %ld, not the follower's %lu", sleep[1], sleep[3], sleep[5],
              f.pi.dwProcessId);
        cpu = cpu_over(&f.pi, 1000);
        CHECK(cpu < 100, "an idle follower beside a set event of another's used %llu ms of "
              "CPU in 1 s", cpu);
        say(&w, "2 n2\n");
        CHECK(wait_lines(&f.out, 4, 1000), "the follower was not woken for 2");
        say(&w, "3 n3\n");
        CHECK(wait_lines(&f.out, 6, 1000), "the follower was not woken for 3");
        UnmapViewOfFile(sleep);
        CloseHandle(h);
    }
    finish(&w, LIMIT);
    finish(&f, LIMIT);
    CHECK(f.code == 0 && !strcmp(f.out.data, "1\r\nn1\r\n2\r\nn2\r\n3\r\nn3\r\n"),
          "the follower: exit %d, \"%s\" %s", f.code, f.out.data, f.err.data);
    CHECK(WaitForSingleObject(ev[0], 0) == WAIT_TIMEOUT, "another program's event was set");
    CloseHandle(ev[0]);
    CloseHandle(ev[1]);
}

struct asker {
    LONG *sleep;
    volatile LONG stop;
};

/* Slots 10 to 999 ask again and again, under a new pid each turn, with
   events that memwrite may not set. */
static DWORD WINAPI ask_unwakable(void *arg)
{
    struct asker *a = arg;

    for (LONG k = 1; !a->stop; k++) {
        for (int i = 10; i < 1000; i++) {
            InterlockedExchange(&a->sleep[1 + 2 * i], k * 1000 + i);
            InterlockedExchange(&a->sleep[2 + 2 * i], 1);
        }
        InterlockedExchange(&a->sleep[0], 1);
        Sleep(5);
    }
    return 0;
}

/* 990 slots whose events memwrite may not set, asking without end: memwrite
   says each slot once, however often it asks, and a real follower is woken
   for every update, also when nobody drains memwrite's stderr. */
void unwakable_slots(const wchar_t *m)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
    static HANDLE ev[1000];
    wchar_t n[MAX_PATH];
    struct asker a;
    struct proc w, f;
    const char *p;
    char want[32];
    HANDLE h, t;
    ULONGLONG cpu;
    int said;

    ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:(D;;GA;;;WD)", SDDL_REVISION_1,
                                                         &sa.lpSecurityDescriptor, NULL);
    for (int stuck = 1; stuck >= 0; stuck--) {
        start_with(&w, stuck ? ERR_STUCK : 0, L"memwrite", L"-m %ls.%d 1 n1", m, stuck);
        swprintf(n, MAX_PATH, L"%ls.%d", m, stuck);
        if (!wait_writer(n, LIMIT) || (a.sleep = map_sleep(n, &h)) == NULL) {
            finish(&w, LIMIT);
            break;
        }
        for (int i = 10; i < 1000; i++) {
            swprintf(n, MAX_PATH, L"%ls.%d.w%d", m, stuck, i);
            ev[i] = CreateEventW(&sa, FALSE, FALSE, n);
        }
        start(&f, L"memread", L"-f -m %ls.%d", m, stuck);
        CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
        a.stop = 0;
        t = CreateThread(NULL, 0, ask_unwakable, &a, 0, NULL);
        for (int k = 2; k <= 21 && !*why; k++) {
            sprintf(want, "%d n%d\n", k, k);
            say(&w, want);
            CHECK(wait_lines(&f.out, 2 * k, 1000), "%s: the follower was not woken for %d",
                  stuck ? "stderr stuck" : "stderr drained", k);
        }
        InterlockedExchange(&a.stop, 1);
        WaitForSingleObject(t, INFINITE);
        CloseHandle(t);
        /* The 990 are tried again while they fail, each time twice as
           long after, up to a second: not 990 opens every 10 ms. */
        CHECK((cpu = cpu_over(&w.pi, 1000)) < 150, "memwrite used %llu ms of CPU in 1 s "
              "trying 990 wake-ups again", cpu);
        finish(&w, LIMIT);
        finish(&f, LIMIT);
        CHECK(w.code == 0 && f.code == 0, "memwrite: exit %d; the follower: exit %d %s",
              w.code, f.code, f.err.data);
        for (said = 0, p = w.err.data; (p = strstr(p, "is not woken")) != NULL; p++)
            said++;
        CHECK(stuck || (said == 990 && strstr(w.err.data, "slot 10 is") && strstr(w.err.data,
              "slot 999 is") && strstr(w.err.data, "(error 5)")), "memwrite said %d times that "
              "a follower is not woken, not 990, once a slot: %.300s", said, w.err.data);
        for (int i = 10; i < 1000; i++)
            CloseHandle(ev[i]);
        UnmapViewOfFile(a.sleep);
        CloseHandle(h);
    }
    LocalFree(sa.lpSecurityDescriptor);
}

/* A wake-up that fails is tried again: a follower's event that memwrite
   may not set, until it may, is set without another publish. */
void retried(const wchar_t *m)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
    PSECURITY_DESCRIPTOR open = NULL;
    BOOL present, defaulted;
    wchar_t n[MAX_PATH];
    PACL dacl = NULL;
    struct played p = {NULL, 0};
    struct proc w;
    LONG *sleep;
    HANDLE h;

    ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:(D;;GA;;;WD)", SDDL_REVISION_1,
                                                         &sa.lpSecurityDescriptor, NULL);
    ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:(A;;GA;;;WD)", SDDL_REVISION_1,
                                                         &open, NULL);
    GetSecurityDescriptorDacl(open, &present, &dacl, &defaulted);
    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT) && (sleep = map_sleep(m, &h)) != NULL) {
        swprintf(n, MAX_PATH, L"%ls.w0", m);
        p.event = CreateEventW(&sa, FALSE, FALSE, n);
        p.slot = 0;
        play_ask(sleep, &p);
        say(&w, "2 n2\n");
        Sleep(300);
        CHECK(WaitForSingleObject(p.event, 0) == WAIT_TIMEOUT, "an event that denies "
              "everyone was set");
        CHECK(SetSecurityInfo(p.event, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
                              dacl, NULL) == ERROR_SUCCESS, "SetSecurityInfo: error %lu",
              GetLastError());
        CHECK(WaitForSingleObject(p.event, 3000) == WAIT_OBJECT_0, "a wake-up that failed "
              "was not tried again once it could succeed");
        play_leave(sleep, &p, TRUE);
        UnmapViewOfFile(sleep);
        CloseHandle(h);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0 && strstr(w.err.data, "slot 0 is not woken"), "memwrite: exit %d: %s",
          w.code, w.err.data);
    LocalFree(open);
    LocalFree(sa.lpSecurityDescriptor);
}
