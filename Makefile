# syncctl — see README.md. `make`, `make check`, `make demo`, `make install`.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

CC ?= cc
PKGS = libpq libcurl libcjson yaml-0.1 sqlite3 libcrypto
# libmongoc's headers only: lib/mongo.c loads the library (see lib/mongo.h).
MONGOC_CFLAGS = $(shell pkg-config --cflags libmongoc-1.0)
# Recursively expanded: pkg-config runs only when a recipe needs it, after
# `make deps` has installed the packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS)) $(MONGOC_CFLAGS)
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lpg_query -lm -ldl -pthread
WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
BASE_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) -g -pthread
CFLAGS ?= -O2
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC = $(wildcard lib/*.c)
CMD_SRC = $(wildcard cmd/*.c)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
MAN_SRC = $(wildcard man/*.scd)
MAN_OUT = $(patsubst man/%.scd,build/man/%,$(MAN_SRC))

OBJ = $(patsubst %.c,build/obj/%.o,$(LIB_SRC) $(CMD_SRC))
SAN_OBJ = $(patsubst %.c,build/asan/%.o,$(LIB_SRC) $(CMD_SRC))
SAN_LIB_OBJ = $(patsubst %.c,build/asan/%.o,$(LIB_SRC))
UNIT_BIN = $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRC))

.PHONY: all deps check test unit demo install uninstall clean man asan completions fuzz
all: syncctl man

deps:
	@scripts/deps.sh

syncctl: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(PKG_LIBS)

build/obj/%.o: %.c $(wildcard lib/*.h cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# The same program under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: build/asan/syncctl $(UNIT_BIN)
build/asan/syncctl: $(SAN_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $(SAN_OBJ) $(PKG_LIBS)

build/asan/%.o: %.c $(wildcard lib/*.h cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(PKG_CFLAGS) -c -o $@ $<

# The option layer's tests link cmd/ too (all of it but main.c).
SAN_CMD_OBJ = $(filter-out build/asan/cmd/main.o,$(patsubst %.c,build/asan/%.o,$(CMD_SRC)))
build/asan/tests/test_cli: tests/unit/test_cli.c $(SAN_LIB_OBJ) $(SAN_CMD_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(PKG_CFLAGS) -o $@ $< $(SAN_LIB_OBJ) $(SAN_CMD_OBJ) $(PKG_LIBS) -lcmocka

build/asan/tests/%: tests/unit/%.c $(SAN_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) $(PKG_CFLAGS) -o $@ $< $(SAN_LIB_OBJ) $(PKG_LIBS) -lcmocka

# Fuzz targets (libFuzzer needs clang): built with the library, then each
# run for FUZZ_SECONDS from its seed corpus. A crash fails the target.
FUZZ_SECONDS ?= 15
FUZZ_CC ?= clang
FUZZ_FLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -g -O1
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_LIB_OBJ = $(patsubst %.c,build/fuzz/%.o,$(LIB_SRC))

build/fuzz/%.o: %.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_FLAGS) $(PKG_CFLAGS) -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB_OBJ) $(PKG_LIBS)

.SECONDARY: $(FUZZ_LIB_OBJ)
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
		name=$${f##*/fuzz_}; mkdir -p build/fuzz/corpus-$$name; \
		echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 -artifact_prefix=build/fuzz/ \
			build/fuzz/corpus-$$name tests/fuzz/corpus/$$name >build/fuzz/$$name.log 2>&1 \
			|| { tail -40 build/fuzz/$$name.log; echo "fuzz: $$name FAILED"; exit 1; }; \
		echo "fuzz: $$name ok ($$(grep -c . build/fuzz/$$name.log) log lines)"; \
	done

man: $(MAN_OUT)
build/man/%: man/%.scd
	@mkdir -p build/man
	scdoc < $< > $@

# Regenerates completions/ from the command table (a test keeps them equal).
completions: syncctl
	./syncctl completion bash > completions/syncctl.bash
	./syncctl completion zsh > completions/_syncctl
	./syncctl completion fish > completions/syncctl.fish

# make check: unit tests and command tests, the command tests twice (plain
# and under ASan+UBSan); ends with one "N passed, N failed" line.
check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all asan
	@tests/run.sh

test: check

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 syncctl $(DESTDIR)$(BINDIR)/syncctl
	install -m 644 $(MAN_OUT) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 completions/syncctl.bash $(DESTDIR)$(BASHCOMPDIR)/syncctl
	install -m 644 completions/_syncctl $(DESTDIR)$(ZSHCOMPDIR)/_syncctl
	install -m 644 completions/syncctl.fish $(DESTDIR)$(FISHCOMPDIR)/syncctl.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/syncctl $(DESTDIR)$(BASHCOMPDIR)/syncctl
	rm -f $(DESTDIR)$(ZSHCOMPDIR)/_syncctl $(DESTDIR)$(FISHCOMPDIR)/syncctl.fish
	rm -f $(patsubst build/man/%,$(DESTDIR)$(MANDIR)/man1/%,$(MAN_OUT))

clean:
	rm -rf build syncctl
