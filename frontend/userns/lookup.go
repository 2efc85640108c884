package userns

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"os/user"
	"strings"
	"time"
)

// getentTimeout bounds the NSS lookup: a directory server that does not
// answer must not hang every command.
const getentTimeout = 5 * time.Second

// getentPath is the program that asks the system's NSS; a variable for
// tests.
var getentPath = "getent"

// LookupUser finds a host user by name or, when key is a number, by uid.
// myctr is linked statically with Go's own user lookup, which reads
// /etc/passwd alone; a user that only NSS knows (LDAP, sssd,
// systemd-homed) is then asked of getent(1), which finds it as the C
// library would. When neither knows key, the error is os/user's
// (user.UnknownUserError or user.UnknownUserIdError).
func LookupUser(key string) (*user.User, error) {
	byID := key != "" && strings.Trim(key, "0123456789") == ""
	var u *user.User
	var err error
	if byID {
		u, err = user.LookupId(key)
	} else {
		u, err = user.Lookup(key)
	}
	if err == nil || !(errors.As(err, new(user.UnknownUserError)) || errors.As(err, new(user.UnknownUserIdError))) {
		return u, err
	}
	if nu := getentUser(key); nu != nil && (nu.Uid == key || nu.Username == key) {
		return nu, nil
	}
	return nil, err
}

// getentUser is `getent passwd KEY` parsed, or nil.
func getentUser(key string) *user.User {
	if key == "" || strings.ContainsAny(key, ":\n\x00") || strings.HasPrefix(key, "-") {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), getentTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, getentPath, "passwd", key).Output()
	if err != nil {
		return nil
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	// name:password:uid:gid:gecos:home:shell
	f := strings.Split(string(line), ":")
	if len(f) != 7 || f[0] == "" || f[2] == "" || strings.Trim(f[2], "0123456789") != "" {
		return nil
	}
	name, _, _ := strings.Cut(f[4], ",")
	return &user.User{Username: f[0], Uid: f[2], Gid: f[3], Name: name, HomeDir: f[5]}
}
