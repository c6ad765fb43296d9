#!/usr/bin/env bash
# Helpers about a running pgloom instance, for bin/pgloom-restart:
# `source "$(dirname "$0")/lib/instance.sh"` (after lib/common.sh).
# Sourced, not run; the sourcing scripts set -euo pipefail.

# config_value <config file> <key> [default]: the value of <key> in the main section of a pgloom
# TOML file ([pgloom] or [pgbouncer]) or of a pgbouncer.ini ([pgbouncer]); [default] (or nothing)
# when the key is absent. Quotes are stripped (no escape sequences are interpreted); an unquoted
# value ends at a # or ; comment. %include files of an ini are not followed.
config_value() {
  awk -v key="$2" -v dflt="${3:-}" '
    function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
    /^[ \t]*\[/ {
      s = $0; gsub(/[][ \t\r]/, "", s)
      main = (s == "pgloom" || s == "pgbouncer"); seen = 1; next
    }
    (!seen || main) && match($0, "^[ \t]*" key "[ \t]*=") {
      v = trim(substr($0, RLENGTH + 1))
      q = substr(v, 1, 1)
      if (q == "\"" || q == "\047") {
        v = substr(v, 2); i = index(v, q); if (i > 0) v = substr(v, 1, i - 1)
      } else {
        sub(/[ \t]*[#;].*$/, "", v)
      }
      print v; found = 1; exit
    }
    END { if (!found) print dflt }' "$1"
}

# proc_alive <pid>: true while the process exists and is not a zombie (an exited child that its
# parent has not reaped yet counts as gone).
proc_alive() {
  local state
  [[ -n "$1" && -r "/proc/$1/stat" ]] || return 1
  state="$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# proc_args <pid>: sets the array PROC_ARGS to the command line of <pid>.
proc_args() {
  PROC_ARGS=()
  local arg
  while IFS= read -r -d '' arg; do PROC_ARGS+=("$arg"); done <"/proc/$1/cmdline"
}

# abs_path <base dir> <path>: <path> made absolute against <base dir> (not resolved further).
abs_path() {
  if [[ "$2" == /* ]]; then echo "$2"; else echo "$1/$2"; fi
}

# pgloom_cmdline <pid>: parses a running `java [jvm options] -jar <jar> [flags] <config>` into
# PG_JVM_OPTS (array), PG_JAR, PG_FLAGS (array: flags without -R/--takeover/--reboot/-d/--daemon)
# and PG_CONFIG (absolute: relative paths are taken against the process's working dir).
# Returns 1 when <pid> is not such a process.
pgloom_cmdline() {
  local pid="$1" cwd i jar_at=-1
  proc_args "$pid" 2>/dev/null || return 1
  cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || return 1
  PG_JVM_OPTS=() PG_FLAGS=() PG_JAR="" PG_CONFIG=""
  for ((i = 1; i < ${#PROC_ARGS[@]}; i++)); do
    if [[ "${PROC_ARGS[i]}" == -jar ]]; then jar_at=$i; break; fi
    PG_JVM_OPTS+=("${PROC_ARGS[i]}")
  done
  ((jar_at > 0 && jar_at + 1 < ${#PROC_ARGS[@]})) || return 1
  PG_JAR="$(abs_path "$cwd" "${PROC_ARGS[jar_at + 1]}")"
  for ((i = jar_at + 2; i < ${#PROC_ARGS[@]}; i++)); do
    case "${PROC_ARGS[i]}" in
      -R | --takeover | --reboot | -d | --daemon) ;;
      -*) PG_FLAGS+=("${PROC_ARGS[i]}") ;;
      *) PG_CONFIG="$(abs_path "$cwd" "${PROC_ARGS[i]}")" ;;
    esac
  done
  [[ -n "$PG_CONFIG" ]]
}

# find_pgloom_pids <config>: the pids of running pgloom processes (java -jar ... <config>) whose
# config file is <config> (compared after resolving symlinks), one per line.
find_pgloom_pids() {
  local want p pid
  want="$(readlink -f "$1")"
  for p in /proc/[0-9]*; do
    pid="${p#/proc/}"
    [[ "$pid" != "$$" && "$pid" != "${BASHPID:-}" ]] || continue
    grep -qa -- '-jar' "$p/cmdline" 2>/dev/null || continue
    proc_alive "$pid" || continue
    pgloom_cmdline "$pid" || continue
    if [[ "$(readlink -f "$PG_CONFIG" 2>/dev/null)" == "$want" ]]; then echo "$pid"; fi
  done
}

# console_version <unix socket dir> <port>: SHOW VERSION on the admin console over the unix
# socket as user pgbouncer (admitted by OS user); prints the version, fails when nothing answers.
console_version() {
  (
    unset PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGPASSFILE PGDATABASE PGSERVICE PGSERVICEFILE \
      PGSSLMODE PGGSSENCMODE PGOPTIONS PGAPPNAME PGTARGETSESSIONATTRS
    PGCONNECT_TIMEOUT=5 timeout 15 psql -X -At -h "$1" -p "$2" -U pgbouncer -d pgbouncer \
      -c 'SHOW VERSION' 2>/dev/null
  )
}
