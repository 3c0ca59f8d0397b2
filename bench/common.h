/* common.h: what the benchmark and the soak run share: the machine a run
   is on, printed at its head, and lines out of a pipe. */
#ifndef COMMON_H
#define COMMON_H

#include <windows.h>
#include <stdio.h>

static void machine(void)
{
    const char *(*wine_version)(void) = NULL;
    void (*wine_host)(const char **, const char **) = NULL;
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    const char *sys = "", *rel = "";
    wchar_t cpu[128] = L"unknown";
    DWORD size = sizeof cpu;
    SYSTEM_INFO si;
    OSVERSIONINFOW os = {0};

    wine_version = (const char *(*)(void))(void (*)(void))GetProcAddress(ntdll, "wine_get_version");
    wine_host = (void (*)(const char **, const char **))(void (*)(void))GetProcAddress(ntdll, "wine_get_host_version");
    RegGetValueW(HKEY_LOCAL_MACHINE, L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0",
                 L"ProcessorNameString", RRF_RT_REG_SZ, NULL, cpu, &size);
    GetNativeSystemInfo(&si);
    os.dwOSVersionInfoSize = sizeof os;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    GetVersionExW(&os);
#pragma GCC diagnostic pop
    printf("machine: %ls, %lu logical processors\n", cpu, si.dwNumberOfProcessors);
    if (wine_version && wine_host) {
        wine_host(&sys, &rel);
        printf("system:  Wine %s on %s %s (reports Windows %lu.%lu build %lu)\n",
               wine_version(), sys, rel, os.dwMajorVersion, os.dwMinorVersion,
               os.dwBuildNumber);
    } else {
        printf("system:  Windows %lu.%lu build %lu\n", os.dwMajorVersion,
               os.dwMinorVersion, os.dwBuildNumber);
    }
}

/* Lines out of bytes read from a pipe: given one byte at a time, it gives
   back each line once its '\n' has come, without it, NUL-terminated and
   cut to fit; NULL until then. */
struct lines {
    char line[700];
    size_t len;
};

static char *next_line(struct lines *l, char c)
{
    if (c != '\n') {
        if (l->len < sizeof l->line - 1)
            l->line[l->len++] = c;
        return NULL;
    }
    l->line[l->len] = 0;
    l->len = 0;
    return l->line;
}

#endif
