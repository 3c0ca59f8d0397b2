/* security: memwrite -s: the DACL each object gets and what it lets
   readers and followers do, a follower memwrite may not wake, restarts
   under -s, the parts of an SDDL -s takes, and mandatory labels. */
#include "harness.h"
#include <winternl.h>
#include <sddl.h>
#include <aclapi.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include "cases.h"

/* The DACL of h, which it closes: in *allowed what its allow ACEs grant
   sid, in *aces how many allow ACEs it has; FALSE if it cannot be read. */
static BOOL dacl_of(HANDLE h, PSID sid, ACCESS_MASK *allowed, int *aces)
{
    PSECURITY_DESCRIPTOR sd;
    ACCESS_ALLOWED_ACE *ace;
    BOOL present, defaulted;
    PACL dacl;
    BOOL ok;

    *allowed = 0;
    *aces = 0;
    if (!h || GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
                              NULL, NULL, &sd) != ERROR_SUCCESS)
        return FALSE;
    ok = GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) && present && dacl;
    for (DWORD i = 0; ok && i < dacl->AceCount; i++)
        if (GetAce(dacl, i, (void **)&ace) && ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE) {
            ++*aces;
            if (EqualSid(sid, &ace->SidStart))
                *allowed |= ace->Mask;
        }
    LocalFree(sd);
    CloseHandle(h);
    return ok;
}

/* memwrite's object named n, opened to read its security: k 0 and 1 are
   sections (the record's, .sleep), 3 a mutex (.alive), 2 and 4 events
   (.ready, the generation's). */
static HANDLE read_control(const wchar_t *n, size_t k)
{
    return k < 2 ? OpenFileMappingW(READ_CONTROL, FALSE, n)
           : k == 3 ? OpenMutexW(READ_CONTROL, FALSE, n) : OpenEventW(READ_CONTROL, FALSE, n);
}

/* The name of the current generation's event of m, read from its section. */
static void gen_of(const wchar_t *m, wchar_t n[MAX_PATH])
{
    LONG v[12] = {0};

    peek(m, v, sizeof v);
    gen_name(n, m, v[GEN]);
}

/* The label of object h: its mandatory label ACE's mask and SID, read back. */
static BOOL label_of(HANDLE h, const wchar_t *want_sid)
{
    PSECURITY_DESCRIPTOR sd;
    BOOL present, defaulted, ok = FALSE;
    SYSTEM_MANDATORY_LABEL_ACE *ace;
    PSID want = NULL;
    PACL sacl = NULL;

    ConvertStringSidToSidW(want_sid, &want);
    if (h && GetSecurityInfo(h, SE_KERNEL_OBJECT, LABEL_SECURITY_INFORMATION, NULL, NULL, NULL,
                             NULL, &sd) == ERROR_SUCCESS) {
        ok = GetSecurityDescriptorSacl(sd, &present, &sacl, &defaulted) && present && sacl
             && sacl->AceCount == 1 && GetAce(sacl, 0, (void **)&ace)
             && ace->Header.AceType == SYSTEM_MANDATORY_LABEL_ACE_TYPE
             && ace->Mask == SYSTEM_MANDATORY_LABEL_NO_WRITE_UP && EqualSid(want, &ace->SidStart);
        LocalFree(sd);
    }
    if (h)
        CloseHandle(h);
    LocalFree(want);
    return ok;
}

/* memwrite -s: each object's DACL, read back, grants Everyone (WD) what
   its users need and no more; readers and followers work; nobody may open
   the record to write, nor set the generation's event. A
   DACL that denies everyone turns memread away with error 5 and a hint. */
void access_rights(const wchar_t *m)
{
    static const struct {
        const wchar_t *suffix;
        ACCESS_MASK want;       /* READ_CONTROL, then what its users need */
        ACCESS_MASK self;       /* to memwrite's user: what the next memwrite needs */
    } objs[] = {
        {L"", 0x20000 | 0x1 | 0x4, 0},                  /* SECTION_QUERY, MAP_READ */
        {L".sleep", 0x20000 | 0x1 | 0x4 | 0x2, 0},      /* and MAP_WRITE */
        {L".ready", 0x20000 | 0x100000 | 0x1, 0x100002}, /* SYNCHRONIZE, QUERY_STATE; */
        {L".alive", 0x20000 | 0x1, 0x100001},           /* QUERY_STATE; SYNCHRONIZE, MODIFY */
        {NULL, 0x20000 | 0x100000 | 0x1, 0},            /* the generation's: SYNCHRONIZE, QUERY */
    };
    union {
        TOKEN_USER user;
        char room[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } me;
    ACCESS_MASK mine = 0;
    HANDLE token;
    DWORD len;
    PSID everyone = NULL;
    wchar_t n[MAX_PATH];
    struct proc w, f, r;
    ACCESS_MASK got = 0;
    HANDLE h = NULL;
    int aces;

    ConvertStringSidToSidW(L"WD", &everyone);
    OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token);
    CHECK(GetTokenInformation(token, TokenUser, &me, sizeof me, &len), "GetTokenInformation: "
          "error %lu", GetLastError());
    CloseHandle(token);
    start(&w, L"memwrite", L"-m %ls -s D:(A;;GA;;;WD) 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
            if (objs[i].suffix)
                swprintf(n, MAX_PATH, L"%ls%ls", m, objs[i].suffix);
            else
                gen_of(m, n);
            CHECK(dacl_of(read_control(n, i), everyone, &got, &aces)
                  && aces == 1 + !!objs[i].self && got == objs[i].want, "%ls: the DACL read "
                  "back grants Everyone 0x%lx, not 0x%lx, in %d allow ACEs, not %d", n, got,
                  objs[i].want, aces, 1 + !!objs[i].self);
            CHECK(dacl_of(read_control(n, i), me.user.User.Sid, &mine, &aces)
                  && mine == objs[i].self, "%ls: the DACL read back grants memwrite's user "
                  "0x%lx, not 0x%lx", n, mine, objs[i].self);
            /* With no label in -s, the medium one. */
            CHECK(label_of(read_control(n, i), L"ME"), "%ls: no medium label read back", n);
        }
        /* Followers wait on memwrite's process: -s's grant, cut to that. */
        DuplicateHandle(GetCurrentProcess(), w.pi.hProcess, GetCurrentProcess(), &h,
                        READ_CONTROL, FALSE, 0);
        CHECK(dacl_of(h, everyone, &got, &aces) && got == 0x101000, "memwrite's process: the "
              "DACL read back grants Everyone 0x%lx, not SYNCHRONIZE | "
              "PROCESS_QUERY_LIMITED_INFORMATION", got);
        CHECK(!OpenFileMappingW(FILE_MAP_WRITE, FALSE, m) && GetLastError() == ERROR_ACCESS_DENIED,
              "the record's section opened for writing: error %lu", GetLastError());
        reads(m, "1\r\nn1\r\n");
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
        gen_of(m, n);
        CHECK(!OpenEventW(EVENT_MODIFY_STATE, FALSE, n) && GetLastError() == ERROR_ACCESS_DENIED,
              "the generation's event opened to set it: error %lu", GetLastError());
        say(&w, "2 n2\n");
        finish(&w, LIMIT);
        finish(&f, LIMIT);
        CHECK(f.code == 0 && !strcmp(f.out.data, "1\r\nn1\r\n2\r\nn2\r\n"),
              "the follower: exit %d, \"%s\" %s", f.code, f.out.data, f.err.data);
    } else {
        finish(&w, LIMIT);
    }
    CHECK(w.code == 0, "memwrite -s: exit %d: %s", w.code, w.err.data);
    LocalFree(everyone);
    /* Everyone denied: memread is turned away, and told why. */
    start(&w, L"memwrite", L"-m %ls -s D:(D;;GA;;;WD) 1 n1", m);
    Sleep(500);
    for (int i = 0; i < 2; i++) {
        run(&r, L"memread", i ? L"-f -w 1 -m %ls" : L"-m %ls", m);
        CHECK(r.code == 1 && one_line(r.err.data) && strstr(r.err.data, "(error 5)")
              && strstr(r.err.data, "-s SDDL"), "memread%ls where the DACL denies everyone: exit "
              "%d: %s", i ? L" -f" : L"", r.code, r.err.data);
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite -s D:(D;;GA;;;WD): exit %d: %s", w.code, w.err.data);
}

/* memwrite -s, stopped while a reader still holds .ready and a follower
   .alive: a new memwrite with the same -s takes both over. */
void restart_s(const wchar_t *m)
{
    wchar_t n[MAX_PATH];
    HANDLE ready, alive;
    struct proc w;

    start(&w, L"memwrite", L"-m %ls -s D:(A;;GA;;;WD) 1 n1", m);
    wait_writer(m, LIMIT);
    ready_name(n, m);
    ready = OpenEventW(SYNCHRONIZE, FALSE, n);
    swprintf(n, MAX_PATH, L"%ls.alive", m);
    alive = OpenMutexW(SYNCHRONIZE, FALSE, n);
    finish(&w, LIMIT);
    CHECK(w.code == 0 && ready && alive, "the first memwrite: exit %d; .ready %p, .alive %p",
          w.code, (void *)ready, (void *)alive);
    start(&w, L"memwrite", L"-m %ls -s D:(A;;GA;;;WD) 2 n2", m);
    if (wait_lines(&w.err, 1, LIMIT) && strstr(w.err.data, "sharing"))   /* .ready was left set */
        reads(m, "2\r\nn2\r\n");
    finish(&w, LIMIT);
    CHECK(w.code == 0, "a memwrite with the same -s after one that left .ready and .alive "
          "held: exit %d: %s", w.code, w.err.data);
    if (ready)
        CloseHandle(ready);
    if (alive)
        CloseHandle(alive);
}

/* -s takes a DACL and a mandatory label, which goes on every object; an
   owner, a group, an audit entry and NO_ACCESS_CONTROL are usage errors. */
void sddl_parts(const wchar_t *m)
{
    static const struct {
        const wchar_t *sddl;
        const char *says;
    } refused[] = {
        {L"O:BAD:(A;;GA;;;WD)", "owner (O:)"},
        {L"G:BAD:(A;;GA;;;WD)", "group (G:)"},
        {L"D:(A;;GA;;;WD)S:(AU;SA;GA;;;WD)", "S: takes a mandatory label"},
        {L"D:NO_ACCESS_CONTROL", "NO_ACCESS_CONTROL"},
    };
    static const wchar_t *suffix[] = {L"", L".sleep", L".ready", L".alive"};
    wchar_t n[MAX_PATH];
    struct proc w, r, f = {0};
    HANDLE h = NULL;

    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        run(&w, L"memwrite", L"-m %ls -s \"%ls\"", m, refused[i].sddl);
        CHECK(w.code == 2 && one_line(w.err.data) && strstr(w.err.data, refused[i].says)
              && !exists(m), "-s \"%ls\": exit %d: %s", refused[i].sddl, w.code, w.err.data);
    }
    /* GR lets readers read, not follow: .sleep gets no write grant. */
    start(&w, L"memwrite", L"-m %ls -s D:(A;;GR;;;WD) 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        reads(m, "1\r\nn1\r\n");
        run(&r, L"memread", L"-f -m %ls", m);
        CHECK(r.code == 1 && one_line(r.err.data) && strstr(r.err.data, ".sleep\": ")
              && strstr(r.err.data, "(error 5); memwrite's -s SDDL does not let you"),
              "memread -f under -s D:(A;;GR;;;WD): exit %d: %s", r.code, r.err.data);
    }
    finish(&w, LIMIT);
    start(&w, L"memwrite", L"-m %ls -s \"D:(A;;GA;;;WD)S:(ML;;NW;;;LW)\" 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        for (int i = 0; i < 4; i++) {
            swprintf(n, MAX_PATH, L"%ls%ls", m, suffix[i]);
            CHECK(label_of(read_control(n, i), L"LW"), "%ls: no low mandatory label (NW) read "
                  "back", n);
        }
        reads(m, "1\r\nn1\r\n");
    }
    finish(&w, LIMIT);
    CHECK(w.code == 0, "memwrite with a label: exit %d: %s", w.code, w.err.data);
    /* Without -s, the medium label: on memwrite's objects, the
       generation's event among them, and a waiting reader's .ready. */
    start(&r, L"memread", L"-w 5 -m %ls", m);
    ready_name(n, m);
    for (int tries = 0; tries < 500 && !(h = OpenEventW(READ_CONTROL, FALSE, n)); tries++)
        Sleep(10);
    CHECK(label_of(h, L"ME"), "a waiting reader's %ls: no medium label read back", n);
    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
        for (int i = 0; i < 5; i++) {
            if (i < 4)
                swprintf(n, MAX_PATH, L"%ls%ls", m, suffix[i]);
            else
                gen_of(m, n);
            CHECK(label_of(read_control(n, i), L"ME"), "%ls: no medium label read back", n);
        }
    }
    finish(&r, LIMIT);
    finish(&w, LIMIT);
    finish(&f, LIMIT);
    CHECK(w.code == 0 && r.code == 0, "memwrite: exit %d; memread -w: exit %d: %s", w.code,
          r.code, w.err.data);
}

/* The access that process p's handle to the object named name holds, as
   NtQueryObject reads it from a copy of each of its handles; 0 if it has
   none. The copy keeps the access of the handle it copies. */
static ACCESS_MASK granted(HANDLE p, const wchar_t *name)
{
    typedef NTSTATUS(NTAPI * query_fn)(HANDLE, OBJECT_INFORMATION_CLASS, void *, ULONG, ULONG *);
    query_fn query = (query_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"ntdll"),
                                                              "NtQueryObject");
    union {
        OBJECT_NAME_INFORMATION info;
        char room[sizeof(OBJECT_NAME_INFORMATION) + 1024];
    } n;
    PUBLIC_OBJECT_BASIC_INFORMATION basic;
    size_t len = wcslen(name), have;
    ACCESS_MASK got = 0;
    HANDLE copy;
    ULONG out;

    for (ULONG_PTR v = 4; query && !got && v < 0x2000; v += 4) {
        if (!DuplicateHandle(p, (HANDLE)v, GetCurrentProcess(), &copy, 0, FALSE,
                             DUPLICATE_SAME_ACCESS))
            continue;
        if (query(copy, (OBJECT_INFORMATION_CLASS)1, &n, sizeof n, &out) >= 0  /* its name */
            && (have = n.info.Name.Length / sizeof(wchar_t)) >= len
            && !wcsncmp(n.info.Name.Buffer + have - len, name, len)
            && n.info.Name.Buffer[have - len - 1] == L'\\'
            && query(copy, ObjectBasicInformation, &basic, sizeof basic, &out) >= 0)
            got = basic.GrantedAccess;
        CloseHandle(copy);
    }
    return got;
}

/* Each handle asks for what its program needs and no more, read back from
   the programs' own handles: memwrite's .alive and .ready, taken over,
   and the generation's event; a follower's .alive, which it may see but
   not hold, and the generation's event; a waiting reader's .ready. */
void asked_rights(const wchar_t *m)
{
    wchar_t n[MAX_PATH];
    struct proc w, f, r;
    HANDLE ready = NULL, alive;
    ACCESS_MASK got;

    start(&r, L"memread", L"-w 5 -m %ls", m);
    ready_name(n, m);
    for (int i = 0; i < 500 && !(ready = OpenEventW(SYNCHRONIZE, FALSE, n)); i++)
        Sleep(10);
    swprintf(n, MAX_PATH, L"%ls.ready", m);
    CHECK((got = granted(r.pi.hProcess, n)) == 0x100000, "a waiting reader's .ready: "
          "0x%lx, not SYNCHRONIZE", got);
    swprintf(n, MAX_PATH, L"%ls.alive", m);
    alive = CreateMutexW(NULL, FALSE, n);       /* left by a memwrite gone */
    start(&w, L"memwrite", L"-m %ls 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        swprintf(n, MAX_PATH, L"%ls.alive", m);
        CHECK((got = granted(w.pi.hProcess, n)) == 0x100001, "memwrite's .alive, taken over: "
              "0x%lx, not SYNCHRONIZE | MUTEX_MODIFY_STATE", got);
        swprintf(n, MAX_PATH, L"%ls.ready", m);
        CHECK((got = granted(w.pi.hProcess, n)) == 0x100002, "memwrite's .ready, taken over: "
              "0x%lx, not SYNCHRONIZE | EVENT_MODIFY_STATE", got);
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
        swprintf(n, MAX_PATH, L"%ls.alive", m);
        CHECK((got = granted(f.pi.hProcess, n)) == 0x1, "a follower's .alive: 0x%lx, "
              "not MUTANT_QUERY_STATE alone (it may not hold it)", got);
        gen_of(m, n);
        CHECK((got = granted(f.pi.hProcess, n)) == 0x100000, "a follower's generation "
              "event: 0x%lx, not SYNCHRONIZE", got);
        CHECK((got = granted(w.pi.hProcess, n)) == 0x100002, "memwrite's generation event: "
              "0x%lx, not SYNCHRONIZE | EVENT_MODIFY_STATE", got);
        finish(&w, LIMIT);
        finish(&f, LIMIT);
    } else {
        finish(&w, LIMIT);
    }
    finish(&r, LIMIT);
    if (ready)
        CloseHandle(ready);
    CloseHandle(alive);
}
