package container

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseHealthCmd(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{"curl -f http://localhost/ || exit 1", []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}, false},
		{"none", []string{"NONE"}, false},
		{`["CMD", "/bin/check", "-v"]`, []string{"CMD", "/bin/check", "-v"}, false},
		{`["CMD-SHELL", "exit 0"]`, []string{"CMD-SHELL", "exit 0"}, false},
		{`["/healthcheck"]`, []string{"CMD", "/healthcheck"}, false},
		{"", nil, true},
		{"[not json", nil, true},
		{`[]`, nil, true},
		{`["CMD"]`, nil, true},
		{`["CMD-SHELL", "a", "b"]`, nil, true},
	} {
		got, err := ParseHealthCmd(tt.in)
		if tt.bad {
			if !errors.Is(err, ErrInvalidHealth) {
				t.Errorf("%q: got %v, %v; want ErrInvalidHealth", tt.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckHealthConfig(t *testing.T) {
	h, action, err := CheckHealthConfig(&HealthConfig{Test: []string{"CMD-SHELL", "true"}}, "")
	if err != nil || action != HealthActionNone || h.Interval != DefaultHealthInterval || h.Timeout != DefaultHealthTimeout || h.Retries != DefaultHealthRetries {
		t.Errorf("defaults: %+v %q %v", h, action, err)
	}
	if h, _, err := CheckHealthConfig(&HealthConfig{Test: []string{"CMD", "x"}, Interval: -1}, "kill"); err != nil || h.Periodic() {
		t.Errorf("--health-interval disable: %+v %v, want a check that does not run on its own", h, err)
	}
	for _, tt := range []struct {
		h      *HealthConfig
		action string
	}{
		{nil, HealthActionKill},
		{&HealthConfig{Test: []string{"NONE"}}, HealthActionStop},
		{&HealthConfig{Test: []string{"CMD", "x"}}, "reboot"},
		{&HealthConfig{Test: []string{"CMD", "x"}, Interval: 10 * time.Millisecond}, ""},
		{&HealthConfig{Test: []string{"CMD", "x"}, Timeout: -time.Second}, ""},
		{&HealthConfig{Test: []string{"CMD", "x"}, Retries: -1}, ""},
		{&HealthConfig{Test: []string{"SHELL", "x"}}, ""},
	} {
		if _, _, err := CheckHealthConfig(tt.h, tt.action); !errors.Is(err, ErrInvalidHealth) {
			t.Errorf("%+v, %q: got %v, want ErrInvalidHealth", tt.h, tt.action, err)
		}
	}
	if h, action, err := CheckHealthConfig(&HealthConfig{Test: []string{"NONE"}}, ""); h != nil || action != HealthActionNone || err != nil {
		t.Errorf("NONE: %+v %q %v, want no check", h, action, err)
	}
}

// TestHealthRecord: Docker's counting. A success is healthy at once and
// ends a streak; failures in the start period count for nothing until a
// success; after it, Retries failures in a row make the container
// unhealthy, once; the log keeps the last five results.
func TestHealthRecord(t *testing.T) {
	start := time.Unix(1000, 0)
	h := &HealthConfig{Retries: 2, StartPeriod: 10 * time.Second}
	st := &HealthState{Status: HealthStarting}
	run := func(after time.Duration, code int) bool {
		return st.record(h, start, HealthResult{Start: start.Add(after), ExitCode: code})
	}
	if run(time.Second, 1) || run(2*time.Second, 1) || run(3*time.Second, 1) || st.Status != HealthStarting || st.FailingStreak != 0 {
		t.Fatalf("failures in the start period: %+v", st)
	}
	if run(11*time.Second, 1) || st.Status != HealthStarting || st.FailingStreak != 1 {
		t.Fatalf("one failure after the start period: %+v", st)
	}
	if run(12*time.Second, 0) || st.Status != HealthHealthy || st.FailingStreak != 0 {
		t.Fatalf("a success: %+v", st)
	}
	if run(13*time.Second, 1) || st.Status != HealthHealthy {
		t.Fatalf("one failure of two: %+v", st)
	}
	if !run(14*time.Second, 1) || st.Status != HealthUnhealthy || st.FailingStreak != 2 {
		t.Fatalf("the second failure in a row: %+v", st)
	}
	if run(15*time.Second, 1) || st.Status != HealthUnhealthy || st.FailingStreak != 3 {
		t.Fatalf("a third failure made it unhealthy again: %+v", st)
	}
	if len(st.Log) != healthLogKeep || !st.Log[len(st.Log)-1].Start.Equal(start.Add(15*time.Second)) {
		t.Errorf("log: %d results, last %v", len(st.Log), st.Log[len(st.Log)-1].Start)
	}
	// Healthy once, a failure in the start period counts.
	st = &HealthState{Status: HealthStarting}
	run(time.Second, 0)
	run(2*time.Second, 1)
	if st.FailingStreak != 1 {
		t.Errorf("a failure in the start period after a success: %+v", st)
	}
}

// TestMergeHealth: the fields given win, the others are the image's, as
// Docker merges them; --no-healthcheck's NONE wins over the image's check;
// timing flags with neither a --health-cmd nor an image check are refused.
func TestMergeHealth(t *testing.T) {
	img := &HealthConfig{Test: []string{"CMD", "/check"}, Interval: 5 * time.Second, Retries: 4}
	got, err := MergeHealth(&HealthConfig{Interval: time.Second}, img)
	if err != nil || !reflect.DeepEqual(got, &HealthConfig{Test: []string{"CMD", "/check"}, Interval: time.Second, Retries: 4}) {
		t.Errorf("interval over the image's: %+v %v", got, err)
	}
	if got, err := MergeHealth(nil, img); err != nil || got != img {
		t.Errorf("nothing given: %+v %v, want the image's", got, err)
	}
	if got, err := MergeHealth(&HealthConfig{Test: []string{"NONE"}}, img); err != nil || got.Test[0] != "NONE" {
		t.Errorf("--no-healthcheck: %+v %v", got, err)
	}
	if got, err := MergeHealth(nil, nil); err != nil || got != nil {
		t.Errorf("neither: %+v %v", got, err)
	}
	if _, err := MergeHealth(&HealthConfig{Retries: 2}, nil); !errors.Is(err, ErrInvalidHealth) {
		t.Errorf("--health-retries alone: %v, want ErrInvalidHealth", err)
	}
}
