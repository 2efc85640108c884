package config

import (
	"errors"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	dir := tree(t, map[string]string{"policy.json": `{
  "default": [{"type": "insecureAcceptAnything"}],
  "transports": {
    "docker": {
      "bad.io": [{"type": "reject"}],
      "q.io/team": [{"type": "reject"}],
      "q.io/team/ok": [{"type": "insecureAcceptAnything"}],
      "*.evil.io": [{"type": "reject"}],
      "signed.io": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k.gpg"}],
      "sig.io": [{"type": "sigstoreSigned", "keyPath": "/k.pub"}]
    },
    "oci-archive": {"/srv/untrusted": [{"type": "reject"}]},
    "docker-archive": {"": [{"type": "reject"}]}
  }
}`})
	p, err := ReadPolicy(dir + "/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		transport, scope string
		want             error
	}{
		{"docker", "ok.io/x:1", nil},
		{"docker", "bad.io/x:1", ErrRejected},
		{"docker", "bad.io:5000/x:1", nil},
		{"docker", "q.io/team/app:1", ErrRejected},
		{"docker", "q.io/team/ok:1", nil},
		{"docker", "q.io/other:1", nil},
		{"docker", "a.b.evil.io/x:1", ErrRejected},
		{"docker", "signed.io/x:1", ErrSignatureRequired},
		{"docker", "sig.io/x@sha256:" + strings.Repeat("a", 64), ErrSignatureRequired},
		{"oci-archive", "/srv/untrusted/a.tar", ErrRejected},
		{"oci-archive", "/srv/other.tar", nil},
		{"oci-archive", "", nil},
		{"docker-archive", "/any/where.tar", ErrRejected},
	} {
		err := p.Check(tt.transport, tt.scope)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("Check(%s, %s) = %v, want %v", tt.transport, tt.scope, err, tt.want)
		}
	}
	if none := (&Policy{}); none.Check("docker", "x.io/y:1") != nil {
		t.Errorf("without policy.json everything is accepted")
	}
}

func TestPolicyBadInput(t *testing.T) {
	for name, tt := range map[string]struct{ text, want string }{
		"syntax":        {"{\n  \"default\": [\n}", "policy.json:3: "},
		"no default":    {`{"transports": {}}`, `no "default"`},
		"unknown type":  {`{"default": [{"type": "acceptAll"}]}`, `unknown requirement type "acceptAll"`},
		"empty list":    {`{"default": [{"type": "reject"}], "transports": {"docker": {"a.io": []}}}`, "an empty requirement list"},
		"wrong type":    {"{\n\"default\": {}}", "policy.json:2: "},
		"archive scope": {`{"default": [{"type": "reject"}], "transports": {"docker-archive": {"/a": [{"type": "reject"}]}}}`, "docker-archive has only the default scope"},
	} {
		dir := tree(t, map[string]string{"policy.json": tt.text})
		_, err := ReadPolicy(dir + "/policy.json")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", name, err, tt.want)
		}
	}
}
