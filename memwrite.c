/* memwrite: share a student record in named memory, and update it from stdin */
#define _CRT_RAND_S             /* rand_s, in stdlib.h */
#include "student.h"

#define LINE_MAX 256            /* longer than any good line: "ID NAME" */

static const wchar_t help[] =
    L"usage: memwrite [-m MAPPING] [-s SDDL] [--] [ID [NAME]]\n"
    L"Share a student record in the named memory MAPPING, then publish a new\n"
    L"record for each line \"ID NAME\" on stdin, such as \"42 Alice Smith\".\n"
    L"An empty line, end of input, a line that is Ctrl+Z, or Ctrl+C stops it.\n"
    L"  -m MAPPING  the section's name (default TestMemShare); Global\\ or Local\\ may lead\n"
    L"  -s SDDL     who may read and follow: a DACL such as \"D:(A;;GA;;;BU)\"; each\n"
    L"              grant is cut to what readers and followers need (default: the\n"
    L"              creator's default DACL)\n"
    L"  ID          a whole number from -2147483648 to 2147483647 (default 99041232)\n"
    L"  NAME        1 to 19 bytes of UTF-8, no control characters (default SecBug)\n"
    L"  --          ends the options, so that an ID may start with -\n"
    L"On stdin: ID, spaces or tabs, then NAME, the rest of the line, by the same\n"
    L"rules; UTF-8 (or typed at a console). A bad line is reported and skipped.\n"
    L"Exit status: 0 shared and stopped; 1 the mapping exists already, Windows\n"
    L"refused, a line was refused or stdin could not be read; 2 usage error.\n";

/* The objects, in the order they are made; then each generation's event. */
enum { ALIVE_OBJ, READY_OBJ, SLEEP_OBJ, MAP_OBJ, GEN_OBJ, OBJECTS };

#define QUEUED 128              /* messages that may wait for stderr */

/* What memwrite holds while it shares, released in reverse order. */
struct writer {
    SECURITY_ATTRIBUTES sa[OBJECTS];    /* with -s: who may open each object */
    SECURITY_ATTRIBUTES label;          /* without: the medium label alone */
    const wchar_t *mapping;
    HANDLE alive, ready, sleep_map, map;
    LONG *asking;               /* .sleep: 1 if a follower asked since the waker looked */
    struct shared *view;
    HANDLE gen;                 /* the current generation's event */
    CRITICAL_SECTION lock;      /* one publish at a time, and none after the stop */
    HANDLE stop;                /* set by end of input, an empty line or Ctrl+C */
    HANDLE kick;                /* auto-reset: the waker has a generation to end */
    LONG due;                   /* 1 from a kick until the waker begins */
    unsigned long bad_lines;
    DWORD read_error;           /* why stdin could not be read, or 0 */
};

/* Messages on their way to stderr, which the reporter writes out. */
static struct {
    CRITICAL_SECTION lock;
    wchar_t line[QUEUED][1024];
    unsigned first, count;
    unsigned long dropped;      /* that found the queue full */
    BOOL closing;               /* the last message is in */
    HANDLE more;                /* auto-reset: a message came, or closing */
} q;

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
        return L"the name is empty";
    for (const wchar_t *p = name; *p; p++)
        if (is_control(*p))
            return L"the name has a control character";
    n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, name, -1, NULL, 0, NULL, NULL);
    if (n == 0)
        return L"the name is not valid Unicode";
    if (n > 20)
        return L"the name is longer than 19 bytes of UTF-8";
    memset(out, 0, 20);
    WideCharToMultiByte(CP_UTF8, 0, name, -1, out, 20, NULL, NULL);
    return NULL;
}

/* The queue's side of warn(): a line waits for the reporter, or, with the
   queue full, is counted. Never blocks on stderr. */
static void queue_line(const wchar_t *line)
{
    EnterCriticalSection(&q.lock);
    if (q.count < QUEUED)
        wcscpy_s(q.line[(q.first + q.count++) % QUEUED], 1024, line);
    else
        q.dropped++;
    LeaveCriticalSection(&q.lock);
    SetEvent(q.more);
}

/* The reporter: writes the queue out to stderr, the one thread that a
   stderr nobody drains may hold up. Once closing and empty, says how many
   messages the queue had no room for, and ends. */
static DWORD WINAPI reporter(void *unused)
{
    HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
    wchar_t line[1024];
    BOOL have, done;

    (void)unused;
    for (;;) {
        EnterCriticalSection(&q.lock);
        if ((have = q.count > 0) != FALSE) {
            wcscpy_s(line, 1024, q.line[q.first]);
            q.first = (q.first + 1) % QUEUED;
            q.count--;
        }
        done = q.closing;
        LeaveCriticalSection(&q.lock);
        if (have)
            put(err, line);
        else if (done)
            break;
        else
            WaitForSingleObject(q.more, INFINITE);
    }
    if (q.dropped) {
        _snwprintf_s(line, 1024, _TRUNCATE, L"%ls: %lu more messages were not said: "
                     L"stderr did not keep up\n", progname, q.dropped);
        put(err, line);
    }
    return 0;
}

/* The seqlock's write side, then a kick for the waker if a follower asked.
   The fences, not the Interlocked calls, give the order: Windows makes
   those full barriers, but a compiler may build one as a one-sided
   atomic (GCC's for ARM64), which lets what follows it be seen first. */
static void publish(const struct student *rec)
{
    LONG odd;

    EnterCriticalSection(&w.lock);
    odd = InterlockedIncrement(&w.view->seq);
    /* seq is odd before any byte of rec changes. */
    MemoryBarrier();
    memcpy(&w.view->rec, rec, sizeof *rec);
    /* Every byte of rec is written before seq is even again. */
    MemoryBarrier();
    /* 0 means "no record yet": after 2^31 publishes seq skips it. */
    InterlockedExchange(&w.view->seq, odd == -1 ? 2 : (LONG)((ULONG)odd + 1));
    /* The even seq is visible before asking is read: a follower that asks
       later sees it in its last look. */
    MemoryBarrier();
    if (*(volatile LONG *)w.asking) {
        /* asking is read before due is: see waker(). */
        MemoryBarrier();
        if (!InterlockedExchange(&w.due, 1) && !SetEvent(w.kick))
            InterlockedExchange(&w.due, 0);     /* no kick is due: try at the next */
    }
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
    if (!text[wcsspn(text, L" \t")])
        return L"it has only spaces and tabs (an empty line stops)";
    if (*text == L' ' || *text == L'\t')
        return L"it starts with a space or a tab: the ID comes first";
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
   after the stop, and queued for the reporter (warn), which never blocks. */
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
    if (len == 1 && s[0] == 0x1a)
        return FALSE;           /* Ctrl+Z, then Enter: Windows' end of input */
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
    BOOL console = GetConsoleMode(in, &mode), more = TRUE, ok;

    (void)unused;
    while (more) {
        SetLastError(0);
        ok = console ? ReadConsoleW(in, typed, 4096, &n, NULL)
                     : ReadFile(in, buf, sizeof buf, &n, NULL);
        /* Windows 8 and later end a console read at Ctrl+C with nothing
           read: the handler stops memwrite and says so; this is no end. */
        if (console && !n && GetLastError() == ERROR_OPERATION_ABORTED)
            continue;
        if (!ok) {
            if (GetLastError() != ERROR_BROKEN_PIPE)    /* a pipe's end of input */
                w.read_error = GetLastError();
            break;
        }
        if (!n)
            break;
        if (console)
            n = WideCharToMultiByte(CP_UTF8, 0, typed, n, buf, sizeof buf, NULL, NULL);
        more = feed(&l, buf, n);
    }
    if (more && (l.len || l.overlong))
        end_line(&l);           /* a last line with no line end */
    SetEvent(w.stop);
    return 0;
}

/* Ctrl+C: the message is queued, which never blocks, then memwrite stops. */
static BOOL WINAPI on_ctrl(DWORD type)
{
    if (type == CTRL_LOGOFF_EVENT)
        return TRUE;            /* anyone's logoff reaches a service: go on */
    if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT) {
        SetEvent(w.stop);
        Sleep(INFINITE);        /* closing or shutting down: let main clean up */
    }
    warn(L"%ls: stopping", type == CTRL_C_EVENT ? L"Ctrl+C" : L"Ctrl+Break");
    SetEvent(w.stop);
    return TRUE;
}

#define EVENT_QUERY 0x0001      /* EVENT_QUERY_STATE, which MinGW's headers lack */

#define SECTION_MAPPING {STANDARD_RIGHTS_READ | SECTION_QUERY | SECTION_MAP_READ, \
                         STANDARD_RIGHTS_WRITE | SECTION_MAP_WRITE, \
                         STANDARD_RIGHTS_EXECUTE | SECTION_MAP_EXECUTE, SECTION_ALL_ACCESS}

#define EVENT_MAPPING {STANDARD_RIGHTS_READ | EVENT_QUERY, STANDARD_RIGHTS_WRITE \
                       | EVENT_MODIFY_STATE, STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, EVENT_ALL_ACCESS}

/* What readers and followers may do with each object, whatever -s grants:
   see that .alive is there (but not hold it), wait on .ready and on a
   generation's event, read the section, read and write .sleep; and what a
   memwrite run by the same user needs to take over an .alive or a .ready
   that this one leaves behind. */
static const struct {
    GENERIC_MAPPING map;        /* what GA, GR, GW and GX mean for its kind */
    ACCESS_MASK most, self;
} access[OBJECTS] = {
    [ALIVE_OBJ] = {{STANDARD_RIGHTS_READ | MUTANT_QUERY_STATE, STANDARD_RIGHTS_WRITE,
                    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, MUTEX_ALL_ACCESS},
                   READ_CONTROL | MUTANT_QUERY_STATE, SYNCHRONIZE | MUTEX_MODIFY_STATE},
    [READY_OBJ] = {EVENT_MAPPING, READ_CONTROL | SYNCHRONIZE | EVENT_QUERY,
                   SYNCHRONIZE | EVENT_MODIFY_STATE},
    [SLEEP_OBJ] = {SECTION_MAPPING,
                   READ_CONTROL | SECTION_QUERY | SECTION_MAP_READ | SECTION_MAP_WRITE, 0},
    [MAP_OBJ] = {SECTION_MAPPING, READ_CONTROL | SECTION_QUERY | SECTION_MAP_READ, 0},
    [GEN_OBJ] = {EVENT_MAPPING, READ_CONTROL | SYNCHRONIZE | EVENT_QUERY, 0},
};

/* The user this process runs as. */
struct user {
    TOKEN_USER user;
    char room[SECURITY_MAX_SID_SIZE];   /* for the SID that user.User.Sid points to */
};

static BOOL get_user(struct user *u)
{
    return token_info(TokenUser, u, sizeof *u);
}

/* Why sd has a part that -s does not take, or NULL: an owner, a group, or
   a SACL entry other than a mandatory label. What it leaves out, Windows
   fills in as for any object memwrite makes. */
static const wchar_t *unwanted(PSECURITY_DESCRIPTOR sd, PACL *label)
{
    BOOL present, defaulted;
    ACE_HEADER *ace;
    PSID sid;

    if (GetSecurityDescriptorOwner(sd, &sid, &defaulted) && sid)
        return L"an owner (O:) is not taken: memwrite's user owns what it makes";
    if (GetSecurityDescriptorGroup(sd, &sid, &defaulted) && sid)
        return L"a group (G:) is not taken";
    if (!GetSecurityDescriptorSacl(sd, &present, label, &defaulted) || !present)
        *label = NULL;
    for (DWORD i = 0; *label && i < (*label)->AceCount; i++)
        if (!GetAce(*label, i, (void **)&ace) || ace->AceType != SYSTEM_MANDATORY_LABEL_ACE_TYPE)
            return L"S: takes a mandatory label (ML) and nothing else";
    return NULL;
}

#define WAIT_ON_PROCESS (SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION)

/* Add ace of -s's DACL to acl, its mask cut to what a follower needs of
   this process: to wait on it, and to read its start time. */
static BOOL add_cut(PACL acl, const ACCESS_ALLOWED_ACE *ace)
{
    static GENERIC_MAPPING map = {READ_CONTROL | PROCESS_QUERY_LIMITED_INFORMATION,
                                  STANDARD_RIGHTS_WRITE,
                                  WAIT_ON_PROCESS | STANDARD_RIGHTS_EXECUTE, PROCESS_ALL_ACCESS};
    ACCESS_MASK mask = ace->Mask;

    MapGenericMask(&mask, &map);
    if (!(mask &= WAIT_ON_PROCESS))
        return TRUE;
    return ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE
           ? AddAccessAllowedAceEx(acl, ACL_REVISION, 0, mask, (PSID)&ace->SidStart)
           : AddAccessDeniedAceEx(acl, ACL_REVISION, 0, mask, (PSID)&ace->SidStart);
}

/* For -s: let whom -s lets follow wait on this process, which a follower
   does to see memwrite end: its own DACL grants that to this user alone.
   -s's denials come first, then the process's own entries, then -s's
   grants. A process with no DACL, open to all, is left so. */
static const wchar_t *let_wait(PACL dacl)
{
    PSECURITY_DESCRIPTOR sd;
    ACCESS_ALLOWED_ACE *ace;    /* an allow and a deny ACE are laid out alike */
    PACL own = NULL, made;
    const wchar_t *why = L"it cannot be put on memwrite's process";
    DWORD size;

    if (GetSecurityInfo(GetCurrentProcess(), SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION,
                        NULL, NULL, &own, NULL, &sd) != ERROR_SUCCESS)
        return why;
    size = (own ? own->AclSize : 0) + dacl->AclSize + sizeof(ACL);
    if (!own || !(made = LocalAlloc(LPTR, size))) {
        LocalFree(sd);
        return own ? L"out of memory" : NULL;
    }
    if (!InitializeAcl(made, size, ACL_REVISION))
        goto done;
    for (DWORD i = 0; i < dacl->AceCount; i++)
        if (!GetAce(dacl, i, (void **)&ace)
            || (ace->Header.AceType == ACCESS_DENIED_ACE_TYPE && !add_cut(made, ace)))
            goto done;
    for (DWORD i = 0; i < own->AceCount; i++)
        if (!GetAce(own, i, (void **)&ace)
            || !AddAce(made, ACL_REVISION, MAXDWORD, ace, ace->Header.AceSize))
            goto done;
    for (DWORD i = 0; i < dacl->AceCount; i++)
        if (!GetAce(dacl, i, (void **)&ace)
            || (ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE && !add_cut(made, ace)))
            goto done;
    if (SetSecurityInfo(GetCurrentProcess(), SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION,
                        NULL, NULL, made, NULL) == ERROR_SUCCESS)
        why = NULL;
done:
    LocalFree(made);
    LocalFree(sd);
    return why;
}

/* For -s: the DACL of sd, made once for each object with every grant cut
   to what readers and followers need there, so that no grant lets them
   write the record; denials stay whole; then a grant to this user of what
   a later memwrite needs to take over. A mandatory label in sd, or else
   the medium one, goes on every object. memwrite's own handles have full
   access whatever the DACL. Why sd cannot be used, or NULL. */
static const wchar_t *set_access(PSECURITY_DESCRIPTOR sd)
{
    BOOL present, defaulted;
    ACCESS_ALLOWED_ACE *ace;    /* an allow and a deny ACE are laid out alike */
    ACCESS_MASK mask;
    PACL dacl, label, cut, copy;
    PSECURITY_DESCRIPTOR made;
    GENERIC_MAPPING map;
    struct user me;
    const wchar_t *why;
    DWORD size;

    if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present || !dacl)
        return L"it has no DACL (D:...)";
    if ((why = unwanted(sd, &label)) != NULL)
        return why;
    if (!label && w.label.lpSecurityDescriptor)    /* none given: medium */
        GetSecurityDescriptorSacl(w.label.lpSecurityDescriptor, &present, &label, &defaulted);
    if (!get_user(&me))
        return L"this process's user cannot be read";
    for (int k = 0; k < OBJECTS; k++) {
        size = dacl->AclSize + sizeof(ACCESS_ALLOWED_ACE) + SECURITY_MAX_SID_SIZE;
        made = LocalAlloc(LPTR, SECURITY_DESCRIPTOR_MIN_LENGTH + size
                                + (label ? label->AclSize : 0));
        if (!made)
            return L"out of memory";
        cut = (PACL)((char *)made + SECURITY_DESCRIPTOR_MIN_LENGTH);
        w.sa[k] = (SECURITY_ATTRIBUTES){sizeof w.sa[k], made, FALSE};
        if (!InitializeSecurityDescriptor(made, SECURITY_DESCRIPTOR_REVISION)
            || !InitializeAcl(cut, size, ACL_REVISION))
            return L"it cannot be copied";
        for (DWORD i = 0; i < dacl->AceCount; i++) {
            if (!GetAce(dacl, i, (void **)&ace))
                return L"it cannot be read";
            mask = ace->Mask;
            map = access[k].map;
            MapGenericMask(&mask, &map);
            if (ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE) {
                if (!AddAccessAllowedAceEx(cut, ACL_REVISION, ace->Header.AceFlags,
                                           mask & access[k].most, &ace->SidStart))
                    return L"it cannot be copied";
            } else if (ace->Header.AceType == ACCESS_DENIED_ACE_TYPE) {
                if (!AddAccessDeniedAceEx(cut, ACL_REVISION, ace->Header.AceFlags, mask,
                                          &ace->SidStart))
                    return L"it cannot be copied";
            } else {
                return L"only allow (A) and deny (D) entries are taken";
            }
        }
        if ((access[k].self && !AddAccessAllowedAce(cut, ACL_REVISION, access[k].self,
                                                    me.user.User.Sid))
            || !SetSecurityDescriptorDacl(made, TRUE, cut, FALSE))
            return L"it cannot be copied";
        if (label) {
            copy = (PACL)((char *)cut + size);
            memcpy(copy, label, label->AclSize);
            if (!SetSecurityDescriptorSacl(made, TRUE, copy, FALSE))
                return L"its label cannot be copied";
        }
    }
    return let_wait(dacl);
}

/* The security attributes for object k: -s's, or NULL for the default. */
static SECURITY_ATTRIBUTES *sa(int k)
{
    return w.sa[k].lpSecurityDescriptor ? &w.sa[k]
           : w.label.lpSecurityDescriptor ? &w.label : NULL;
}

/* Is MAPPING a section that a memwrite stopped, still open elsewhere? */
static BOOL left_open(const wchar_t *mapping)
{
    HANDLE map = OpenFileMappingW(FILE_MAP_READ, FALSE, mapping);
    const struct shared *s = map ? MapViewOfFile(map, FILE_MAP_READ, 0, 0, sizeof *s) : NULL;
    BOOL stopped = s && *(volatile LONG *)&s->stopped == 1;

    if (s)
        UnmapViewOfFile(s);
    if (map)
        CloseHandle(map);
    return stopped;
}

/* Check a named object just made, with err the error its call left: one
   that existed already is another program's. NULL, with a message, if bad. */
static HANDLE made(HANDLE h, DWORD err, const wchar_t *call, const wchar_t *name)
{
    const wchar_t *hint = NULL;

    if (h && err != ERROR_ALREADY_EXISTS)
        return h;
    if (h && left_open(w.mapping))
        hint = L"a stopped memwrite's section is still open in another process: "
               L"end its readers or use another -m";
    else if (h)
        hint = L"another program shares this mapping: stop it or use another -m";
    else if (err == ERROR_ACCESS_DENIED && !wcsncmp(name, L"Global\\", 7))
        hint = L"Global\\ needs SeCreateGlobalPrivilege: run as administrator";
    fail(call, name, err, hint);
    if (h)
        CloseHandle(h);
    return NULL;
}

/* Make the section and the objects beside it. .alive comes first: while
   this thread owns it, no other memwrite runs. Each exists before the
   section, so that a reader that finds the section finds them too. */
static BOOL make_objects(const wchar_t *mapping)
{
    wchar_t name[MAX_PATH];
    DWORD err;

    object_name(name, mapping, ALIVE);
    /* Owned by this thread if made here. The Ex form asks only for what
       memwrite needs of one that exists: CreateMutexW would ask for all. */
    w.alive = CreateMutexExW(sa(ALIVE_OBJ), name, CREATE_MUTEX_INITIAL_OWNER,
                             SYNCHRONIZE | MUTEX_MODIFY_STATE);
    err = GetLastError();
    /* One that exists but is free is held open by a reader, or by followers
       of a memwrite that is gone: take it. A running memwrite owns its own. */
    if (w.alive && err == ERROR_ALREADY_EXISTS) {
        DWORD r = WaitForSingleObject(w.alive, 0);

        if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED)
            err = 0;
    }
    if (!(w.alive = made(w.alive, err, L"CreateMutex", name)))
        return FALSE;
    object_name(name, mapping, READY);
    /* A reader's grants what memwrite needs here, and no more. */
    w.ready = CreateEventExW(sa(READY_OBJ), name, CREATE_EVENT_MANUAL_RESET,  /* not set */
                             SYNCHRONIZE | EVENT_MODIFY_STATE);
    err = GetLastError();
    /* One that exists is a waiting reader's, or was left set by a memwrite
       that stopped: readers trust the section's seq, not .ready, so take it. */
    if (!(w.ready = made(w.ready, err == ERROR_ALREADY_EXISTS ? 0 : err, L"CreateEvent", name)))
        return FALSE;
    if (err == ERROR_ALREADY_EXISTS && !ResetEvent(w.ready)) {
        fail(L"ResetEvent", name, GetLastError(), NULL);
        return FALSE;
    }
    object_name(name, mapping, SLEEP);
    w.sleep_map = CreateFileMappingW(INVALID_HANDLE_VALUE, sa(SLEEP_OBJ), PAGE_READWRITE, 0,
                                     sizeof *w.asking, name);
    if (!(w.sleep_map = made(w.sleep_map, GetLastError(), L"CreateFileMapping", name)))
        return FALSE;
    if (!(w.asking = MapViewOfFile(w.sleep_map, FILE_MAP_WRITE, 0, 0, sizeof *w.asking))) {
        fail(L"MapViewOfFile", name, GetLastError(), NULL);
        return FALSE;
    }
    w.map = CreateFileMappingW(INVALID_HANDLE_VALUE, /* backed by the paging file */
                               sa(MAP_OBJ), PAGE_READWRITE, 0, sizeof *w.view, mapping);
    if (!(w.map = made(w.map, GetLastError(), L"CreateFileMapping", mapping)))
        return FALSE;
    if (!(w.view = MapViewOfFile(w.map, FILE_MAP_WRITE, 0, 0, sizeof *w.view))) {
        fail(L"MapViewOfFile", mapping, GetLastError(), NULL);
        return FALSE;
    }
    return TRUE;
}

/* Make the next generation's event under a name that nobody can have made
   first: a random one, refused if it exists already (its object is then
   another's, who could hold it set or take its name away), then another.
   0 and the event, or why none could be made and the last name tried. */
static DWORD new_generation(HANDLE *event, LONG *gen, wchar_t name[MAX_PATH])
{
    unsigned int r;
    DWORD err = ERROR_GEN_FAILURE;

    *name = 0;
    for (int tries = 0; tries < 8; tries++) {
        if (rand_s(&r) || !r)
            continue;
        gen_name(name, w.mapping, (LONG)r);
        /* The Ex form asks only for what memwrite needs */
        *event = CreateEventExW(sa(GEN_OBJ), name, CREATE_EVENT_MANUAL_RESET,  /* not set */
                                SYNCHRONIZE | EVENT_MODIFY_STATE);
        err = GetLastError();
        if (*event && err != ERROR_ALREADY_EXISTS) {
            *gen = (LONG)r;
            return 0;
        }
        if (*event)
            CloseHandle(*event);
    }
    *event = NULL;
    return err;
}

/* End the current generation: publish the next one's name, then set the
   old event, which wakes every follower waiting on it, and let it go. The
   name comes first, so that a follower that still sees the old name after
   it opened the old event knows that the event it holds is memwrite's
   (ask() in memread.c), and a follower that wakes finds the new name. */
static void next_generation(HANDLE next, LONG gen)
{
    InterlockedExchange(&w.view->gen, gen);
    /* The new name is visible before the old event is set or closed. */
    MemoryBarrier();
    SetEvent(w.gen);
    CloseHandle(w.gen);
    w.gen = next;
}

/* The waker: a thread that, for each kick, ends the generation, so that
   publishing never waits on followers and its work does not grow with
   them. Kicks that come while it is busy merge into one more turn. No
   wake-up is lost: a follower sets asking, then looks at seq, stopped and
   gen once more, and sleeps only if none changed (ask() in memread.c). A
   publish that look missed made seq even after it, so read asking after
   the follower set it (fences on both sides): it finds the follower's 1
   (it kicks, or a kick is due: a turn begins after), or a 0 that this
   thread wrote after the ask. Either way a turn clears asking after the
   ask and then ends the generation of that moment: the follower's, whose
   name it saw after the ask, or a later one, and then the follower's had
   ended before. A set event stays set, so a follower that waits late
   still wakes. If the next event cannot be made, the waker says so once
   and tries again after a pause that doubles up to RETRY_MAX. */
#define RETRY_MIN 10            /* ms */
#define RETRY_MAX 1000
#define MERGE_MS  1             /* between turns: followers woken at most so often */

static DWORD WINAPI waker(void *unused)
{
    HANDLE h[2] = {w.kick, w.stop}, next;
    DWORD r, err, timeout = INFINITE, pause = RETRY_MIN;
    wchar_t name[MAX_PATH];
    BOOL said = FALSE;
    LONG gen;

    (void)unused;
    while ((r = WaitForMultipleObjects(2, h, FALSE, timeout)) == WAIT_OBJECT_0
           || r == WAIT_TIMEOUT) {
        InterlockedExchange(&w.due, 0);
        /* due is clear before asking is: a publish that finds asking set
           after this finds due clear, and kicks again. */
        MemoryBarrier();
        InterlockedExchange(w.asking, 0);
        /* asking is clear before the generation ends. */
        MemoryBarrier();
        if ((err = new_generation(&next, &gen, name)) == 0) {
            next_generation(next, gen);
            timeout = INFINITE;
            pause = RETRY_MIN;
            /* Kicks meanwhile merge into one more turn: at most one a MERGE_MS. */
            WaitForSingleObject(w.stop, MERGE_MS);
            continue;
        }
        if (!said)
            fail(L"CreateEvent", name, err, L"followers are not woken until memwrite "
                 L"can make it: it tries again");
        said = TRUE;
        timeout = pause;
        pause = min(2 * pause, RETRY_MAX);
    }
    return 0;
}

/* What followers need of this process before the first record: its pid
   and start time, then the first generation. FALSE, said, if not. */
static BOOL first_generation(void)
{
    FILETIME unused[3];
    wchar_t name[MAX_PATH];
    DWORD err;
    LONG gen;

    if (!GetProcessTimes(GetCurrentProcess(), &w.view->started, &unused[0], &unused[1],
                         &unused[2])) {
        fail(L"GetProcessTimes", L"memwrite", GetLastError(), NULL);
        return FALSE;
    }
    w.view->pid = (LONG)GetCurrentProcessId();
    if ((err = new_generation(&w.gen, &gen, name)) != 0) {
        fail(L"CreateEvent", name, err, NULL);
        return FALSE;
    }
    w.view->gen = gen;
    return TRUE;
}

/* A clean stop, with the waker ended, so that the generation stays: no
   publish after this; stopped is set, then the last generation ends, and
   every follower wakes, sees the stop, prints the last record if it has
   not yet, and exits. */
static void stop_sharing(void)
{
    InterlockedExchange(&w.view->stopped, 1);
    /* stopped is visible, after the last record, before the end. */
    MemoryBarrier();
    SetEvent(w.gen);
}

static void release(void)
{
    if (w.gen)
        CloseHandle(w.gen);
    if (w.view)
        UnmapViewOfFile(w.view);
    if (w.map)
        CloseHandle(w.map);
    if (w.asking)
        UnmapViewOfFile(w.asking);
    if (w.sleep_map)
        CloseHandle(w.sleep_map);
    if (w.ready)
        CloseHandle(w.ready);
    if (w.alive)
        CloseHandle(w.alive);
    for (int k = OBJECTS - 1; k >= 0; k--)
        LocalFree(w.sa[k].lpSecurityDescriptor);
    LocalFree(w.label.lpSecurityDescriptor);
}

/* Share the first record, publish the lines of stdin, and stop cleanly. */
static int share(const wchar_t *mapping, const struct student *rec, const wchar_t *name)
{
    HANDLE reader = NULL, wakes = NULL, says = NULL;
    int rc = EXIT_FAIL;

    /* The queue, the events, the Ctrl+C handler and the threads come first:
       from the moment the record is shared, any of them may be needed. */
    w.mapping = mapping;
    InitializeCriticalSection(&w.lock);
    InitializeCriticalSection(&q.lock);
    if (!(q.more = CreateEventW(NULL, FALSE, FALSE, NULL))      /* auto-reset, not set */
        || !(says = CreateThread(NULL, 0, reporter, NULL, 0, NULL))) {
        fail(L"starting", L"the reporter", GetLastError(), NULL);
        return EXIT_FAIL;
    }
    send_line = queue_line;
    if (!(w.stop = CreateEventW(NULL, TRUE, FALSE, NULL))       /* manual reset */
        || !(w.kick = CreateEventW(NULL, FALSE, FALSE, NULL))   /* auto-reset */
        || !SetConsoleCtrlHandler(on_ctrl, TRUE)
        || !(reader = CreateThread(NULL, 0, read_updates, NULL, CREATE_SUSPENDED, NULL))
        || !(wakes = CreateThread(NULL, 0, waker, NULL, CREATE_SUSPENDED, NULL)))
        fail(L"waiting for", L"stdin", GetLastError(), NULL);
    else if (!make_objects(mapping) || !first_generation()) {
        if (w.alive)
            ReleaseMutex(w.alive);              /* not abandoned: no memwrite died */
    } else {
        ResumeThread(wakes);
        publish(rec);
        if (!SetEvent(w.ready)) {
            fail(L"SetEvent", mapping, GetLastError(), NULL);
        } else {
            warn(L"sharing %ld \"%ls\" as \"%ls\"; \"ID NAME\" lines update it, "
                 L"an empty line stops", (long)rec->id, name, mapping);
            ResumeThread(reader);
            WaitForSingleObject(w.stop, INFINITE);
            rc = EXIT_OK;
        }
        EnterCriticalSection(&w.lock);          /* kept: the stdin thread publishes no more */
        SetEvent(w.stop);                       /* if it was not already */
        /* The waker ends after the turn it may be in, which never waits on
           anything a stranger holds. */
        WaitForSingleObject(wakes, INFINITE);
        stop_sharing();
        ReleaseMutex(w.alive);
        if (w.read_error)
            fail(L"reading", L"stdin", w.read_error, NULL);
        if (w.bad_lines || w.read_error)
            rc = EXIT_FAIL;
    }
    release();
    EnterCriticalSection(&q.lock);
    q.closing = TRUE;
    LeaveCriticalSection(&q.lock);
    SetEvent(q.more);
    WaitForSingleObject(says, 1000);            /* the last messages, unless stderr is stuck */
    return rc;
}

int wmain(int argc, wchar_t **argv)
{
    const wchar_t *mapping = DEFAULT_MAPPING, *id = NULL, *name = L"" DEFAULT_NAME, *why;
    const wchar_t *sddl = NULL, *label;
    struct student rec = {DEFAULT_ID, DEFAULT_NAME};
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD err;
    int i;

    progname = L"memwrite";
    usage = L"usage: memwrite [-m MAPPING] [-s SDDL] [--] [ID [NAME]]";
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
        } else if (!wcscmp(argv[i], L"-s")) {
            if (++i == argc)
                return usage_error(L"-s needs an SDDL", NULL, NULL);
            sddl = argv[i];
        } else {
            int32_t n;

            return usage_error(L"unknown option %ls%ls", argv[i], parse_id(argv[i], &n)
                               ? L": put -- before an ID that starts with -" : NULL);
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
    /* Windows makes it a NULL DACL, and Wine an empty one: neither is -s's. */
    if (sddl && wcsstr(sddl, L"NO_ACCESS_CONTROL"))
        return usage_error(L"bad SDDL \"%ls\": %ls", sddl,
                           L"it has no DACL (D:...): NO_ACCESS_CONTROL lets anyone do anything");
    if ((err = load_advapi32()) != 0) {    /* for student.h's token_info */
        fail(L"LoadLibrary", L"advapi32.dll", err, NULL);
        return EXIT_FAIL;
    }
    if (sddl && !ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
                                                                      &sd, NULL))
        return usage_error(L"bad SDDL \"%ls\": %ls", sddl, L"not a security descriptor");
    w.label.nLength = sizeof w.label;
    if (*(label = write_label())
        && !ConvertStringSecurityDescriptorToSecurityDescriptorW(label, SDDL_REVISION_1,
                                                                 &w.label.lpSecurityDescriptor,
                                                                 NULL)) {
        fail(L"ConvertStringSecurityDescriptor", label, GetLastError(), NULL);
        LocalFree(sd);
        return EXIT_FAIL;
    }
    why = sd ? set_access(sd) : NULL;
    LocalFree(sd);
    if (why)
        return usage_error(L"bad SDDL \"%ls\": %ls", sddl, why);
    return share(mapping, &rec, name);
}
