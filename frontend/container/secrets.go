package container

import (
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SecretMount is a secret a container gets as a file (run --secret NAME):
// its data is copied into the container's directory when the container
// is made, as Podman documents (a later change or removal of the secret
// does not reach the container), and bound read-only at Target.
type SecretMount struct {
	Name   string
	ID     string
	Target string // absolute, in the container
	Mode   uint32 // of the file
	Data   []byte `json:"-"` // never in the record
}

// secretFile is where the container's copy of secret id is kept: its own
// directory, which only the user may enter.
func (c *Container) secretFile(id string) string { return c.File(filepath.Join("secrets", id)) }

// addSecrets copies each secret's data into the container's directory and
// binds it over its target, read-only.
func addSecrets(c *Container, spec *specs.Spec, secrets []SecretMount) error {
	if len(secrets) == 0 {
		return nil
	}
	if err := os.Mkdir(c.File("secrets"), 0o700); err != nil {
		return fmt.Errorf("create the secrets directory: %w", err)
	}
	seen := map[string]string{}
	for _, s := range secrets {
		if other, ok := seen[s.Target]; ok {
			return fmt.Errorf("%w: secrets %s and %s both go to %s", ErrInvalidVolume, other, s.Name, s.Target)
		}
		seen[s.Target] = s.Name
		f, err := os.OpenFile(c.secretFile(s.ID), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("copy secret %s: %w", s.Name, err)
		}
		_, err = f.Write(s.Data)
		if err == nil {
			// The mode the container sees, whatever the umask.
			err = f.Chmod(os.FileMode(s.Mode))
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("copy secret %s: %w", s.Name, err)
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: s.Target, Type: "bind", Source: c.secretFile(s.ID),
			Options: []string{"rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"}})
	}
	return nil
}
