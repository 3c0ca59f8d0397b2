/* memread: print the student record that memwrite shares, once or as it changes */
#include "student.h"

#define WAIT_MAX 86400          /* seconds -w takes at most: a day */
#define POLL_MS  50             /* how often to look for another program's section */
#define STUCK_MS 1000           /* how long a record may stay half-written */

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
    L"Exit status: 0 printed (with -f: and memwrite stopped); 1 no such mapping,\n"
    L"not ready in time, bad record, memwrite died, output failed or Windows\n"
    L"refused; 2 usage error.\n";

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

static DWORD left_until(ULONGLONG deadline)
{
    ULONGLONG now = GetTickCount64();

    return now < deadline ? (DWORD)(deadline - now) : 0;
}

/* Does memwrite hold MAPPING (or did it, for followers still holding on)? */
static BOOL has_writer(const wchar_t *mapping)
{
    wchar_t name[MAX_PATH];
    HANDLE h;

    object_name(name, mapping, ALIVE);
    if ((h = OpenMutexW(SYNCHRONIZE, FALSE, name)) != NULL)
        CloseHandle(h);
    return h != NULL;
}

/* Open the section once a record is in it, waiting until the deadline:
   memwrite's when it sets its ready event, which wakes us at once; another
   program's, with no memwrite beside it, as soon as it is found. *ours
   tells which. */
static HANDLE open_section(const wchar_t *mapping, ULONGLONG deadline, BOOL *ours)
{
    wchar_t name[MAX_PATH];
    HANDLE ready, map;
    BOOL early;
    DWORD r, err;

    object_name(name, mapping, READY);
    /* memwrite's ready event, or a new one to wait on until memwrite comes */
    if (!(ready = CreateEventExW(NULL, name, CREATE_EVENT_MANUAL_RESET, SYNCHRONIZE))) {
        fail(L"CreateEvent", name, GetLastError(), NULL);
        return NULL;
    }
    for (;;) {
        if ((r = WaitForSingleObject(ready, min(POLL_MS, left_until(deadline)))) == WAIT_FAILED) {
            fail(L"WaitForSingleObject", name, GetLastError(), NULL);
            CloseHandle(ready);
            return NULL;
        }
        map = OpenFileMappingW(FILE_MAP_READ, FALSE, mapping);
        err = GetLastError();
        *ours = r == WAIT_OBJECT_0;
        early = map && !*ours && has_writer(mapping);   /* memwrite's, not ready */
        if (!early && (map || *ours || err != ERROR_FILE_NOT_FOUND))
            break;
        if (!left_until(deadline))
            break;
        if (map)
            CloseHandle(map);
    }
    CloseHandle(ready);
    if (!map)
        fail(L"OpenFileMapping", mapping, err, err == ERROR_FILE_NOT_FOUND
             ? L"is memwrite running, and with the same -m?" : NULL);
    if (map && early) {
        warn(L"\"%ls\": the record is not ready: its writer has not finished; "
             L"a longer -w may help", mapping);
        CloseHandle(map);
        map = NULL;
    }
    return map;
}

/* The seqlock's read side: copy a whole version of memwrite's record and
   give its seq. FALSE if seq stays odd or keeps changing for STUCK_MS (a
   writer killed mid-write, or not memwrite). The copy races with the writer
   by design; only a copy that seq vouches for is kept. */
static BOOL snapshot(const struct shared *s, struct student *rec, LONG *seq)
{
    const volatile LONG *counter = &s->seq;
    ULONGLONG give_up = GetTickCount64() + STUCK_MS;

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
static int print_record(const wchar_t *mapping, const struct student *rec)
{
    const char *nul = memchr(rec->name, 0, sizeof rec->name);
    wchar_t text[6 * sizeof rec->name + 32];

    if (!nul || nul == rec->name) {
        warn(L"\"%ls\": bad record: %ls", mapping,
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

static void stuck(const wchar_t *mapping)
{
    warn(L"\"%ls\": the record stays half-written: its writer died mid-write, "
         L"or is not memwrite", mapping);
}

static HANDLE interrupted;      /* set by Ctrl+C or Ctrl+Break while following */

static BOOL WINAPI on_ctrl(DWORD type)
{
    if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT)
        return FALSE;
    warn(L"%ls: stopping", type == CTRL_C_EVENT ? L"Ctrl+C" : L"Ctrl+Break");
    SetEvent(interrupted);
    return TRUE;
}

/* The objects a follower needs beside memwrite's section. */
struct follower {
    HANDLE alive, sleep_map, wake;
    struct sleepers *sleep;
    LONG slot;
};

/* Open them, take a free slot and make its event; if one cannot be had,
   FALSE with its name in name. */
static BOOL open_follower(const wchar_t *mapping, struct follower *f, wchar_t name[MAX_PATH])
{
    LONG me = (LONG)GetCurrentProcessId(), used;

    object_name(name, mapping, ALIVE);
    if (!(f->alive = OpenMutexW(SYNCHRONIZE, FALSE, name)))
        return FALSE;
    object_name(name, mapping, SLEEP);
    if (!(f->sleep_map = OpenFileMappingW(FILE_MAP_WRITE, FALSE, name))
        || !(f->sleep = MapViewOfFile(f->sleep_map, FILE_MAP_WRITE, 0, 0, sizeof *f->sleep)))
        return FALSE;
    for (f->slot = 0; f->slot < SLOTS; f->slot++)
        if (!InterlockedCompareExchange(&f->sleep->slot[f->slot].pid, me, 0))
            break;
    if (f->slot == SLOTS) {
        SetLastError(ERROR_TOO_MANY_SEMAPHORES);    /* no better word for "all taken" */
        return FALSE;
    }
    while ((used = *(volatile LONG *)&f->sleep->used) <= f->slot)
        InterlockedCompareExchange(&f->sleep->used, f->slot + 1, used);
    slot_name(name, mapping, f->slot);
    f->wake = CreateEventW(NULL, FALSE, FALSE, name);   /* auto-reset, not set */
    return f->wake != NULL;
}

static void close_follower(struct follower *f)
{
    if (f->wake)
        CloseHandle(f->wake);
    if (f->sleep && f->slot < SLOTS) {
        InterlockedExchange(&f->sleep->slot[f->slot].asked, 0);
        InterlockedExchange(&f->sleep->slot[f->slot].pid, 0);   /* free for the next */
    }
    if (f->sleep)
        UnmapViewOfFile(f->sleep);
    if (f->sleep_map)
        CloseHandle(f->sleep_map);
    if (f->alive)
        CloseHandle(f->alive);
}

/* memread -f: print each newer version until memwrite stops, sleeping in
   between. To sleep, a follower sets asked in its slot, looks at seq one
   last time, and waits on its own event; after each publish memwrite sets
   the event of each follower that asked. A publish either comes after the
   follower asked, and wakes it, or before its last look, which sees it, so
   no wake-up is lost; and an event belongs to one follower, so no other
   can take its wake-up. An event set for a follower that then did not
   wait makes one extra turn of the loop, no more. */
static int follow(const wchar_t *mapping, const struct shared *s)
{
    const volatile LONG *seq_now = &s->seq, *stopped_now = &s->stopped;
    struct follower f = {0};
    wchar_t name[MAX_PATH];
    struct student rec;
    LONG seq, printed = 1;      /* odd: no whole version has this seq */
    BOOL stopped;
    HANDLE h[3];
    int rc = EXIT_FAIL;
    DWORD r;

    if (!(interrupted = CreateEventW(NULL, TRUE, FALSE, NULL))      /* manual reset, not set */
        || !SetConsoleCtrlHandler(on_ctrl, TRUE)) {
        fail(L"SetConsoleCtrlHandler", mapping, GetLastError(), NULL);
        return EXIT_FAIL;
    }
    /* Once memwrite has stopped, the objects may be gone: the record is all. */
    if (!open_follower(mapping, &f, name) && !*stopped_now) {
        fail(L"following", name, GetLastError(), NULL);
        close_follower(&f);
        CloseHandle(interrupted);
        return EXIT_FAIL;
    }
    h[0] = f.wake;
    h[1] = f.alive;
    h[2] = interrupted;
    for (;;) {
        stopped = *stopped_now;
        /* Read the stop flag before the record: memwrite sets it after its
           last record, so a stop seen here means that record is the last. */
        MemoryBarrier();
        if (!snapshot(s, &rec, &seq)) {
            stuck(mapping);
            break;
        }
        if (seq != printed) {
            if (print_record(mapping, &rec) != EXIT_OK)
                break;
            printed = seq;
        }
        if (stopped) {
            rc = EXIT_OK;
            break;
        }
        InterlockedExchange(&f.sleep->slot[f.slot].asked, 1);
        /* Ask, then look: the request is visible before seq is read again. */
        MemoryBarrier();
        if (*seq_now != printed || *stopped_now)
            continue;
        r = WaitForMultipleObjects(3, h, FALSE, INFINITE);
        if (r == WAIT_OBJECT_0 + 2) {
            rc = EXIT_OK;       /* Ctrl+C */
            break;
        } else if (r == WAIT_OBJECT_0 + 1 || r == WAIT_ABANDONED_0 + 1) {
            ReleaseMutex(f.alive);      /* memwrite is gone: pass it on */
            if (!*stopped_now) {
                warn(L"\"%ls\": memwrite ended without stopping: killed or crashed", mapping);
                break;
            }
        } else if (r != WAIT_OBJECT_0) {
            fail(L"WaitForMultipleObjects", mapping, GetLastError(), NULL);
            break;
        }
    }
    CloseHandle(interrupted);
    close_follower(&f);
    return rc;
}

/* Read MAPPING's record, once or, following, until memwrite stops. */
static int read_record(const wchar_t *mapping, ULONGLONG deadline, BOOL following)
{
    const struct shared *view;
    struct student rec;
    BOOL ours;
    HANDLE map;
    LONG seq;
    int rc = EXIT_FAIL;

    if (!(map = open_section(mapping, deadline, &ours)))
        return EXIT_FAIL;
    /* Another program's section may hold the record alone: map only that. */
    if (!(view = MapViewOfFile(map, FILE_MAP_READ, 0, 0, ours ? sizeof *view : sizeof rec)))
        fail(L"MapViewOfFile", mapping, GetLastError(), NULL);
    else if (following && !ours)
        warn(L"\"%ls\": no memwrite shares this section: there is nothing to follow", mapping);
    else if (following)
        rc = follow(mapping, view);
    else if (!ours)
        rc = print_record(mapping, memcpy(&rec, view, sizeof rec));
    else if (!snapshot(view, &rec, &seq))
        stuck(mapping);
    else
        rc = print_record(mapping, &rec);
    if (view)
        UnmapViewOfFile(view);
    CloseHandle(map);
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
    return read_record(mapping, GetTickCount64() + wait_ms, following);
}
