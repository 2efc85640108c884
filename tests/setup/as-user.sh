#!/usr/bin/env bash
# as-user.sh USER CMD...: run CMD as USER with a clean login-like environment:
# HOME, USER, LOGNAME, SHELL, PATH (with /usr/local/go/bin), TERM,
# XDG_RUNTIME_DIR=/run/user/UID and no XDG_DATA_HOME. MYCTR_*, GOFLAGS, CI
# and GOPROXY are passed through. No password, PAM or stdin is involved.
# If we already are USER, or are not root, CMD just runs
# (with the same environment clean-up when we are USER).
set -euo pipefail

if (($# < 2)); then
	echo "usage: $0 USER CMD..." >&2
	exit 2
fi
user=$1
shift

uid=$(id -u "$user")
gid=$(id -g "$user")
home=$(getent passwd "$user" | cut -d: -f6)

if [[ $(id -u) -ne 0 && $(id -u) -ne $uid ]]; then
	# Not root and not USER: we cannot switch; run as ourselves.
	exec "$@"
fi

envs=(
	"HOME=$home"
	"USER=$user"
	"LOGNAME=$user"
	"SHELL=/bin/bash"
	"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	"XDG_RUNTIME_DIR=/run/user/$uid"
	"LANG=${LANG:-C.UTF-8}"
	"TERM=${TERM:-dumb}"
)
while IFS='=' read -r -d '' name value; do
	case $name in
	MYCTR_* | GOFLAGS | GOPROXY | GONOSUMDB | GOPRIVATE | CI)
		envs+=("$name=$value")
		;;
	esac
done < <(env -0)

if [[ $(id -u) -eq $uid ]]; then
	exec env -i "${envs[@]}" "$@"
fi

if [[ ! -d /run/user/$uid ]]; then
	echo "Error: /run/user/$uid does not exist" >&2
	echo "Hint: run tests/setup/user.sh as root first" >&2
	exit 1
fi

# setpriv keeps our stdin/stdout/stderr (no pty, no PAM session); cd to a
# directory the user can enter if the current one is not.
cd_to=$PWD
if ! setpriv --reuid="$uid" --regid="$gid" --init-groups test -x "$PWD" 2>/dev/null; then
	cd_to=$home
fi
cd "$cd_to"
exec setpriv --reuid="$uid" --regid="$gid" --init-groups --reset-env \
	env -i "${envs[@]}" "$@"
