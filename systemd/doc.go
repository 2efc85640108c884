// Package systemd is myctr's code that talks to systemd: transient units,
// sd_notify and unit generation, and the helper's unit and D-Bus activation
// files beside it. It imports neither the frontend nor the helper.
package systemd
