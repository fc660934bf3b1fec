#!/usr/bin/env bash
# The registry probe over https with a CA file and Basic credentials from a file, against a small
# fake registry (python's ssl, a certificate for 127.0.0.1 that no system CA issued):
#   - with `ca_file` naming that certificate the probe verifies the peer and succeeds;
#   - without it the run fails with reason=network (the TLS verification), sending nothing;
#   - wrong credentials fail with reason=auth, and the password appears nowhere in the output.
source "$(dirname "$0")/lib/common.sh"
command -v openssl >/dev/null || { echo "openssl missing"; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$WORK/server.key" -out "$WORK/server.crt" 2>/dev/null
REG_PORT=$(free_port)
python3 "$(dirname "$0")/lib/fake_registry.py" "$REG_PORT" "$WORK/requests.log" --basic probe:s3cret \
  --tls "$WORK/server.crt" "$WORK/server.key" &
PIDS+=($!)
check "the https fake registry listens" wait_for 10 curl -s -o /dev/null --cacert "$WORK/server.crt" \
  "https://127.0.0.1:$REG_PORT/"
printf 'probe:s3cret\n' >"$WORK/good-credentials"
printf 'probe:wr0ng-pass\n' >"$WORK/bad-credentials"

: >"$WORK/registry.log"
registry_config "$WORK/config.yaml" "probes:" \
  "  - {name: trusted, type: registry, url: \"https://127.0.0.1:$REG_PORT\", ca_file: \"$WORK/server.crt\", credentials_file: \"$WORK/good-credentials\", timeout: 10s}" \
  "  - {name: untrusted, type: registry, url: \"https://127.0.0.1:$REG_PORT\", credentials_file: \"$WORK/good-credentials\", timeout: 10s}" \
  "  - {name: refused, type: registry, url: \"https://127.0.0.1:$REG_PORT\", ca_file: \"$WORK/server.crt\", credentials_file: \"$WORK/bad-credentials\", timeout: 10s}"
rc=0
"$RRCA_BIN" probe --config.file="$WORK/config.yaml" >"$WORK/probe.out" 2>"$WORK/probe.log.err" || rc=$?
cat "$WORK/probe.out"
line() { grep "^probe=registry target=$1 " "$WORK/probe.out" || true; }
check "registry-rca probe exits 1 (two probes fail; rc=$rc)" test "$rc" -eq 1
check "https with the CA file: ok" grep -q ' result=ok ' <<<"$(line trusted) "
check "https without the CA file: reason=network" grep -q 'result=fail reason=network' <<<"$(line untrusted)"
check "... because the certificate is not trusted" grep -qiE 'certificate|SSL|TLS' <<<"$(line untrusted)"
check "wrong Basic credentials: reason=auth" grep -q 'result=fail reason=auth' <<<"$(line refused)"
check "the passwords appear nowhere in the output" \
  bash -c "! grep -qE 's3cret|wr0ng-pass' '$WORK/probe.out' '$WORK/probe.log.err'"
# The fake registry's log: the trusted probe's POST, GET, DELETE with credentials; the
# untrusted one sent nothing (the handshake failed before any request).
check "the trusted probe POSTed, GOT and DELETEd with credentials" bash -c \
  "grep -q '^POST .* auth=yes' '$WORK/requests.log' && grep -q '^GET .* auth=yes' '$WORK/requests.log' &&
   grep -q '^DELETE .* auth=yes' '$WORK/requests.log'"
check "every request carried the probe's user agent" \
  bash -c "grep '^[A-Z]* /v2/' '$WORK/requests.log' | grep -q . && ! grep '^[A-Z]* /v2/' '$WORK/requests.log' | grep -qv 'ua=registry-rca-probe/'"
finish
