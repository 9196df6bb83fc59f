/*
Copyright 2026 The runnerset-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package configmapstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SignatureAnnotation holds, on every backing ConfigMap, the store's signature of what it wrote.
// Whoever may write ConfigMaps in a namespace can write a backing ConfigMap; only the server holds
// the key, so only what the server wrote verifies.
const SignatureAnnotation = "actions.dev/signature"

// Signer signs what the store writes and verifies what it reads. The signature covers the
// object's namespace and name as well as its data, so a signed ConfigMap copied to another name
// or namespace does not verify.
type Signer interface {
	Sign(namespace, name, data string) string
	Verify(namespace, name, data, signature string) error
}

// Errors of Verify.
var (
	ErrUnsigned     = errors.New("not signed by this server")
	ErrBadSignature = errors.New("signature does not verify")
)

// HMACSigner signs with HMAC-SHA256 under one key. A signature reads "v1.<key id>.<mac>"; the
// key id (a hash prefix of the key, not the key) tells a ConfigMap written under another key
// (a restore without the key) from one that was tampered with.
type HMACSigner struct {
	key []byte
	id  string
}

// MinKeyBytes is the shortest key NewHMACSigner accepts.
const MinKeyBytes = 32

// NewHMACSigner returns a signer with key.
func NewHMACSigner(key []byte) (*HMACSigner, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("signing key has %d bytes, needs at least %d", len(key), MinKeyBytes)
	}
	sum := sha256.Sum256(append([]byte("actions.dev key id\x00"), key...))
	return &HMACSigner{key: append([]byte(nil), key...), id: hex.EncodeToString(sum[:4])}, nil
}

// KeyID identifies the key in signatures.
func (s *HMACSigner) KeyID() string { return s.id }

func (s *HMACSigner) mac(namespace, name, data string) []byte {
	h := hmac.New(sha256.New, s.key)
	// Length-prefixed, so no two different triples are signed as the same bytes.
	fmt.Fprintf(h, "v1\x00%d:%s%d:%s%d:", len(namespace), namespace, len(name), name, len(data))
	h.Write([]byte(data))
	return h.Sum(nil)
}

// Sign implements Signer.
func (s *HMACSigner) Sign(namespace, name, data string) string {
	return "v1." + s.id + "." + base64.RawURLEncoding.EncodeToString(s.mac(namespace, name, data))
}

// Verify implements Signer.
func (s *HMACSigner) Verify(namespace, name, data, signature string) error {
	if signature == "" {
		return ErrUnsigned
	}
	parts := strings.Split(signature, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return fmt.Errorf("%w: malformed", ErrBadSignature)
	}
	if parts[1] != s.id {
		return fmt.Errorf("%w: signed with key %s, this server's key is %s (restored without the server's signing key?)", ErrBadSignature, parts[1], s.id)
	}
	got, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(got, s.mac(namespace, name, data)) {
		return fmt.Errorf("%w: the object was not written by this server", ErrBadSignature)
	}
	return nil
}
