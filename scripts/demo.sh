#!/bin/bash
# make demo: start mvirt-log in a temporary directory, write and query audit
# entries through the mvirt CLI, follow the log live, and shut down cleanly.
set -eu
BUILD=${1:-build}
BIN=$(cd "$(dirname "$0")/.." && pwd)/$BUILD
TMP=$(mktemp -d /tmp/mvirt-demo.XXXXXX)
LOGD_PID=""
cleanup() {
	[ -n "$LOGD_PID" ] && kill "$LOGD_PID" 2>/dev/null && wait "$LOGD_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

mvirt() { echo "\$ mvirt ${*@Q}"; "$BIN/cli/mvirt" --run-dir "$TMP/run" "$@"; }

echo "== starting mvirt-log (data in $TMP/data, socket $TMP/run/log.sock)"
"$BIN/log/mvirt-log" --run-dir "$TMP/run" --data-dir "$TMP/data" 2>"$TMP/mvirt-log.stderr" &
LOGD_PID=$!
for _ in $(seq 100); do
	[ -S "$TMP/run/log.sock" ] && break
	sleep 0.05
done

VM=8b0e4c1e-2f6d-4a53-9a51-0c5d1f0c9a11
DISK=0f3c2d5e-8a41-4f0e-b3a4-6d2c9e7f1b22
echo
echo "== writing audit entries"
mvirt log add --level audit --component vmm --object "$VM" --message "created VM web1"
mvirt log add --level audit --component zfs --object "$DISK" --message "created volume web1-root"
mvirt log add --level audit --component vmm --object "$VM" --object "$DISK" --message "attached volume web1-root to VM web1"
mvirt log add --level warn --component vmm --object "$VM" --message "guest did not answer the power button within 30 s"

echo
echo "== everything, oldest first"
mvirt log list
echo
echo "== entries of the VM, newest first"
mvirt log list --object "$VM" --reverse
echo
echo "== warnings and errors of the last hour, as JSON"
mvirt log list --since -1h --level warn,error --json

echo
echo "== following the VM's entries while two more are written"
"$BIN/cli/mvirt" --run-dir "$TMP/run" log list --follow --object "$VM" --limit 1 >"$TMP/follow.out" &
FOLLOW_PID=$!
sleep 0.5
mvirt log add --level audit --component vmm --object "$VM" --message "started VM web1" >/dev/null
mvirt log add --level audit --component vmm --object "$VM" --message "stopped VM web1" >/dev/null
sleep 0.5
kill "$FOLLOW_PID"; wait "$FOLLOW_PID" 2>/dev/null || true
cat "$TMP/follow.out"

echo
echo "== bad requests are refused with one line and change nothing"
mvirt log add --message "x" --object "$(printf 'o%.0s' $(seq 300))" || echo "(exit status $?)"
mvirt log add --message "x" --level loud || echo "(exit status $?)"
mvirt log list --json | grep -c '"id"' | sed 's/^/entries stored: /'

echo
echo "== stopping mvirt-log (SIGTERM)"
kill -TERM "$LOGD_PID"
wait "$LOGD_PID" && echo "mvirt-log exited cleanly" || echo "mvirt-log exited with status $?"
LOGD_PID=""
cat "$TMP/mvirt-log.stderr"
