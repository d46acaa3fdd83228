#!/bin/bash
# make bench: run the benchmarks of bench/ (see bench/README.md) against the
# binaries of one build directory and print medians and ratios against the
# alternatives measured in the same run. Every server runs in a temporary
# directory that is removed at the end. Takes about 2-3 minutes, plus 2-3
# for the storage benchmarks on a zfs-fuse pool (bench/zfs_bench.py) and 1-2
# for the guest OS boot time (bench/os_boot.py) and 2-3 for the VM manager
# (bench/vmm_bench.py) when BUILD/guest was built (make os).
#
#   bench/run.sh [BUILD]        (default build/)
#
# Environment: BENCH_REPS (5), BENCH_SECONDS (2, per measurement),
# BENCH_FILL (1000000 entries for the query benchmark), BENCH_OBJECTS (1000),
# BENCH_QUERIES (200), BENCH_RAW=FILE (keep every raw result line there).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build}
case $BUILD in /*) BIN=$BUILD ;; *) BIN=$ROOT/$BUILD ;; esac
PY=/usr/bin/python3
REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECONDS:-2}
FILL=${BENCH_FILL:-1000000}
OBJECTS=${BENCH_OBJECTS:-1000}
QUERIES=${BENCH_QUERIES:-200}
NCPU=$(nproc)
ALL_CPUS=0-$((NCPU - 1))

RPC=$BIN/bench/mvirt-rpc-bench
LOGB=$BIN/bench/mvirt-log-bench
ECHO=$BIN/tests/grpc/mvirt-echo-server
LOGD=$BIN/log/mvirt-log
CLI=$BIN/cli/mvirt
for b in "$RPC" "$LOGB" "$ECHO" "$LOGD" "$CLI"; do
	[ -x "$b" ] || { echo "bench: $b is not built (run make)" >&2; exit 1; }
done

# on disk like /var/lib/mvirt (not a tmpfs /tmp), removed at exit
TMP=$(mktemp -d /var/tmp/mvirt-bench.XXXXXX)
RES=$TMP/results
: >"$RES"
: >"$RES.lines"
declare -A RUNNING=() # pid -> name of the servers we started

cleanup() {
	local pid
	for pid in "${!RUNNING[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "${BENCH_RAW:-}" ]; then # metric values, then the programs' own lines
		cat "$RES" "$RES.lines" >"$BENCH_RAW" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*" >&2; }

# start NAME SOCKET CMD...: run CMD in the background, wait until SOCKET
# exists (and, for the Python server, until it printed "ready"); sets PID.
start() {
	local name=$1 sock=$2
	shift 2
	"$@" >"$TMP/$name.out" 2>&1 &
	PID=$!
	RUNNING[$PID]=$name
	for _ in $(seq 600); do
		if [ -S "$sock" ] && { [[ $name != py* ]] || grep -q '^ready' "$TMP/$name.out"; }; then
			return 0
		fi
		if ! kill -0 "$PID" 2>/dev/null; then
			say "$name exited: $(cat "$TMP/$name.out")"
			exit 1
		fi
		sleep 0.05
	done
	say "$name did not start: $(cat "$TMP/$name.out")"
	exit 1
}

stop() { # PID
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	unset "RUNNING[$1]"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
anon_kib() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }

# val LINE KEY: the value of KEY=... in a result line
val() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

record() { echo "$1 $2" >>"$RES"; }

# run a benchmark program, keep its line, fail loudly when it fails
run() {
	local line
	if ! line=$("$@"); then
		say "failed: $*"
		exit 1
	fi
	echo "$line" >>"$RES.lines"
	echo "$line"
}

median() { # METRIC
	grep "^$1 " "$RES" | awk '{ print $2 }' | sort -g |
		awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
spread() { # METRIC: "min-max", rounded
	grep "^$1 " "$RES" | awk '{ print $2 }' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo, hi }'
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# CPU time (s) of the whole machine, and of this script's children (all the
# benchmark programs and servers, once waited for): their difference tells
# how much else ran meanwhile, i.e. how noisy the figures are
machine_cpu() { awk '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / 100 }' /proc/stat; }
children_cpu() {
	times | tail -1 | awk '{ for (i = 1; i <= 2; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] } printf "%.2f", s }'
}
CPU0=$(machine_cpu)
OWN0=$(children_cpu)
T0=$(date +%s)

# ---- 1. RPC: our echo server against Python grpcio, same client ----------
say "rpc: starting mvirt-echo-server and the Python grpcio server"
start echo "$TMP/echo.sock" "$ECHO" --listen "unix:$TMP/echo.sock" --run-dir "$TMP"
ECHO_PID=$PID
start py-echo "$TMP/py.sock" "$PY" bench/py_echo_server.py --listen "unix:$TMP/py.sock" --workers 16
PY_PID=$PID
declare -A SRV_PID=([mvirt]=$ECHO_PID [grpcio]=$PY_PID)
declare -A SRV_EP=([mvirt]="unix:$TMP/echo.sock" [grpcio]="unix:$TMP/py.sock")
for rep in $(seq "$REPS"); do
	order="mvirt grpcio"
	[ $((rep % 2)) -eq 0 ] && order="grpcio mvirt"
	for srv in $order; do
		pid=${SRV_PID[$srv]}
		# sequential: server and client pinned to one CPU, so the figure is
		# the CPU cost of a round trip and not where the scheduler put them
		taskset -a -p -c 0 "$pid" >/dev/null
		line=$(run taskset -c 0 "$RPC" --endpoint "${SRV_EP[$srv]}" --threads 1 --seconds "$SECS")
		taskset -a -p -c "$ALL_CPUS" "$pid" >/dev/null
		record "rpc.seq.$srv" "$(val "$line" rate)"
		record "rpc.seq_p50.$srv" "$(val "$line" p50_us)"
		line=$(run "$RPC" --endpoint "${SRV_EP[$srv]}" --threads 8 --seconds "$SECS")
		record "rpc.par8.$srv" "$(val "$line" rate)"
		record "rpc.par8_p50.$srv" "$(val "$line" p50_us)"
		say "rpc: run $rep/$REPS $srv: sequential $(grep "^rpc.seq.$srv " "$RES" | tail -1 | cut -d' ' -f2)/s, 8 clients $(val "$line" rate)/s"
	done
done
record rss_loaded.echo.mvirt "$(rss_kib "$ECHO_PID")"
record rss_loaded.echo.grpcio "$(rss_kib "$PY_PID")"
stop "$ECHO_PID"
stop "$PY_PID"

# ---- 2. idle RSS: fresh start, a few calls, then VmRSS ---------------------
say "rss: idle servers after a few calls"
for rep in $(seq "$REPS"); do
	d=$TMP/rss$rep
	mkdir -p "$d"
	start echo "$d/echo.sock" "$ECHO" --listen "unix:$d/echo.sock" --run-dir "$d"
	run "$RPC" --endpoint "unix:$d/echo.sock" --calls 10 >/dev/null
	sleep 0.3
	record rss_idle.echo.mvirt "$(rss_kib "$PID")"
	stop "$PID"
	start log "$d/log.sock" "$LOGD" --listen "unix:$d/log.sock" --run-dir "$d" --data-dir "$d/data"
	record rss_start.log "$(rss_kib "$PID")"
	run "$LOGB" ingest --endpoint "unix:$d/log.sock" --writers 1 --count 10 >/dev/null
	"$CLI" --log-endpoint "unix:$d/log.sock" log list --limit 10 >/dev/null
	sleep 0.3
	record rss_idle.log "$(rss_kib "$PID")"
	record anon_idle.log "$(anon_kib "$PID")"
	record pss_idle.log "$(pss_kib "$PID")"
	stop "$PID"
	if [ "$rep" -le 3 ]; then # the Python server takes ~2 s to start
		start py-echo "$d/py.sock" "$PY" bench/py_echo_server.py --listen "unix:$d/py.sock" --workers 16
		run "$RPC" --endpoint "unix:$d/py.sock" --calls 10 >/dev/null
		sleep 0.3
		record rss_idle.echo.grpcio "$(rss_kib "$PID")"
		stop "$PID"
	fi
	rm -rf "$d"
done

# ---- 3. mvirt-log ingest against a naive SQLite loop ------------------------
say "ingest: Log with 1, 8 and 64 writers; naive SQLite loop"
for rep in $(seq "$REPS"); do
	for w in 1 8 64; do
		d=$TMP/ingest
		rm -rf "$d"
		mkdir -p "$d"
		start log "$d/log.sock" "$LOGD" --listen "unix:$d/log.sock" --run-dir "$d" --data-dir "$d/data"
		line=$(run "$LOGB" ingest --endpoint "unix:$d/log.sock" --writers "$w" --seconds "$SECS")
		record "ingest.w$w" "$(val "$line" rate)"
		record "ingest_p50.w$w" "$(val "$line" p50_us)"
		record "ingest_p99.w$w" "$(val "$line" p99_us)"
		[ "$w" -eq 64 ] && record rss_loaded.log "$(rss_kib "$PID")"
		stop "$PID"
	done
	rm -rf "$d"
	mkdir -p "$d"
	line=$(run "$LOGB" naive --db "$d/naive.db" --seconds "$SECS")
	record ingest.naive "$(val "$line" rate)"
	say "ingest: run $rep/$REPS: 1 writer $(grep '^ingest.w1 ' "$RES" | tail -1 | cut -d' ' -f2)/s, 8 writers $(grep '^ingest.w8 ' "$RES" | tail -1 | cut -d' ' -f2)/s, 64 writers $(grep '^ingest.w64 ' "$RES" | tail -1 | cut -d' ' -f2)/s, naive loop $(val "$line" rate)/s"
done
rm -rf "$TMP/ingest"

# ---- 4. query: newest 100 entries of one object among FILL entries ---------
say "query: filling a database with $FILL entries over $OBJECTS objects"
q=$TMP/query
mkdir -p "$q/data"
line=$(run "$LOGB" fill --db "$q/data/logs.db" --entries "$FILL" --objects "$OBJECTS" --objects-out "$q/objects")
say "query: filled in $(val "$line" seconds) s"
start log "$q/log.sock" "$LOGD" --listen "unix:$q/log.sock" --run-dir "$q" --data-dir "$q/data"
LOG_PID=$PID
# the first retention pass runs 1 s after start (see README: it scans the table)
sleep 1.5
for rep in $(seq "$REPS"); do
	line=$(run "$LOGB" query --endpoint "unix:$q/log.sock" --objects "$q/objects" --queries "$QUERIES" --limit 100)
	record query.p50 "$(val "$line" p50_us)"
	record query.p90 "$(val "$line" p90_us)"
	record query.p99 "$(val "$line" p99_us)"
	say "query: run $rep/$REPS: p50 $(val "$line" p50_us) us, p90 $(val "$line" p90_us) us"
done
record rss_loaded.log_query "$(rss_kib "$LOG_PID")"
stop "$LOG_PID"
rm -rf "$q"

# ---- summary ----------------------------------------------------------------
ELAPSED=$(($(date +%s) - T0))
OTHER=$(calc "%.0f" "(($(machine_cpu) - $CPU0) - ($(children_cpu) - $OWN0)) / ($ELAPSED * $NCPU) * 100")
[ "${OTHER%.*}" -lt 0 ] && OTHER=0
m() { median "$1"; }
r() { calc "%.0f" "$(median "$1")"; } # rounded median
mib() { calc "%.2f" "$(m "$1") / 1024"; }
ok() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }

seq_ratio=$(calc "%.2f" "$(m rpc.seq.mvirt) / $(m rpc.seq.grpcio)")
par_ratio=$(calc "%.2f" "$(m rpc.par8.mvirt) / $(m rpc.par8.grpcio)")
ing_ratio=$(calc "%.2f" "$(m ingest.w8) / $(m ingest.naive)")
rss_ratio=$(calc "%.1f" "$(m rss_idle.echo.grpcio) / $(m rss_idle.echo.mvirt)")
q50=$(calc "%.2f" "$(m query.p50) / 1000")
q90=$(calc "%.2f" "$(m query.p90) / 1000")

cat <<EOF

== mvirt benchmarks: medians of $REPS runs [min-max], $SECS s per measurement
machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $NCPU CPUs, $(. /etc/os-release && echo "$PRETTY_NAME") ($(cat /etc/debian_version)), kernel $(uname -r)
date: $(date -u +%Y-%m-%dT%H:%MZ); took ${ELAPSED} s; other processes used ${OTHER}% of the machine's CPU meanwhile

RPC, Echo/Unary with a small message over a unix socket, our client for both servers:
  sequential, 1 client (client+server on CPU 0)  mvirt $(r rpc.seq.mvirt)/s [$(spread rpc.seq.mvirt)]  grpcio $(r rpc.seq.grpcio)/s [$(spread rpc.seq.grpcio)]  ratio ${seq_ratio}x
      median latency                             mvirt $(r rpc.seq_p50.mvirt) us  grpcio $(r rpc.seq_p50.grpcio) us
  8 clients (8 threads, 8 connections)           mvirt $(r rpc.par8.mvirt)/s [$(spread rpc.par8.mvirt)]  grpcio $(r rpc.par8.grpcio)/s [$(spread rpc.par8.grpcio)]  ratio ${par_ratio}x
      median latency                             mvirt $(r rpc.par8_p50.mvirt) us  grpcio $(r rpc.par8_p50.grpcio) us

RSS (VmRSS):
  mvirt-log just started                         $(mib rss_start.log) MiB
  mvirt-log idle after 10 Log + 1 Query          $(mib rss_idle.log) MiB [$(spread rss_idle.log) KiB]; private (RssAnon) $(mib anon_idle.log) MiB, PSS $(mib pss_idle.log) MiB
  mvirt-log after 64 writers                     $(mib rss_loaded.log) MiB
  mvirt-log after the query runs                $(mib rss_loaded.log_query) MiB
  echo server idle after 10 calls                mvirt $(mib rss_idle.echo.mvirt) MiB  grpcio $(mib rss_idle.echo.grpcio) MiB  (grpcio/mvirt ${rss_ratio}x)
  echo server after the RPC runs                 mvirt $(mib rss_loaded.echo.mvirt) MiB  grpcio $(mib rss_loaded.echo.grpcio) MiB

mvirt-log ingest, sequential Log calls per writer (own connection each), entries/s:
  1 writer                                       $(r ingest.w1) [$(spread ingest.w1)]  p50 $(r ingest_p50.w1) us  p99 $(r ingest_p99.w1) us
  8 writers                                      $(r ingest.w8) [$(spread ingest.w8)]  p50 $(r ingest_p50.w8) us  p99 $(r ingest_p99.w8) us
  64 writers                                     $(r ingest.w64) [$(spread ingest.w64)]  p50 $(r ingest_p50.w64) us  p99 $(r ingest_p99.w64) us
  naive SQLite loop (1 txn per entry, no RPC)    $(r ingest.naive) [$(spread ingest.naive)]
  8 writers / naive loop                         ${ing_ratio}x

mvirt-log Query "newest 100 entries of one object", $FILL entries over $OBJECTS objects, $QUERIES queries per run:
  p50 $(r query.p50) us [$(spread query.p50)]  p90 $(r query.p90) us [$(spread query.p90)]  p99 $(r query.p99) us

targets:
  idle mvirt-log RSS <= 5 MiB (5120 KiB)         $(r rss_idle.log) KiB: $(ok "$(m rss_idle.log) <= 5120")
  unary throughput >= 1.5x Python grpcio         sequential ${seq_ratio}x, 8 clients ${par_ratio}x: $(ok "$seq_ratio >= 1.5 && $par_ratio >= 1.5")
  ingest >= 20000 entries/s with 8 writers       $(r ingest.w8)/s: $(ok "$(r ingest.w8) >= 20000")
  last-100-of-one-object query <= 2 ms           p50 $q50 ms, p90 $q90 ms: $(ok "$(r query.p90) <= 2000")
EOF

# ---- 5. storage: clone time and qcow2 import against qemu-img ---------------
if [ -x "$BIN/zfs/mvirt-zfs" ] && command -v zfs-fuse >/dev/null && command -v qemu-img >/dev/null; then
	say "zfs: clone time and qcow2 import on a zfs-fuse pool (bench/zfs_bench.py)"
	$PY bench/zfs_bench.py --build "$BIN" --reps "$REPS" || say "zfs: storage benchmark failed"
else
	say "zfs: mvirt-zfs, zfs-fuse or qemu-img missing: storage not measured"
fi

# ---- 6. guest OS boot time, once `make os` has built BUILD/guest -------------
if [ -f "$BIN/guest/vmlinux" ] && [ -f "$BIN/guest/initramfs-test.cpio" ]; then
	say "os: boot time of our kernel and Debian's under TCG (bench/os_boot.py)"
	$PY bench/os_boot.py --os-dir "$BIN/guest" --reps "$REPS" || say "os: boot benchmark failed"
else
	say "os: $BIN/guest is not built (make os): boot time not measured"
fi

# ---- 7. VM manager: start overhead against QEMU by hand, control plane -------
if [ -x "$BIN/vmm/mvirt-vmm" ] && [ -f "$BIN/guest/vmlinux" ] && [ -f "$BIN/guest/initramfs.cpio" ] &&
	command -v qemu-system-x86_64 >/dev/null; then
	say "vmm: start overhead, CreateVm/ListVms, RSS of mvirt-vmm (bench/vmm_bench.py)"
	$PY bench/vmm_bench.py --build "$BIN" --reps "$REPS" || say "vmm: VM manager benchmark failed"
else
	say "vmm: mvirt-vmm, $BIN/guest (make os) or qemu-system-x86_64 missing: VM manager not measured"
fi
