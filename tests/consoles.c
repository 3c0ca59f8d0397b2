/* consoles: memread and memwrite on a real console, and Ctrl+C. Each case
   runs in a child of run.exe with a console of its own (in_console). */
#include "harness.h"
#include <string.h>
#include <wchar.h>
#include "cases.h"

/* Console cases run in a console of their own, in a child of this program
   started again with CREATE_NO_WINDOW: under Wine that child has a real
   console with no window (one from AllocConsole does not work there). */
static HANDLE conout(void)
{
    return CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                       NULL, OPEN_EXISTING, 0, NULL);
}

static COORD cursor(void)
{
    CONSOLE_SCREEN_BUFFER_INFO c;
    HANDLE h = conout();
    COORD at = {0, 0};

    if (GetConsoleScreenBufferInfo(h, &c))
        at = c.dwCursorPosition;
    CloseHandle(h);
    return at;
}

/* The text on the screen from `from` to the cursor, rows joined by '\n',
   blanks at the end of each row cut. */
static void screen_since(COORD from, wchar_t *out, size_t cap)
{
    CONSOLE_SCREEN_BUFFER_INFO c;
    HANDLE h = conout();
    wchar_t row[1024];
    size_t len = 0;
    DWORD n;

    *out = 0;
    if (!GetConsoleScreenBufferInfo(h, &c)) {
        bad("GetConsoleScreenBufferInfo: error %lu", GetLastError());
        CloseHandle(h);
        return;
    }
    for (SHORT y = from.Y; y <= c.dwCursorPosition.Y; y++) {
        COORD at = {y == from.Y ? from.X : 0, y};
        DWORD want = (DWORD)(y == c.dwCursorPosition.Y ? c.dwCursorPosition.X : c.dwSize.X) - at.X;

        if (!ReadConsoleOutputCharacterW(h, row, min(want, 1023), at, &n))
            break;
        while (n && row[n - 1] == L' ')
            n--;
        if (len + n + 2 >= cap)
            break;
        wmemcpy(out + len, row, n);
        len += n;
        if (y < c.dwCursorPosition.Y)
            out[len++] = L'\n';
        out[len] = 0;
    }
    CloseHandle(h);
}

/* memread on the console: what it shows must be want, exactly. */
static void shows_on_console(const wchar_t *m, const wchar_t *want)
{
    COORD at = cursor();
    wchar_t text[1024];
    struct proc r;

    start_with(&r, CONSOLE_OUT, L"memread", L"-m %ls", m);
    finish(&r, LIMIT);
    screen_since(at, text, 1024);
    CHECK(r.code == 0 && !wcscmp(text, want), "memread on the console: exit %d, showed \"%ls\", "
          "not \"%ls\" %s", r.code, text, want, r.err.data);
}

/* memread writes a console in UTF-16: Greek, Japanese and an escaped name
   show as they are. The console's code page is 437, so UTF-8 bytes written
   to it would show as other characters. */
static void console(const wchar_t *m)
{
    unsigned char bytes[24];
    wchar_t name[300];
    struct proc w;
    HANDLE h;

    SetConsoleOutputCP(437);
    start(&w, L"memwrite", L"-m %ls -- -5 Ωμέγα", m);
    if (wait_writer(m, LIMIT)) {
        shows_on_console(m, L"-5\nΩμέγα\n");
        say(&w, "6 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n");
        if (CHECK(shows(m, "6\r\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n", 5000),
                  "the second record never came"))
            shows_on_console(m, L"6\n日本語\n");
    }
    finish(&w, LIMIT);
    swprintf(name, 300, L"%ls.hostile", m);
    record(bytes, 7, "a\x1b[31m\\\xc2\x9b", 9);
    h = section(name, bytes, 24);
    shows_on_console(name, L"7\na\\x1b[31m\\\\\\u009b\n");
    CloseHandle(h);
}

static BOOL WINAPI swallow(DWORD type)
{
    (void)type;
    return TRUE;
}

/* Ctrl+C stops a follower, then memwrite, through their own handlers: each
   says so on stderr (the default handler would end it silently, and Wine
   reports exit 0 for that too), exits 0, and memwrite leaves nothing. */
static void ctrl(const wchar_t *m)
{
    struct proc w, f;

    SetConsoleCtrlHandler(swallow, TRUE);   /* the event reaches us too */
    /* A memread waiting for a writer: its handler is there once it has made
       .ready to wait on. Ctrl+C ends it, exit 1: nothing was read. */
    {
        wchar_t n[MAX_PATH];
        HANDLE ready = NULL;

        start(&f, L"memread", L"-w 30 -m %ls.none", m);
        swprintf(n, MAX_PATH, L"%ls.none.ready", m);
        for (int i = 0; i < 500 && !(ready = OpenEventW(SYNCHRONIZE, FALSE, n)); i++)
            Sleep(10);
        if (CHECK(ready != NULL, "a waiting memread made no .ready"))
            CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0), "GenerateConsoleCtrlEvent: error %lu",
                  GetLastError());
        CHECK(WaitForSingleObject(f.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "a waiting memread went on after Ctrl+C");
        finish(&f, LIMIT);
        CHECK(f.code == 1 && !*f.out.data && !strcmp(f.err.data, "memread: Ctrl+C: stopping\r\n"),
              "a waiting memread after Ctrl+C: exit %d, %s", f.code, f.err.data);
        if (ready)
            CloseHandle(ready);
    }
    /* Then the follower alone: memwrite is in a group of its own. */
    start_with(&w, NEW_GROUP, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        start(&f, L"memread", L"-f -m %ls", m);
        if (CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing"))
            CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0), "GenerateConsoleCtrlEvent: error %lu",
                  GetLastError());
        CHECK(WaitForSingleObject(f.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "the follower went on after Ctrl+C");
        finish(&f, LIMIT);
        CHECK(f.code == 0 && !strcmp(f.err.data, "memread: Ctrl+C: stopping\r\n"),
              "the follower after Ctrl+C: exit %d, %s", f.code, f.err.data);
        CHECK(WaitForSingleObject(w.pi.hProcess, 0) == WAIT_TIMEOUT,
              "Ctrl+C reached a memwrite in a process group of its own");
    }
    finish(&w, LIMIT);
    /* Then memwrite, as soon as it is ready. */
    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0), "GenerateConsoleCtrlEvent: error %lu",
              GetLastError());
        CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "memwrite went on after Ctrl+C");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0 && strstr(w.err.data, "memwrite: Ctrl+C: stopping"),
          "memwrite after Ctrl+C: exit %d, %s", w.code, w.err.data);
    CHECK(!exists(m), "the section outlived memwrite's Ctrl+C");
}

/* Keys typed at the console, as KEY_EVENT records. */
static BOOL type_keys(const wchar_t *s)
{
    INPUT_RECORD rec[512] = {0};
    HANDLE h = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    DWORD n = 0, done;
    BOOL ok;

    for (; *s && n < 510; s++)
        for (int down = 1; down >= 0; down--, n++) {
            rec[n].EventType = KEY_EVENT;
            rec[n].Event.KeyEvent.bKeyDown = down;
            rec[n].Event.KeyEvent.wRepeatCount = 1;
            rec[n].Event.KeyEvent.wVirtualKeyCode = *s == L'\r' ? VK_RETURN : 0;
            rec[n].Event.KeyEvent.uChar.UnicodeChar = *s;
        }
    ok = WriteConsoleInputW(h, rec, n, &done) && done == n;
    CloseHandle(h);
    return CHECK(ok, "WriteConsoleInputW: error %lu", GetLastError());
}

/* An update typed at the console arrives whole (ReadConsoleW), and Enter
   on an empty line stops memwrite, and so does a line that is Ctrl+Z. */
static void typed(const wchar_t *m)
{
    struct proc w;

    start_with(&w, CONSOLE_IN, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        type_keys(L"7 Ωμέγα 日本\r");
        CHECK(shows(m, "7\r\n\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1 \xe6\x97\xa5\xe6\x9c\xac\r\n",
                    5000), "the typed record never came");
        type_keys(L"\r");
        CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "memwrite went on after Enter at the console");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite at the console: exit %d, %s", w.code, w.err.data);
    /* Ctrl+Z, then Enter, is how Windows users end typed input. */
    start_with(&w, CONSOLE_IN, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        type_keys(L"8 n8\r\x1a\r");
        CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "memwrite went on after Ctrl+Z and Enter at the console");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0 && one_line(w.err.data), "memwrite after Ctrl+Z: exit %d, %s", w.code,
          w.err.data);
}

struct spinner {
    struct fake f;
    volatile LONG wake;         /* 1: set the generation's event after each version */
    volatile LONG stop;
};

/* A new version every microsecond or so, and a wake-up after each: seq
   goes up by 2 (the record stays whole), from several threads so that one
   always runs, and seldom enough that a reader's copy holds still. */
static DWORD WINAPI spin(void *arg)
{
    struct spinner *sp = arg;
    unsigned char *v = MapViewOfFile(sp->f.map, FILE_MAP_WRITE, 0, 0, 32);

    while (v && !sp->stop) {
        InterlockedExchangeAdd((LONG *)(v + 24), 2);
        for (int k = 0; k < 200; k++)
            YieldProcessor();
        if (sp->wake)
            SetEvent(sp->f.gen);    /* as if memwrite woke it each time */
    }
    if (v)
        UnmapViewOfFile(v);
    return 0;
}

/* Ctrl+C stops a follower at once even while records and wake-ups come
   without a pause, so that it never waits for long, if at all. (Before
   each turn looked for Ctrl+C, this took 1.9 s or more here, or forever.) */
static void ctrl_busy(const wchar_t *m)
{
    struct spinner sp = {0};
    struct proc f;
    HANDLE t[6];

    SetConsoleCtrlHandler(swallow, TRUE);
    fake_section(&sp.f, m, 0, "n0", 2);
    SetEvent(sp.f.ready);
    start(&f, L"memread", L"-f -m %ls", m);
    CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
    for (int i = 0; i < 6; i++)
        t[i] = CreateThread(NULL, 0, spin, &sp, 0, NULL);
    sp.wake = 1;
    Sleep(300);
    CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0), "GenerateConsoleCtrlEvent: error %lu",
          GetLastError());
    CHECK(WaitForSingleObject(f.pi.hProcess, 500) == WAIT_OBJECT_0,
          "the follower went on for 500 ms after Ctrl+C while records kept coming");
    sp.stop = 1;
    WaitForMultipleObjects(6, t, TRUE, INFINITE);
    for (int i = 0; i < 6; i++)
        CloseHandle(t[i]);
    finish(&f, LIMIT);
    CHECK(f.code == 0 && !strcmp(f.err.data, "memread: Ctrl+C: stopping\r\n"),
          "the follower after Ctrl+C: exit %d, %s", f.code, f.err.data);
    unfake(&sp.f);
}

/* With stderr a pipe nobody drains, refused lines fill it and memwrite's
   next message blocks; Ctrl+C still stops it, cleanly. */
static void stuck_stderr(const wchar_t *m)
{
    static char lines[2 * 5000];
    struct proc w;

    SetConsoleCtrlHandler(swallow, TRUE);
    for (int i = 0; i < 5000; i++)
        memcpy(lines + 2 * i, "x\n", 2);        /* each refused: no NAME */
    start_with(&w, ERR_STUCK, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        say_n(&w, lines, sizeof lines);
        Sleep(500);
        CHECK(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0), "GenerateConsoleCtrlEvent: error %lu",
              GetLastError());
        CHECK(WaitForSingleObject(w.pi.hProcess, 5000) == WAIT_OBJECT_0,
              "memwrite went on after Ctrl+C, with its stderr full");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 1, "memwrite after refused lines and Ctrl+C: exit %d", w.code);
    CHECK(!exists(m), "the section outlived memwrite's Ctrl+C");
}

static void (*const console_cases[])(const wchar_t *) = {console, ctrl, typed, ctrl_busy,
                                                            stuck_stderr};

/* Run console case k in a child with a console of its own. */
static void in_console(int k, const wchar_t *m)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOW si = {0};
    PROCESS_INFORMATION pi;
    wchar_t self[MAX_PATH], cmd[MAX_PATH + 200];
    struct buf report = {0};
    HANDLE w;
    DWORD code = 1;

    si.cb = sizeof si;
    GetModuleFileNameW(NULL, self, MAX_PATH);
    if (!CreatePipe(&report.pipe, &w, &sa, 0)) {
        bad("CreatePipe: error %lu", GetLastError());
        return;
    }
    SetHandleInformation(report.pipe, HANDLE_FLAG_INHERIT, 0);
    swprintf(cmd, MAX_PATH + 200, L"\"%ls\" --console %d %llu %ls", self, k,
             (unsigned long long)(ULONG_PTR)w, m);
    if (!CreateProcessW(self, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
        bad("CreateProcess for a console: error %lu", GetLastError());
        CloseHandle(w);
        CloseHandle(report.pipe);
        return;
    }
    CloseHandle(w);
    report.thread = CreateThread(NULL, 0, drain, &report, 0, NULL);
    if (WaitForSingleObject(pi.hProcess, 60000) != WAIT_OBJECT_0) {
        TerminateProcess(pi.hProcess, 99);
        bad("the console child ran past 60 s and was killed");
    }
    GetExitCodeProcess(pi.hProcess, &code);
    collect(&report);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    if (code)
        bad("%s", *report.data ? report.data : "the console child failed with no word");
}

void console_case(const wchar_t *m)
{
    in_console(0, m);
}

void ctrl_case(const wchar_t *m)
{
    in_console(1, m);
}

void typed_case(const wchar_t *m)
{
    in_console(2, m);
}

void ctrl_busy_case(const wchar_t *m)
{
    in_console(3, m);
}

void stuck_stderr_case(const wchar_t *m)
{
    in_console(4, m);
}

/* run --console K HANDLE MAPPING: the child's side. */
int console_child(wchar_t **argv)
{
    HANDLE report = (HANDLE)(ULONG_PTR)_wcstoui64(argv[3], NULL, 10);
    DWORD n;

    console_cases[_wtoi(argv[2]) % 5](argv[4]);
    WriteFile(report, why, (DWORD)strlen(why), &n, NULL);
    CloseHandle(report);
    return *why != 0;
}
