// Package specjson encodes OCI runtime specs as json.Marshal does, byte
// for byte, without reflection: AppendSpec for config.json and
// AppendLinuxSeccomp for the digest that names a compiled seccomp
// program. The encoders are generated (spec_gen.go, by
// frontend/jsoncodec/gen); see frontend/jsoncodec for why.
package specjson
