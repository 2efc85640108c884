package container

import (
	"errors"
	"strings"
)

// RunningError is rm's refusal of a running container, in Podman's words
// (which scripts match); it is ErrRunning.
type RunningError struct{ ID string }

func (e *RunningError) Error() string {
	return "cannot remove container " + e.ID + " as it is running - running or paused containers cannot be removed without force: container state improper"
}

// Is makes a RunningError ErrRunning.
func (e *RunningError) Is(target error) bool { return target == ErrRunning }

// DependentsError is rm's refusal of a container that others depend on
// (they joined its network namespace), in Podman's words; it is
// ErrHasDependents.
type DependentsError struct {
	ID   string
	Deps []string // the dependents' ids
}

func (e *DependentsError) Error() string {
	return "container " + e.ID + " has dependent containers which must be removed before it: " + strings.Join(e.Deps, ", ") + ": container already exists"
}

// Is makes a DependentsError ErrHasDependents.
func (e *DependentsError) Is(target error) bool { return target == ErrHasDependents }

// Sentinels of the container package; compare with errors.Is.
var (
	ErrNotFound    = errors.New("no such container")
	ErrAmbiguous   = errors.New("more than one container matches")
	ErrNameInUse   = errors.New("name is already in use")
	ErrInvalidName = errors.New("invalid container name")
	ErrRunning     = errors.New("container is running")
	ErrNotRunning  = errors.New("container is not running")
	// ErrStateImproper is a verb refused for the container's state
	// (Podman's words): pause of one that is not running, unpause of
	// one that is not paused, start or exec of a paused one.
	ErrStateImproper  = errors.New("container state improper")
	ErrInvalidVolume  = errors.New("invalid volume")
	ErrInvalidUser    = errors.New("invalid user")
	ErrNoCommand      = errors.New("no command specified")
	ErrInvalidNetwork = errors.New("invalid network settings")
	ErrInvalidIPC     = errors.New("invalid IPC settings")
	ErrNoInit         = errors.New("myctr-init is not installed")
	ErrInvalidRestart = errors.New("invalid restart policy")
	// ErrInvalidLogOpt is --log-opt's refusal, worded as Podman's.
	ErrInvalidLogOpt = errors.New("invalid log option")
	// ErrInvalidCondition is a wait --condition that is no container
	// state (Podman's "invalid argument").
	ErrInvalidCondition = errors.New("invalid argument")
	ErrStorageDriver    = errors.New("storage driver not supported")
	ErrHasDependents    = errors.New("container has dependent containers")
	// ErrUnsafeRunRoot is wrapped by *UnsafeDirError: a state directory
	// that another user made, or could change.
	ErrUnsafeRunRoot = errors.New("not a private directory of yours")
)
