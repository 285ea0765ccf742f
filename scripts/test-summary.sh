#!/usr/bin/env bash
# Sums the JUnit reports of every module (surefire: unit, golden, BPF tests; failsafe: lab tests)
# into one closing line: "tests: N passed, N failed, N skipped". Exits 1 when none ran or any failed.
set -u
cd "$(dirname "$0")/.."
shopt -s nullglob
total=0 failed=0 skipped=0
attr() { [[ $1 =~ [[:space:]]$2=\"([0-9]+)\" ]] && echo "${BASH_REMATCH[1]}" || echo 0; }
for f in */target/surefire-reports/TEST-*.xml */target/failsafe-reports/TEST-*.xml; do
  suite=$(grep -m1 -o '<testsuite [^>]*>' "$f") || continue
  total=$((total + $(attr "$suite" tests)))
  failed=$((failed + $(attr "$suite" failures) + $(attr "$suite" errors)))
  skipped=$((skipped + $(attr "$suite" skipped)))
done
passed=$((total - failed - skipped))
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$total" -gt 0 ] && [ "$failed" -eq 0 ]
