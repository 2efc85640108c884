//go:build integration

package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestSystemDf lists a running container with a volume and a stopped one
// in `system df` (other tests share the store, so it checks its own rows
// and lower bounds only), in the summary, its json and -v's tables.
func TestSystemDf(t *testing.T) {
	vol := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "-vol"
	mustMyctr(t, "volume", "create", vol)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "volume", "rm", "-f", vol) })
	up, down := ctrName(t, "up"), ctrName(t, "down")
	runDetached(t, up, []string{"-v", vol + ":/data"}, "sh", "-c", "echo hello > /data/f; sleep 100")
	mustMyctr(t, "run", "--name", down, image, "sh", "-c", "echo 12345 > /written")

	var lines []struct {
		Type              string
		Total, Active     int
		Size, Reclaimable int64
	}
	if err := json.Unmarshal([]byte(mustMyctr(t, "system", "df", "--format", "json")), &lines); err != nil {
		t.Fatalf("system df --format json: %v", err)
	}
	if len(lines) != 3 || lines[0].Type != "Images" || lines[1].Type != "Containers" || lines[2].Type != "Local Volumes" {
		t.Fatalf("system df --format json: %+v, want Images, Containers, Local Volumes", lines)
	}
	if c := lines[1]; c.Total < 2 || c.Active < 1 || c.Reclaimable < 6 {
		t.Errorf("containers line %+v: want at least 2, 1 active, 6 bytes (/written) reclaimable", c)
	}
	if v := lines[2]; v.Total < 1 || v.Active < 1 {
		t.Errorf("volumes line %+v: want at least 1, in use", v)
	}

	out := mustMyctr(t, "system", "df")
	if !regexp.MustCompile(`(?m)^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +\d+ +\d+ +\S+ +\S+ \(\d+%\)\nContainers `).MatchString(out) {
		t.Errorf("system df:\n%s", out)
	}
	if out := mustMyctr(t, "system", "df", "--format", "{{.Type}}:{{.Active}}"); !strings.HasPrefix(out, "Images:") || strings.Count(out, "\n") != 3 {
		t.Errorf("system df --format: %q", out)
	}

	out = mustMyctr(t, "system", "df", "-v")
	for _, re := range []string{
		`(?m)^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS$`,
		`(?m)^` + regexp.QuoteMeta(strings.TrimSuffix(imageFull, ":latest")) + ` +latest +[0-9a-f]{12} `,
		`(?m)^[0-9a-f]{12} +[0-9a-f]{12} +sh -c echo hello.* +1 +\S+ +.* +running +` + up + `$`,
		`(?m)^[0-9a-f]{12} +[0-9a-f]{12} +sh -c echo 12345.* +0 +\d+B +.* +exited +` + down + `$`,
		`(?m)^Local Volumes space usage:\n\nVOLUME NAME +LINKS +SIZE$`,
		`(?m)^` + vol + ` +1 +6B$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("system df -v: no match for %s in\n%s", re, out)
		}
	}

	if _, errOut, code := myctr(t, "system", "df", "extra"); code != 125 || !strings.Contains(errOut, "Error:") {
		t.Errorf("system df extra: exit %d, %q; want 125 and an Error:", code, errOut)
	}
}
