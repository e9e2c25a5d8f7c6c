#!/usr/bin/env bash
# Makes the test certificates the local secure services and the TLS tests use, with
# Debian's openssl. Idempotent: files that exist, verify against their CA and are not
# about to expire are kept; anything else is (re)made. kafka.sh and clickhouse.sh
# call this before they start.
#
#   scripts/tls.sh [make|dir|wipe]     make (default): make what is missing, list files
#                                      dir: print the directory only; wipe: remove it
#
# Env: SLUICE_RUN (default /tmp/sluice-run). Files go to $SLUICE_RUN/tls/, all PEM,
# keys unencrypted PKCS#8 RSA 2048 (what Kafka's PEM key store reads):
#   ca.pem, ca.key                 the trusted test CA ("Sluice test CA")
#   server.pem, server.key         CN localhost, SAN DNS:localhost, IP:127.0.0.1; by ca
#   server.keystore.pem            server.key + server.pem in one file (Kafka PEM store)
#   client.pem, client.key         CN sluice-client, clientAuth; by ca (for mTLS)
#   client.keystore.pem            client.key + client.pem in one file
#   wrong-name.pem, .key           CN/SAN wrong.example; by ca (hostname mismatch)
#   wrong-name.keystore.pem
#   untrusted-ca.pem, .key         a second CA that nothing trusts
#   untrusted-server.pem, .key     same names as server.pem, signed by untrusted-ca
#   untrusted-server.keystore.pem
set -euo pipefail

run="${SLUICE_RUN:-/tmp/sluice-run}"
dir="$run/tls"
ca_days=3650
leaf_days=825

# Extensions, one section per kind of certificate. webpki (rustls) insists on
# CA:TRUE plus keyCertSign for a CA and on a SAN and serverAuth for a server.
extensions() {
  cat <<'EXT'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[wrong_name]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
}

# Good when the cert exists, has its key, verifies against its CA (itself for a
# CA) and is valid for at least another day.
good() {
  local name=$1 ca=$2
  [ -s "$dir/$name.pem" ] && [ -s "$dir/$name.key" ] || return 1
  openssl x509 -in "$dir/$name.pem" -noout -checkend 86400 >/dev/null 2>&1 || return 1
  openssl verify -CAfile "$dir/$ca.pem" "$dir/$name.pem" >/dev/null 2>&1
}

# mint NAME SUBJECT SECTION CA: key, CSR, cert signed by CA (self-signed when
# CA is NAME), written beside each other and renamed into place at the end.
mint() {
  local name=$1 subject=$2 section=$3 ca=$4 tmp="$dir/.tmp-$1"
  rm -rf "$tmp"; mkdir -p "$tmp"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key" 2>/dev/null
  openssl req -new -key "$tmp/key" -subj "$subject" -out "$tmp/csr" \
    -config <(printf '[req]\ndistinguished_name = dn\n[dn]\n')
  local sign=(-CA "$dir/$ca.pem" -CAkey "$dir/$ca.key") days=$leaf_days
  if [ "$ca" = "$name" ]; then sign=(-signkey "$tmp/key"); days=$ca_days; fi
  openssl x509 -req -in "$tmp/csr" "${sign[@]}" -sha256 -days "$days" \
    -set_serial "0x$(openssl rand -hex 16)" \
    -extfile <(extensions) -extensions "$section" -out "$tmp/pem" 2>/dev/null
  chmod 600 "$tmp/key"
  mv "$tmp/key" "$dir/$name.key"
  mv "$tmp/pem" "$dir/$name.pem"
  rm -rf "$tmp"
  echo "tls.sh: made $dir/$name.pem"
}

# ensure NAME SUBJECT SECTION CA [keystore]
ensure() {
  local name=$1 ca=$4
  good "$name" "$ca" || mint "$@"
  if [ "${5:-}" = keystore ]; then
    cat "$dir/$name.key" "$dir/$name.pem" >"$dir/.$name.keystore.pem"
    chmod 600 "$dir/.$name.keystore.pem"
    mv "$dir/.$name.keystore.pem" "$dir/$name.keystore.pem"
  fi
}

make_all() {
  command -v openssl >/dev/null || { echo "tls.sh: openssl not found; apt-get install openssl" >&2; exit 1; }
  mkdir -p "$dir"
  # Two scripts may start at once (services.sh, parallel tests): one maker at a time.
  exec 9>"$dir/.lock"
  flock 9
  ensure ca "/O=Sluice test/CN=Sluice test CA" ca ca
  ensure server "/O=Sluice test/CN=localhost" server ca keystore
  ensure client "/O=Sluice test/CN=sluice-client" client ca keystore
  ensure wrong-name "/O=Sluice test/CN=wrong.example" wrong_name ca keystore
  ensure untrusted-ca "/O=Sluice untrusted/CN=Sluice untrusted CA" ca untrusted-ca
  ensure untrusted-server "/O=Sluice untrusted/CN=localhost" server untrusted-ca keystore
  flock -u 9
  cat <<EOF
tls.sh: test certificates in $dir
  trusted CA         $dir/ca.pem
  server (localhost, 127.0.0.1)  $dir/server.pem  key $dir/server.key
  client (mTLS)      $dir/client.pem  key $dir/client.key
  wrong name         $dir/wrong-name.pem  (SAN wrong.example, by the trusted CA)
  untrusted CA       $dir/untrusted-ca.pem  server $dir/untrusted-server.pem
EOF
}

case "${1:-make}" in
  make) make_all ;;
  dir) echo "$dir" ;;
  wipe) rm -rf "$dir" ;;
  *) echo "usage: scripts/tls.sh [make|dir|wipe]" >&2; exit 2 ;;
esac
