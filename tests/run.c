/* run: the test suite. It starts memwrite and memread as real processes,
   with pipes for their standard handles and a time limit each, and checks
   their output, exit codes and the sections they leave. It knows the record
   and the ready event from the README, not from student.h, so that a wrong
   definition there cannot hide. This file holds the numbered table of
   cases and runs them; harness.c holds what the cases share, and the cases
   are in files by theme (tests/README.md says which case is where). */
#include "harness.h"
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include "cases.h"

static int passed, failed, skipped;

/* run [--other DIR] [N ...]: only cases N, if any are named */
static BOOL chosen(int argc, wchar_t **argv, size_t n)
{
    BOOL any = FALSE;

    for (int i = 1; i < argc; i++) {
        if (!wcscmp(argv[i], L"--other")) {
            i++;
            continue;
        }
        any = TRUE;
        if (wcstoul(argv[i], NULL, 10) == n)
            return TRUE;
    }
    return !any;
}

int wmain(int argc, wchar_t **argv)
{
    static const struct {
        const char *name;
        void (*run)(const wchar_t *mapping);
    } cases[] = {
        {"no arguments: the article's record and output", defaults},
        {"IDs and names: negative, limits, 19 bytes, scripts", values},
        {"usage errors: exit 2, one line, nothing touched", usage_errors},
        {"memread with no writer: at once, and after -w 0.5", no_writer},
        {"a second writer on the same name is refused", second_writer},
        {"memwrite stops at end of input and at Enter", stops},
        {"memwrite killed: the section goes with it", killed},
        {"untrusted sections: refused or escaped", untrusted},
        {"names taken by other kinds of object: a clear error at once", taken_names},
        {"the record's bytes; the article's programs", layout},
        {"memread waits for the ready event", waits_for_ready},
        {"50 races of a writer and a waiting reader", race},
        {"32 readers at once", many_readers},
        {"a waiting memwrite and an idle follower use no CPU", idle},
        {"--help and -h", help},
        {"a failed write to stdout is an error", output_fails},
        {"100,000 updates in 20 bursts, 3 followers, one-shot readers: none torn or late", stress},
        {"a slow writer played by the test: readers never print a mix", slow_writes},
        {"memread -f: three followers, every update, exit 0 at the stop", follows},
        {"a seq that stays odd: memread gives up in time", stuck_writer},
        {"memwrite killed under a follower: exit 1 at once", killed_under_follower},
        {"update lines in every form; the article's MemRead after updates", line_forms},
        {"bad update lines: reported by number, skipped, exit 1", bad_lines},
        {"mixed: a 32-bit and a 64-bit program share records, both ways", mixed},
        {"console: memread shows Greek, Japanese and escapes on a console", console_case},
        {"ctrl: Ctrl+C stops memwrite and a follower through their handlers", ctrl_case},
        {"typed: an update typed at the console; Enter, or Ctrl+Z, stops memwrite", typed_case},
        {"a hostile .sleep: memwrite neither crashes nor stalls", hostile_sleep},
        {"a frozen follower after the stop: the record is read, a new writer told why", lingers},
        {"memwrite restarting under memread -w: every reader gets a record", restarts},
        {"a stranger holding .alive, a frozen follower: stops and deaths reach the others",
         alive_waiter},
        {"an unreadable stdin is an error", bad_stdin},
        {"100 followers through bursts: each on every burst's last record", many_followers},
        {"ctrl_busy: Ctrl+C stops a follower while records come without a pause",
         ctrl_busy_case},
        {"stuck_stderr: Ctrl+C stops memwrite whose stderr nobody drains", stuck_stderr_case},
        {"memwrite -s: each object's DACL as asked; readers read, nobody writes", access_rights},
        {"churn: 10,000 follower sessions come and go, each woken; memwrite keeps none", churn},
        {"squatted: symbolic links under the names: followers follow, memwrite refuses",
         squatted},
        {"2,000 bad lines, stderr stuck or not: memwrite stops at once, says or counts each",
         stuck_lines},
        {"2,000 followers at once: each printed, woken, exit 0 at the stop", crowd},
        {"memwrite -s restarted over a held .ready and .alive takes them over", restart_s},
        {"-s: labels read back; owner, group, audit, NO_ACCESS_CONTROL refused", sddl_parts},
        {"a stranger's set .ready over a 24-byte section: read as the article's", ready_not_ours},
        {"the access each program's handles ask for, read back", asked_rights},
        {"a one-shot read loads no advapi32; a waiting one does", one_shot_modules},
    };
    wchar_t mapping[100], *slash;

    GetModuleFileNameW(NULL, dir, MAX_PATH);
    for (int up = 0; up < 2 && (slash = wcsrchr(dir, L'\\')); up++)
        *slash = 0;             /* dir\tests\run.exe: the programs are in dir */
    if (argc == 5 && !wcscmp(argv[1], L"--console"))
        return console_child(argv);
    for (int i = 1; i + 1 < argc; i++)
        if (!wcscmp(argv[i], L"--other"))
            GetFullPathNameW(argv[i + 1], MAX_PATH, other, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ULONGLONG t0 = GetTickCount64();

        if (!chosen(argc, argv, i + 1))
            continue;
        *why = *skip = 0;
        swprintf(mapping, 100, L"memtest.%lu.%u", GetCurrentProcessId(), (unsigned)i);
        cases[i].run(mapping);
        if (*skip && !*why) {
            skipped++;
            printf("SKIP %2u %s: %s\n", (unsigned)i + 1, cases[i].name, skip);
        } else if (*why) {
            failed++;
            printf("FAIL %2u %s: %s\n", (unsigned)i + 1, cases[i].name, why);
        } else {
            passed++;
            printf("ok   %2u %s (%llu ms)\n", (unsigned)i + 1, cases[i].name,
                   GetTickCount64() - t0);
        }
        fflush(stdout);
    }
    printf(skipped ? "%d passed, %d failed, %d skipped\n" : "%d passed, %d failed\n",
           passed, failed, skipped);
    return failed != 0;
}
