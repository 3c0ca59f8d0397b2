/* memwrite: share a student record in named memory until told to stop */
#include "student.h"

static const wchar_t help[] =
    L"usage: memwrite [-m MAPPING] [--] [ID [NAME]]\n"
    L"Share a student record in the named memory MAPPING until Enter, end of\n"
    L"input, Ctrl+C, Ctrl+Break or the console closing.\n"
    L"  -m MAPPING  the section's name (default TestMemShare); Global\\ or Local\\ may lead\n"
    L"  ID          a whole number from -2147483648 to 2147483647 (default 99041232)\n"
    L"  NAME        1 to 19 bytes of UTF-8, no control characters (default SecBug)\n"
    L"  --          ends the options, so that an ID may start with -\n"
    L"Exit status: 0 shared and stopped; 1 the mapping exists already or Windows\n"
    L"refused; 2 usage error.\n";

static HANDLE stop;     /* set when it is time to unshare and exit */

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
        if (*p < 0x20 || (*p >= 0x7f && *p <= 0x9f))
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

static BOOL WINAPI on_ctrl(DWORD type)
{
    SetEvent(stop);
    if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT)
        Sleep(INFINITE);        /* the console is closing: let main clean up */
    return TRUE;
}

/* Raw ReadFile, not stdio: exit must not wait on a stream lock held here. */
static DWORD WINAPI watch_stdin(void *unused)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    DWORD n;
    char c;

    (void)unused;
    while (ReadFile(in, &c, 1, &n, NULL) && n == 1 && c != '\n')
        ;
    SetEvent(stop);
    return 0;
}

/* Block, using no CPU, until Enter, end of input or a console event. */
static int wait_for_stop(void)
{
    HANDLE thread;

    stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!stop || !SetConsoleCtrlHandler(on_ctrl, TRUE)
        || !(thread = CreateThread(NULL, 0, watch_stdin, NULL, 0, NULL))) {
        fail(L"waiting for", L"stdin", GetLastError(), NULL);
        return EXIT_FAIL;
    }
    CloseHandle(thread);
    WaitForSingleObject(stop, INFINITE);
    return EXIT_OK;
}

static int share(const wchar_t *mapping, const struct student *rec, const wchar_t *name)
{
    wchar_t ready_event[MAX_PATH];
    HANDLE ready = NULL, map = NULL;
    struct student *view = NULL;
    int rc = EXIT_FAIL;
    DWORD err;

    ready_name(ready_event, mapping);
    ready = CreateEventW(NULL, TRUE, FALSE, ready_event); /* manual reset, not set */
    err = GetLastError();
    if (!ready || err == ERROR_ALREADY_EXISTS) {
        fail(L"CreateEvent", ready_event, err,
             ready ? L"another memwrite shares this mapping: stop it or use another -m" : NULL);
        goto out;
    }
    map = CreateFileMappingW(INVALID_HANDLE_VALUE, /* backed by the paging file */
                             NULL, PAGE_READWRITE, 0, sizeof *rec, mapping);
    err = GetLastError();
    if (!map || err == ERROR_ALREADY_EXISTS) {
        const wchar_t *hint = NULL;

        if (map)
            hint = L"another program shares this mapping: stop it or use another -m";
        else if (err == ERROR_ACCESS_DENIED && !_wcsnicmp(mapping, L"Global\\", 7))
            hint = L"Global\\ needs SeCreateGlobalPrivilege: run as administrator";
        fail(L"CreateFileMapping", mapping, err, hint);
        goto out;
    }
    view = MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, sizeof *rec);
    if (!view) {
        fail(L"MapViewOfFile", mapping, GetLastError(), NULL);
        goto out;
    }
    *view = *rec;
    warn(L"sharing %ld \"%ls\" as \"%ls\"; Enter, end of input or Ctrl+C stops",
         (long)rec->id, name, mapping);
    if (!SetEvent(ready)) {
        fail(L"SetEvent", ready_event, GetLastError(), NULL);
        goto out;
    }
    rc = wait_for_stop();
out:
    if (view)
        UnmapViewOfFile(view);
    if (map)
        CloseHandle(map);
    if (ready)
        CloseHandle(ready);
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
            return put(stdout, help) ? EXIT_OK : EXIT_FAIL;
        } else if (!wcscmp(argv[i], L"-m")) {
            if (++i == argc)
                return usage_error(L"-m needs a MAPPING");
            mapping = argv[i];
        } else {
            return usage_error(L"unknown option %ls", argv[i]);
        }
    }
    if (i < argc)
        id = argv[i++];
    if (i < argc)
        name = argv[i++];
    if (i < argc)
        return usage_error(L"too many arguments: \"%ls\"", argv[i]);
    if ((why = bad_mapping(mapping)))
        return usage_error(L"bad MAPPING \"%ls\": %ls", mapping, why);
    if (id && !parse_id(id, &rec.id))
        return usage_error(L"bad ID \"%ls\": not a whole number from -2147483648 to 2147483647",
                           id);
    if ((why = set_name(rec.name, name)))
        return usage_error(L"bad NAME \"%ls\": %ls", name, why);
    return share(mapping, &rec, name);
}
