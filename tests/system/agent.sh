#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The agent of the `make test-system` guests: runs what the host sends on a
# serial port (ttyS1, a pipe on the host side) and sends back the exit status
# and output. Started by wgks-test-agent.service early at boot; it sends no
# packet, so it is invisible to the leak counts.
#
# One line each way, base64 so that any script and any output fit in a line:
#   host -> guest:  ID BASE64(script)
#   guest -> host:  ID STATUS BASE64(stdout and stderr)
# Scripts run one at a time with bash, as root, stdin from /dev/null.
set -u
port=${1:-/dev/ttyS1}
# Raw: no echo, no CR/LF translation, no line editing by the tty.
stty -F "$port" raw -echo
exec 3<>"$port"
echo "WGKS-AGENT READY" >&3
while IFS= read -r line <&3; do
	id=${line%% *}
	script=$(printf '%s' "${line#* }" | base64 -d 2>/dev/null) || script="echo bad request; exit 2"
	out=$(bash -c "$script" </dev/null 2>&1)
	rc=$?
	printf '%s %s %s\n' "$id" "$rc" "$(printf '%s' "$out" | base64 -w0)" >&3
done
