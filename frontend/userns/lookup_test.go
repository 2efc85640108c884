package userns

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// fakeGetent makes getentPath a script that answers `passwd KEY` with
// line for the keys given, nothing (exit 2, as getent) otherwise, and
// records each call in the returned file.
func fakeGetent(t *testing.T, line string, keys ...string) string {
	t.Helper()
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$@\" >> " + calls + "\ncase \"$2\" in\n"
	for _, k := range keys {
		script += k + ") echo '" + line + "'; exit 0;;\n"
	}
	script += "esac\nexit 2\n"
	p := filepath.Join(dir, "getent")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	old := getentPath
	getentPath = p
	t.Cleanup(func() { getentPath = old })
	return calls
}

func TestLookupUserNSS(t *testing.T) {
	// uid and name that /etc/passwd does not have: only "NSS" knows them.
	const uid, name = "3999999", "ldap-user-x"
	if _, err := user.LookupId(uid); err == nil {
		t.Skipf("uid %s exists on this host", uid)
	}
	line := name + ":*:" + uid + ":3999999:LDAP User,room 1:/home/" + name + ":/bin/bash"
	fakeGetent(t, line, uid, name)
	for _, key := range []string{uid, name} {
		u, err := LookupUser(key)
		if err != nil {
			t.Fatalf("LookupUser(%s): %v", key, err)
		}
		if u.Username != name || u.Uid != uid || u.Gid != "3999999" || u.Name != "LDAP User" || u.HomeDir != "/home/"+name {
			t.Errorf("LookupUser(%s) = %+v", key, *u)
		}
	}
}

func TestLookupUserUnknown(t *testing.T) {
	// getent answers with another user (a broken NSS module): not taken.
	fakeGetent(t, "someone:*:12:12::/:/bin/sh", "3999998", "nobody-here-x")
	_, err := LookupUser("3999998")
	if !errors.As(err, new(user.UnknownUserIdError)) {
		t.Errorf("by uid: err = %v, want UnknownUserIdError", err)
	}
	_, err = LookupUser("nobody-here-x")
	if !errors.As(err, new(user.UnknownUserError)) {
		t.Errorf("by name: err = %v, want UnknownUserError", err)
	}
	// Keys getent would read as options, or that cannot be a name.
	for _, key := range []string{"", "-s", "a:b", "a\nb"} {
		if _, err := LookupUser(key); err == nil {
			t.Errorf("LookupUser(%q) found a user", key)
		}
	}
}

func TestLookupUserLocalFirst(t *testing.T) {
	// A user of /etc/passwd never costs a getent.
	calls := fakeGetent(t, "x:*:1:1::/:/bin/sh")
	uid := strconv.Itoa(os.Getuid())
	want, err := user.LookupId(uid)
	if err != nil {
		t.Skipf("uid %s is not in /etc/passwd: %v", uid, err)
	}
	u, err := LookupUser(uid)
	if err != nil || u.Username != want.Username {
		t.Fatalf("LookupUser(%s) = %v, %v; want %s", uid, u, err, want.Username)
	}
	if _, err := os.Stat(calls); err == nil {
		t.Error("getent was called for a user of /etc/passwd")
	}
}
