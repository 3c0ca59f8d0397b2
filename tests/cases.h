/* cases.h: the cases, one function each, which run.c numbers and runs;
   each is given a mapping name of its own. */
#ifndef CASES_H
#define CASES_H

#include <wchar.h>

/* port.c: the article's scenario */
void defaults(const wchar_t *unused);
void values(const wchar_t *m);
void stops(const wchar_t *m);
void killed(const wchar_t *m);
void layout(const wchar_t *m);
void many_readers(const wchar_t *m);
void help(const wchar_t *unused);
void mixed(const wchar_t *m);
void one_shot_modules(const wchar_t *m);

/* errors.c: misuse and untrusted input */
void usage_errors(const wchar_t *m);
void no_writer(const wchar_t *m);
void second_writer(const wchar_t *m);
void untrusted(const wchar_t *m);
void taken_names(const wchar_t *m);
void output_fails(const wchar_t *m);
void stuck_writer(const wchar_t *m);
void bad_lines(const wchar_t *m);
void bad_stdin(const wchar_t *m);
void ready_not_ours(const wchar_t *m);

/* live.c: records that change while they are read */
void waits_for_ready(const wchar_t *m);
void race(const wchar_t *m);
void stress(const wchar_t *m);
void slow_writes(const wchar_t *m);
void follows(const wchar_t *m);
void line_forms(const wchar_t *m);
void restarts(const wchar_t *m);

/* followers.c: memread -f over time */
void idle(const wchar_t *m);
void killed_under_follower(const wchar_t *m);
void hostile_sleep(const wchar_t *m);
void lingers(const wchar_t *m);
void alive_waiter(const wchar_t *m);
void many_followers(const wchar_t *m);
void churn(const wchar_t *m);
void squatted(const wchar_t *m);
void stuck_lines(const wchar_t *m);
void crowd(const wchar_t *m);

/* consoles.c: each case in a console child; console_child is that child */
void console_case(const wchar_t *m);
void ctrl_case(const wchar_t *m);
void typed_case(const wchar_t *m);
void ctrl_busy_case(const wchar_t *m);
void stuck_stderr_case(const wchar_t *m);
int console_child(wchar_t **argv);

/* security.c: memwrite -s */
void access_rights(const wchar_t *m);
void restart_s(const wchar_t *m);
void sddl_parts(const wchar_t *m);
void asked_rights(const wchar_t *m);

#endif
