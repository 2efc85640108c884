//go:build integration

package integration

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecurityMountTargetSymlink: a mount's destination, or a directory on
// the way to it, that is a symlink aimed out of the container's root (at a
// directory of the host the user may write) is resolved inside the root:
// the mount point is made there and the bind lands there, and nothing is
// created on the host. The init makes each mount point and mounts onto it
// by file descriptor (rootfs.target), so this holds also for a symlink
// another container swaps in while the mount point is being made.
func TestSecurityMountTargetSymlink(t *testing.T) {
	host := t.TempDir() // the host directory the links aim at
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "marker"), []byte("bound\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srcFile := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(srcFile, []byte("file\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("in the image", func(t *testing.T) {
		img := hostileImage(t, "it-mount-target", []*tar.Header{
			symlinkEntry("abs", host),
			symlinkEntry("rel", "../../../../../../../.."+host),
			{Name: "mnt/", Typeflag: tar.TypeDir, Mode: 0o755},
			symlinkEntry("mnt/dangling", host+"/made"),
		})
		before := treeSnapshot(t, host)
		out := mustMyctr(t, "run", "--rm", "--network", "none",
			"-v", src+":/abs/sub", "-v", src+":/rel/sub2", "-v", src+":/mnt/dangling", "-v", srcFile+":/abs/file",
			img, "cat", host+"/sub/marker", host+"/sub2/marker", host+"/made/marker", host+"/file")
		if want := "bound\nbound\nbound\nfile\n"; strings.ReplaceAll(out, "\r", "") != want {
			t.Errorf("the binds seen inside the root: %q, want %q", out, want)
		}
		if after := treeSnapshot(t, host); after != before {
			t.Errorf("the host directory the image's links aim at changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("swapped in by another container", func(t *testing.T) {
		// One container flips /data/x of a shared volume between a
		// directory and a symlink to the host directory, as fast as it
		// can; another starts again and again with a bind at
		// /data/x/y. A mount point made by path could now and then be
		// made through the symlink, on the host. The window between
		// check and use is a few system calls wide, so this is a guard
		// of the whole path through the binary, not a proof: it did
		// not hit the window of the path-based code in 25 starts.
		// TestTargetSymlinkSwapped (frontend/rootfs) swaps the link
		// in at that exact point.
		v := volName(t, "swap")
		mustMyctr(t, "volume", "create", v)
		flipper := ctrName(t, "flipper")
		runDetached(t, flipper, []string{"--network", "none", "-v", v + ":/data"}, "sh", "-c",
			fmt.Sprintf("while :; do rm -rf /data/x; mkdir /data/x; rm -rf /data/x; ln -s %s /data/x; done", host))
		t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rm", "-f", flipper) })
		before := treeSnapshot(t, host)
		deadline := time.Now().Add(40 * time.Second)
		runs, bound := 0, 0
		for ; runs < 25 && time.Now().Before(deadline); runs++ {
			out, _, code := myctr(t, "run", "--rm", "--network", "none", "-v", v+":/data", "-v", src+":/data/x/y",
				image, "sh", "-c", "cat /data/x/y/marker 2>/dev/null; true")
			if code == 0 && strings.Contains(out, "bound") {
				bound++
			}
			if after := treeSnapshot(t, host); after != before {
				t.Fatalf("run %d: a mount point was made on the host:\nbefore:\n%s\nafter:\n%s", runs, before, after)
			}
		}
		t.Logf("%d runs while the volume's /data/x flipped; %d saw their bind", runs, bound)
	})
}
