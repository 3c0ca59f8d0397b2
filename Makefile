# Makefile: memwrite and memread for Windows, built on Windows (MSYS2) or
# cross-built on Linux with MinGW-w64 and run there under Wine.
#
#   make              memwrite.exe and memread.exe, 64-bit, at the top
#   make ARCH=i686    the 32-bit pair, in i686/
#   make OUT=clang/ CC="clang --target=x86_64-w64-mingw32" \
#        LDFLAGS=-L$(dirname $(x86_64-w64-mingw32-gcc -print-libgcc-file-name))
#                     the 64-bit pair built by clang, in clang/ (with gcc's libgcc)
#   make demo         the article's scenario in one terminal
#   make test         the test suite, building the other pair too if its gcc is here
#   make bench        the benchmark
#   make soak         the soak run: 10 minutes (SOAK=60 for one minute), not in CI
#   make model        spin checks the protocol's model and its mutations (tests/model)
#   make clean        remove what the build made

ARCH    = x86_64
CFLAGS  = -std=c11 -Wall -Wextra -Wpedantic -Werror -O2
LDFLAGS =
EXE     = .exe

ifeq ($(OS),Windows_NT)
CC      = gcc
RUN     =
CC_PKG  = mingw-w64-$(ARCH)-gcc (MSYS2, with pacman)
else
CC      = $(ARCH)-w64-mingw32-gcc
# With wine32 installed, `wine` is the 32-bit loader and starts 64-bit
# programs through start.exe; wine64 runs them itself.
WINE64  = $(firstword $(wildcard /usr/lib/wine/wine64) wine)
RUN     = $(if $(filter x86_64,$(ARCH)),$(WINE64),wine)
CC_PKG  = gcc-mingw-w64-$(subst _,-,$(ARCH)) (apt-get install)
# The other architecture's pair, for case 24, which mixes the two: `make
# test` builds it with its own compiler and the default flags (MAKEOVERRIDES
# keeps this command line's from it), quietly if it is built already, or
# says what to install. Debian's 32-bit Wine, which the i686 pair needs, is
# /usr/lib/wine/wine.
OTHER_ARCH = $(if $(filter x86_64,$(ARCH)),i686,x86_64)
OTHER_CC = $(OTHER_ARCH)-w64-mingw32-gcc
MAKEOVERRIDES =
MAKEFLAGS += --no-print-directory
OTHER_PAIR = $(if $(shell command -v $(OTHER_CC) 2>/dev/null),\
  $(MAKE) -q ARCH=$(OTHER_ARCH) || $(MAKE) ARCH=$(OTHER_ARCH),\
  @echo "$(OTHER_CC) not found, so case 24 will skip: install gcc-mingw-w64-$(subst _,-,$(OTHER_ARCH)) (apt-get install)")
WINE32  = $(if $(wildcard /usr/lib/wine/wine64),$(wildcard /usr/lib/wine/wine),wine)
WINE32_PKG = wine32:i386 (dpkg --add-architecture i386, apt-get update, apt-get install wine32:i386)
WINE32_NOTE = $(if $(WINE32),,@echo "32-bit Wine not found, so case 24 will skip: install $(WINE32_PKG)")
# Why the i686 pair cannot run here, if it cannot, and the command that makes
# it run, for case 24's skip line: the suite reads MEMTEST_WHY32 (tests/port.c).
WHY32   = $(shell if out=$$(bash .ci/probe-i386); then \
  $(if $(WINE32),:,echo "32-bit Wine is not installed; sudo bash .ci/wine32 installs it"); \
  else case $$out in (*"Exec format error") echo "this kernel refuses 32-bit x86 programs\
 (Exec format error); sudo bash .ci/i386 makes them run, through qemu-i386";; \
  (*) echo "32-bit x86 programs do not run here ($$out); see .ci/i386";; esac; fi)
TEST_ENV = $(if $(filter i686,$(OTHER)),$(call why32_env,$(WHY32)))
why32_env = $(if $(1),MEMTEST_WHY32="$(1)")
export WINEDEBUG ?= -all
export WINEDLLOVERRIDES ?= mscoree,mshtml=
# Wine makes a missing prefix on its first command, and two programs started
# at once while it does can race ("wine: chdir to .../server-...: No such
# file or directory"). So before demo, test and bench start any, one Wine
# command makes it, unless its registry shows it made already.
WINEPFX = $${WINEPREFIX:-$$HOME/.wine}
PREFIX  = @{ test -f "$(WINEPFX)/system.reg" || $(WINE64) cmd /c exit; }$(if $(wildcard /usr/lib/wine/wine), && $(PREFIX32))
# A prefix made while 32-bit programs could not run (on a kernel that refuses
# them, before .ci/i386) has no 32-bit half, and they fail to load
# kernel32.dll in it: where they run now, Wine brings it up to date.
PREFIX32 = { test -f "$(WINEPFX)/drive_c/windows/syswow64/kernel32.dll" || \
  ! bash .ci/probe-i386 >/dev/null || { echo "$(WINEPFX) has no 32-bit half (made when \
32-bit programs could not run): Wine updates it"; rm -f "$(WINEPFX)/.update-timestamp"; \
  $(WINE64) cmd /c exit; }; }
endif

# The default build sits at the top; any other ARCH builds into a folder of
# its own, so that neither is ever taken for the other.
OUT     = $(if $(filter x86_64,$(ARCH)),,$(ARCH)/)
# The pair of the other architecture, for the test that mixes the two.
OTHER   = $(if $(filter x86_64,$(ARCH)),i686,.)
PROGS   = memwrite$(EXE) memread$(EXE)
# The suite: run.c numbers the cases, harness.c is what they share, and the
# rest hold the cases by theme (tests/README.md). One command builds it.
TESTSRC = $(addprefix tests/,run.c harness.c port.c errors.c live.c followers.c \
            consoles.c security.c)
TESTS   = tests/run$(EXE) tests/article/memwrite$(EXE) tests/article/memread$(EXE)
BENCH   = bench/bench$(EXE) bench/empty$(EXE) bench/floor$(EXE)
SOAK_PROG = bench/soak$(EXE)
# make soak: seconds to run, and followers of the driver at once
SOAK    = 600
SOAK_FOLLOWERS = 30

# Say what to install, in one line, before anything fails for want of it.
GOALS   = $(or $(MAKECMDGOALS),all)
need    = $(if $(shell command -v $(firstword $(1)) 2>/dev/null),,\
            $(error $(firstword $(1)) not found: install $(2)))
ifneq ($(filter-out clean model,$(GOALS)),)
$(call need,$(CC),$(CC_PKG))
endif
ifneq ($(RUN),)
ifneq ($(filter demo test bench soak,$(GOALS)),)
$(call need,$(RUN),wine and wine64 (apt-get install))
ifeq ($(ARCH),i686)
I386_OUT := $(shell bash .ci/probe-i386 2>&1)
ifneq ($(I386_OUT),)
$(error 32-bit x86 programs do not run here ($(I386_OUT)): sudo bash .ci/i386 makes them run, through qemu-i386)
endif
endif
ifeq ($(ARCH)$(WINE32),i686)
$(error 32-bit Wine not found: install $(WINE32_PKG))
endif
endif
endif

all: $(addprefix $(OUT),$(PROGS))

# The article's programs use main(); ours take the UTF-16 command line.
$(OUT)tests/article/%$(EXE): tests/article/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

$(OUT)%$(EXE): %.c student.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -municode -o $@ $< $(LDFLAGS)

$(OUT)tests/run$(EXE): $(TESTSRC) tests/harness.h tests/cases.h tests/cputime.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -municode -o $@ $(TESTSRC) $(LDFLAGS)

$(addprefix $(OUT),bench/bench$(EXE) $(SOAK_PROG)): tests/cputime.h bench/common.h

# memwrite and memread start together; memread waits for the record and
# prints it (to fd 3, the terminal); its end closes memwrite's input, and
# that stops memwrite.
demo: SHELL = /bin/bash
demo: .SHELLFLAGS = -o pipefail -c
demo: all
	$(PREFIX)
	{ { $(RUN) ./$(OUT)memread$(EXE) -w 10 >&3 3>&-; } | $(RUN) ./$(OUT)memwrite$(EXE) 3>&-; } 3>&1

test: all $(addprefix $(OUT),$(TESTS))
	$(PREFIX)
	+$(OTHER_PAIR)
	$(WINE32_NOTE)
	$(TEST_ENV) $(RUN) ./$(OUT)tests/run$(EXE) $(if $(OTHER),--other $(OTHER))

bench: all $(addprefix $(OUT),$(BENCH) tests/article/memwrite$(EXE))
	$(PREFIX)
	$(RUN) ./$(OUT)bench/bench$(EXE)

# Too long for `make test` and CI: run it by hand (bench/README.md).
soak: all $(OUT)$(SOAK_PROG)
	$(PREFIX)
	$(RUN) ./$(OUT)bench/soak$(EXE) $(SOAK) $(SOAK_FOLLOWERS)

# spin and gcc run in a temporary directory: nothing is left here.
model:
	bash tests/model/check

OUTPUTS = $(PROGS) $(TESTS) $(BENCH) $(SOAK_PROG)
clean:
	rm -f $(OUTPUTS) $(foreach d,i686 clang,$(addprefix $(d)/,$(OUTPUTS)))
	rm -fd $(foreach d,i686 clang,$(d)/tests/article $(d)/tests $(d)/bench $(d))

.PHONY: all demo test bench soak model clean
