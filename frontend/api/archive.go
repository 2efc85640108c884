package api

// `docker cp`: GET, HEAD and PUT /containers/{id}/archive. The files are
// read and written by the container store's copy worker, the one
// `myctr cp` uses, whose root is the container's: a path (and every
// symlink on it) is resolved inside the container, never on the host.

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/myctr/myctr/frontend/container"
)

// pathStatHeader carries the stat of an archive's path (base64 JSON).
const pathStatHeader = "X-Docker-Container-Path-Stat"

// archivePath reads the path parameter. Docker reads a container path
// from the container's root, where `myctr cp` reads it from the working
// directory: a relative one is made absolute here.
func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", badRequest("path is required: the container path to copy")
	}
	if strings.ContainsRune(p, 0) {
		return "", badRequest("invalid path %q", p)
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p, nil
}

// pathStat is the stat Docker sends of an archive's path, from the first
// entry of its tar stream (the path itself, a symlink followed).
func pathStat(hdr *tar.Header) ctypes.PathStat {
	fi := hdr.FileInfo()
	return ctypes.PathStat{
		Name:       strings.TrimSuffix(hdr.Name, "/"),
		Size:       hdr.Size,
		Mode:       fi.Mode(),
		Mtime:      hdr.ModTime,
		LinkTarget: hdr.Linkname,
	}
}

// encodePathStat is the value of the X-Docker-Container-Path-Stat header.
func encodePathStat(st ctypes.PathStat) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// archiveReader is the tar stream of a container's path, its first
// header already read (to stat the path before the response starts).
type archiveReader struct {
	hdr  *tar.Header
	body io.Reader      // the whole stream, the first header included
	pr   *io.PipeReader // closing it stops the worker
	done chan error     // the worker's result
}

// openArchive starts the copy worker on the container's path p and reads
// the first entry's header; a path that is not there is a 404.
func (s *Server) openArchive(c *container.Container, p string) (*archiveReader, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := s.b.Containers.CopyFrom(c, p, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	// archive/tar reads headers block by block, never ahead: what it has
	// read is exactly the bytes of the first header.
	var head bytes.Buffer
	hdr, err := tar.NewReader(io.TeeReader(pr, &head)).Next()
	if err != nil {
		pr.CloseWithError(errors.New("the response was abandoned"))
		werr := <-done
		if werr == nil {
			werr = fmt.Errorf("read the archive of %s: %w", p, err)
		}
		return nil, archiveError(werr, c, p)
	}
	return &archiveReader{hdr: hdr, body: io.MultiReader(&head, pr), pr: pr, done: done}, nil
}

// close stops the worker (if it still writes) and waits for it.
func (a *archiveReader) close() error {
	a.pr.CloseWithError(errors.New("the response was abandoned"))
	return <-a.done
}

// archiveError gives a copy's sentinel Docker's status.
func archiveError(err error, c *container.Container, p string) error {
	switch {
	case errors.Is(err, container.ErrCopyNotFound):
		return withStatus(http.StatusNotFound, fmt.Errorf("Could not find the file %s in container %s", p, c.Name))
	case errors.Is(err, container.ErrCopyNotTar):
		return badRequest("%v", err)
	case errors.Is(err, container.ErrCopyDirToFile), errors.Is(err, container.ErrCopyBadDest):
		return badRequest("%v", err)
	}
	return err
}

// containerArchive answers GET (the tar stream) and HEAD (only the stat)
// of /containers/{id}/archive.
func (s *Server) containerArchive(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := archivePath(r)
	if err != nil {
		writeError(w, err)
		return
	}
	a, err := s.openArchive(c, p)
	if err != nil {
		writeError(w, err)
		return
	}
	defer a.close()
	stat := pathStat(a.hdr)
	var body io.Reader = a.body
	if container.CopyContents(p) {
		// "DIR/.": Docker names the directory "." in the stream, so that
		// the client extracts what it holds, not the directory.
		rp := renameTop(a.body, stat.Name, ".")
		defer rp.Close()
		stat.Name, body = ".", rp
	}
	st, err := encodePathStat(stat)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set(pathStatHeader, st)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	// Once the status is sent, a failure can only show to the client as
	// a short stream.
	_, _ = io.Copy(w, body)
}

// renameTop re-emits the tar stream r with its top entry top (and every
// name below it) renamed to "to".
func renameTop(r io.Reader, top, to string) *io.PipeReader {
	pr, pw := io.Pipe()
	go func() {
		tr := tar.NewReader(r)
		tw := tar.NewWriter(pw)
		rename := func(n string) string {
			c := strings.TrimSuffix(n, "/")
			if c == top {
				c = to
			} else if rest, ok := strings.CutPrefix(c, top+"/"); ok {
				c = to + "/" + rest
			}
			if strings.HasSuffix(n, "/") {
				c += "/"
			}
			return c
		}
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			h.Name = rename(h.Name)
			if h.Typeflag == tar.TypeLink {
				h.Linkname = rename(h.Linkname)
			}
			if err := tw.WriteHeader(h); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.Copy(tw, tr); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	return pr
}

// containerArchivePut answers PUT /containers/{id}/archive: the tar
// stream of the body is extracted into the container's directory path,
// as `myctr cp - CTR:DIR` extracts it.
func (s *Server) containerArchivePut(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := archivePath(r)
	if err != nil {
		writeError(w, err)
		return
	}
	noOverwrite, err := boolParam(r, "noOverwriteDirNonDir")
	if err != nil {
		writeError(w, err)
		return
	}
	// copyUIDGID: the files get the container user's ids (myctr cp's
	// --archive); else they keep the stream's, as Docker's.
	chown, err := boolParam(r, "copyUIDGID")
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := container.CheckCopyTar(r.Body)
	if err != nil {
		writeError(w, badRequest("%v", err))
		return
	}
	opts := container.CopyOptions{Raw: true, Archive: chown, Overwrite: !noOverwrite}
	err = s.b.Containers.CopyTo(c, p, body, opts)
	if errors.Is(err, container.ErrCopyStdinDest) {
		// Raw extraction needs a directory: tell a missing path (404)
		// from one that is no directory (400), as Docker does.
		if a, serr := s.openArchive(c, p); serr != nil {
			err = serr
		} else {
			a.close()
			err = badRequest("extraction point is not a directory")
		}
	}
	if err != nil {
		writeError(w, archiveError(err, c, p))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// containerExport answers GET /containers/{id}/export (`docker export`):
// the tar of the container's root filesystem, from container.Store.Export
// as `myctr export` writes it.
func (s *Server) containerExport(w http.ResponseWriter, r *http.Request) {
	c, err := s.lookup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	sw := &startOnWrite{w: w, contentType: "application/x-tar"}
	err = s.b.Containers.Export(c, sw)
	if err != nil && !sw.started {
		writeError(w, err)
	}
	// Once the status is sent, a failure can only show to the client as
	// a short stream.
}

// startOnWrite sends the 200 status and the content type with the first
// byte of the body, so that a failure before any byte is still an error
// status.
type startOnWrite struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (s *startOnWrite) Write(p []byte) (int, error) {
	if !s.started {
		s.w.Header().Set("Content-Type", s.contentType)
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	return s.w.Write(p)
}
