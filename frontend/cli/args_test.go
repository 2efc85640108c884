package cli

import (
	"slices"
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := App()
	for _, tc := range []struct{ in, want string }{
		{"myctr inspect web --format {{.Id}}", "myctr inspect --format {{.Id}} web"},
		{"myctr rm web -f -t 0", "myctr rm --force --time 0 web"},
		{"myctr --root /r logs web --tail 1", "myctr --root /r logs --tail 1 web"},
		{"myctr run --rm bb sh -c --x", "myctr run --rm bb sh -c --x"},
		{"myctr run bb ls -l", "myctr run bb ls -l"},
		{"myctr exec web ps -ef", "myctr exec web ps -ef"},
		{"myctr unshare ls -ln", "myctr unshare ls -ln"},
		{"myctr images bb --format={{.ID}}", "myctr images --format={{.ID}} bb"},
		{"myctr rm web -- -f", "myctr rm web -- -f"},
		{"myctr ps -a", "myctr ps --all"},
		{"myctr generate systemd web --new", "myctr generate systemd --new web"},
		{"myctr", "myctr"},
		{"myctr info --log-level debug", "myctr --log-level debug info"},
		{"myctr ps --root /r -a", "myctr --root /r ps --all"},
		{"myctr nosuch a -b", "myctr nosuch a -b"},
		{"myctr rm -f -t0 web", "myctr rm --force --time 0 web"},
		{"myctr run -dt bb top", "myctr run -dt bb top"},
		{"myctr run -p8080:80 bb top", "myctr run --publish 8080:80 bb top"},
		// Both forms of one flag may be mixed: the short one is written long.
		{"myctr run -e A=1 --env B=2 -l=x --label y bb env", "myctr run --env A=1 --env B=2 --label=x --label y bb env"},
		{"myctr run -it bb sh -e", "myctr run -it bb sh -e"},
		{"myctr container create bb ls -l", "myctr container create bb ls -l"},
		{"myctr container exec web ls -l", "myctr container exec web ls -l"},
		{"myctr pod create shop --label a=b", "myctr pod create --label a=b shop"},
		{"myctr network create lan --subnet 10.90.0.0/24 --internal", "myctr network create --subnet 10.90.0.0/24 --internal lan"},
	} {
		got := strings.Join(interspersed(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
	// Nothing is lost or added.
	in := strings.Fields("myctr stop a b --time 3 c --ignore")
	got := interspersed(app, in)
	s1, s2 := slices.Clone(in), slices.Clone(got)
	slices.Sort(s1)
	slices.Sort(s2)
	if !slices.Equal(s1, s2) {
		t.Errorf("%q became %q", in, got)
	}
}
