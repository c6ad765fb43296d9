#!/usr/bin/env bash
# Shared by every bin/ script: `source "$(dirname "$0")/lib/common.sh"`.
# Provides find_jdk25, repo_root, build_jar_if_stale; exports MAVEN_OPTS for JDK 25.
# Sourced, not run; the sourcing scripts set -euo pipefail too.
set -euo pipefail

# The major version of a java binary ("25" for 25.0.1, "8" for 1.8.0_402), or nothing.
java_major() {
  local v
  v="$("$1" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)" || return 0
  [[ -n "$v" ]] || return 0
  if [[ "$v" == 1.* ]]; then v="${v#1.}"; fi
  v="${v%%[.+-]*}"
  [[ "$v" =~ ^[0-9]+$ ]] && echo "$v"
  return 0
}

_java_ok() { # <java binary>: true if it is version 25 or newer
  local major
  [[ -x "$1" ]] || return 1
  major="$(java_major "$1")"
  [[ -n "$major" && "$major" -ge 25 ]]
}

# Finds a JDK >= 25: $JAVA_HOME, else java on PATH, else the highest /usr/lib/jvm/*.
# Exports JAVA_HOME and puts its bin first on PATH; exits 1 if there is none.
find_jdk25() {
  local home="" cand java best="" best_major=0 major
  if [[ -n "${JAVA_HOME:-}" ]] && _java_ok "$JAVA_HOME/bin/java"; then
    home="$JAVA_HOME"
  elif java="$(command -v java 2>/dev/null)" && _java_ok "$java"; then
    home="$(dirname "$(dirname "$(readlink -f "$java")")")"
  else
    for cand in /usr/lib/jvm/*; do
      [[ -x "$cand/bin/java" ]] || continue
      major="$(java_major "$cand/bin/java")"
      if [[ -n "$major" && "$major" -ge 25 && "$major" -gt "$best_major" ]]; then
        best="$cand"; best_major="$major"
      fi
    done
    home="$best"
  fi
  if [[ -z "$home" ]]; then
    echo "pgloom needs a JDK 25 or newer. Install one (e.g. Temurin 25: apt-get install temurin-25-jdk, or set JAVA_HOME)." >&2
    exit 1
  fi
  export JAVA_HOME="$home"
  export PATH="$JAVA_HOME/bin:$PATH"
}

# The repository root (the dir holding pom.xml), from this file's location.
repo_root() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

# Maven's own guava warns about sun.misc.Unsafe on JDK 25 without this.
_maven_opts() {
  if [[ "${MAVEN_OPTS:-}" != *--sun-misc-unsafe-memory-access=* ]]; then
    export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }--sun-misc-unsafe-memory-access=allow"
  fi
}
_maven_opts

# Builds target/pgloom.jar when it is missing or older than pom.xml or anything under src/main.
# Tests are neither compiled nor run: a half-written IT must not stop the launcher.
build_jar_if_stale() {
  local root jar
  root="$(repo_root)"
  jar="$root/target/pgloom.jar"
  if [[ -f "$jar" ]] && [[ -z "$(find "$root/src/main" "$root/pom.xml" -newer "$jar" -print -quit 2>/dev/null)" ]]; then
    return 0
  fi
  echo "pgloom: building $jar ..." >&2
  command -v mvn >/dev/null 2>&1 || { echo "pgloom: mvn not found; cannot build $jar" >&2; exit 1; }
  (cd "$root" && mvn -q -B -DskipTests -Dmaven.test.skip=true package) \
    || { echo "pgloom: the build failed (mvn -q -B -DskipTests package in $root)" >&2; exit 1; }
  [[ -f "$jar" ]] || { echo "pgloom: the build did not produce $jar" >&2; exit 1; }
}
