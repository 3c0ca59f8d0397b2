/* errors: misuse and untrusted input: usage errors, no writer or a second
   one, sections and names made by others, a seq that stays odd, bad update
   lines, and a stdin or stdout that fails. */
#include "harness.h"
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include "cases.h"

/* Every usage error: exit 2, one line on stderr, nothing on stdout, and a
   writer already sharing the same mapping left alone. */
void usage_errors(const wchar_t *m)
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
    /* An ID that starts with - looks like an option: the message says what to do. */
    run(&r, L"memwrite", L"-m %ls -5 X", m);
    CHECK(r.code == 2 && strstr(r.err.data, "unknown option -5: put -- before an ID that "
          "starts with -"), "memwrite -5 X: exit %d: %s", r.code, r.err.data);
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

void no_writer(const wchar_t *m)
{
    struct proc r;
    ULONGLONG t0 = GetTickCount64(), ms;

    refuses(m, "no writer");
    ms = GetTickCount64() - t0;
    CHECK(ms < 1000, "memread without -w took %llu ms", ms);
    t0 = GetTickCount64();
    run(&r, L"memread", L"-m %ls -w 0.5", m);
    ms = GetTickCount64() - t0;
    CHECK(r.code == 1 && strstr(r.err.data, ". (error 2)")
          && strstr(r.err.data, "-w SECONDS waits for it"), "-w 0.5: exit %d: %s",
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

void second_writer(const wchar_t *m)
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

void untrusted(const wchar_t *m)
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
void taken_names(const wchar_t *m)
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
            /* Without -w, memread looks for the section alone: not there. */
            BOOL alone = k == 1 && i == 0;

            CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data)
                  && strstr(r.err.data, alone ? "(error 2)" : "(error 6)")
                  && (alone || strstr(r.err.data, "another kind")) && ms < 2000,
                  "%ls, taken by %ls: exit %d after %llu ms: %s", i < 3 ? how[i] : L"memwrite",
                  k ? L"a section for .ready" : L"an event", r.code, ms, r.err.data);
        }
    }
    CloseHandle(h[1]);
    CloseHandle(h[0]);
}

void output_fails(const wchar_t *m)
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

/* A seq that stays odd. If its writer has ended (the section's pid is
   nobody's, or a later process's, its start time not the section's),
   memread and memread -f give up after a second. If it runs (suspended
   mid-publish, say: this process plays it), memread gives up when -w runs
   out, not before, and memread -f waits, using no CPU, and prints the
   record once it is whole, then exits 0 at the stop. */
void stuck_writer(const wchar_t *m)
{
    static const wchar_t *args[] = {L"-m %ls", L"-f -m %ls"};
    struct fake f;
    struct proc r, fo;
    ULONGLONG t0, ms, cpu;
    FILETIME t[4];
    LONG started;

    GetProcessTimes(GetCurrentProcess(), &t[0], &t[1], &t[2], &t[3]);
    started = (LONG)t[0].dwLowDateTime;
    fake_section(&f, m, 7, "n7", 3);
    SetEvent(f.ready);
    run(&r, L"memread", L"-h");                 /* a pid that has ended */
    for (int k = 0; k < 2 && !*why; k++) {
        if (k == 0)
            fake_set(&f, PID, (LONG)r.pi.dwProcessId);
        else                    /* this process's pid, another's start time */
            fake_set(&f, PID, (LONG)GetCurrentProcessId()), fake_set(&f, STARTED, started + 1);
        for (int i = 0; i < 2; i++) {
            t0 = GetTickCount64();
            run(&r, L"memread", args[i], m);
            ms = GetTickCount64() - t0;
            CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data)
                  && strstr(r.err.data, "half-written: its writer died"),
                  "memread %ls on an odd seq, its writer %s: exit %d, \"%s\", %s", args[i],
                  k ? "a reused pid" : "gone", r.code, r.out.data, r.err.data);
            CHECK(ms >= 1000 && ms < 3000, "memread %ls gave up after %llu ms", args[i], ms);
        }
    }
    fake_set(&f, STARTED, started);             /* the writer: this process, running */
    t0 = GetTickCount64();
    run(&r, L"memread", L"-w 2.5 -m %ls", m);
    ms = GetTickCount64() - t0;
    CHECK(r.code == 1 && !*r.out.data && one_line(r.err.data)
          && strstr(r.err.data, "its writer is running but has not finished it"),
          "memread -w 2.5 on an odd seq, its writer running: exit %d, \"%s\", %s", r.code,
          r.out.data, r.err.data);
    CHECK(ms >= 2500 && ms < 4500, "memread -w 2.5 gave up after %llu ms", ms);
    start(&fo, L"memread", L"-f -m %ls", m);
    Sleep(2000);
    CHECK(WaitForSingleObject(fo.pi.hProcess, 0) == WAIT_TIMEOUT, "memread -f gave up on a "
          "running writer after 2 s: %s", fo.err.data);
    CHECK((cpu = cpu_over(&fo.pi, 1000)) < 50, "memread -f used %llu ms of CPU in 1 s "
          "waiting for a record half-written", cpu);
    fake_set(&f, SEQ, 4);
    CHECK(wait_lines(&fo.out, 2, 2000), "memread -f did not print the record once whole");
    fake_set(&f, STOPPED, 1);
    SetEvent(f.gen);
    finish(&fo, LIMIT);
    CHECK(fo.code == 0 && !strcmp(fo.out.data, "7\r\nn7\r\n"), "memread -f after the record "
          "was whole: exit %d, \"%s\" %s", fo.code, fo.out.data, fo.err.data);
    unfake(&f);
}

/* Each kind of bad line: one stderr line naming its number, the record
   unchanged, memwrite going on, and exit 1 at the end. */
void bad_lines(const wchar_t *m)
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
        {"4 abcdefghijklmnopqrst\n", "line 5: the name is longer than 19 bytes", 0},
        {"5 a\x01" "b\n", "line 6: the name has a control character", 0},
        {"5 a\x7f\n", "line 7: the name has a control character", 0},
        {"5 a\xc2\x85\n", "line 8: the name has a control character", 0},
        {"6 \xff\xfe\n", "line 9: it is not UTF-8", 0},
        {"6 \xed\xa0\x80\n", "line 10: it is not UTF-8", 0},
        {NULL, "line 11: it is longer than any record", 0},
        {"6 \xe2\x82\n", "line 12: it is not UTF-8", 0},
        {long257, "line 13: it is longer than any record", 0},
        {"42 Bob\0garbage\n", "line 14: it has a control character", 15},
        {"43 ABCDEFGHIJKLMNOPQRS\0TUVWXYZ\n", "line 15: it has a control character", 31},
        {" 45 Name\n", "line 16: it starts with a space or a tab: the ID comes first", 0},
        {" \t  \r\n", "line 17: it has only spaces and tabs (an empty line stops)", 0},
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

/* An unreadable stdin is an error, not an end of input: a directory, and
   a file open only for writing. */
void bad_stdin(const wchar_t *m)
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

/* A .ready that anyone may set, over another program's 24-byte section
   with no memwrite: the section is still read as the article's. */
void ready_not_ours(const wchar_t *m)
{
    unsigned char bytes[24];
    wchar_t n[MAX_PATH];
    HANDLE s, e = NULL;
    struct proc r;

    /* First memread waits, on a .ready of its own making; then the
       stranger sets it, and makes the section. */
    start(&r, L"memread", L"-w 3 -m %ls", m);
    ready_name(n, m);
    for (int i = 0; i < 500 && !(e = OpenEventW(EVENT_MODIFY_STATE, FALSE, n)); i++)
        Sleep(10);
    record(bytes, 7, "seven", 5);
    s = section(m, bytes, 24);
    CHECK(e && SetEvent(e), "the waiting reader's .ready could not be set");
    finish(&r, LIMIT);
    CHECK(r.code == 0 && !strcmp(r.out.data, "7\r\nseven\r\n"), "memread -w woken by a "
          ".ready a stranger set: exit %d, \"%s\" %s", r.code, r.out.data, r.err.data);
    /* And the same, found so at once. */
    run(&r, L"memread", L"-w 2 -m %ls", m);
    CHECK(r.code == 0 && !strcmp(r.out.data, "7\r\nseven\r\n"), "memread -w beside a set "
          ".ready: exit %d, \"%s\" %s", r.code, r.out.data, r.err.data);
    if (e)
        CloseHandle(e);
    CloseHandle(s);
}
