#!/usr/bin/env bash
# Usage: pytest-suite.sh NAME DIR [PYTEST ARG...]
# Runs pytest on DIR, verbose, with the 10 slowest tests listed and a JUnit report in
# tests/output/junit/NAME.xml.
# A folder that holds no test file yet is reported as such and skipped; once test files exist,
# every pytest exit code counts, including 5 (files present but no test collected).
set -euo pipefail

name=$1
dir=$2
shift 2

if [[ -z $(find "$dir" -name 'test_*.py' -o -name '*_test.py' 2>/dev/null | head -n 1) ]]; then
    echo "$name: no test files under $dir yet; nothing to run"
    exit 0
fi

mkdir -p tests/output/junit
exec python -m pytest -v -p no:cacheprovider --durations=10 --junitxml="tests/output/junit/$name.xml" "$dir" "$@"
