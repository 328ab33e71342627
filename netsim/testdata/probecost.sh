#!/bin/sh
# What disabled probes cost bulk TCP: BenchmarkBulkTCPProbes/disabled
# built with the probes compiled in and with -tags ustack_noprobes,
# run in alternating order ROUNDS times on one core (GOMAXPROCS=1, so
# that the two stacks' goroutines do not race each other across cores,
# the main source of noise on a small machine), then the medians and
# the median of the paired ratios. Bounded: ROUNDS x 2 runs of
# BENCHTIME each (default 14 x 2 x 2s, about two minutes).
#
#   sh netsim/testdata/probecost.sh [ROUNDS] [BENCHTIME]
#
# KEEP=FILE keeps the raw benchmark lines.
set -eu
rounds=${1:-14}
bt=${2:-2s}
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/with.test" .
go test -c -tags ustack_noprobes -o "$dir/without.test" .
i=0
while [ "$i" -lt "$rounds" ]; do
	if [ $((i % 2)) -eq 0 ]; then order="with without"; else order="without with"; fi
	for v in $order; do
		GOMAXPROCS=1 "$dir/$v.test" -test.run '^$' -test.bench 'BulkTCPProbes/disabled' \
			-test.benchtime "$bt" -test.count 1 | grep '^Benchmark' | sed "s/^/$v /"
	done
	i=$((i + 1))
done > "$dir/out"
[ -n "${KEEP:-}" ] && cp "$dir/out" "$KEEP"
awk '
	{ for (f = 1; f <= NF; f++) { if ($f == "MB/s") mb = $(f-1); if ($f == "cpu-ns/op") cpu = $(f-1) } }
	$1 == "with"    { w[nw++] = mb; cw[ncw++] = cpu }
	$1 == "without" { o[no++] = mb; co[nco++] = cpu }
	function median(a, n,   i, j, t) {
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[int(n/2)] : (a[n/2-1] + a[n/2]) / 2
	}
	END {
		n = nw < no ? nw : no
		for (i = 0; i < n; i++) r[i] = w[i] / o[i]
		mw = median(w, nw); mo = median(o, no)
		printf "%d rounds, one core\n", n
		printf "MB/s        probes disabled %8.1f   without probes %8.1f   ratio %.4f\n", mw, mo, mw / mo
		printf "cpu-ns/op   probes disabled %8.0f   without probes %8.0f   ratio %.4f\n", median(cw, ncw), median(co, nco), median(cw, ncw) / median(co, nco)
		printf "paired MB/s ratio, median %.4f\n", median(r, n)
	}' "$dir/out"
