#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS: run every libFuzzer target in build/fuzz/fuzz/
# for SECONDS each, starting from its committed seed corpus
# (tests/fuzz/corpus/<target>/, read only) plus what earlier runs found
# (build/fuzz/corpus/<target>/). Any crash, sanitizer report, leak, timeout
# or failed property fails the run; the input is kept in
# build/fuzz/artifacts/ and named in the output.
set -euo pipefail

secs=${1:?usage: run.sh SECONDS}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
bin=$root/build/fuzz/fuzz
work=$root/build/fuzz
mkdir -p "$work/artifacts"
shopt -s nullglob
targets=("$bin"/fuzz_*)
[ "${#targets[@]}" -gt 0 ] || { echo "fuzz: no targets in $bin (make fuzz-build)" >&2; exit 1; }
failed=()
for t in "${targets[@]}"; do
	name=$(basename "$t")
	seeds=$root/tests/fuzz/corpus/$name
	[ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; exit 1; }
	mkdir -p "$work/corpus/$name"
	log=$work/$name.log
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=8192 -print_final_stats=1 \
	    -artifact_prefix="$work/artifacts/$name-" \
	    "$work/corpus/$name" "$seeds" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "fuzz: $name: ok (${runs:-?} runs in ${secs}s)"
	else
		echo "fuzz: $name: FAILED (log $log)"
		tail -n 30 "$log"
		failed+=("$name")
	fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${secs}s each, no crash"
