/* live: records that change while they are read: memread waiting for a
   writer, races and restarts, a stream of updates under followers and
   one-shot readers, a slow writer played by the test, and update lines in
   every form. */
#include "harness.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "cases.h"

/* The test plays a writer by hand: memread must wait for the event. */
void waits_for_ready(const wchar_t *m)
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

void race(const wchar_t *m)
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
    char name[32] = "";
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

/* 100,000 updates through a pipe, three followers and one-shot readers:
   no torn record, followers' IDs increasing, each ending on the last. */
void stress(const wchar_t *m)
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
        if (InterlockedExchange(sleep, 0))
            fake_wake(&sw->f);  /* a follower asked: end the generation */
        if (i == 1)
            SetEvent(sw->f.ready);
    }
    InterlockedExchange(stopped, 1);    /* the stop, as memwrite makes it */
    MemoryBarrier();
    SetEvent(sw->f.gen);
    UnmapViewOfFile(sleep);
    UnmapViewOfFile((void *)v);
    return 0;
}

/* The readers' half of the seqlock against the slow writer: followers and
   one-shot readers never print a torn record. */
void slow_writes(const wchar_t *m)
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
    for (int i = 0; i < 3; i++) {
        finish(&f[i], LIMIT);
        CHECK(f[i].code == 0, "follower %d: exit %d: %s", i, f[i].code, f[i].err.data);
        check_follower(f[i].out.data, i, sw.versions);
    }
    unfake(&sw.f);
}

/* Three followers, one started before memwrite with -w: each prints
   every update it is given time for, then the last one, and exits 0. Then
   the same under Global\, where the generation's event is Global\ too. */
void follows(const wchar_t *m)
{
    static const char *want = "1\r\nn1\r\n2\r\nn2\r\n3\r\nn3\r\n4\r\nn4\r\n5\r\nn5\r\n";
    static struct proc f[3];
    wchar_t mm[MAX_PATH], n[MAX_PATH];
    LONG v[12] = {0};
    struct proc w;
    char line[32];
    HANDLE h;

    for (int global = 0; global < 2 && !*why; global++) {
        swprintf(mm, MAX_PATH, global ? L"Global\\%ls" : L"%ls", m);
        start(&f[0], L"memread", L"-f -w 10 -m %ls", mm);
        Sleep(200);
        start(&w, L"memwrite", L"-m %ls 1 n1", mm);
        if (wait_writer(mm, LIMIT)) {
            for (int i = 1; i < 3; i++)
                start(&f[i], L"memread", L"-m %ls -f", mm);
            for (int k = 2; k <= 5 && !*why; k++) {
                for (int i = 0; i < 3; i++)
                    CHECK(wait_lines(&f[i].out, 2 * (k - 1), LIMIT),
                          "follower %d did not print version %d", i, k - 1);
                sprintf(line, "%d n%d\n", k, k);
                say(&w, line);
            }
            peek(mm, v, sizeof v);
            gen_name(n, mm, v[GEN]);
            CHECK((h = OpenEventW(SYNCHRONIZE, FALSE, n)) != NULL, "%ls cannot be opened: "
                  "error %lu", n, GetLastError());
            if (h)
                CloseHandle(h);
        }
        finish(&w, LIMIT);
        CHECK(w.code == 0, "memwrite: exit %d: %s", w.code, w.err.data);
        for (int i = 0; i < 3; i++) {
            finish(&f[i], LIMIT);
            CHECK(f[i].code == 0 && !strcmp(f[i].out.data, want) && !*f[i].err.data,
                  "follower %d of %ls: exit %d, \"%s\", %s", i, mm, f[i].code, f[i].out.data,
                  f[i].err.data);
        }
    }
}

/* Lines in each form: a BOM, CRLF, tabs, spaces kept inside and at the end
   of NAME, a negative ID, and a last line with no line end; the article's
   MemRead then reads the last record. */
void line_forms(const wchar_t *m)
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
void restarts(const wchar_t *m)
{
    static struct proc r[40];
    struct restarter s = {m, 0, 0, 0};
    wchar_t n[MAX_PATH];
    HANDLE t, ready, alive;
    struct proc w, rw;
    ULONGLONG used;
    long id = 0;
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
    Sleep(500);                 /* past its start-up, slow through qemu-i386 */
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
