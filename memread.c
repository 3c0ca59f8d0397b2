/* memread: print the student record that memwrite shares, once or as it changes */
#include "student.h"
#include <limits.h>

#define WAIT_MAX 86400          /* seconds -w takes at most: a day */
#define POLL_MS  50             /* how often to look for another program's section */
#define STUCK_MS 1000           /* how long a record may stay half-written */

/* A hint for a call refused with err. */
static const wchar_t *denied(DWORD err)
{
    return err == ERROR_ACCESS_DENIED
           ? L"memwrite's -s SDDL does not let you: ask whoever runs it" : NULL;
}

/* Security attributes from SDDL, for an object made here for another
   program to open; the descriptor is freed with LocalFree. FALSE on failure. */
static BOOL attributes(const wchar_t *sddl, SECURITY_ATTRIBUTES *sa)
{
    *sa = (SECURITY_ATTRIBUTES){sizeof *sa, NULL, FALSE};
    return advapi.ConvertStringSecurityDescriptorToSecurityDescriptorW(
        sddl, SDDL_REVISION_1, &sa->lpSecurityDescriptor, NULL);
}

static wchar_t cut[48];
static const wchar_t *shown;    /* the mapping's name in messages, cut to 40 */

static const wchar_t help[] =
    L"usage: memread [-f] [-m MAPPING] [-w SECONDS]\n"
    L"Print the ID and the name of the student record shared in MAPPING.\n"
    L"  -f          follow: print the record, then each newer one memwrite publishes,\n"
    L"              until memwrite stops\n"
    L"  -m MAPPING  the section's name (default TestMemShare); Global\\ or Local\\ may lead\n"
    L"  -w SECONDS  wait up to SECONDS (0 to 86400, to the millisecond) for a writer\n"
    L"              to appear and finish writing (default 0: fail at once)\n"
    L"In the name, control characters and bytes that are not UTF-8 print as \\xHH,\n"
    L"C1 controls as \\u00HH and a backslash as \\\\.\n"
    L"Exit status: 0 printed (with -f: and memwrite stopped, or Ctrl+C); 1 no such\n"
    L"mapping, not ready in time, Ctrl+C while waiting, bad record, memwrite died,\n"
    L"output failed or Windows refused; 2 usage error.\n";

/* SECONDS: digits, then at most three decimals after a '.'. */
static BOOL parse_seconds(const wchar_t *s, DWORD *ms)
{
    DWORD whole = 0, frac = 0, scale = 1000;

    if (!*s || *s == L'.')
        return FALSE;
    for (; *s >= L'0' && *s <= L'9'; s++)
        if ((whole = whole * 10 + (*s - L'0')) > WAIT_MAX)
            return FALSE;
    if (*s == L'.' && s[1])
        for (s++; *s >= L'0' && *s <= L'9' && scale > 1; s++)
            frac += (*s - L'0') * (scale /= 10);
    if (*s || (whole == WAIT_MAX && frac))
        return FALSE;
    *ms = whole * 1000 + frac;
    return TRUE;
}

#define NO_DEADLINE ULLONG_MAX

static DWORD left_until(ULONGLONG deadline)
{
    ULONGLONG now = GetTickCount64();

    return now >= deadline ? 0 : deadline - now < INFINITE ? (DWORD)(deadline - now)
                                                           : INFINITE - 1;
}

/* Is MAPPING's .ready there and set? */
static BOOL is_ready(const wchar_t *mapping)
{
    wchar_t name[MAX_PATH];
    HANDLE h;
    BOOL set;

    object_name(name, mapping, READY);
    if (!(h = OpenEventW(SYNCHRONIZE, FALSE, name)))
        return FALSE;
    set = WaitForSingleObject(h, 0) == WAIT_OBJECT_0;
    CloseHandle(h);
    return set;
}

/* Is MAPPING's .alive there: does memwrite hold it, or did it? Opened to
   be seen, not waited on: memread never holds it. */
static BOOL has_writer(const wchar_t *mapping)
{
    wchar_t name[MAX_PATH];
    HANDLE h;

    object_name(name, mapping, ALIVE);
    if ((h = OpenMutexW(MUTANT_QUERY_STATE, FALSE, name)) != NULL)
        CloseHandle(h);
    return h != NULL;
}

static HANDLE interrupted;      /* set by Ctrl+C, Ctrl+Break or the console closing */
static volatile LONG stopping;  /* the same, for a loop that has no need to wait */
static HANDLE said;             /* set once the handler has said so */

/* Stop first, then say so: a stderr nobody drains may hold up the
   message, never the stop. A console closing: let main clean up. */
static BOOL WINAPI on_ctrl(DWORD type)
{
    if (type == CTRL_LOGOFF_EVENT)
        return TRUE;            /* anyone's logoff reaches a service: go on */
    InterlockedExchange(&stopping, 1);
    SetEvent(interrupted);
    if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT)
        Sleep(INFINITE);
    warn(L"%ls: stopping", type == CTRL_C_EVENT ? L"Ctrl+C" : L"Ctrl+Break");
    SetEvent(said);
    return TRUE;
}

/* Before memread waits (-w, -f): advapi32 loaded, for the objects it
   makes, and Ctrl+C caught, to stop memread through on_ctrl. FALSE, said,
   if not. */
static BOOL prepare_to_wait(void)
{
    DWORD err;

    if (interrupted)
        return TRUE;
    if ((err = load_advapi32()) != 0) {
        fail(L"LoadLibrary", L"advapi32.dll", err, NULL);
        return FALSE;
    }
    if ((interrupted = CreateEventW(NULL, TRUE, FALSE, NULL))   /* manual reset, not set */
        && (said = CreateEventW(NULL, TRUE, FALSE, NULL))
        && SetConsoleCtrlHandler(on_ctrl, TRUE))
        return TRUE;
    fail(L"SetConsoleCtrlHandler", L"Ctrl+C", GetLastError(), NULL);
    return FALSE;
}

/* One look for MAPPING's section: a view of it once a record is in it,
   and its handle in *map (which keeps its name), or NULL with the reason
   in *err (ERROR_FILE_NOT_FOUND, ERROR_NOT_READY: not yet) and the call
   that failed in *call. It is memwrite's (*ours: a record and a seqlock) if
   .alive exists, or if .ready was set and seq is not 0 (a memwrite that
   stopped); else another program's (the record alone). memwrite's holds a
   record once seq is not 0: .ready only wakes us. */
static const void *look(const wchar_t *mapping, BOOL ready, BOOL *ours, HANDLE *map,
                        DWORD *err, const wchar_t **call)
{
    const struct shared *s;

    *call = L"OpenFileMapping";
    if (!(*map = OpenFileMappingW(FILE_MAP_READ, FALSE, mapping))) {
        *err = GetLastError();
        return NULL;
    }
    /* Anyone may set a .ready that a reader made, over a section of any
       size (a view larger than the section fails on Windows; Wine maps
       the page): with .alive gone, only a record in it makes it memwrite's. */
    *ours = has_writer(mapping);
    s = NULL;
    if (*ours || ready || is_ready(mapping))
        s = MapViewOfFile(*map, FILE_MAP_READ, 0, 0, sizeof *s);
    if (s && !*ours)
        *ours = *(volatile LONG *)&s->seq != 0;
    else if (!*ours)
        s = MapViewOfFile(*map, FILE_MAP_READ, 0, 0, sizeof s->rec);
    *err = s ? ERROR_NOT_READY : GetLastError();
    *call = L"MapViewOfFile";
    if (s && (!*ours || *(volatile LONG *)&s->seq))
        return s;
    if (s)
        UnmapViewOfFile(s);
    CloseHandle(*map);
    return NULL;
}

static BOOL not_yet(DWORD err)
{
    return err == ERROR_FILE_NOT_FOUND || err == ERROR_NOT_READY;
}

/* Wait for MAPPING's section to hold a record until the deadline or Ctrl+C:
   memwrite's .ready wakes us as it is set; another program's section is
   looked for every POLL_MS. NULL with *err 0 if said already. */
static const void *wait_view(const wchar_t *mapping, ULONGLONG deadline, BOOL *ours,
                             HANDLE *map, DWORD *err, const wchar_t **call)
{
    wchar_t name[MAX_PATH], sddl[64];
    const void *view = NULL;
    SECURITY_ATTRIBUTES sa;
    HANDLE h[2];
    DWORD r;

    if (!prepare_to_wait()) {
        *err = 0;
        return NULL;
    }
    object_name(name, mapping, READY);
    /* memwrite's ready event, or a new one to wait on until memwrite comes,
       which any memwrite may set (SYNCHRONIZE | EVENT_MODIFY_STATE), whoever
       runs it, at any integrity level from medium: readers do not trust it. */
    _snwprintf_s(sddl, 64, _TRUNCATE, L"D:(A;;0x100002;;;WD)%ls", write_label());
    if (!attributes(sddl, &sa)) {
        fail(L"ConvertStringSecurityDescriptor", name, GetLastError(), NULL);
        *err = 0;
        return NULL;
    }
    h[0] = CreateEventExW(&sa, name, CREATE_EVENT_MANUAL_RESET, SYNCHRONIZE);
    *err = GetLastError();
    LocalFree(sa.lpSecurityDescriptor);
    if (!h[0]) {
        fail(L"CreateEvent", name, *err, denied(*err));
        *err = 0;
        return NULL;
    }
    h[1] = interrupted;
    do {
        r = WaitForMultipleObjects(2, h, FALSE, min(POLL_MS, left_until(deadline)));
        if (r == WAIT_FAILED) {
            fail(L"WaitForMultipleObjects", name, GetLastError(), NULL);
            *err = 0;
        } else if (r == WAIT_OBJECT_0 + 1) {
            *err = 0;           /* Ctrl+C: the handler says so */
        } else if ((view = look(mapping, r == WAIT_OBJECT_0, ours, map, err, call)) == NULL
                   && r == WAIT_OBJECT_0) {    /* set, but by a writer gone */
            WaitForSingleObject(interrupted, min(POLL_MS / 5, left_until(deadline)));
        }
    } while (!view && not_yet(*err) && left_until(deadline) && !stopping);
    CloseHandle(h[0]);
    return view;
}

/* A view of MAPPING's section once a record is in it, and its handle in
   *map; NULL, said, if there is none by the deadline. When the record is
   there, memread does what the article's does: no event, no handler. */
static const void *open_view(const wchar_t *mapping, ULONGLONG deadline, BOOL *ours,
                             HANDLE *map)
{
    const wchar_t *call;
    DWORD err;
    const void *view = look(mapping, FALSE, ours, map, &err, &call);

    if (!view && not_yet(err) && left_until(deadline))
        view = wait_view(mapping, deadline, ours, map, &err, &call);
    if (view || !err)
        return view;
    if (err == ERROR_NOT_READY)
        warn(L"\"%ls\": the record is not ready: its writer has not finished; "
             L"a longer -w may help", shown);
    else
        fail(call, mapping, err, err == ERROR_FILE_NOT_FOUND
             ? L"is memwrite running, and with the same -m? -w SECONDS waits for it"
             : denied(err));
    return NULL;
}

/* The seqlock's read side: copy a whole version of memwrite's record and
   give its seq. FALSE if seq stays odd or keeps changing for ms (its
   writer stopped mid-write, or is not memwrite). The copy races with the
   writer by design; only a copy that seq vouches for is kept. */
static BOOL snapshot(const struct shared *s, struct student *rec, LONG *seq, DWORD ms)
{
    const volatile LONG *counter = &s->seq;
    ULONGLONG give_up = GetTickCount64() + ms;

    for (unsigned tries = 1;; tries++) {
        LONG before = *counter;
        /* Read seq before any byte of the record. */
        MemoryBarrier();
        memcpy(rec, &s->rec, sizeof *rec);
        /* Finish the copy before seq is read again: an acquire load of seq
           would not keep the copy's loads before it. */
        MemoryBarrier();
        if (!(before & 1) && *counter == before) {
            *seq = before;
            return TRUE;
        }
        if (tries % 64 == 0) {
            if (GetTickCount64() >= give_up)
                return FALSE;
            Sleep(tries < 1024 ? 0 : 1);    /* let a preempted writer finish */
        }
    }
}

/* Length of the UTF-8 sequence at s (at most n bytes) and its code point,
   or 0 if it is not valid UTF-8: overlong, a surrogate, past U+10FFFF. */
static int utf8_decode(const unsigned char *s, size_t n, DWORD *cp)
{
    static const DWORD least[] = {0, 0, 0x80, 0x800, 0x10000};
    int len = s[0] < 0x80 ? 1 : s[0] < 0xc0 ? 0 : s[0] < 0xe0 ? 2
            : s[0] < 0xf0 ? 3 : s[0] < 0xf8 ? 4 : 0;

    if (len == 0 || (size_t)len > n)
        return 0;
    *cp = len == 1 ? s[0] : s[0] & (0x3f >> (len - 1));
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = *cp << 6 | (s[i] & 0x3f);
    }
    if (*cp < least[len] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

/* The name as text that is safe on a terminal: escapes for control
   characters, for bytes that are not UTF-8, and for the backslash. */
static void render(const char *name, size_t n, wchar_t *out)
{
    const unsigned char *s = (const unsigned char *)name;
    DWORD cp;
    int len;

    for (size_t i = 0; i < n; i += len ? len : 1) {
        len = utf8_decode(s + i, n - i, &cp);
        if (!len)
            out += swprintf(out, 5, L"\\x%02x", s[i]);
        else if (cp < 0x20 || cp == 0x7f)
            out += swprintf(out, 5, L"\\x%02lx", cp);
        else if (cp >= 0x80 && cp <= 0x9f)
            out += swprintf(out, 7, L"\\u%04lx", cp);
        else if (cp == L'\\')
            out += swprintf(out, 3, L"\\\\");
        else if (cp >= 0x10000) {
            *out++ = (wchar_t)(0xd800 + ((cp - 0x10000) >> 10));
            *out++ = (wchar_t)(0xdc00 + (cp & 0x3ff));
        } else
            *out++ = (wchar_t)cp;
    }
    *out = 0;
}

/* Print the record as two lines, ID then name; EXIT_FAIL if it is bad or
   stdout fails. */
static int print_record(const struct student *rec)
{
    const char *nul = memchr(rec->name, 0, sizeof rec->name);
    wchar_t text[6 * sizeof rec->name + 32];

    if (!nul || nul == rec->name) {
        warn(L"\"%ls\": bad record: %ls", shown,
             nul ? L"the name is empty" : L"the name has no NUL in its 20 bytes");
        return EXIT_FAIL;
    }
    swprintf(text, 16, L"%ld\n", (long)rec->id);
    render(rec->name, nul - rec->name, text + wcslen(text));
    wcscat_s(text, sizeof text / sizeof *text, L"\n");
    if (!put(GetStdHandle(STD_OUTPUT_HANDLE), text)) {
        fail(L"writing", L"stdout", GetLastError(), NULL);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* memwrite's process, by the pid and the start time in its section (read
   once; constant since before the first record), or NULL and *err:
   ERROR_INVALID_PARAMETER if it has ended, its pid perhaps another's now. */
static HANDLE open_writer(const struct shared *s, DWORD *err)
{
    FILETIME started = s->started, times[4];
    HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                           (DWORD)*(const volatile LONG *)&s->pid);

    if (!h) {
        *err = GetLastError();
        return NULL;
    }
    if (!GetProcessTimes(h, &times[0], &times[1], &times[2], &times[3]))
        *err = GetLastError();
    else if (CompareFileTime(&times[0], &started))
        *err = ERROR_INVALID_PARAMETER;         /* a later process under its pid */
    else
        return h;
    CloseHandle(h);
    return NULL;
}

static BOOL running(HANDLE process)
{
    return process && WaitForSingleObject(process, 0) == WAIT_TIMEOUT;
}

/* A whole version of memwrite's record, as snapshot() gives it; but one
   that stays half-written while memwrite's process runs (suspended, or
   slowed) is waited for until the deadline, looking every POLL_MS. FALSE,
   said unless Ctrl+C came, if there is none. *writer is memwrite's
   process, opened here if it is not yet. */
static BOOL settled(const struct shared *s, HANDLE *writer, ULONGLONG deadline,
                    struct student *rec, LONG *seq)
{
    DWORD ms = STUCK_MS, err;

    while (!snapshot(s, rec, seq, ms)) {
        if (!*writer)
            *writer = open_writer(s, &err);
        if (!running(*writer)) {
            warn(L"\"%ls\": the record stays half-written: its writer died mid-write, "
                 L"or is not memwrite", shown);
            return FALSE;
        }
        if (stopping)
            return FALSE;
        if (!left_until(deadline)) {
            warn(L"\"%ls\": the record stays half-written: its writer is running but has "
                 L"not finished it; a longer -w may help", shown);
            return FALSE;
        }
        WaitForSingleObject(*writer, min(POLL_MS, left_until(deadline)));
        ms = 0;
    }
    return TRUE;
}

static void died(void)
{
    warn(L"\"%ls\": memwrite ended without stopping: killed or crashed", shown);
}

/* What a follower holds beside memwrite's section. */
struct follower {
    HANDLE alive;               /* kept open, never waited on: see look() */
    HANDLE sleep_map;
    LONG *asking;               /* .sleep */
    HANDLE writer;              /* memwrite's process, or NULL: it had ended */
    HANDLE event;               /* the event of generation gen, or NULL */
    LONG gen;
};

/* Open .alive, which keeps the section memwrite's for readers after it
   stops; .sleep, to ask for wake-ups; and memwrite's process, to see it
   end. 0, or an error with its object's name in name. */
static DWORD open_follower(const wchar_t *mapping, const struct shared *s, struct follower *f,
                           wchar_t name[MAX_PATH])
{
    DWORD err = 0;

    object_name(name, mapping, ALIVE);
    if (!(f->alive = OpenMutexW(MUTANT_QUERY_STATE, FALSE, name)))
        return GetLastError();
    object_name(name, mapping, SLEEP);
    if (!(f->sleep_map = OpenFileMappingW(FILE_MAP_WRITE, FALSE, name))
        || !(f->asking = MapViewOfFile(f->sleep_map, FILE_MAP_WRITE, 0, 0, sizeof *f->asking)))
        return GetLastError();
    wcscpy_s(name, MAX_PATH, L"memwrite's process");
    if (!(f->writer = open_writer(s, &err)) && err == ERROR_INVALID_PARAMETER)
        err = 0;                /* it has ended: follow() sees how */
    return err;
}

static void close_follower(struct follower *f)
{
    if (f->event)
        CloseHandle(f->event);
    if (f->writer)
        CloseHandle(f->writer);
    if (f->asking)
        UnmapViewOfFile(f->asking);
    if (f->sleep_map)
        CloseHandle(f->sleep_map);
    if (f->alive)
        CloseHandle(f->alive);
}

/* Ask memwrite to end this generation after its next publish, then look
   once more: *sleep is TRUE if nothing changed, with f->event the
   generation's. That event is memwrite's own, not a stranger's object
   under its name: memwrite makes each under a name that did not exist,
   and publishes the next name before it closes the old event, so the
   name read again after the open names the event that was opened. A
   publish either comes after the ask, and its wake-up ends this
   generation (waker() in memwrite.c), or before the look, which sees it.
   0, or why the event could not be opened, its name in name. */
static DWORD ask(struct follower *f, const wchar_t *mapping, const struct shared *s,
                 LONG printed, BOOL *sleep, wchar_t name[MAX_PATH])
{
    const volatile LONG *gen_now = &s->gen;
    LONG gen = *gen_now;
    DWORD err = 0;

    *sleep = FALSE;
    gen_name(name, mapping, gen);
    if (!f->event || gen != f->gen) {
        if (f->event)
            CloseHandle(f->event);
        if (!(f->event = OpenEventW(SYNCHRONIZE, FALSE, name)))
            err = GetLastError();
        f->gen = gen;
    }
    /* gen is read, and its event open, before asking is set: a turn of
       the waker that clears this ask ends that generation or a later one. */
    MemoryBarrier();
    InterlockedExchange(f->asking, 1);
    /* asking is set before seq, stopped and gen are read again. */
    MemoryBarrier();
    if (*(const volatile LONG *)&s->seq != printed || *(const volatile LONG *)&s->stopped
        || *gen_now != gen)
        return 0;               /* look again */
    if (err && running(f->writer))
        return err;             /* memwrite has this generation still: a real refusal */
    *sleep = TRUE;              /* on the event; or, memwrite gone, on its process */
    return 0;
}

/* memread -f: print each newer version until memwrite stops, sleeping in
   between on the generation's event, which memwrite sets once for all
   followers, or until memwrite's process ends. A stop sets stopped and
   then ends the generation; a death ends the process. */
static int follow(const wchar_t *mapping, const struct shared *s)
{
    const volatile LONG *stopped_now = &s->stopped;
    struct follower f = {0};
    wchar_t name[MAX_PATH];
    struct student rec;
    LONG seq, printed = 1;      /* odd: no whole version has this seq */
    BOOL stopped, sleep;
    HANDLE h[3];
    int rc = EXIT_FAIL;
    DWORD r, err;

    if (!prepare_to_wait())
        return EXIT_FAIL;
    /* Once memwrite has stopped, the objects may be gone: the record is all. */
    if ((err = open_follower(mapping, s, &f, name)) && !*stopped_now) {
        fail(L"following", name, err, denied(err));
        close_follower(&f);
        return EXIT_FAIL;
    }
    h[0] = interrupted;
    while (!stopping) {
        stopped = *stopped_now;
        /* Read the stop flag before the record: memwrite sets it after its
           last record, so a stop seen here means that record is the last. */
        MemoryBarrier();
        if (!settled(s, &f.writer, NO_DEADLINE, &rec, &seq))
            break;
        if (seq != printed) {
            if (print_record(&rec) != EXIT_OK)
                break;
            printed = seq;
        }
        if (stopped) {
            rc = EXIT_OK;
            break;
        }
        if (!f.writer) {        /* it had ended when we came: stopped, or died? */
            if (*stopped_now)
                continue;
            died();
            break;
        }
        if ((err = ask(&f, mapping, s, printed, &sleep, name)) != 0) {
            fail(L"following", name, err, denied(err));
            break;
        }
        if (!sleep)
            continue;
        h[1] = f.writer;
        h[2] = f.event;
        r = WaitForMultipleObjects(f.event ? 3 : 2, h, FALSE, INFINITE);
        if (r == WAIT_OBJECT_0 + 1 && !*stopped_now) {
            died();
            break;
        } else if (r == WAIT_FAILED) {
            fail(L"WaitForMultipleObjects", mapping, GetLastError(), NULL);
            break;
        }
    }
    if (stopping)
        rc = EXIT_OK;           /* Ctrl+C */
    close_follower(&f);
    return rc;
}

/* Read MAPPING's record, once or, following, until memwrite stops. */
static int read_record(const wchar_t *mapping, ULONGLONG deadline, BOOL following)
{
    const struct shared *view;
    struct student rec;
    HANDLE map, writer = NULL;
    BOOL ours;
    LONG seq;
    int rc = EXIT_FAIL;

    if (!(view = open_view(mapping, deadline, &ours, &map)))
        return EXIT_FAIL;       /* Ctrl+C too, while waiting: nothing was read */
    if (following && !ours)
        warn(L"\"%ls\": no memwrite shares this section: there is nothing to follow", shown);
    else if (following)
        rc = follow(mapping, view);
    else if (!ours)
        rc = print_record(memcpy(&rec, view, sizeof rec));
    else if (settled(view, &writer, deadline, &rec, &seq))
        rc = print_record(&rec);
    if (writer)
        CloseHandle(writer);
    UnmapViewOfFile(view);
    CloseHandle(map);
    return rc;
}

/* Ctrl+C's message, unless a stderr nobody drains holds it up. */
static int after_ctrl(int rc)
{
    if (stopping)
        WaitForSingleObject(said, 1000);
    return rc;
}

int wmain(int argc, wchar_t **argv)
{
    const wchar_t *mapping = DEFAULT_MAPPING, *why;
    BOOL following = FALSE;
    DWORD wait_ms = 0;
    int i;

    progname = L"memread";
    usage = L"usage: memread [-f] [-m MAPPING] [-w SECONDS]";
    for (i = 1; i < argc; i++) {
        if (!wcscmp(argv[i], L"-h") || !wcscmp(argv[i], L"--help")) {
            return put(GetStdHandle(STD_OUTPUT_HANDLE), help) ? EXIT_OK : EXIT_FAIL;
        } else if (!wcscmp(argv[i], L"-f")) {
            following = TRUE;
        } else if (!wcscmp(argv[i], L"-m")) {
            if (++i == argc)
                return usage_error(L"-m needs a MAPPING", NULL, NULL);
            mapping = argv[i];
        } else if (!wcscmp(argv[i], L"-w")) {
            if (++i == argc)
                return usage_error(L"-w needs SECONDS", NULL, NULL);
            if (!parse_seconds(argv[i], &wait_ms))
                return usage_error(L"bad SECONDS \"%ls\": not a number from 0 to 86400 "
                                   L"with at most 3 decimals", argv[i], NULL);
        } else {
            return usage_error(argv[i][0] == L'-' ? L"unknown option %ls"
                               : L"too many arguments: \"%ls\"", argv[i], NULL);
        }
    }
    if ((why = bad_mapping(mapping)) != NULL)
        return usage_error(L"bad MAPPING \"%ls\": %ls", mapping, why);
    shown = clip(mapping, cut);
    return after_ctrl(read_record(mapping, GetTickCount64() + wait_ms, following));
}
