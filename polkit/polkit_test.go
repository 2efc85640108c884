package polkit

import (
	"context"
	"errors"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/tests/testbus"
)

// fakeAuthority is org.freedesktop.PolicyKit1.Authority: it records each
// check and answers with answer.
type fakeAuthority struct {
	mu     sync.Mutex
	got    []check
	answer reply
}

type check struct {
	subject  subject
	action   string
	details  map[string]string
	flags    uint32
	cancelID string
}

func (f *fakeAuthority) CheckAuthorization(s subject, action string, details map[string]string, flags uint32, cancelID string) (reply, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, check{s, action, details, flags, cancelID})
	return f.answer, nil
}

func (f *fakeAuthority) CancelCheckAuthorization(string) *dbus.Error { return nil }

func TestCheckBusName(t *testing.T) {
	addr := testbus.Start(t)
	conn := func() *dbus.Conn {
		c, err := dbus.Connect(addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	client := New(conn())
	details := map[string]string{"container": "web", "port": "8080/tcp"}

	// Nobody owns polkit's name yet.
	_, err := client.CheckBusName(context.Background(), ":1.99", ActionNetwork, details, true)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("without polkit: %v, want ErrUnavailable", err)
	}

	fake := &fakeAuthority{}
	pk := conn()
	if err := pk.Export(fake, ObjectPath, Interface); err != nil {
		t.Fatal(err)
	}
	if r, err := pk.RequestName(BusName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", BusName, r, err)
	}
	for _, tc := range []struct {
		answer      reply
		interactive bool
		want        Result
	}{
		{reply{IsAuthorized: true}, true, Authorized},
		{reply{IsChallenge: true}, true, Challenge},
		{reply{}, false, Denied},
	} {
		fake.mu.Lock()
		fake.answer, fake.got = tc.answer, nil
		fake.mu.Unlock()
		r, err := client.CheckBusName(context.Background(), ":1.42", ActionPublishLowPort, details, tc.interactive)
		if err != nil || r != tc.want {
			t.Errorf("answer %+v: %v, %v; want %v", tc.answer, r, err, tc.want)
		}
		fake.mu.Lock()
		got := fake.got
		fake.mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("%d checks, want 1", len(got))
		}
		c := got[0]
		wantFlags := uint32(0)
		if tc.interactive {
			wantFlags = FlagAllowUserInteraction
		}
		if c.subject.Kind != "system-bus-name" || c.subject.Details["name"].Value() != ":1.42" || len(c.subject.Details) != 1 {
			t.Errorf("subject %+v, want system-bus-name :1.42 and nothing else (no pid)", c.subject)
		}
		if c.action != ActionPublishLowPort || !maps.Equal(c.details, details) || c.flags != wantFlags || c.cancelID == "" {
			t.Errorf("check %+v", c)
		}
	}
}

func TestActionIDs(t *testing.T) {
	b, err := os.ReadFile("org.myctr.helper.policy")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{ActionNetwork, ActionPublishLowPort, ActionCgroup} {
		if !strings.Contains(string(b), `<action id="`+a+`">`) {
			t.Errorf("org.myctr.helper.policy does not declare %s", a)
		}
	}
}
