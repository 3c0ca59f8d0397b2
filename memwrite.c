/* memwrite: share a student record in named memory, and update it from stdin */
#include "student.h"

#define LINE_MAX 256            /* longer than any good line: "ID NAME" */

static const wchar_t help[] =
    L"usage: memwrite [-m MAPPING] [--] [ID [NAME]]\n"
    L"Share a student record in the named memory MAPPING, then publish a new\n"
    L"record for each line \"ID NAME\" on stdin, such as \"42 Alice Smith\".\n"
    L"An empty line, end of input or Ctrl+C stops it.\n"
    L"  -m MAPPING  the section's name (default TestMemShare); Global\\ or Local\\ may lead\n"
    L"  ID          a whole number from -2147483648 to 2147483647 (default 99041232)\n"
    L"  NAME        1 to 19 bytes of UTF-8, no control characters (default SecBug)\n"
    L"  --          ends the options, so that an ID may start with -\n"
    L"On stdin: ID, spaces or tabs, then NAME, the rest of the line, by the same\n"
    L"rules; UTF-8 (or typed at a console). A bad line is reported and skipped.\n"
    L"Exit status: 0 shared and stopped; 1 the mapping exists already, Windows\n"
    L"refused, or a line was refused; 2 usage error.\n";

/* What memwrite holds while it shares, released in reverse order. */
struct writer {
    const wchar_t *mapping;
    HANDLE ready, alive, sleep_map, map;
    struct sleepers *sleep;
    HANDLE wake[SLOTS];         /* the followers' events, opened when first needed */
    struct shared *view;
    CRITICAL_SECTION lock;      /* one publish at a time, and none after the stop */
    HANDLE stop;                /* set by end of input, an empty line or Ctrl+C */
    unsigned long bad_lines;
};

static struct writer w;

static BOOL parse_id(const wchar_t *s, int32_t *id)
{
    int neg = *s == L'-';
    long long v = 0;

    s += neg;
    if (!*s)
        return FALSE;
    for (; *s; s++) {
        if (*s < L'0' || *s > L'9')
            return FALSE;
        v = v * 10 + (*s - L'0');
        if (v > 2147483648LL)
            return FALSE;
    }
    if (!neg && v > INT32_MAX)
        return FALSE;
    *id = (int32_t)(neg ? -v : v);
    return TRUE;
}

/* Store NAME as UTF-8 in the record, whole or not at all. */
static const wchar_t *set_name(char out[20], const wchar_t *name)
{
    int n;

    if (!*name)
        return L"it is empty";
    for (const wchar_t *p = name; *p; p++)
        if (is_control(*p))
            return L"it has a control character";
    n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, name, -1, NULL, 0, NULL, NULL);
    if (n == 0)
        return L"it is not valid Unicode";
    if (n > 20)
        return L"it is longer than 19 bytes of UTF-8";
    memset(out, 0, 20);
    WideCharToMultiByte(CP_UTF8, 0, name, -1, out, 20, NULL, NULL);
    return NULL;
}

/* Wake each follower that asked to be woken, by its own event. */
static void wake_followers(void)
{
    LONG used = min(*(volatile LONG *)&w.sleep->used, SLOTS);
    wchar_t name[MAX_PATH];

    for (LONG i = 0; i < used; i++) {
        if (!*(volatile LONG *)&w.sleep->slot[i].asked
            || !InterlockedExchange(&w.sleep->slot[i].asked, 0))
            continue;
        if (!w.wake[i]) {
            slot_name(name, w.mapping, i);
            w.wake[i] = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
        }
        if (w.wake[i])
            SetEvent(w.wake[i]);
    }
}

/* The seqlock's write side, then the wake-up. Windows documents each
   Interlocked call as a full barrier; clang before version 21 builds
   InterlockedIncrement for ARM64 with release order only, so the fences
   say what is needed outright. */
static void publish(const struct student *rec)
{
    EnterCriticalSection(&w.lock);
    InterlockedIncrement(&w.view->seq);
    /* seq is odd before any byte of rec changes. */
    MemoryBarrier();
    memcpy(&w.view->rec, rec, sizeof *rec);
    /* Every byte of rec is written before seq is even again. */
    MemoryBarrier();
    InterlockedIncrement(&w.view->seq);
    /* The even seq is visible before we read who asked to be woken: a
       follower that asks later sees it in its last look. */
    MemoryBarrier();
    wake_followers();
    LeaveCriticalSection(&w.lock);
}

/* Why a line of stdin is not "ID NAME", or NULL with rec filled in. */
static const wchar_t *parse_line(const char *line, size_t len, struct student *rec)
{
    wchar_t text[LINE_MAX + 1], *name;
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, line, (int)len,
                                text, LINE_MAX);

    if (!n)
        return L"it is not UTF-8";
    if (wmemchr(text, 0, n))
        return L"it has a control character";   /* a NUL would cut it short */
    text[n] = 0;
    name = text + wcscspn(text, L" \t");
    if (*name)
        *name++ = 0;
    name += wcsspn(name, L" \t");
    if (!*name)
        return L"no NAME after the ID";
    if (!parse_id(text, &rec->id))
        return L"bad ID: not a whole number from -2147483648 to 2147483647";
    return set_name(rec->name, name);
}

/* One line from stdin, without its line end: publish it or refuse it.
   FALSE to stop. A refusal is counted under the lock, so that none counts
   after the stop, and reported outside it: a stderr nobody drains may
   block the report, never the stop. */
static BOOL update(const char *line, size_t len, BOOL overlong, unsigned long number)
{
    struct student rec = {0};
    const wchar_t *why;

    if (!len && !overlong)
        return FALSE;           /* an empty line */
    why = overlong ? L"it is longer than any record could be" : parse_line(line, len, &rec);
    if (!why) {
        publish(&rec);
        return TRUE;
    }
    EnterCriticalSection(&w.lock);
    w.bad_lines++;
    LeaveCriticalSection(&w.lock);
    warn(L"line %lu: %ls", number, why);
    return TRUE;
}

/* Split what stdin gives into lines, in blocks of any size. */
struct lines {
    char line[3 + LINE_MAX + 1];    /* room for a BOM and a '\r' around the longest line */
    size_t len;
    BOOL overlong;
    unsigned long number;
};

static BOOL end_line(struct lines *l)
{
    size_t len = l->len;
    char *s = l->line;
    BOOL overlong = l->overlong;

    l->number++;
    l->len = 0;
    l->overlong = FALSE;
    if (l->number == 1 && len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
        s += 3, len -= 3;       /* a byte order mark */
    if (len && s[len - 1] == '\r')
        len--;
    return update(s, len, overlong || len > LINE_MAX, l->number);
}

static BOOL feed(struct lines *l, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            if (!end_line(l))
                return FALSE;
        } else if (l->len < sizeof l->line) {
            l->line[l->len++] = buf[i];
        } else {
            l->overlong = TRUE;
        }
    }
    return TRUE;
}

/* Read updates until an empty line or end of input: at a console as UTF-16
   with ReadConsoleW, so that any script typed arrives whole; else UTF-8. */
static DWORD WINAPI read_updates(void *unused)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    static struct lines l;
    static char buf[65536];
    static wchar_t typed[4096];
    DWORD mode, n;
    BOOL console = GetConsoleMode(in, &mode), more = TRUE;

    (void)unused;
    while (more) {
        if (console) {
            if (!ReadConsoleW(in, typed, 4096, &n, NULL) || !n)
                break;
            n = WideCharToMultiByte(CP_UTF8, 0, typed, n, buf, sizeof buf, NULL, NULL);
        } else if (!ReadFile(in, buf, sizeof buf, &n, NULL) || !n) {
            break;
        }
        more = feed(&l, buf, n);
    }
    if (more && (l.len || l.overlong))
        end_line(&l);           /* a last line with no line end */
    SetEvent(w.stop);
    return 0;
}

static BOOL WINAPI on_ctrl(DWORD type)
{
    if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT)
        warn(L"%ls: stopping", type == CTRL_C_EVENT ? L"Ctrl+C" : L"Ctrl+Break");
    SetEvent(w.stop);
    if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT)
        Sleep(INFINITE);        /* the console is closing: let main clean up */
    return TRUE;
}

/* Check a named object just made, with err the error its call left: one
   that existed already is another writer's. NULL, with a message, if bad. */
static HANDLE made(HANDLE h, DWORD err, const wchar_t *call, const wchar_t *name)
{
    const wchar_t *hint = NULL;

    if (h && err != ERROR_ALREADY_EXISTS)
        return h;
    if (h)
        hint = L"another program shares this mapping: stop it or use another -m";
    else if (err == ERROR_ACCESS_DENIED && !wcsncmp(name, L"Global\\", 7))
        hint = L"Global\\ needs SeCreateGlobalPrivilege: run as administrator";
    fail(call, name, err, hint);
    if (h)
        CloseHandle(h);
    return NULL;
}

/* Make the section and the objects beside it. Each exists before the
   section, so that a reader that finds the section finds them too. */
static BOOL make_objects(const wchar_t *mapping)
{
    wchar_t name[MAX_PATH];
    DWORD err;

    object_name(name, mapping, READY);
    w.ready = CreateEventW(NULL, TRUE, FALSE, name);    /* manual reset, not set */
    err = GetLastError();
    if (w.ready && err == ERROR_ALREADY_EXISTS && WaitForSingleObject(w.ready, 0) == WAIT_TIMEOUT)
        err = 0;                /* a reader made it to wait on; a set one is a writer's */
    if (!(w.ready = made(w.ready, err, L"CreateEvent", name)))
        return FALSE;
    object_name(name, mapping, ALIVE);
    w.alive = CreateMutexW(NULL, TRUE, name);           /* owned by this thread */
    if (!(w.alive = made(w.alive, GetLastError(), L"CreateMutex", name)))
        return FALSE;
    object_name(name, mapping, SLEEP);
    w.sleep_map = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                     sizeof *w.sleep, name);
    if (!(w.sleep_map = made(w.sleep_map, GetLastError(), L"CreateFileMapping", name)))
        return FALSE;
    if (!(w.sleep = MapViewOfFile(w.sleep_map, FILE_MAP_WRITE, 0, 0, sizeof *w.sleep))) {
        fail(L"MapViewOfFile", name, GetLastError(), NULL);
        return FALSE;
    }
    w.map = CreateFileMappingW(INVALID_HANDLE_VALUE, /* backed by the paging file */
                               NULL, PAGE_READWRITE, 0, sizeof *w.view, mapping);
    if (!(w.map = made(w.map, GetLastError(), L"CreateFileMapping", mapping)))
        return FALSE;
    if (!(w.view = MapViewOfFile(w.map, FILE_MAP_WRITE, 0, 0, sizeof *w.view))) {
        fail(L"MapViewOfFile", mapping, GetLastError(), NULL);
        return FALSE;
    }
    return TRUE;
}

/* A clean stop: no publish after this; the followers wake, see it, print
   the last record if they have not yet, and exit. */
static void stop_sharing(void)
{
    EnterCriticalSection(&w.lock);      /* kept: the stdin thread publishes no more */
    InterlockedExchange(&w.view->stopped, 1);   /* full barrier: after the last record */
    ReleaseMutex(w.alive);              /* wakes every follower, not abandoned */
}

static void release(void)
{
    if (w.view)
        UnmapViewOfFile(w.view);
    if (w.map)
        CloseHandle(w.map);
    for (int i = SLOTS - 1; i >= 0; i--)
        if (w.wake[i])
            CloseHandle(w.wake[i]);
    if (w.sleep)
        UnmapViewOfFile(w.sleep);
    if (w.sleep_map)
        CloseHandle(w.sleep_map);
    if (w.alive)
        CloseHandle(w.alive);
    if (w.ready)
        CloseHandle(w.ready);
}

static int share(const wchar_t *mapping, const struct student *rec, const wchar_t *name)
{
    HANDLE thread = NULL;
    int rc = EXIT_FAIL;

    /* The stop event, the Ctrl+C handler and the stdin thread come first:
       from the moment the record is shared, any of them may end it. */
    w.mapping = mapping;
    InitializeCriticalSection(&w.lock);
    if (!(w.stop = CreateEventW(NULL, TRUE, FALSE, NULL)) /* manual reset, not set */
        || !SetConsoleCtrlHandler(on_ctrl, TRUE)
        || !(thread = CreateThread(NULL, 0, read_updates, NULL, CREATE_SUSPENDED, NULL))) {
        fail(L"waiting for", L"stdin", GetLastError(), NULL);
        return EXIT_FAIL;
    }
    if (make_objects(mapping)) {
        publish(rec);
        if (!SetEvent(w.ready)) {
            fail(L"SetEvent", mapping, GetLastError(), NULL);
        } else {
            warn(L"sharing %ld \"%ls\" as \"%ls\"; \"ID NAME\" lines update it, "
                 L"an empty line stops", (long)rec->id, name, mapping);
            ResumeThread(thread);
            WaitForSingleObject(w.stop, INFINITE);
            rc = EXIT_OK;
        }
        stop_sharing();
        if (w.bad_lines)
            rc = EXIT_FAIL;
    }
    release();
    return rc;
}

int wmain(int argc, wchar_t **argv)
{
    const wchar_t *mapping = DEFAULT_MAPPING, *id = NULL, *name = L"" DEFAULT_NAME, *why;
    struct student rec = {DEFAULT_ID, DEFAULT_NAME};
    int i;

    progname = L"memwrite";
    usage = L"usage: memwrite [-m MAPPING] [--] [ID [NAME]]";
    for (i = 1; i < argc && argv[i][0] == L'-' && argv[i][1]; i++) {
        if (!wcscmp(argv[i], L"--")) {
            i++;
            break;
        } else if (!wcscmp(argv[i], L"-h") || !wcscmp(argv[i], L"--help")) {
            return put(GetStdHandle(STD_OUTPUT_HANDLE), help) ? EXIT_OK : EXIT_FAIL;
        } else if (!wcscmp(argv[i], L"-m")) {
            if (++i == argc)
                return usage_error(L"-m needs a MAPPING", NULL, NULL);
            mapping = argv[i];
        } else {
            return usage_error(L"unknown option %ls", argv[i], NULL);
        }
    }
    if (i < argc)
        id = argv[i++];
    if (i < argc)
        name = argv[i++];
    if (i < argc)
        return usage_error(L"too many arguments: \"%ls\"", argv[i], NULL);
    if ((why = bad_mapping(mapping)) != NULL)
        return usage_error(L"bad MAPPING \"%ls\": %ls", mapping, why);
    if (id && !parse_id(id, &rec.id))
        return usage_error(L"bad ID \"%ls\": not a whole number from -2147483648 "
                           L"to 2147483647", id, NULL);
    if ((why = set_name(rec.name, name)) != NULL)
        return usage_error(L"bad NAME \"%ls\": %ls", name, why);
    return share(mapping, &rec, name);
}
