#!/usr/bin/env bash
# Regenerates the TLS material and bcrypt hashes of tests/testdata/web (checked in; test-only
# keys, valid for 100 years). Needs openssl and htpasswd (Debian: openssl, apache2-utils).
#   tests/testdata/web/make_fixtures.sh
set -euo pipefail
cd "$(dirname "$0")"
days=36500
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # ca NAME SUBJECT
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "$2" -days $days -out "$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
leaf() {  # leaf NAME CA SUBJECT SAN EKU
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$3" -out "$1.csr"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$4" "$5" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days $days \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
ca ca "/CN=registry-rca test CA"
ca other-ca "/CN=some other CA"
leaf server ca "/CN=localhost" "DNS:localhost,IP:127.0.0.1" serverAuth
leaf client ca "/CN=prometheus" "DNS:prometheus.example,email:scraper@example.com" clientAuth
leaf other-client other-ca "/CN=intruder" "DNS:prometheus.example" clientAuth
rm -f ./*.srl
# Basic-auth users (bcrypt, cost 5 like htpasswd's default, cost 10 for one user).
{
  htpasswd -nbB -C 5 alice 'alice-secret'
  htpasswd -nbB -C 10 bob 'b0b:with:colons'
} | grep -v '^$' >users.htpasswd
# The configs that name these users get the new hashes.
alice=$(grep '^alice:' users.htpasswd | cut -d: -f2-)
bob=$(grep '^bob:' users.htpasswd | cut -d: -f2-)
for file in *.good.yml; do
  sed -i -E "s|^(  alice: )\\\$2.*|\\1$alice|; s|^(  bob: )\\\$2.*|\\1$bob|" "$file"
done
echo "make_fixtures: done"
