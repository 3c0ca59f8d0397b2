/* port: the article's scenario, done by memwrite and memread: the command
   line, the record's bytes and its lifetime, many readers, the article's
   own programs, and a writer and readers of the other architecture. */
#include "harness.h"
#include <tlhelp32.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "cases.h"

void defaults(const wchar_t *unused)
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

void values(const wchar_t *m)
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

void stops(const wchar_t *m)
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

void killed(const wchar_t *m)
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

void layout(const wchar_t *m)
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

void many_readers(const wchar_t *m)
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

void help(const wchar_t *unused)
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

/* A writer of one architecture and readers of the other, both ways: a
   negative ID, a name in three scripts, an update and a follower. */
void mixed(const wchar_t *m)
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
        /* Under Wine, make says why 32-bit programs cannot run, if it knows:
           what Windows is told (error 1359) does not. */
        const char *hint = getenv("MEMTEST_WHY32");

        finish(&r, LIMIT);
        if (hint && *hint)
            snprintf(skip, sizeof skip, "cannot start the other architecture's programs here: "
                     "%s (%s)", hint, why);
        else
            snprintf(skip, sizeof skip, "cannot start the other architecture's programs here: "
                     "%s (for 32-bit ones under Wine, see .ci/wine32)", why);
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

/* Whether process pid has the module dll loaded: 1 or 0, or -1 if it
   cannot be seen (not started, or gone). */
static int has_module(DWORD pid, const wchar_t *dll)
{
    MODULEENTRY32W e = {.dwSize = sizeof e};
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE, pid);
    int found = 0;

    if (snap == INVALID_HANDLE_VALUE)
        return -1;
    for (BOOL more = Module32FirstW(snap, &e); more; more = Module32NextW(snap, &e))
        found |= !_wcsicmp(e.szModule, dll);
    CloseHandle(snap);
    return found;
}

/* A one-shot read takes the article's path and loads no advapi32, which
   costs a tenth of a start under Wine; a waiting one loads it to make its
   .ready. The one-shot reader is held a second on a record whose seq stays
   odd, and its modules are looked at all along; it has reached main once
   msvcrt is there. */
void one_shot_modules(const wchar_t *m)
{
    int seen_crt = 0, seen_advapi = 0, waiter_advapi = 0;
    ULONGLONG give_up = GetTickCount64() + 2 * LIMIT;
    struct fake f;
    struct proc r, w;

    fake_section(&f, m, 7, "n7", 3);
    start(&r, L"memread", L"-m %ls", m);
    while (WaitForSingleObject(r.pi.hProcess, 10) == WAIT_TIMEOUT
           && GetTickCount64() < give_up)
        if (has_module(r.pi.dwProcessId, L"msvcrt.dll") == 1) {
            seen_crt = 1;
            seen_advapi |= has_module(r.pi.dwProcessId, L"advapi32.dll") == 1;
        }
    finish(&r, LIMIT);
    CHECK(r.code == 1 && strstr(r.err.data, "half-written"),
          "memread on an odd seq: exit %d, %s", r.code, r.err.data);
    CHECK(seen_crt && !seen_advapi, "a one-shot memread: msvcrt %s, advapi32 %s",
          seen_crt ? "seen" : "never seen", seen_advapi ? "loaded" : "not loaded");
    unfake(&f);
    start(&w, L"memread", L"-w 5 -m %ls.none", m);
    while (!waiter_advapi && WaitForSingleObject(w.pi.hProcess, 10) == WAIT_TIMEOUT
           && GetTickCount64() < give_up)
        waiter_advapi = has_module(w.pi.dwProcessId, L"advapi32.dll") == 1;
    TerminateProcess(w.pi.hProcess, 1);
    finish(&w, LIMIT);
    CHECK(waiter_advapi, "memread -w 5 waited without loading advapi32");
}
