/* student.h: the record memwrite shares and memread reads, and what the two
   programs must do alike: the section's layout, the names of the objects
   beside it, the rules for names, and messages. */
#ifndef STUDENT_H
#define STUDENT_H

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* memwrite's section: the record where the article has it, then a seqlock.
   memwrite makes seq odd, changes rec, and makes seq even again; a reader
   keeps a copy of rec only if seq was even and the same before and after.
   Only memwrite writes here; readers map it read-only. pid and started,
   written before the first record and never again, name memwrite's
   process, which followers wait on to learn of its death: its start time
   tells it from a later process given the same pid. */
struct shared {
    struct student rec;
    LONG seq;                   /* even: rec is whole; odd: it is changing */
    LONG stopped;               /* 1 once memwrite has stopped cleanly */
    LONG gen;                   /* the current generation's event: gen_name() */
    LONG pid;                   /* memwrite's process */
    FILETIME started;           /* and when it started */
};
_Static_assert(sizeof(struct shared) == 48, "the section is 48 bytes");
_Static_assert(offsetof(struct shared, seq) == 24, "seq follows the record");
_Static_assert(offsetof(struct shared, started) == 40, "then stopped, gen, pid, started");

/* Named objects beside the section MAPPING:
   MAPPING.ready  event memwrite sets once the first record is whole (a
                  reader may make it first, to wait on);
   MAPPING.alive  mutex memwrite holds while it runs: a new memwrite may
                  take over one that nobody holds;
   MAPPING.sleep  section of one LONG, asking, that followers set to ask
                  for a wake-up, so that the record's section stays
                  read-only; any follower can write it: memwrite trusts it
                  only to say "someone may be waiting".
   A generation of waiting: the manual-reset event named gen_name(gen),
   which memwrite makes anew under a random name, publishes in the
   section, and sets once to wake every follower that waits on it. */
#define READY L".ready"
#define ALIVE L".alive"
#define SLEEP L".sleep"
#define MAPPING_MAX  (MAX_PATH - sizeof READY / sizeof(wchar_t))  /* 253 */

#define DEFAULT_MAPPING L"TestMemShare"
#define DEFAULT_ID      99041232
#define DEFAULT_NAME    "SecBug"

enum { EXIT_OK, EXIT_FAIL, EXIT_USAGE };

static const wchar_t *progname;     /* set by main: L"memread" */
static const wchar_t *usage;        /* set by main: its synopsis */

static BOOL is_control(wchar_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Why a mapping name breaks Windows' rules, or NULL if it is good. The
   Global\ and Local\ keywords are case-sensitive. */
static const wchar_t *bad_mapping(const wchar_t *name)
{
    const wchar_t *p = name;

    if (!wcsncmp(p, L"Global\\", 7))
        p += 7;
    else if (!wcsncmp(p, L"Local\\", 6))
        p += 6;
    if (!*p)
        return L"it is empty";
    if (wcslen(name) > MAPPING_MAX)
        return L"it is longer than 253 characters";
    for (; *p; p++) {
        if (*p == L'\\')
            return L"a backslash may only end a Global\\ or Local\\ prefix, "
                   L"spelled so";
        if (is_control(*p))
            return L"it has a control character";
    }
    return NULL;
}

static void object_name(wchar_t out[MAX_PATH], const wchar_t *mapping,
                        const wchar_t *suffix)
{
    _snwprintf_s(out, MAX_PATH, _TRUNCATE, L"%ls%ls", mapping, suffix);
}

/* A generation's event: "memwrite." and gen in hex, under the mapping's
   Global\ or Local\ prefix, so that it is as visible as the section. A
   name of its own, not the mapping's: the mapping may fill MAX_PATH. */
static void gen_name(wchar_t out[MAX_PATH], const wchar_t *mapping, LONG gen)
{
    const wchar_t *prefix = !wcsncmp(mapping, L"Global\\", 7) ? L"Global\\"
                            : !wcsncmp(mapping, L"Local\\", 6) ? L"Local\\" : L"";

    _snwprintf_s(out, MAX_PATH, _TRUNCATE, L"%lsmemwrite.%08lx", prefix, (unsigned long)gen);
}

/* Run-time linking. The calls into advapi32, the security API, that
   memread makes go through these pointers, each of its function's own type.
   A one-shot memread, the article's path, makes none of them, and a program
   that imports advapi32 spends about 3 ms of a 30 ms start under Wine loading
   it (bench/README.md); so memread loads it only when -w or -f first makes an
   object. memwrite, which imports advapi32 for its other calls, loads it too
   before it makes anything. */
static struct {
    __typeof__(OpenProcessToken) *OpenProcessToken;
    __typeof__(GetTokenInformation) *GetTokenInformation;
    __typeof__(GetSidSubAuthority) *GetSidSubAuthority;
    __typeof__(GetSidSubAuthorityCount) *GetSidSubAuthorityCount;
    __typeof__(ConvertStringSecurityDescriptorToSecurityDescriptorW)
        *ConvertStringSecurityDescriptorToSecurityDescriptorW;
} advapi;

/* Fill advapi from advapi32, from System32 only (a flag of Windows 8, and of
   7 with update KB2533623); it stays loaded for the process's life. 0, or
   the error. GetProcAddress gives a FARPROC, which is cast to the pointer's
   type through void (*)(void), which GCC and clang take for "any function".
   (__typeof__: GCC, clang, and MSVC from 17.9; C23 calls it typeof.) */
static DWORD load_advapi32(void)
{
#define LOAD(f) (advapi.f = (__typeof__(advapi.f))(void (*)(void))GetProcAddress(dll, #f))
    HMODULE dll;

    if (advapi.ConvertStringSecurityDescriptorToSecurityDescriptorW)
        return 0;               /* loaded already */
    if (!(dll = LoadLibraryExW(L"advapi32.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32))
        || !LOAD(OpenProcessToken) || !LOAD(GetTokenInformation)
        || !LOAD(GetSidSubAuthority) || !LOAD(GetSidSubAuthorityCount)
        || !LOAD(ConvertStringSecurityDescriptorToSecurityDescriptorW))
        return GetLastError();
    return 0;
#undef LOAD
}

/* What this process's token says of `what`, into out. FALSE on failure. */
static BOOL token_info(TOKEN_INFORMATION_CLASS what, void *out, DWORD size)
{
    HANDLE token;
    DWORD n;
    BOOL ok = FALSE;

    if (advapi.OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        ok = advapi.GetTokenInformation(token, what, out, size, &n);
        CloseHandle(token);
    }
    return ok;
}

/* The mandatory label for what one program makes and the other writes to
   (.sleep, a waiting reader's .ready): medium, so that a program at medium
   integrity may write to it when its maker runs higher, elevated or as a
   service (Mandatory Integrity Control: no write up). A maker below medium
   may not label above itself, and its objects carry its own low label
   already: none. As SDDL, or "". */
static const wchar_t *write_label(void)
{
    union {
        TOKEN_MANDATORY_LABEL label;
        char room[sizeof(TOKEN_MANDATORY_LABEL) + SECURITY_MAX_SID_SIZE];
    } u;
    DWORD rid = 0;
    PSID sid;

    if (token_info(TokenIntegrityLevel, &u, sizeof u)) {
        sid = u.label.Label.Sid;
        rid = *advapi.GetSidSubAuthority(sid, *advapi.GetSidSubAuthorityCount(sid) - 1);
    }
    return rid >= SECURITY_MANDATORY_MEDIUM_RID ? L"S:(ML;;NW;;;ME)" : L"";
}

/* Write s to h: to a console as UTF-16, so that every script shows, and
   anywhere else as UTF-8 with CRLF line ends. FALSE unless all of it was
   written. WriteFile, not stdio: a handle-less stream cannot crash it, and
   it takes no lock that exit would wait on. */
static BOOL put(HANDLE h, const wchar_t *s)
{
    size_t len = wcslen(s), lf = 0;
    DWORD mode, done;
    wchar_t *crlf;
    char *utf8;
    int n = 0;
    BOOL ok;

    if (GetConsoleMode(h, &mode))
        return WriteConsoleW(h, s, (DWORD)len, &done, NULL) && done == len;
    for (size_t i = 0; i < len; i++)
        lf += s[i] == L'\n';
    if (!(crlf = malloc((len + lf + 1) * sizeof *crlf)))
        return FALSE;
    for (size_t i = 0, j = 0; i <= len; i++) {
        if (s[i] == L'\n')
            crlf[j++] = L'\r';
        crlf[j++] = s[i];
    }
    n = WideCharToMultiByte(CP_UTF8, 0, crlf, -1, NULL, 0, NULL, NULL);
    utf8 = n ? malloc(n) : NULL;
    ok = utf8 && WideCharToMultiByte(CP_UTF8, 0, crlf, -1, utf8, n, NULL, NULL)
         && WriteFile(h, utf8, n - 1, &done, NULL) && done == (DWORD)n - 1;
    free(utf8);
    free(crlf);
    return ok;
}

/* Where warn() sends its lines instead of stderr, if set: memwrite, once it
   shares, sends them to a queue that a thread of its own writes out, so
   that a stderr nobody drains holds up no other thread. */
static void (*send_line)(const wchar_t *line);

/* Every message is one line on stderr: "prog: what went wrong". Control
   characters, which could reach here from a name, show as '?'. A message
   too long for the line is cut, and ends with "..." to say so. */
static void warn(const wchar_t *fmt, ...)
{
    wchar_t line[1024];
    int n = _snwprintf_s(line, 1024, _TRUNCATE, L"%ls: ", progname);
    va_list ap;

    va_start(ap, fmt);
    if (n < 0 || _vsnwprintf_s(line + n, 1024 - n - 1, _TRUNCATE, fmt, ap) < 0)
        wcscpy_s(line + 1024 - 5, 5, L"...");
    va_end(ap);
    for (wchar_t *p = line; *p; p++)
        if (is_control(*p))
            *p = L'?';
    wcscat_s(line, 1024, L"\n");
    if (send_line)
        send_line(line);
    else
        put(GetStdHandle(STD_ERROR_HANDLE), line);
}

/* At most the first 40 characters of s, for messages: a long argument must
   not crowd out the reason it is wrong. */
static const wchar_t *clip(const wchar_t *s, wchar_t out[48])
{
    if (wcslen(s) <= 40)
        return s;
    _snwprintf_s(out, 48, _TRUNCATE, L"%.37ls...", s);
    return out;
}

/* A usage error: what is wrong, then the synopsis, on one line. */
static int usage_error(const wchar_t *fmt, const wchar_t *arg, const wchar_t *why)
{
    wchar_t what[256], cut[48];

    _snwprintf_s(what, 256, _TRUNCATE, fmt, arg ? clip(arg, cut) : L"", why ? why : L"");
    warn(L"%ls; %ls", what, usage);
    return EXIT_USAGE;
}

/* A failed Win32 call, in Windows' own words:
   prog: CALL "NAME": message. (error N); hint */
static void fail(const wchar_t *call, const wchar_t *name, DWORD err,
                 const wchar_t *hint)
{
    wchar_t msg[512], cut[48];
    size_t len;

    if (!FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                        NULL, err, 0, msg, 512, NULL))
        wcscpy_s(msg, 512, L"Unknown error.");
    for (len = wcslen(msg); len && (msg[len - 1] == L'\r' || msg[len - 1] == L'\n'
                                    || msg[len - 1] == L' '); len--)
        msg[len - 1] = 0;
    if (!hint && err == ERROR_INVALID_HANDLE)
        hint = L"the name is taken by an object of another kind: use another -m";
    if (!hint && err == ERROR_PATH_NOT_FOUND)
        hint = L"the name leads nowhere (another program's symbolic link?): use another -m";
    warn(L"%ls \"%ls\": %ls (error %lu)%ls%ls", call, clip(name, cut), msg, err,
         hint ? L"; " : L"", hint ? hint : L"");
}

#endif
