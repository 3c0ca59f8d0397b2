/* memread: print the student record that memwrite shares in named memory */
#include "student.h"

#define WAIT_MAX 86400          /* seconds -w takes at most: a day */
#define POLL_MS  50             /* how often to look for a section that is not there yet */

static const wchar_t help[] =
    L"usage: memread [-m MAPPING] [-w SECONDS]\n"
    L"Print the ID and the name of the student record shared in MAPPING.\n"
    L"  -m MAPPING  the section's name (default TestMemShare); Global\\ or Local\\ may lead\n"
    L"  -w SECONDS  wait up to SECONDS (0 to 86400, to the millisecond) for a writer\n"
    L"              to appear and finish writing (default 0: fail at once)\n"
    L"In the name, control characters and bytes that are not UTF-8 print as \\xHH,\n"
    L"C1 controls as \\u00HH and a backslash as \\\\.\n"
    L"Exit status: 0 printed; 1 no such mapping, not ready in time, bad record,\n"
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

static DWORD left_until(ULONGLONG deadline)
{
    ULONGLONG now = GetTickCount64();

    return now < deadline ? (DWORD)(deadline - now) : 0;
}

/* Open the section, looking again every POLL_MS until the deadline. */
static HANDLE open_section(const wchar_t *mapping, ULONGLONG deadline)
{
    HANDLE map;
    DWORD err;

    while (!(map = OpenFileMappingW(FILE_MAP_READ, FALSE, mapping))) {
        err = GetLastError();
        if (err != ERROR_FILE_NOT_FOUND || !left_until(deadline)) {
            fail(L"OpenFileMapping", mapping, err, err == ERROR_FILE_NOT_FOUND
                 ? L"is memwrite running, and with the same -m?" : NULL);
            return NULL;
        }
        Sleep(min(POLL_MS, left_until(deadline)));
    }
    return map;
}

/* Wait for our writer's ready event, if the section has one. */
static BOOL wait_ready(const wchar_t *mapping, ULONGLONG deadline)
{
    wchar_t ready_event[MAX_PATH];
    HANDLE ready;
    DWORD r, err;

    ready_name(ready_event, mapping);
    if (!(ready = OpenEventW(SYNCHRONIZE, FALSE, ready_event))) {
        err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND)
            return TRUE;        /* a writer without the signal, as in the article */
        fail(L"OpenEvent", ready_event, err, NULL);
        return FALSE;
    }
    r = WaitForSingleObject(ready, left_until(deadline));
    err = GetLastError();
    CloseHandle(ready);
    if (r == WAIT_TIMEOUT)
        warn(L"\"%ls\": the record is not ready: its writer has not finished; "
             L"a longer -w may help", mapping);
    else if (r != WAIT_OBJECT_0)
        fail(L"WaitForSingleObject", ready_event, err, NULL);
    return r == WAIT_OBJECT_0;
}

/* Copy the record out of the section: the one read of shared memory. */
static BOOL copy_record(const wchar_t *mapping, ULONGLONG deadline, struct student *rec)
{
    const struct student *view = NULL;
    HANDLE map;

    if (!(map = open_section(mapping, deadline)))
        return FALSE;
    if (wait_ready(mapping, deadline)) {
        if ((view = MapViewOfFile(map, FILE_MAP_READ, 0, 0, sizeof *view)))
            memcpy(rec, view, sizeof *rec);
        else
            fail(L"MapViewOfFile", mapping, GetLastError(), NULL);
    }
    if (view)
        UnmapViewOfFile(view);
    CloseHandle(map);
    return view != NULL;
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

static int print_record(const wchar_t *mapping, const struct student *rec)
{
    const char *nul = memchr(rec->name, 0, sizeof rec->name);
    wchar_t text[4 * sizeof rec->name + 32];

    if (!nul || nul == rec->name) {
        warn(L"\"%ls\": bad record: %ls", mapping,
             nul ? L"the name is empty" : L"the name has no NUL in its 20 bytes");
        return EXIT_FAIL;
    }
    swprintf(text, 16, L"%ld\n", (long)rec->id);
    render(rec->name, nul - rec->name, text + wcslen(text));
    wcscat(text, L"\n");
    if (!put(stdout, text)) {
        fail(L"writing", L"stdout", GetLastError(), NULL);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int wmain(int argc, wchar_t **argv)
{
    const wchar_t *mapping = DEFAULT_MAPPING, *why;
    struct student rec;
    DWORD wait_ms = 0;
    int i;

    progname = L"memread";
    usage = L"usage: memread [-m MAPPING] [-w SECONDS]";
    for (i = 1; i < argc; i++) {
        if (!wcscmp(argv[i], L"-h") || !wcscmp(argv[i], L"--help")) {
            return put(stdout, help) ? EXIT_OK : EXIT_FAIL;
        } else if (!wcscmp(argv[i], L"-m")) {
            if (++i == argc)
                return usage_error(L"-m needs a MAPPING");
            mapping = argv[i];
        } else if (!wcscmp(argv[i], L"-w")) {
            if (++i == argc)
                return usage_error(L"-w needs SECONDS");
            if (!parse_seconds(argv[i], &wait_ms))
                return usage_error(L"bad SECONDS \"%ls\": not a number from 0 to %d "
                                   L"with at most 3 decimals", argv[i], WAIT_MAX);
        } else {
            return usage_error(argv[i][0] == L'-' ? L"unknown option %ls"
                               : L"too many arguments: \"%ls\"", argv[i]);
        }
    }
    if ((why = bad_mapping(mapping)))
        return usage_error(L"bad MAPPING \"%ls\": %ls", mapping, why);
    if (!copy_record(mapping, GetTickCount64() + wait_ms, &rec))
        return EXIT_FAIL;
    return print_record(mapping, &rec);
}
