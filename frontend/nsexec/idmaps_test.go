package nsexec

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/myctr/myctr/frontend/userns"
)

func TestMapperEnv(t *testing.T) {
	if env := MapperEnv(nil, nil); env != nil {
		t.Errorf("no mappers: %q, want nil", env)
	}
	got := MapperEnv([]string{"/usr/bin/newuidmap", "0", "1000", "1", "1", "100000", "65536"}, []string{"/usr/bin/newgidmap", "0", "1000", "1"})
	want := []string{EnvInitUIDMap + "=/usr/bin/newuidmap 0 1000 1 1 100000 65536", EnvInitGIDMap + "=/usr/bin/newgidmap 0 1000 1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMapperError(t *testing.T) {
	st := &StepError{Step: "newgidmap 42 0 1000 1", Msg: "exit status 1: newgidmap: gid range [0-1) -> [1000-1001) not allowed", Exit: ExitSetup}
	err, ok := MapperError(fmt.Errorf("container init: %w", st))
	var me *userns.MapperError
	if !ok || !errors.As(err, &me) {
		t.Fatalf("got %v, %v", err, ok)
	}
	if me.Tool != "newgidmap" || !reflect.DeepEqual(me.Args, []string{"42", "0", "1000", "1"}) || me.Err.Error() != "exit status 1" ||
		me.Output != "newgidmap: gid range [0-1) -> [1000-1001) not allowed" {
		t.Errorf("got %#v", me)
	}
	// As running the tool here reads.
	if want := "newgidmap 42 0 1000 1: exit status 1: newgidmap: gid range [0-1) -> [1000-1001) not allowed"; me.Error() != want {
		t.Errorf("%q, want %q", me.Error(), want)
	}
	for _, other := range []error{
		nil,
		errors.New("newuidmap 1 0 0 1"),
		&StepError{Step: "unshare namespaces", Errno: 1, Msg: "x"},
		&StepError{Step: "newuidmap 1 0 0 1", Errno: 2, Msg: "x"}, // an errno: not the tool's report
		&StepError{Step: "newuidmap", Msg: "x"},
	} {
		if got, ok := MapperError(other); ok || got != other {
			t.Errorf("%v: got %v, %v", other, got, ok)
		}
	}
}
