#!/usr/bin/env bash
# Prints the home of a JDK 25: $JAVA_HOME when it is one, else the first under /usr/lib/jvm.
# Fails with one clear line when there is none.
set -u
# (the probe ignores JDK_JAVA_OPTIONS and JAVA_TOOL_OPTIONS: the JVM prints a note about them first)
is25() { [ -x "$1/bin/javac" ] && env -u JDK_JAVA_OPTIONS -u JAVA_TOOL_OPTIONS "$1/bin/java" -version 2>&1 | grep -m1 -qE 'version "25([.-]|")'; }
if [ -n "${JAVA_HOME:-}" ] && is25 "$JAVA_HOME"; then echo "$JAVA_HOME"; exit 0; fi
for d in /usr/lib/jvm/*25* /usr/lib/jvm/*; do
  [ -d "$d" ] && is25 "$d" && { echo "$d"; exit 0; }
done
echo "sluice: no JDK 25 found (JAVA_HOME=${JAVA_HOME:-unset}, /usr/lib/jvm has none); expected: a JDK 25, e.g. Temurin 25 under /usr/lib/jvm, or JAVA_HOME pointing at one" >&2
exit 1
