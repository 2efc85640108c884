package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"

	"github.com/myctr/myctr/frontend/events"
	"github.com/myctr/myctr/frontend/image"
)

// maxAuthHeader bounds X-Registry-Auth before it is decoded (the header
// limit already bounds it; this is the decoder's own).
const maxAuthHeader = 16 << 10

// registryAuth decodes a request's X-Registry-Auth: base64url (padded or
// not) JSON of Docker's AuthConfig. No header, or one without
// credentials (the docker CLI sends "{}" when it has none), is nil: the
// auth files `myctr login` writes apply.
func registryAuth(r *http.Request) (*authn.AuthConfig, error) {
	h := strings.TrimSpace(r.Header.Get("X-Registry-Auth"))
	if h == "" {
		return nil, nil
	}
	if len(h) > maxAuthHeader {
		return nil, badRequest("X-Registry-Auth is too long")
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if raw, err = enc.DecodeString(h); err == nil {
			break
		}
	}
	if err != nil {
		return nil, badRequest("X-Registry-Auth is not base64: %v", err)
	}
	var ac registry.AuthConfig
	if err := json.Unmarshal(raw, &ac); err != nil {
		return nil, badRequest("X-Registry-Auth is not an AuthConfig: %v", err)
	}
	return authConfig(ac), nil
}

// authConfig is Docker's AuthConfig as the image package takes it; nil
// when it holds no credentials.
func authConfig(ac registry.AuthConfig) *authn.AuthConfig {
	c := &authn.AuthConfig{
		Username:      ac.Username,
		Password:      ac.Password,
		Auth:          ac.Auth,
		IdentityToken: ac.IdentityToken,
		RegistryToken: ac.RegistryToken,
	}
	if *c == (authn.AuthConfig{}) {
		return nil
	}
	return c
}

// auth serves POST /auth (docker login): the credentials are checked
// against the registry as `myctr login` checks them, and kept by the
// client, as with Docker's daemon: the service records nothing.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) {
	var ac registry.AuthConfig
	if err := decodeBody(r, &ac, "auth configuration"); err != nil {
		writeError(w, err)
		return
	}
	host := ac.ServerAddress
	if host == "" {
		host = "docker.io"
	}
	if ac.Username == "" || ac.Password == "" {
		if ac.Auth == "" {
			writeError(w, badRequest("username and password are required"))
			return
		}
		b, err := base64.StdEncoding.DecodeString(ac.Auth)
		u, p, ok := strings.Cut(string(b), ":")
		if err != nil || !ok {
			writeError(w, badRequest("auth is not base64 of user:password"))
			return
		}
		ac.Username, ac.Password = u, p
	}
	err := image.Login(r.Context(), host, ac.Username, ac.Password, image.LoginOptions{CheckOnly: true})
	if errors.Is(err, image.ErrUnauthorized) {
		err = withStatus(http.StatusUnauthorized, err)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, registry.AuthResponse{Status: "Login Succeeded"})
}

// imagePush serves POST /images/{name}/push?tag=TAG: `myctr push` of
// NAME:TAG (every tag of NAME in the store without one) to the registry
// the name holds, with the client's X-Registry-Auth or else the auth
// files; its progress, then each tag's digest, as a JSON stream.
func (s *Server) imagePush(w http.ResponseWriter, r *http.Request, repo string) {
	auth, err := registryAuth(r)
	if err != nil {
		writeError(w, err)
		return
	}
	refs := []string{}
	if tag := r.URL.Query().Get("tag"); tag != "" {
		refs = append(refs, repo+":"+tag)
	} else {
		imgs, err := s.b.Images.List()
		if err != nil {
			writeError(w, err)
			return
		}
		for _, img := range imgs {
			for _, n := range img.Names {
				if strings.HasPrefix(n, repo+":") {
					refs = append(refs, n)
				}
			}
		}
	}
	for _, ref := range refs {
		if _, err := s.lookupImage(ref); err != nil {
			writeError(w, err)
			return
		}
	}
	if len(refs) == 0 {
		writeError(w, withStatus(http.StatusNotFound, fmt.Errorf("No such image: %s", repo)))
		return
	}
	enc, flush := jsonStream(w)
	pl := &progressLines{enc: enc, flush: flush}
	for _, ref := range refs {
		_ = enc.Encode(jsonstream.Message{Status: "The push refers to repository [" + repo + "]"})
		d, err := s.b.Images.Push(r.Context(), ref, "", image.PullOptions{Progress: pl, Auth: auth})
		_, _ = pl.Write([]byte("\n"))
		if err != nil {
			// The status is sent: the failure is the stream's last
			// message, as Docker's.
			_ = enc.Encode(jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}})
			return
		}
		_ = events.Record(s.b.RunRoot, events.Event{ID: d, Name: ref, Status: "push", Type: events.TypeImage})
		tag := ref[strings.LastIndex(ref, ":")+1:]
		aux, _ := json.Marshal(map[string]string{"Tag": tag, "Digest": d})
		raw := json.RawMessage(aux)
		_ = enc.Encode(jsonstream.Message{Status: tag + ": digest: " + d})
		_ = enc.Encode(jsonstream.Message{Aux: &raw})
		flush()
	}
}

// jsonStream starts a 200 answer that is a stream of JSON messages, as
// pulls, pushes and loads answer: an encoder and the flush to call after
// each message.
func jsonStream(w http.ResponseWriter) (*json.Encoder, func()) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush := func() {}
	if f, ok := w.(http.Flusher); ok {
		flush = f.Flush
	}
	return json.NewEncoder(w), flush
}
