package container

import "testing"

// TestWithHostsSection: a network's section is put at the end, replaced
// in place on the next write whatever follows it, and dropped when the
// network has no other member; another network's section is left alone.
func TestWithHostsSection(t *testing.T) {
	base := "127.0.0.1\tlocalhost\n10.88.0.2\tweb\n"
	one := withHostsSection(base, "n", "10.88.0.3\tdb\n")
	want := base + "# myctr network n: its other containers\n10.88.0.3\tdb\n# end of myctr network n\n"
	if one != want {
		t.Fatalf("first section:\n%q\nwant\n%q", one, want)
	}
	two := withHostsSection(one+"1.2.3.4\tadded\n", "n", "10.88.0.3\tdb\n10.88.0.4\tcache c\n")
	want = base + "1.2.3.4\tadded\n# myctr network n: its other containers\n10.88.0.3\tdb\n10.88.0.4\tcache c\n# end of myctr network n\n"
	if two != want {
		t.Fatalf("replaced:\n%q\nwant\n%q", two, want)
	}
	other := withHostsSection(two, "m", "10.88.0.9\tx\n")
	if got := withHostsSection(other, "n", ""); got != base+"1.2.3.4\tadded\n# myctr network m: its other containers\n10.88.0.9\tx\n# end of myctr network m\n" {
		t.Errorf("dropped n, kept m: %q", got)
	}
	// A section cut short (by a crash mid-write) goes whole.
	if got := withHostsSection(base+"# myctr network n: its other containers\n10.88", "n", ""); got != base {
		t.Errorf("cut short: %q", got)
	}
}

func TestMembersHosts(t *testing.T) {
	ms := []helperMember{
		{ID: "a", Address: "10.88.0.2", Names: []string{"web", "aaaa"}},
		{ID: "b", Address: "10.88.0.3", Names: []string{"db", "bbbb", "database"}},
	}
	if got := membersHosts(ms, "a"); got != "10.88.0.3\tdb bbbb database\n" {
		t.Errorf("a's view: %q", got)
	}
	if got := membersHosts(ms[:1], "a"); got != "" {
		t.Errorf("alone: %q", got)
	}
}
