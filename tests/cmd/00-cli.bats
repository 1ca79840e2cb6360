#!/usr/bin/env bats
# The program's frame: one command table drives dispatch, help, man pages
# and completions; usage errors are exit 2 with one line.

load helpers

# Commands and their long options, from the table itself.
table() {
	"$SYNCCTL" completion options
}

@test "every command in the table answers --help with its usage, exit 0" {
	while read -r cmd _; do
		[ "$cmd" = global ] && continue
		sc "$cmd" --help
		expect_status 0
		[[ "$output" == "Usage: syncctl $cmd"* ]]
		[[ "$output" == *"Global options:"*"--timeout SECONDS"* ]]
	done < <(table)
}

@test "syncctl help CMD prints exactly CMD --help" {
	sc slots --help
	local a=$output
	sc help slots
	expect_status 0
	[ "$output" = "$a" ]
}

@test "syncctl help lists every command; syncctl alone is a usage error" {
	sc help
	expect_status 0
	while read -r cmd _; do
		[ "$cmd" = global ] && continue
		[[ "$output" == *"  $cmd "* ]]
	done < <(table)
	sc
	expect_status 2
	[[ "$stderr" == "Usage: syncctl"* ]]
}

@test "an unknown command is exit 2 with one line" {
	sc frobnicate
	expect_status 2
	[ "$stderr" = "syncctl: unknown command 'frobnicate' (see 'syncctl help')" ]
}

@test "a unique prefix selects a command; an ambiguous one lists the candidates" {
	sc pub --help
	expect_status 0
	[[ "$output" == "Usage: syncctl publications"* ]]
	sc s --help
	expect_status 2
	[ "$stderr" = "syncctl: 's' is ambiguous; it could be: slots schema storage service" ]
}

@test "an unknown option is exit 2 with one line naming it" {
	sc slots --frobnicate
	expect_status 2
	[ "$stderr" = "syncctl slots: unknown option '--frobnicate' (see 'syncctl slots --help')" ]
	sc publications -Z
	expect_status 2
	[ "$stderr" = "syncctl publications: unknown option '-Z' (see 'syncctl publications --help')" ]
	sc --frobnicate slots
	expect_status 2
}

@test "an option missing its value is exit 2" {
	sc slots --db
	expect_status 2
	[ "$stderr" = "syncctl slots: option '--db' needs a value (see 'syncctl slots --help')" ]
}

@test "--color takes auto, always or never" {
	sc version --color=sometimes
	expect_status 2
	[[ "$stderr" == *"--color takes auto, always or never, not 'sometimes'"* ]]
}

@test "global options work before the command too" {
	sc --json version
	expect_status 0
	[ "$(json_get "d['version']")" = "0.1.0" ]
}

@test "version names every linked library" {
	sc version
	expect_status 0
	for lib in libpq libcurl OpenSSL cJSON libmongoc libyaml SQLite libpg_query; do
		[[ "$output" == *"  $lib "* ]]
	done
	sc version --json
	[ "$(json_get "sorted(d['libraries'])")" = '["OpenSSL", "SQLite", "cJSON", "libcurl", "libmongoc", "libpg_query", "libpq", "libyaml"]' ]
	[ "$(json_get "d['libraries']['libpq']")" = "$(pkg-config --modversion libpq | cut -d. -f1).$(json_get "d['libraries']['libpq']" | cut -d. -f2)" ]
	[ "$(json_get "d['libraries']['SQLite']")" = "$(pkg-config --modversion sqlite3)" ]
	[ "$(json_get "d['libraries']['libyaml']")" = "$(pkg-config --modversion yaml-0.1)" ]
}

@test "the committed completion files are what the table generates" {
	for sh in bash zsh fish; do
		sc completion "$sh"
		expect_status 0
		case $sh in
		bash) f=completions/syncctl.bash ;;
		zsh) f=completions/_syncctl ;;
		fish) f=completions/syncctl.fish ;;
		esac
		[ "$output" = "$(cat "$ROOT/$f")" ] || { echo "$f is stale: run make completions" >&2; false; }
	done
	sc completion tcsh
	expect_status 2
}

@test "every command and long option appears in every completion script" {
	while read -r cmd opts; do
		for f in syncctl.bash _syncctl syncctl.fish; do
			[ "$cmd" = global ] || grep -qw -- "$cmd" "$ROOT/completions/$f" || { echo "$f lacks $cmd" >&2; false; }
			for o in $opts; do
				name=${o#--}
				grep -qE -- "(--|-l )$name\b" "$ROOT/completions/$f" || { echo "$f lacks $o of $cmd" >&2; false; }
			done
		done
	done < <(table)
}

@test "every command has its man page, and every long option appears in it" {
	while read -r cmd opts; do
		case $cmd in
		global | version | help | completion) page=$ROOT/man/syncctl.1.scd ;;
		*) page=$ROOT/man/syncctl-$cmd.1.scd ;;
		esac
		[ -f "$page" ] || { echo "no man page for $cmd" >&2; false; }
		[ "$cmd" = global ] || grep -q -- "syncctl $cmd" "$page" || { echo "$page does not name $cmd" >&2; false; }
		for o in $opts; do
			grep -q -- "\*$o\*" "$page" || { echo "$page lacks $o" >&2; false; }
		done
	done < <(table)
}

@test "each man page's SYNOPSIS names the command the way --help does" {
	for page in "$ROOT"/man/syncctl-*.1.scd; do
		cmd=$(basename "$page" .1.scd)
		cmd=${cmd#syncctl-}
		sc "$cmd" --help
		first=$(sed -n '1s/^Usage: syncctl \([a-z-]*\).*/\1/p' <<<"$output")
		[ "$first" = "$cmd" ]
		grep -q "^\*syncctl $cmd" "$page"
	done
}

@test "the completion scripts parse in bash, zsh and fish" {
	bash -n "$ROOT/completions/syncctl.bash"
	if command -v zsh >/dev/null; then zsh -n "$ROOT/completions/_syncctl"; fi
	if command -v fish >/dev/null; then fish -n "$ROOT/completions/syncctl.fish"; fi
}

# complete_bash WORDS...: what bash completion offers for the last word.
complete_bash() {
	bash -c '
		source "$0"
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		_init_completion() { return 1; }
		unset -f _init_completion
		_syncctl
		printf "%s\n" "${COMPREPLY[@]}"
	' "$ROOT/completions/syncctl.bash" "$@"
}

@test "bash completion completes commands, options and option values" {
	[ "$(complete_bash syncctl sl)" = slots ]
	[ "$(complete_bash syncctl slots --max)" = --max-retained ]
	[ "$(complete_bash syncctl --json slots dr)" = drop ]
	[ "$(complete_bash syncctl schema --color al | tr '\n' ' ')" = "always " ]
	[ "$(complete_bash syncctl completion z)" = zsh ]
	[ "$(complete_bash syncctl help pub)" = publications ]
}

@test "fish completion offers commands and a command's options" {
	command -v fish >/dev/null || skip "fish is not installed"
	out=$(fish -c "source $ROOT/completions/syncctl.fish; complete -C 'syncctl sl'")
	[[ "$out" == slots* ]]
	out=$(fish -c "source $ROOT/completions/syncctl.fish; complete -C 'syncctl schema --dry'")
	[[ "$out" == --dry-run* ]]
}

@test "make install honours DESTDIR and PREFIX and installs binary, man pages, completions" {
	dest=$BATS_TEST_TMPDIR/root
	make -C "$ROOT" -s install DESTDIR="$dest" PREFIX=/opt/sc >/dev/null
	[ -x "$dest/opt/sc/bin/syncctl" ]
	for page in syncctl.1 syncctl-slots.1 syncctl-publications.1 syncctl-schema.1 syncctl-token.1 syncctl-watch.1 syncctl-rules.1 syncctl-doctor.1 syncctl-storage.1 syncctl-service.1 syncctl-compare.1; do
		[ -f "$dest/opt/sc/share/man/man1/$page" ]
	done
	cmp "$dest/opt/sc/share/bash-completion/completions/syncctl" "$ROOT/completions/syncctl.bash"
	cmp "$dest/opt/sc/share/zsh/site-functions/_syncctl" "$ROOT/completions/_syncctl"
	cmp "$dest/opt/sc/share/fish/vendor_completions.d/syncctl.fish" "$ROOT/completions/syncctl.fish"
	"$dest/opt/sc/bin/syncctl" version >/dev/null
}
