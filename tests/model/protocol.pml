/* tests/model/protocol.pml: the protocol of memwrite and `memread -f` in
   Promela, for spin. tests/model/check runs it and each mutation (a -D
   switch below); `make model` runs that. What it covers and what it leaves
   out is in tests/README.md, "The model". A change to the protocol changes
   this file in the same commit.

   One shared access is one step; spin tries every interleaving of them,
   under sequential consistency. Where a fence of the C code forbids a
   reordering that a weaker memory model (ARM64) allows, a mutation below
   writes the reordered program order out, which is what that reordering
   looks like to the other threads.

   Properties (each name is a variable that is always 1, so that spin's
   message for a failed assertion names the property):
     seqlock_no_mixed_record   a follower keeps only a whole version
     no_lost_wakeup            memwrite running on, idle: every follower
                               still following printed the last version
     clean_stop_exits_0_last   at a clean stop every follower prints the
                               last version and exits 0
     death_exits_1_none_waits  at memwrite's death every follower exits 1,
                               none is left waiting
     no_shared_slot            no two followers own a slot (its event)
     no_slot_lost              with memwrite idle, every event name that
                               exists is held by a follower that is there
     no_sleep_after_unmap      memwrite's waker never touches .sleep after
                               memwrite unmapped it
   and spin's own: no invalid end state (a process stuck where it may not
   rest). */

#ifndef NFOL
#define NFOL 2                  /* follower processes */
#endif
#ifndef NINC
#define NINC 1                  /* lives of follower 0: 2, one leaves, one comes */
#endif
#ifndef NPUB
#define NPUB 3                  /* publishes, the first one share()'s */
#endif
#define NSLOT NFOL              /* slots in .sleep, each with its name .wN */
#define NONE 255

hidden byte seqlock_no_mixed_record = 1;
hidden byte no_lost_wakeup = 1;
hidden byte clean_stop_exits_0_last = 1;
hidden byte death_exits_1_none_waits = 1;
hidden byte no_shared_slot = 1;
hidden byte no_slot_lost = 1;
hidden byte no_sleep_after_unmap = 1;

/* The section (struct shared). */
byte seq;                       /* 2k once publish k is whole; odd: changing */
byte ra, rb;                    /* the record's two halves: publish k writes k */
bit stopped;

/* .alive, the mutex */
#define A_HELD 0                /* by memwrite */
#define A_FREE 1
#define A_ABANDONED 2
#define A_FOL 3                 /* 3 + f: held by follower f */
byte alive = A_HELD;

/* .sleep (struct sleepers) */
bit asking;
bit asked[NSLOT];
byte spid[NSLOT];                /* a hint: f + 1, or 0 */

/* The event objects named .wN: who holds a handle, and whether it is set.
   The name exists while anyone holds it; a new object starts unset. */
byte hold[NSLOT];               /* followers' handles, a bit each */
bit mwh[NSLOT];                 /* memwrite's (the waker's) handle */
bit evset[NSLOT];

/* memwrite's own (struct writer) */
bit lock;                       /* w.lock */
bit kick;                       /* w.kick, auto-reset */
bit due;                        /* w.due */
bit wstop;                      /* w.stop */
bit retry;                      /* a failed wake-up waits for the waker's timeout */
#ifndef WFAIL
#define WFAIL 1
#endif
byte wfail = WFAIL;              /* OpenEvent failures (not "not found") left to make */
bit dead;                       /* memwrite killed */
bit exited;                     /* memwrite's process ended after a clean stop */
bit waker_done;
bit unmapped;                   /* .sleep unmapped by release() */
byte pubs;                      /* publishes done */
#define M_STAY 1                /* memwrite runs on after its last publish */
#define M_STOP 2                /* stopped cleanly: end of input or Ctrl+C, any time */
#define M_DIE 3                 /* killed, any time */
byte mode;

/* Bookkeeping for the properties, per follower process (its last life). */
#define F_NORMAL 1              /* follows to the end */
#define F_CTRLC 2               /* Ctrl+C'd at some point */
#define F_DOOMED 3              /* killed at some point */
#define F_KILLED 4              /* killed now */
byte fate[NFOL];
#define R_RUNNING 0
#define R_OK 1                  /* exit 0 at the stop */
#define R_FAIL 2                /* exit 1: killed or crashed, or stuck */
#define R_LEFT 3                /* Ctrl+C */
#define R_KILLED 4
#define R_FULL 5                /* every slot taken */
#define R_NOSTART 6             /* memwrite was gone before it started */
byte res[NFOL];
byte fprinted[NFOL];            /* follow()'s printed: the seq of the last version printed */
byte own[NSLOT];                /* followers that took the slot */

/* CloseHandle on a slot's event: the last handle ends the object. */
inline close_mw(i)
{
    mwh[i] = 0;
    if
    :: hold[i] == 0 -> evset[i] = 0
    :: else
    fi
}

inline close_fol(i, f)
{
    hold[i] = hold[i] & ~(1 << (f + NFOL * life));
    if
    :: hold[i] == 0 && !mwh[i] -> evset[i] = 0
    :: else
    fi;
    own[i]--
}

/* publish()'s end: if (asking && !InterlockedExchange(due, 1)) SetEvent(kick).
   (SetEvent on memwrite's own kick event failing is not modelled.) */
inline check_asking()
{
#ifdef MUT_KICK_ALWAYS
    t = 1;                                      /* asking not looked at */
#else
    t = asking;
#endif
    if
    :: t ->
#ifndef MUT_NO_DUE
        atomic { t = !due; due = 1 };
        if
        :: t ->
#endif
            kick = 1
#ifndef MUT_NO_DUE
        :: else
        fi
#endif
    :: else
    fi;
    t = 0
}

/* publish(): the seqlock's write side under w.lock, then the check of
   asking. The stdin thread's publishes and share()'s first one alike. */
proctype publisher()
{
    byte k = 1;
    bit t;

    {
end_lock:
    do
    :: k <= NPUB ->
        atomic { lock == 0 -> lock = 1 };       /* EnterCriticalSection */
#ifdef MUT_ASKING_BEFORE_ODD
        check_asking();                         /* asking read before any seq store is seen */
#endif
#if defined(MUT_COPY_BEFORE_ODD)
        ra = k; rb = k; seq++; seq++;           /* the record copied before seq goes odd */
#elif defined(MUT_COPY_AFTER_BOTH)
        seq++; seq++; ra = k; rb = k;           /* both increments before the copy */
#elif defined(MUT_W_NO_FENCE_AFTER_ODD)
        ra = k; seq++; rb = k; seq++;           /* a store of the copy seen before the odd seq */
#elif defined(MUT_W_NO_FENCE_BEFORE_EVEN)
        seq++; ra = k; seq++; rb = k;           /* a store of the copy seen after the even seq */
#else
        seq++;                                  /* odd = InterlockedIncrement(seq); fence */
#ifdef COARSE
        atomic { ra = k; rb = k };
#else
        ra = k;                                 /* copy rec, in two halves; fence */
        rb = k;
#endif
#ifdef MUT_ASKING_BEFORE_EVEN
        check_asking();                         /* asking read, followers woken, before seq is even */
#endif
        seq++;                                  /* seq = odd + 1 (no wrap: NPUB is small); fence */
#endif
#if !defined(MUT_ASKING_BEFORE_ODD) && !defined(MUT_ASKING_BEFORE_EVEN)
        check_asking();
#endif
        lock = 0;                               /* LeaveCriticalSection */
        pubs = k;
        k++
    :: else -> break
    od
    } unless { dead || exited }
}

/* wake(i): OpenEvent(".wN" by the slot's name) + SetEvent + CloseHandle:
   memwrite keeps no handle to a follower's event between wake-ups. */
inline wake(i)
{
    atomic {                                    /* OpenEvent */
        if
        :: hold[i] == 0 && !mwh[i] -> r = 0     /* not found: the follower is gone */
#ifdef MUT_CACHE
        :: mwh[i] -> r = 1                      /* the handle kept from an earlier wake-up */
#endif
        :: (hold[i] != 0 || mwh[i]) && wfail > 0 -> wfail--; r = 2  /* any other failure */
        :: hold[i] != 0 && !mwh[i] -> mwh[i] = 1; r = 1
        fi
    };
    if
    :: r == 1 ->
        atomic {
            evset[i] = 1;                       /* SetEvent */
#ifndef MUT_CACHE
            close_mw(i);                        /* CloseHandle */
#endif
            r = 0
        }
    :: r == 2 ->
#ifndef MUT_DROP_FAILED
        atomic {
            assert(no_sleep_after_unmap && !unmapped);
            asked[i] = 1                        /* asked again; asking as it is */
        };
#ifndef MUT_RETRY_NO_TIMEOUT
        retry = 1;                              /* the waker's wait gets a timeout */
#endif
#endif
        r = 0
    :: r == 0
    fi
}

/* The scan's start: due = 0; asking = 0; fence. */
inline clear_flags()
{
    due = 0;
#ifndef MUT_WAKER_KEEPS_ASKING
    atomic { assert(no_sleep_after_unmap && !unmapped); asking = 0 }
#endif
}

/* A scan of waker(): for each slot i, if (asked[i] &&
   InterlockedExchange(asked[i], 0)) wake(i). */
inline scan()
{
#ifndef MUT_WAKER_CLEAR_LATE
    clear_flags();
#endif
    i = 0;
    do
    :: i < NSLOT ->
        atomic {
            assert(no_sleep_after_unmap && !unmapped);
            t = asked[i];
            asked[i] = 0
        };
        if
        :: t -> t = 0; wake(i)
        :: else
        fi;
        i++
    :: else -> i = 0; break
    od;
#ifdef MUT_WAKER_CLEAR_LATE
    clear_flags()                               /* due and asking cleared after the scan */
#endif
}

/* waker(): waits on {kick, stop}, with a timeout only while a failed
   wake-up waits to be retried; one scan for each kick or timeout, so that
   kicks during a scan merge into one more scan. */
proctype waker()
{
    byte i, r;
    bit t;

    {
end_wait:
        do
        :: atomic { kick -> kick = 0; retry = 0 }; scan()
        :: atomic { retry -> retry = 0 }; scan()
        :: wstop -> break
        od;
        waker_done = 1
    } unless { dead || exited }
}

/* memwrite's main thread: share() and stop_sharing(), or its death. */
proctype memwrite()
{
    byte i;

    {
        if
        :: mode == M_STAY                       /* stdin stays open: no stop */
        :: mode == M_STOP ->
            pubs >= 1;                          /* after share()'s first publish */
#ifndef MUT_STOP_NOLOCK
            atomic { lock == 0 -> lock = 1 };   /* stop_sharing(): EnterCriticalSection, kept */
#endif
            stopped = 1;
            alive = A_FREE;                     /* ReleaseMutex(.alive) */
            wstop = 1;                          /* SetEvent(w.stop) */
#ifdef MUT_UNMAP_EARLY
            unmapped = 1;                       /* .sleep unmapped without waiting for the waker */
#else
            if
            :: waker_done -> unmapped = 1       /* the waker ended within 1 s */
            :: true                             /* it did not: w.sleep = NULL, left mapped */
            fi;
#endif
            atomic {                            /* release(), then the process ends */
                i = 0;
                do
                :: i < NSLOT -> if :: mwh[i] -> close_mw(i) :: else fi; i++
                :: else -> i = 0; break
                od;
                exited = 1
            }
        :: mode == M_DIE
        fi
    } unless { dead }
}

/* memwrite killed, at any step: .alive abandoned, stopped stays 0, its
   threads end, and the system closes its handles. */
active proctype death()
{
    byte i;

end_never:
    mode == M_DIE && !dead;
    atomic {
        dead = 1;
        alive = A_ABANDONED;
        lock = 0;
        i = 0;
        do
        :: i < NSLOT -> if :: mwh[i] -> close_mw(i) :: else fi; i++
        :: else -> i = 0; break
        od
    }
}

/* A follower (memread -f). Follower 0 may live twice (a new process, the
   same slot search) when its first life left by Ctrl+C or was killed.
   Each atomic step below is one access to shared memory or one call on
   an object, with what the follower does with its own variables after it. */
proctype follower(byte f, life)
{
    byte mine = NONE, s1, a, i, pass;
    bit st, t, whole;

end_start:
    atomic {
        if
        :: dead || exited || stopped -> res[f] = R_NOSTART; goto gone
        :: seq != 0 && !dead && !stopped && !exited ->  /* the first record is there */
            res[f] = R_RUNNING;
            fprinted[f] = 1;                    /* printed: odd, no version has it */
            if                                  /* how this life ends */
            :: fate[f] = F_NORMAL
            :: f == 0 && life + 1 < NINC -> fate[f] = F_CTRLC
            :: f == 0 && life + 1 < NINC -> fate[f] = F_DOOMED
            fi
        fi
    };
    {
        /* take_slot(): pass 0 over slots whose pid hint is 0, pass 1 over
           the rest; CreateEventEx(".wN"): a name that did not exist is
           ours, and so is the slot; one that did is someone else's (another
           follower's, or memwrite's handle during a wake-up): passed over. */
        do
        :: atomic {
            if
            :: (pass == 0) == (spid[i] == 0) ->
                if
                :: hold[i] == 0 && !mwh[i] ->
                    hold[i] = 1 << (f + NFOL * life); evset[i] = 0; own[i]++; mine = i
#ifdef MUT_TAKE_EXISTING
                :: else ->                      /* made or opened: taken all the same */
                    hold[i] = hold[i] | (1 << (f + NFOL * life)); own[i]++; mine = i
#else
                :: else                         /* existed: closed, passed over */
#endif
                fi
            :: else
            fi;
            if
            :: mine != NONE ->
                assert(no_shared_slot && own[mine] == 1);
                i = 0; pass = 0; break
            :: else
            fi;
            i++;
            if
            :: i == NSLOT -> i = 0; pass++
            :: else
            fi;
            if
            :: pass == 2 -> pass = 0; res[f] = R_FULL; goto leave  /* "1000 followers already follow" */
            :: else
            fi
           }
        od;
        spid[mine] = f + 1;                     /* the hint: it may die before this */

        /* follow() */
loop:
        atomic {
            if
            :: fate[f] == F_CTRLC -> res[f] = R_LEFT; goto leave   /* while (!stopping) */
            :: true
            fi;
#ifndef MUT_STOPPED_AFTER
            st = stopped                        /* st = stopped; fence */
#else
            skip
#endif
        };
        /* snapshot(): read seq; fence; copy; fence; keep it if seq was even
           and unchanged */
snap:
#ifdef COARSE
        /* (COARSE: the whole snapshot one step, a whole version or none) */
        atomic {
            if
            :: seq % 2 == 0 -> s1 = seq; a = ra; whole = (rb == a); t = 1
            :: dead && seq % 2 == 1 -> res[f] = R_FAIL; goto leave
            fi;
            goto check
        };
#endif
#ifdef MUT_NO_FENCE_BEFORE_COPY
        a = ra;                                 /* the copy's first load before seq */
        s1 = seq;
#else
        s1 = seq;
        a = ra;
#endif
#ifdef MUT_NO_FENCE_AFTER_COPY
        atomic { t = (s1 % 2 == 0 && s1 == seq) };  /* seq re-read before the copy's last load */
        atomic { whole = (rb == a); goto check };
#else
        atomic { whole = (rb == a) };
#endif
        atomic {
#ifdef MUT_NO_RECHECK
            t = s1 % 2 == 0;                    /* no re-check of seq after the copy */
#else
            t = s1 % 2 == 0 && s1 == seq;
#endif
check:
            if
            :: !t && dead && seq % 2 == 1 ->    /* stays odd: "half-written", after 1 s */
                res[f] = R_FAIL; goto leave
            :: !t -> whole = 0; goto snap
            :: else
            fi;
            /* kept: the halves are one version, the one seq names */
            assert(seqlock_no_mixed_record && whole && s1 == 2 * a);
            if
            :: s1 != fprinted[f] -> fprinted[f] = s1    /* print_record */
            :: else
            fi;
            s1 = 0; a = 0; t = 0; whole = 0;
#ifndef MUT_STOPPED_AFTER
            if
            :: st -> st = 0; res[f] = R_OK; goto leave  /* the last record printed: exit 0 */
            :: else
            fi
#endif
        };
#ifdef MUT_STOPPED_AFTER
        atomic {
            st = stopped;                       /* stopped read after the snapshot */
            if
            :: st -> st = 0; res[f] = R_OK; goto leave
            :: else
            fi
        };
#endif
        /* ask(): asked = 1; asking = 1; fence; the last look */
#ifdef MUT_LOOK_BEFORE_ASK
        atomic { t = (seq == fprinted[f]) };
        atomic { t = t && !stopped };
        asked[mine] = 1;
        asking = 1;
        atomic {
            if
            :: !t -> goto loop
            :: else -> t = 0
            fi
        };
#else
#ifdef MUT_ASKING_FIRST
        asking = 1;
        asked[mine] = 1;
#else
        asked[mine] = 1;
        asking = 1;
#endif
        atomic {
            t = (seq == fprinted[f]);
            if
            :: !t -> goto loop
            :: else
            fi
        };
#ifndef MUT_NO_STOP_CHECK
        atomic {
            t = !stopped;
            if
            :: !t -> goto loop
            :: else -> t = 0
            fi
        };
#else
        t = 0;
#endif
#endif
        /* WaitForMultipleObjects({interrupted, .alive, own event}) */
end_wait:
        if
        :: atomic { evset[mine] -> evset[mine] = 0; goto loop }    /* auto-reset */
        :: atomic { alive == A_FREE || alive == A_ABANDONED -> alive = A_FOL + f };
            atomic {
#ifndef MUT_NO_RELEASE
                alive = A_FREE;                 /* ReleaseMutex: pass it on */
#endif
                if
                :: !stopped -> res[f] = R_FAIL; goto leave  /* "killed or crashed" */
                :: else -> goto loop
                fi
            }
        :: atomic { fate[f] == F_CTRLC -> res[f] = R_LEFT; goto leave }   /* interrupted */
        fi;

        /* close_follower(): asked = 0; pid = 0; CloseHandle(own event) */
leave:
        if
        :: res[f] == R_LEFT && life + 1 < NINC -> run follower(f, life + 1)  /* another memread -f */
        :: else
        fi;
        if
        :: mine != NONE ->
#ifdef MUT_CLOSE_FIRST
            atomic { close_fol(mine, f) };      /* its event closed before its slot is cleared */
#endif
            asked[mine] = 0;
            spid[mine] = 0;
#ifndef MUT_CLOSE_FIRST
            atomic { close_fol(mine, f) };
#endif
            mine = NONE
        :: else
        fi;
        atomic {                                /* the process ends */
            if
            :: alive == A_FOL + f -> alive = A_ABANDONED
            :: else
            fi;
            st = 0; s1 = 0; a = 0; t = 0; whole = 0
        }
    } unless {
        atomic {                                /* killed: the system closes its handles */
            fate[f] == F_KILLED;
            res[f] = R_KILLED;
            if
            :: mine != NONE -> close_fol(mine, f); mine = NONE
            :: else
            fi;
            if
            :: alive == A_FOL + f -> alive = A_ABANDONED
            :: else
            fi;
            s1 = 0; a = 0; st = 0; t = 0; whole = 0; pass = 0; i = 0;
            if
            :: life + 1 < NINC -> run follower(f, life + 1)    /* another memread -f */
            :: else
            fi
        }
    };
gone:
    skip
}

/* A follower is killed (console closed, TerminateProcess) at any step. */
active proctype killer()
{
end_never:
    do
    :: atomic { fate[0] == F_DOOMED -> fate[0] = F_KILLED }
    od
}

/* Once nothing else can move: what must hold at the end. */
active proctype monitor()
{
    byte f, i;

    timeout;
    atomic {
        i = 0;
        do
        :: i < NSLOT ->
            assert(no_slot_lost && (!mwh[i] || hold[i] != 0));
            i++
        :: else -> break
        od;
        f = 0;
        do
        :: f < NFOL ->
            if
            :: fate[f] == F_NORMAL && res[f] != R_NOSTART && res[f] != R_FULL ->
                if
                :: mode == M_STAY ->
                    assert(no_lost_wakeup && res[f] == R_RUNNING && fprinted[f] == seq)
                :: mode == M_STOP ->
                    assert(clean_stop_exits_0_last && res[f] == R_OK && fprinted[f] == seq)
                :: mode == M_DIE ->
                    assert(death_exits_1_none_waits && res[f] == R_FAIL)
                fi
            :: else
            fi;
            f++
        :: else -> break
        od
    }
}

init
{
    byte f;

    atomic {
#ifdef MODE
        mode = MODE;
#else
        if
        :: mode = M_STAY
        :: mode = M_STOP
        :: mode = M_DIE
        fi;
#endif
        run publisher();
        run waker();
        run memwrite();
        f = 0;
        do
        :: f < NFOL -> run follower(f, 0); f++
        :: else -> break
        od
    }
}
