/* cputime.h: how much CPU time another process has used, for the test and
   the benchmark. */
#ifndef CPUTIME_H
#define CPUTIME_H

#include <windows.h>
#include <tlhelp32.h>

static ULONGLONG filetime_ms(FILETIME kernel, FILETIME user)
{
    return (((ULONGLONG)kernel.dwHighDateTime << 32 | kernel.dwLowDateTime)
            + ((ULONGLONG)user.dwHighDateTime << 32 | user.dwLowDateTime)) / 10000;
}

/* Milliseconds of CPU the process has used. Windows' GetProcessTimes counts
   every thread, ended ones too. Wine 8's gives the caller's own time for
   another process (measured), so there the process's threads are summed. */
static ULONGLONG cpu_ms(const PROCESS_INFORMATION *pi)
{
    FILETIME created, ended, kernel, user;
    THREADENTRY32 te = {0};
    ULONGLONG ms = 0;
    HANDLE snap, t;

    if (!GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version"))
        return GetProcessTimes(pi->hProcess, &created, &ended, &kernel, &user)
               ? filetime_ms(kernel, user) : 0;
    te.dwSize = sizeof te;
    snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    for (BOOL ok = Thread32First(snap, &te); ok; ok = Thread32Next(snap, &te))
        if (te.th32OwnerProcessID == pi->dwProcessId
            && (t = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, te.th32ThreadID))) {
            if (GetThreadTimes(t, &created, &ended, &kernel, &user))
                ms += filetime_ms(kernel, user);
            CloseHandle(t);
        }
    CloseHandle(snap);
    return ms;
}

#endif
