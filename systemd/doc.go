// Package systemd is myctr's code that talks to systemd: transient units,
// sd_notify and unit generation, and the helper's unit and D-Bus activation
// files beside it. It imports neither the frontend nor the helper.
//
// Unit generation has two users. myctr-generator (a systemd generator)
// turns Quadlet-style NAME.container files into NAME.service at every
// daemon-reload: unitfile.go parses unit-file syntax keeping each entry's
// line for error messages, words.go splits and quotes command lines as
// systemd does, quadlet.go translates one file and generator.go finds the
// files and writes the units and their [Install] links. `myctr generate
// systemd` writes one container's unit (containerunit.go).
package systemd
