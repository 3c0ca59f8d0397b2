/* tests/model/protocol.pml: the protocol of memwrite and `memread -f` in
   Promela, for spin. tests/model/check runs it and each mutation (a -D
   switch below); `make model` runs that. What it covers and what it leaves
   out is in tests/README.md, "The model". A change to the protocol changes
   this file in the same commit.

   The design of issue 25: followers sleep on the current generation's
   event, a manual-reset event under a fresh random name that memwrite
   publishes in its section as gen; the waker ends a generation (publishes
   the next name, then sets the old event and closes it) for each kick that
   a publish makes when a follower asked; a stop sets stopped and then the
   last generation's event; a death is seen on memwrite's process handle.

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
     exits_1_only_at_death     no follower exits 1 while memwrite lives
                               (suspended mid-publish, say) or after it
                               stopped cleanly
     waits_only_on_memwrites_event
                               a follower never sleeps on a stranger's
                               object (unless memwrite's process has ended,
                               which wakes it at once)
     no_spin                   a follower woken by its event finds the
                               generation ended (gen moved on) or stopped
                               set: so each wake-up is paid for by one
                               turn of the waker or by the stop, and a set
                               event is never waited on again
   and spin's own: no invalid end state (a process stuck where it may not
   rest). Frozen followers are left out of the checks at the end, and
   nothing else may depend on them. */

#ifndef NFOL
#define NFOL 1                  /* follower processes */
#endif
#ifndef NPUB
#define NPUB 2                  /* publishes, the first one share()'s */
#endif
#ifndef CFAIL
#define CFAIL 0                 /* the waker's failed creates, each retried */
#endif
/* Names: a small pool. memwrite never takes a name twice (a fresh random
   name does not come again), and makes at most NPUB more after share()'s,
   one per kick; the stranger holds at most one: NPUB + 2 always leaves
   memwrite a free one. */
#ifdef MUT_GEN_TORN
#define TORN (NPUB + 2)         /* a mixture of two names, that memwrite never makes */
#define NNAME (NPUB + 3)
#else
#define NNAME (NPUB + 2)
#endif
#define NONE 255

hidden byte seqlock_no_mixed_record = 1;
hidden byte no_lost_wakeup = 1;
hidden byte clean_stop_exits_0_last = 1;
hidden byte death_exits_1_none_waits = 1;
hidden byte exits_1_only_at_death = 1;
hidden byte waits_only_on_memwrites_event = 1;
hidden byte no_spin = 1;

/* memwrite's section (struct shared), read-only to followers */
byte seq;                       /* 2k once publish k is whole; odd: changing */
byte ra, rb;                    /* the record's two halves: publish k writes k */
bit stopped;
byte gen;                       /* the current generation's name */

/* .sleep */
bit asking;

/* Named objects, by name: who holds a handle, what the object is, and
   whether it is set. A name exists while anyone holds it; an object made
   anew starts unset; a set event stays set. */
#define K_MW 0                  /* an event memwrite made */
#define K_STR 1                 /* a stranger's object */
bit mwh[NNAME];                 /* memwrite's handle */
byte fh[NNAME];                 /* followers' handles, a bit each */
bit sh[NNAME];                  /* the stranger's */
bit kind[NNAME];
bit evset[NNAME];
bit used[NNAME];                /* memwrite made an event under it once */
#define EXISTS(n) (mwh[n] || fh[n] != 0 || sh[n])

/* The last handle gone, the object goes. */
inline gc(n)
{
    if
    :: !mwh[n] && fh[n] == 0 && !sh[n] -> evset[n] = 0; kind[n] = K_MW
    :: else
    fi
}

inline close_mw(n)
{
    mwh[n] = 0;
    gc(n)
}

/* memwrite's own (struct writer) */
bit lock;                       /* w.lock */
bit kick;                       /* w.kick, auto-reset */
bit due;                        /* w.due */
bit wstop;                      /* w.stop */
bit retry;                      /* a failed create waits for the waker's timeout */
byte cfail = CFAIL;
byte cur;                       /* w.gen: the current generation's event, by name */
bit dead;                       /* memwrite killed */
bit exited;                     /* memwrite's process ended after a clean stop */
bit waker_done;
byte pubs;                      /* publishes done */
#define M_STAY 1                /* memwrite runs on after its last publish */
#define M_STOP 2                /* stopped cleanly, any time; it may die after stopped */
#define M_DIE 3                 /* killed, any time */
byte mode;

/* Bookkeeping for the properties, per follower */
#define R_NOTYET 0              /* not started: memwrite died before its first record */
#define R_RUNNING 1
#define R_OK 2                  /* exit 0 */
#define R_FAIL 3                /* exit 1 */
#define R_FROZEN 4              /* suspended for good */
byte res[NFOL];
byte fprinted[NFOL];            /* follow()'s printed: the seq of the last version printed */
bit freeze[NFOL];               /* this follower is frozen at some step */
bit frozen[NFOL];               /* and now */

/* publish()'s end: if (asking) { fence; if (!InterlockedExchange(due, 1))
   SetEvent(kick) }. (SetEvent on memwrite's own kick failing is not
   modelled.) */
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
    do
    :: k <= NPUB ->
end_lock:                                       /* kept by a stop */
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
        check_asking();                         /* asking read, the waker kicked, before seq is even */
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

/* Names nobody has made or holds are all alike: nothing refers to them.
   So a fresh random name is the lowest of them (symmetry, by hand). */
#define FRESH(n) (!used[n] && !EXISTS(n))
inline lowest_fresh(n)
{
    n = 0;
    do
    :: n < NNAME && !FRESH(n) -> n++
    :: else -> break
    od;
    assert(n < NNAME)                           /* the pool is big enough */
}

/* A turn of waker(): due = 0; fence; asking = 0; fence; the next event
   under a fresh name (new_generation); then next_generation(): gen = the
   new name; fence; SetEvent(old); CloseHandle(old). A failed create keeps
   the generation and waits for the retry timeout. */
inline turn()
{
    due = 0;
#if !defined(MUT_WAKER_CLEAR_LATE) && !defined(MUT_WAKER_KEEPS_ASKING)
    asking = 0;
#endif
    atomic {                                    /* CreateEventEx, names tried until one is new */
        if
        :: cfail > 0 -> cfail--; n = NONE       /* out of resources, or 8 names taken */
        :: true ->
            lowest_fresh(n);
#ifdef MUT_TAKE_EXISTING
            m = 0;                              /* or one a stranger made: ERROR_ALREADY_EXISTS */
            do                                  /* not looked at */
            :: m < NNAME && (used[m] || !EXISTS(m)) -> m++
            :: else -> break
            od;
            if
            :: m < NNAME -> n = m
            :: true
            fi;
            m = 0;
#endif
            used[n] = 1;
            if
            :: !EXISTS(n) -> kind[n] = K_MW; evset[n] = 0
            :: else                             /* (MUT_TAKE_EXISTING) the object there */
            fi;
            mwh[n] = 1
        fi
    };
    if
    :: n == NONE ->
        n = 0;
#ifdef MUT_WAKER_CLEAR_LATE
        asking = 0;
#endif
#ifndef MUT_DROP_FAILED
        retry = 1                               /* the waker's wait gets a timeout */
#else
        skip                                    /* the failure dropped */
#endif
    :: else ->
#if defined(MUT_SET_BEFORE_GEN)
        evset[cur] = 1;                         /* the old event set before the new name is out */
        gen = n;
        atomic { close_mw(cur); cur = n; n = 0 }
#elif defined(MUT_CLOSE_BEFORE_GEN)
        atomic { evset[cur] = 1; close_mw(cur) };   /* the old event let go before the new name is out */
        atomic { gen = n; cur = n; n = 0 }
#else
#ifdef MUT_GEN_TORN
        gen = TORN;                             /* the name written in two stores */
#endif
        gen = n;                                /* InterlockedExchange(gen); fence */
#ifdef MUT_WAKER_CLEAR_LATE
        asking = 0;                             /* asking cleared after the new name is out */
#endif
        atomic { evset[cur] = 1; close_mw(cur); cur = n; n = 0 }  /* SetEvent(old); CloseHandle(old) */
#endif
    fi
}

/* waker(): waits on {kick, stop}, with a timeout only while a failed
   create waits to be retried; one turn for each kick or timeout, so that
   kicks during a turn merge into one more turn. */
proctype waker()
{
    byte n, m;

    {
end_wait:
        do
        :: atomic { kick -> kick = 0; retry = 0 }; turn()
        :: atomic { retry -> retry = 0 }; turn()
        :: wstop -> break
        od;
        waker_done = 1
    } unless { dead || exited }
}

/* memwrite's main thread: the stop, or its death. The stop: w.lock taken
   (no publish after), stopped = 1, the waker ended and waited for; fence;
   SetEvent(the current generation's event); release(); then the process
   ends, or lingers (its reporter flushing stderr for up to 1 s, say). */
proctype memwrite()
{
    {
        if
        :: mode == M_STAY                       /* stdin stays open: no stop */
        :: mode == M_STOP ->
            pubs >= 1;                          /* after share()'s first publish */
#ifndef MUT_STOP_NOLOCK
            atomic { lock == 0 -> lock = 1 };   /* EnterCriticalSection, kept */
#endif
#if !defined(MUT_STOPPED_LATE) && !defined(MUT_STOPPED_AFTER_WAKER)
            stopped = 1;
#endif
            wstop = 1;                          /* SetEvent(w.stop) */
#ifndef MUT_STOP_NO_WAIT
            waker_done;                         /* WaitForSingleObject(waker) */
#endif
#ifdef MUT_STOPPED_AFTER_WAKER
            stopped = 1;                        /* set once the waker has ended; fence */
#endif
#ifndef MUT_STOP_NO_SET
            evset[cur] = 1;                     /* SetEvent(the last generation's event) */
#endif
#ifdef MUT_STOPPED_LATE
            stopped = 1;                        /* stopped set after the generation ends */
#endif
            atomic { close_mw(cur) };           /* release() */
            if
            :: exited = 1                       /* the process ends */
            :: true                             /* or lingers */
            fi
        :: mode == M_DIE
        fi
    } unless { dead }
}

/* memwrite killed, at any step (in M_STOP, once stopped is set, if it
   dies at all): stopped stays as it is, its threads end, the system
   closes its handles, and its process handle is signalled. */
proctype death()
{
    byte n;

end_never:
    atomic {
        mode == M_DIE || stopped && !exited;
        dead = 1;
        n = 0;
        do
        :: n < NNAME -> if :: mwh[n] -> close_mw(n) :: else fi; n++
        :: else -> n = 0; break
        od
    }
}

/* A stranger (STR_ASK, STR_TAKE): it may set asking, once; and take a
   name, once: create an object under it, or, if the name exists, open
   what is there (memwrite's event, which -s lets it hold but not set),
   and hold it from then on, after memwrite closed it too. (Letting go
   again gives nothing new: the name is free, as if it never took it.) It
   never clears asking: a documented limit, not modelled. */
#if defined(STR_ASK) || defined(STR_TAKE)
proctype stranger()
{
    byte n;
    bit asked, took;

end_idle:
    do
#ifdef STR_ASK
    :: !asked && !asking -> atomic { asking = 1; asked = 1 }
#endif
#ifdef STR_TAKE
    :: !took ->
        atomic {
            n = 0;
            do
            :: n < NNAME - 1 -> n++
            :: break
            od;
            if
            :: !used[n] -> lowest_fresh(n)      /* all alike: the lowest */
            :: else
            fi;
            if
            :: !EXISTS(n) -> kind[n] = K_STR; evset[n] = 0  /* its own, never set */
            :: else
            fi;
            sh[n] = 1; took = 1; n = 0
        }
#endif
    od
}
#endif

/* Has memwrite's process ended, as this follower's handle says? */
#define P_MW 0                  /* memwrite's process: signalled once it ends */
#define P_GONE 1                /* it had ended when this follower came */
#define P_OTHER 2               /* (MUT_NO_START_CHECK) a later process under its pid */
#define ENDED (ph == P_GONE || ph == P_MW && (dead || exited))

inline fclose()                 /* CloseHandle(f->event) */
{
    if
    :: held != NONE -> fh[held] = fh[held] & ~(1 << f); gc(held); held = NONE
    :: else
    fi
}

/* A follower (memread -f). Each atomic step below is one access to shared
   memory or one call on an object, with what the follower does with its
   own variables after it. */
proctype follower(byte f)
{
    byte held = NONE, g, s1, a, ph;
    bit st, t, whole;

end_start:
    {
        atomic {
            pubs >= 1;                          /* share()'s first record is there */
            if                                  /* open_writer(): by pid, then the start time */
            :: dead || exited ->
#ifdef MUT_NO_START_CHECK
                ph = P_OTHER                    /* the pid taken for memwrite's */
#else
                ph = P_GONE
#endif
            :: else -> ph = P_MW
            fi;
            res[f] = R_RUNNING;
            fprinted[f] = 1                     /* printed: odd, no version has it */
        };

        /* follow() */
loop:
#ifndef MUT_STOPPED_AFTER
        st = stopped;                           /* stopped = *stopped_now; fence */
#endif
        /* settled(): snapshot(): read seq; fence; copy; fence; keep it if
           seq was even and unchanged. A record that stays half-written is
           waited for while memwrite's process runs, given up if it ended. */
snap:
#ifdef COARSE
        /* (COARSE: the whole snapshot one step, a whole version or none) */
        atomic {
            if
            :: seq % 2 == 0 -> s1 = seq; a = ra; whole = (rb == a); t = 1
            :: seq % 2 == 1 && ENDED -> goto exit1  /* "stays half-written: its writer died" */
#ifdef MUT_SNAP_GIVES_UP
            :: seq % 2 == 1 && !ENDED -> goto exit1 /* given up after 1 s, memwrite running */
#endif
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
            :: !t && ENDED && seq % 2 == 1 -> goto exit1
#ifdef MUT_SNAP_GIVES_UP
            :: !t && seq % 2 == 1 -> goto exit1
#endif
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
            :: st -> st = 0; goto exit0         /* the last record printed: exit 0 */
            :: else
            fi
#endif
        };
#ifdef MUT_STOPPED_AFTER
        atomic {
            if
            :: stopped -> goto exit0            /* stopped read after the snapshot */
            :: else
            fi
        };
#endif

        /* ask(): gen read once; the event opened if it is another
           generation's; fence; asking = 1; fence; seq, stopped and gen
           read again */
#ifdef MUT_ASKING_BEFORE_GEN
        asking = 1;                             /* asking seen before gen is read */
#endif
        g = gen;
#ifdef MUT_ASKING_BEFORE_OPEN
        asking = 1;                             /* asking seen before the event is open */
#endif
        atomic {
            if
            :: g != held ->
                fclose();                       /* CloseHandle; OpenEvent(gen_name(g)) */
                if
                :: EXISTS(g) -> fh[g] = fh[g] | (1 << f); held = g
                :: else                         /* no such object */
                fi
            :: else
            fi
        };
#if !defined(MUT_ASKING_BEFORE_GEN) && !defined(MUT_ASKING_BEFORE_OPEN) && !defined(MUT_LOOK_BEFORE_ASK)
        asking = 1;                             /* InterlockedExchange(asking, 1); fence */
#endif
        atomic {
            if
            :: seq != fprinted[f] -> g = 0; goto loop
            :: else
            fi
        };
#ifndef MUT_NO_STOP_CHECK
        atomic {
            if
            :: stopped -> g = 0; goto loop
            :: else
            fi
        };
#endif
#ifndef MUT_NO_GEN_RECHECK
        atomic {
            if
            :: gen != g -> g = 0; goto loop
            :: else
            fi
        };
#endif
#ifdef MUT_LOOK_BEFORE_ASK
        asking = 1;                             /* asked after the last look */
#endif
        atomic {
            if
#ifndef MUT_NO_GEN_RECHECK
            :: held == NONE && !ENDED -> goto exit1 /* memwrite has this generation: a refusal */
#else
            :: held == NONE && !ENDED -> goto loop  /* no telling a refusal from a moved gen: again */
#endif
            :: else
            fi;
            /* Whatever it sleeps on is memwrite's, or the process has
               ended and the wait returns at once. */
            assert(waits_only_on_memwrites_event && (held == NONE || kind[held] == K_MW || ENDED));
            g = 0
        };
        /* WaitForMultipleObjects({interrupted, writer, event}) */
end_wait:
        if
        :: atomic {
            held != NONE && evset[held] ->
            assert(no_spin && (gen != held || stopped));
            goto loop
           }
        :: atomic {
            ENDED ->
            if
            :: !stopped -> goto exit1           /* "memwrite ended without stopping" */
            :: else -> goto loop
            fi
           }
        fi;
exit0:
        atomic { res[f] = R_OK; fclose(); goto out };
exit1:
        atomic {
            assert(exits_1_only_at_death && dead);
            res[f] = R_FAIL; fclose()
        };
out:
        skip
    } unless {
        atomic { frozen[f] -> res[f] = R_FROZEN }   /* suspended: it holds what it holds */
    };
end_frozen:
    !frozen[f]
}

/* A follower is frozen (suspended for good) at any step. */
active proctype freezer()
{
end_never:
    atomic { freeze[0] && res[0] == R_RUNNING && !frozen[0] -> frozen[0] = 1 }
}

/* Once nothing else can move: what must hold at the end. */
active proctype monitor()
{
    byte f;

    timeout;
    atomic {
        f = 0;
        do
        :: f < NFOL ->
            if
            :: res[f] == R_NOTYET || res[f] == R_FROZEN
            :: mode == M_STAY && res[f] != R_NOTYET && res[f] != R_FROZEN ->
                assert(no_lost_wakeup && res[f] == R_RUNNING && fprinted[f] == seq)
            :: mode == M_STOP && res[f] != R_NOTYET && res[f] != R_FROZEN ->
                assert(clean_stop_exits_0_last && res[f] == R_OK && fprinted[f] == seq)
            :: mode == M_DIE && res[f] != R_NOTYET && res[f] != R_FROZEN ->
                assert(death_exits_1_none_waits && res[f] == R_FAIL)
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
#ifdef FREEZE
        if                                      /* follower 0 frozen at some step, or not */
        :: freeze[0] = 1
        :: true
        fi;
#endif
#ifdef MUT_GEN_TORN
        used[TORN] = 1;
#endif
        /* first_generation(), before the first record */
        mwh[0] = 1; used[0] = 1; gen = 0; cur = 0;
        run publisher();
        run waker();
        run memwrite();
#if defined(STR_ASK) || defined(STR_TAKE)
        run stranger();
#endif
        if
        :: mode == M_DIE -> run death()
        :: mode == M_STOP -> run death()        /* it dies once stopped is set */
        :: mode == M_STOP                       /* or it does not */
        :: else
        fi;
        f = 0;
        do
        :: f < NFOL -> run follower(f); f++
        :: else -> break
        od
    }
}
