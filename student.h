/* student.h: the record memwrite shares and memread reads, and what the two
   programs must do alike: defaults, names, the ready signal, messages. */
#ifndef STUDENT_H
#define STUDENT_H

#include <windows.h>
#include <io.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <wchar.h>

/* The article's class student { long ID; char name[20]; } byte for byte.
   Windows' long is 32 bits in 32- and 64-bit programs alike; int32_t says so
   everywhere, and the asserts keep the two builds able to share a record. */
struct student {
    int32_t id;
    char name[20];              /* UTF-8, NUL-terminated: 1 to 19 bytes */
};
_Static_assert(sizeof(struct student) == 24, "a student is 24 bytes");
_Static_assert(offsetof(struct student, id) == 0, "the ID is at offset 0");
_Static_assert(offsetof(struct student, name) == 4, "the name is at offset 4");

#define DEFAULT_MAPPING L"TestMemShare"
#define DEFAULT_ID      99041232
#define DEFAULT_NAME    "SecBug"

/* memwrite creates a manual-reset event named MAPPING.ready before the
   section and sets it once the record is complete. A section with no such
   event comes from another writer (the article's) and is read as it is. */
#define READY_SUFFIX L".ready"
#define MAPPING_MAX  (MAX_PATH - sizeof READY_SUFFIX / sizeof(wchar_t))

enum { EXIT_OK, EXIT_FAIL, EXIT_USAGE };

static const wchar_t *progname;     /* set by main: L"memread" */
static const wchar_t *usage;        /* set by main: its synopsis */

/* Why a mapping name breaks Windows' rules, or NULL if it is good. */
static const wchar_t *bad_mapping(const wchar_t *name)
{
    const wchar_t *p = name;

    if (!_wcsnicmp(p, L"Global\\", 7))
        p += 7;
    else if (!_wcsnicmp(p, L"Local\\", 6))
        p += 6;
    if (!*p)
        return L"it is empty";
    if (wcslen(name) > MAPPING_MAX)
        return L"it is longer than 253 characters";
    for (; *p; p++) {
        if (*p == L'\\')
            return L"a backslash may only end a Global\\ or Local\\ prefix";
        if (*p < 0x20 || (*p >= 0x7f && *p <= 0x9f))
            return L"it has a control character";
    }
    return NULL;
}

static void ready_name(wchar_t out[MAX_PATH], const wchar_t *mapping)
{
    swprintf(out, MAX_PATH, L"%ls%ls", mapping, READY_SUFFIX);
}

/* Write s to f: to a console as UTF-16, so that every script shows, and
   anywhere else as UTF-8. FALSE if the write failed. */
static BOOL put(FILE *f, const wchar_t *s)
{
    HANDLE h = (HANDLE)_get_osfhandle(_fileno(f));
    DWORD mode, n;
    char buf[4096];

    if (GetConsoleMode(h, &mode))
        return WriteConsoleW(h, s, (DWORD)wcslen(s), &n, NULL);
    if (!WideCharToMultiByte(CP_UTF8, 0, s, -1, buf, sizeof buf, NULL, NULL))
        return FALSE;
    return fputs(buf, f) >= 0 && fflush(f) == 0;
}

/* Every message is one line on stderr: "prog: what went wrong". Control
   characters, which could reach here from a name, show as '?'. */
static void warn(const wchar_t *fmt, ...)
{
    wchar_t line[2048];
    int n = swprintf(line, 16, L"%ls: ", progname);
    va_list ap;

    va_start(ap, fmt);
    vswprintf(line + n, 2048 - n - 2, fmt, ap);
    va_end(ap);
    line[2048 - 3] = 0;
    for (wchar_t *p = line; *p; p++)
        if (*p < 0x20 || (*p >= 0x7f && *p <= 0x9f))
            *p = L'?';
    wcscat(line, L"\n");
    put(stderr, line);
}

/* A usage error: what is wrong, then the synopsis, on one line. */
static int usage_error(const wchar_t *fmt, ...)
{
    wchar_t what[1024];
    va_list ap;

    va_start(ap, fmt);
    vswprintf(what, 1024, fmt, ap);
    va_end(ap);
    warn(L"%ls; %ls", what, usage);
    return EXIT_USAGE;
}

/* A failed Win32 call, in Windows' own words:
   prog: CALL "NAME": message. (error N); hint */
static void fail(const wchar_t *call, const wchar_t *name, DWORD err,
                 const wchar_t *hint)
{
    wchar_t msg[512];
    size_t len;

    if (!FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                        NULL, err, 0, msg, 512, NULL))
        wcscpy(msg, L"Unknown error.");
    for (len = wcslen(msg); len && (msg[len - 1] == L'\r' || msg[len - 1] == L'\n'
                                    || msg[len - 1] == L' '); len--)
        msg[len - 1] = 0;
    warn(L"%ls \"%ls\": %ls (error %lu)%ls%ls", call, name, msg, err,
         hint ? L"; " : L"", hint ? hint : L"");
}

#endif
