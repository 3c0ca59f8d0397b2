/* security: memwrite -s: the DACL each object gets and what it lets
   readers and followers do, and a follower memwrite may not wake. */
#include "harness.h"
#include <sddl.h>
#include <aclapi.h>
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

/* A follower whose event appears only after it first asked is woken when
   it asks again; one whose event memwrite may not set is said, once,
   however often it asks. */
static void unwakable(const wchar_t *m)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
    wchar_t n[MAX_PATH], mu[MAX_PATH];
    HANDLE h = NULL, e = NULL, e6;
    LONG *sleep;
    struct proc w;
    const char *p;
    int said = 0;

    swprintf(mu, MAX_PATH, L"%ls.u", m);
    start(&w, L"memwrite", L"-m %ls 1 n1", mu);
    if (wait_writer(mu, LIMIT) && (sleep = map_sleep(mu, &h)) != NULL) {
        swprintf(n, MAX_PATH, L"%ls.w5", mu);
        ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:(D;;GA;;;WD)", SDDL_REVISION_1,
                                                             &sa.lpSecurityDescriptor, NULL);
        e = CreateEventW(&sa, FALSE, FALSE, n);
        CHECK(e != NULL, "cannot make %ls: error %lu", n, GetLastError());
        /* First a follower that asks before its event exists (as one left
           by a follower that ended might): then it makes it, and is woken. */
        sleep[1 + 2 * 6] = (LONG)GetCurrentProcessId();
        InterlockedExchange(&sleep[2 + 2 * 6], 1);
        InterlockedExchange(&sleep[0], 1);
        say(&w, "5 n5\n");
        Sleep(300);
        swprintf(n, MAX_PATH, L"%ls.w6", mu);
        e6 = CreateEventW(NULL, FALSE, FALSE, n);
        InterlockedExchange(&sleep[2 + 2 * 6], 1);
        InterlockedExchange(&sleep[0], 1);
        say(&w, "6 n6\n");
        CHECK(e6 && WaitForSingleObject(e6, 2000) == WAIT_OBJECT_0, "a follower whose event "
              "came after its first ask was not woken at its second");
        if (e6)
            CloseHandle(e6);
        sleep[1 + 2 * 5] = (LONG)GetCurrentProcessId();
        for (int k = 2; k <= 4; k++) {
            InterlockedExchange(&sleep[2 + 2 * 5], 1);     /* asked */
            InterlockedExchange(&sleep[0], 1);              /* asking */
            say(&w, k == 2 ? "2 n2\n" : k == 3 ? "3 n3\n" : "4 n4\n");
            Sleep(300);
        }
        UnmapViewOfFile(sleep);
        CloseHandle(h);
    }
    finish(&w, LIMIT);
    for (p = w.err.data; (p = strstr(p, "will not be woken")) != NULL; p++)
        said++;
    CHECK(w.code == 0 && said == 1 && strstr(w.err.data, "(error 5)"), "memwrite beside a "
          "follower it may not wake: exit %d, said so %d times: %s", w.code, said, w.err.data);
    if (e)
        CloseHandle(e);
    LocalFree(sa.lpSecurityDescriptor);
}

/* memwrite -s: each object's DACL, read back, grants Everyone (WD) what
   its users need and no more; readers and followers work; nobody may open
   the record to write; a follower's event lets memwrite's user set it. A
   DACL that denies everyone turns memread away with error 5 and a hint. */
void access_rights(const wchar_t *m)
{
    static const struct {
        const wchar_t *suffix;
        ACCESS_MASK want;       /* READ_CONTROL, then what its users need */
    } objs[] = {
        {L"", 0x20000 | 0x1 | 0x4},                     /* SECTION_QUERY, MAP_READ */
        {L".sleep", 0x20000 | 0x1 | 0x4 | 0x2},         /* and MAP_WRITE */
        {L".ready", 0x20000 | 0x100000 | 0x1},          /* SYNCHRONIZE, QUERY_STATE */
        {L".alive", 0x20000 | 0x100000 | 0x1},
    };
    PSID everyone = NULL, owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t n[MAX_PATH];
    struct proc w, f, r;
    ACCESS_MASK got = 0;
    HANDLE h;
    int aces;

    ConvertStringSidToSidW(L"WD", &everyone);
    start(&w, L"memwrite", L"-m %ls -s D:(A;;GA;;;WD) 1 n1", m);
    if (wait_writer(m, LIMIT)) {
        for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
            swprintf(n, MAX_PATH, L"%ls%ls", m, objs[i].suffix);
            h = i < 2 ? OpenFileMappingW(READ_CONTROL, FALSE, n)
                : i == 2 ? OpenEventW(READ_CONTROL, FALSE, n) : OpenMutexW(READ_CONTROL, FALSE, n);
            CHECK(dacl_of(h, everyone, &got, &aces) && aces == 1 && got == objs[i].want,
                  "%ls: the DACL read back grants Everyone 0x%lx, not 0x%lx (%d ACEs)", n, got,
                  objs[i].want, aces);
        }
        CHECK(!OpenFileMappingW(FILE_MAP_WRITE, FALSE, m) && GetLastError() == ERROR_ACCESS_DENIED,
              "the record's section opened for writing: error %lu", GetLastError());
        reads(m, "1\r\nn1\r\n");
        start(&f, L"memread", L"-f -m %ls", m);
        CHECK(wait_lines(&f.out, 2, LIMIT), "the follower printed nothing: %s", f.err.data);
        swprintf(n, MAX_PATH, L"%ls.sleep", m);
        if ((h = OpenFileMappingW(READ_CONTROL, FALSE, n)) != NULL) {
            GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                            NULL, &sd);
            CloseHandle(h);
        }
        swprintf(n, MAX_PATH, L"%ls.w0", m);
        CHECK(owner && dacl_of(OpenEventW(READ_CONTROL, FALSE, n), owner, &got, &aces)
              && (got & EVENT_MODIFY_STATE), "the follower's event does not let memwrite's "
              "user (the owner of .sleep) set it: 0x%lx", got);
        say(&w, "2 n2\n");
        finish(&w, LIMIT);
        finish(&f, LIMIT);
        CHECK(f.code == 0 && !strcmp(f.out.data, "1\r\nn1\r\n2\r\nn2\r\n"),
              "the follower: exit %d, \"%s\" %s", f.code, f.out.data, f.err.data);
        LocalFree(sd);
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
    unwakable(m);
}
