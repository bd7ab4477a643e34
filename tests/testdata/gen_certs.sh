#!/usr/bin/env bash
# Regenerates the test PKI in this directory: a test CA and leaf
# certificates signed by it. See README.md. Requires openssl (1.1.1+ / 3.x).
#
# The CA is CA:TRUE and only signs; the leaves are CA:FALSE with
# keyUsage digitalSignature+keyEncipherment and extendedKeyUsage
# serverAuth+clientAuth, because rustls (Deno's TLS) rejects a
# self-signed CA:TRUE certificate used as an end-entity certificate.
set -euo pipefail

cd "$(dirname "$0")"

DAYS="${DAYS:-3650}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

newkey() { # newkey FILE: RSA 2048, PKCS#8 PEM
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
  chmod 644 "$1" # test keys, checked in; servers run as other users must read them
}

# --- CA ----------------------------------------------------------------------
newkey ca.key
cat >"$tmp/ca.ext" <<'EXT'
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EXT
openssl req -new -key ca.key -subj "/O=xmpp-transport tests/CN=xmpp-transport Test CA" \
  -out "$tmp/ca.csr"
openssl x509 -req -in "$tmp/ca.csr" -signkey ca.key -days "$DAYS" -sha256 \
  -set_serial "0x$(openssl rand -hex 16)" -extfile "$tmp/ca.ext" -out ca.pem 2>/dev/null

# --- leaves ------------------------------------------------------------------
# leaf NAME CN SAN
leaf() {
  local name="$1" cn="$2" san="$3"
  newkey "$name.key"
  cat >"$tmp/$name.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EXT
  openssl req -new -key "$name.key" -subj "/O=xmpp-transport tests/CN=$cn" -out "$tmp/$name.csr"
  openssl x509 -req -in "$tmp/$name.csr" -CA ca.pem -CAkey ca.key -days "$DAYS" -sha256 \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "$tmp/$name.ext" -out "$name.pem" 2>/dev/null
  cat "$name.pem" ca.pem >"$name.fullchain.pem"
  openssl verify -CAfile ca.pem -purpose sslserver "$name.pem" >/dev/null
  openssl verify -CAfile ca.pem -purpose sslclient "$name.pem" >/dev/null
}

leaf localhost localhost "DNS:localhost, DNS:example.test, IP:127.0.0.1, IP:::1"
leaf other.test other.test "DNS:other.test"
leaf target.test xmpp.target.test "DNS:xmpp.target.test"

echo "wrote $(pwd): ca.{pem,key} and {localhost,other.test,target.test}.{pem,key,fullchain.pem}"
