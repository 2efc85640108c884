package container

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseWaitConditions(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  WaitConditions
		err   error
	}{
		{nil, WaitConditions{Exit: true}, nil},
		{[]string{"exited", "stopped"}, WaitConditions{Exit: true}, nil},
		{[]string{"running"}, WaitConditions{States: []string{StatusRunning}}, nil},
		{[]string{"configured", "running"}, WaitConditions{States: []string{StatusCreated, StatusRunning}}, nil},
		{[]string{"paused", "exited"}, WaitConditions{Exit: true, States: []string{StatusPaused}}, nil},
		{[]string{"paused"}, WaitConditions{States: []string{StatusPaused}}, nil},
		{[]string{"unknown"}, WaitConditions{}, ErrNeverState},
		{[]string{"healthy"}, WaitConditions{Health: []string{HealthHealthy}}, nil},
		{[]string{"unhealthy", "exited"}, WaitConditions{Exit: true, Health: []string{HealthUnhealthy}}, nil},
		{[]string{"sick"}, WaitConditions{}, ErrInvalidCondition},
	} {
		got, err := ParseWaitConditions(tc.names)
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("ParseWaitConditions(%q): error %v, want %v", tc.names, err, tc.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseWaitConditions(%q) = %+v, want %+v", tc.names, got, tc.want)
		}
	}
}
