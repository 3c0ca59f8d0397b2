/* floor: the least that one wake-up for every follower can cost, for the
   benchmark. `floor -w NAME` makes a section NAME (so that the benchmark
   sees it start) and the manual-reset events NAME.0 to NAME.LAST, then sets
   NAME.k as it reads line k of stdin, and NAME.0 at end of input. `floor
   -f NAME` opens them all, prints the lines 99041232 and n, then for
   k = 1, 2, ... waits for NAME.k (or NAME.0: it exits) and prints the
   lines k and nk, as memread -f prints the benchmark's "k nk". No record,
   no seqlock, no name to read, no event opened or closed after the start:
   one wait and one write for each wake-up. Not safe, not for use: a
   yardstick. */
#include <windows.h>
#include <stdio.h>
#include <wchar.h>

#define LAST 256                /* more lines than the benchmark writes */

static HANDLE ev[LAST + 1];

static int say(const char *s)
{
    DWORD n, len = (DWORD)strlen(s);

    return WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), s, len, &n, NULL) && n == len;
}

static int writer(const wchar_t *name)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE), map;
    wchar_t ename[300];
    char buf[4096];
    DWORD n;
    int k = 1;

    for (int i = 0; i <= LAST; i++) {
        swprintf(ename, 300, L"%ls.%d", name, i);
        if (!(ev[i] = CreateEventW(NULL, TRUE, FALSE, ename)))     /* manual reset */
            return 1;
    }
    if (!(map = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name)))
        return 1;
    while (ReadFile(in, buf, sizeof buf, &n, NULL) && n)
        for (DWORD i = 0; i < n; i++)
            if (buf[i] == '\n' && k <= LAST)
                SetEvent(ev[k++]);
    SetEvent(ev[0]);
    CloseHandle(map);
    return 0;
}

static int follower(const wchar_t *name)
{
    wchar_t ename[300];
    char line[32];

    for (int i = 0; i <= LAST; i++) {
        swprintf(ename, 300, L"%ls.%d", name, i);
        if (!(ev[i] = OpenEventW(SYNCHRONIZE, FALSE, ename)))
            return 1;
    }
    if (!say("99041232\r\nn\r\n"))
        return 1;
    for (int k = 1; k <= LAST; k++) {
        HANDLE h[2] = {ev[0], ev[k]};

        if (WaitForMultipleObjects(2, h, FALSE, INFINITE) != WAIT_OBJECT_0 + 1)
            return 0;           /* the writer's end of input */
        snprintf(line, sizeof line, "%d\r\nn%d\r\n", k, k);
        if (!say(line))
            return 1;
    }
    return 0;
}

int wmain(int argc, wchar_t **argv)
{
    if (argc == 3 && !wcscmp(argv[1], L"-w"))
        return writer(argv[2]);
    if (argc == 3 && !wcscmp(argv[1], L"-f"))
        return follower(argv[2]);
    fputs("usage: floor -w NAME | floor -f NAME\n", stderr);
    return 2;
}
