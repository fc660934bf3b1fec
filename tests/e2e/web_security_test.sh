#!/usr/bin/env bash
# --web.config.file with real clients: curl and openssl s_client against TLS, mTLS and basic auth
# (bcrypt hashes from `htpasswd -B`), plain HTTP to the TLS port, TLS 1.1 refused, the internal
# civetweb port refusing direct clients, and slow or half-open clients not blocking a scrape.
# Serves with tests/tools/web_server_tool (the HttpServer the daemon uses, with a 2 s head
# deadline so that dropping slow clients is seen quickly). To drive `registry-rca serve` instead,
# change serve() below: it must set PORT and SERVER_PID.
source "$(dirname "$0")/lib/common.sh"

RRCA_BUILD_DIR=${RRCA_BUILD_DIR:-$(dirname "$(dirname "$RRCA_BIN")")}
TOOL=$RRCA_BUILD_DIR/tests/tools/web_server_tool
HEAD_TIMEOUT_S=2
WEB=$TESTDATA/web
for command in curl openssl python3; do
  command -v "$command" >/dev/null || { echo "web_security_test: needs $command"; exit 1; }
done
[[ -x $TOOL ]] || { echo "web_security_test: no $TOOL (build the web_server_tool target)"; exit 1; }

# serve NAME CONFIG [EXTRA...]: starts the server on a free port; sets PORT and SERVER_PID.
serve() {
  local name=$1 config=$2; shift 2
  PORT=$(free_port)
  "$TOOL" --web.config.file="$config" --web.listen-address="127.0.0.1:$PORT" "$@" \
    >"$WORK/$name.log.out" 2>"$WORK/$name.log.err" &
  PIDS+=($!)
  SERVER_PID=$!
  wait_for 10 grep -q "listening on port" "$WORK/$name.log.out" || return 1
}

# code ARGS...: the HTTP status curl gets (000 when the connection or handshake fails).
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }
has_header() {  # has_header HEADER-REGEX CURL-ARGS...
  local regex=$1; shift
  local head
  head=$(curl -s -D - -o /dev/null --max-time 5 "$@" | tr -d '\r') || true
  grep -qiE "$regex" <<<"$head"
}
fails() { ! "$@" >/dev/null 2>&1; }
body_has() {  # body_has REGEX CURL-ARGS...: the body (curl -f) has a line matching REGEX
  local regex=$1 out; shift
  out=$(curl -fsS --max-time 5 "$@" 2>&1) && grep -qE "$regex" <<<"$out"
}
s_client() { openssl s_client -connect "127.0.0.1:$PORT" -servername localhost "$@" </dev/null 2>&1 || true; }
s_verifies() { grep -q 'Verify return code: 0 (ok)' <<<"$(s_client "$@")"; }
s_protocol() { local p=$1; shift; grep -qE "^New, $p, Cipher is [A-Z]" <<<"$(s_client "$@")"; }
s_refused() { ! grep -qE 'Cipher is [A-Z]' <<<"$(s_client "$@")"; }

ALICE=(-u 'alice:alice-secret')
CA=(--cacert "$WEB/ca.crt")

echo "# TLS + basic auth"
serve tls "$WEB/tls_auth.good.yml" --head_timeout_ms=$((HEAD_TIMEOUT_S * 1000))
URL=https://localhost:$PORT
check "https with the CA and the right password: 200" \
  test "$(code "${CA[@]}" "${ALICE[@]}" "$URL/metrics")" = 200
check "the scrape has the metrics" body_has '^web_tool_up 1$' "${CA[@]}" "${ALICE[@]}" "$URL/metrics"
check "a password with colons (bob, cost 10): 200" \
  test "$(code "${CA[@]}" -u 'bob:b0b:with:colons' "$URL/metrics")" = 200
check "wrong password: 401" test "$(code "${CA[@]}" -u 'alice:alice-secreT' "$URL/metrics")" = 401
check "no password: 401" test "$(code "${CA[@]}" "$URL/metrics")" = 401
check "unknown user: 401" test "$(code "${CA[@]}" -u 'mallory:alice-secret' "$URL/metrics")" = 401
check "401 carries WWW-Authenticate: Basic" has_header '^WWW-Authenticate: Basic' "${CA[@]}" "$URL/metrics"
check "auth comes before routing (unknown path: 401, not 404)" \
  test "$(code "${CA[@]}" "$URL/no-such-path")" = 401
check "POST (webhooks) needs auth too: 401" \
  test "$(code "${CA[@]}" -X POST --data-binary 'event' "$URL/echo")" = 401
check "POST with auth reaches the handler" \
  body_has '^POST alice event$' "${CA[@]}" "${ALICE[@]}" --data-binary event "$URL/echo"
check "configured headers are sent" \
  has_header '^X-Content-Type-Options: nosniff' "${CA[@]}" "${ALICE[@]}" "$URL/metrics"
check "the server certificate does not verify without the CA" fails curl -fsS "${ALICE[@]}" "$URL/metrics"
check "plain HTTP to the TLS port fails" fails curl -fsS --max-time 5 "${ALICE[@]}" "http://127.0.0.1:$PORT/metrics"
told_https() { grep -q 'HTTP request to an HTTPS server' <<<"$(curl -sS --max-time 5 "$1" 2>&1)"; }
check "... and is told to use HTTPS" told_https "http://127.0.0.1:$PORT/metrics"
check "curl --tls-max 1.1 is refused" fails curl -fsS "${CA[@]}" "${ALICE[@]}" --tls-max 1.1 "$URL/metrics"
check "curl --tlsv1.2 --tls-max 1.2 works" \
  test "$(code "${CA[@]}" "${ALICE[@]}" --tlsv1.2 --tls-max 1.2 "$URL/metrics")" = 200
check "curl --tlsv1.3 works" test "$(code "${CA[@]}" "${ALICE[@]}" --tlsv1.3 "$URL/metrics")" = 200
check "openssl s_client: the handshake verifies against the CA" s_verifies -CAfile "$WEB/ca.crt"
check "openssl s_client: TLS 1.3 by default" s_protocol TLSv1.3 -CAfile "$WEB/ca.crt"
check "openssl s_client -tls1_1: refused" s_refused -tls1_1
check "openssl s_client -tls1: refused" s_refused -tls1
check "openssl s_client -tls1_2: accepted" s_protocol TLSv1.2 -tls1_2 -CAfile "$WEB/ca.crt"
check "TLS 1.2 CBC-SHA1 suites (ECDHE-ECDSA-AES128-SHA) are refused by default" \
  s_refused -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA
check "TLS 1.2 with ECDHE and AEAD is accepted" \
  s_protocol TLSv1.2 -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -CAfile "$WEB/ca.crt"
check "one listening socket only: no second, internal listener for local users to hold" \
  test "$(ss -Hltnp | grep -c "pid=$SERVER_PID,")" = 1

# Slow clients: 30 TCP connections that send nothing, 10 that send half a ClientHello.
cat >"$WORK/slow.py" <<'PY'
import socket, sys, time
port, ready, report, wait = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
hello = bytes.fromhex("160301020001") + b"\x01\x00\x01\xfc\x03\x03"  # a ClientHello, cut short
conns = []
for i in range(40):
    s = socket.create_connection(("127.0.0.1", port))
    if i >= 30:
        s.sendall(hello)
    conns.append(s)
open(ready, "w").write("ready\n")
start, closed = time.time(), 0
for s in conns:  # the server must drop them all by its deadline
    s.settimeout(max(0.1, wait - (time.time() - start)))
    try:
        closed += s.recv(1) == b""
    except ConnectionResetError:
        closed += 1
    except socket.timeout:
        pass
open(report, "w").write("%d %.1f\n" % (closed, time.time() - start))
PY
python3 "$WORK/slow.py" "$PORT" "$WORK/slow.ready" "$WORK/slow.report" $((HEAD_TIMEOUT_S + 4)) &
SLOW_PID=$!
PIDS+=($SLOW_PID)
wait_for 10 test -f "$WORK/slow.ready"
check "40 slow or half-open clients: a scrape still answers within 1 s" \
  body_has '^web_tool_up 1$' --max-time 1 "${CA[@]}" "${ALICE[@]}" "$URL/metrics"
check "... and so does plain /-/healthy" \
  test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "${CA[@]}" "${ALICE[@]}" "$URL/-/healthy")" = 200
wait "$SLOW_PID" || true
dropped_all() { local closed seconds; read -r closed seconds <"$WORK/slow.report" && [[ $closed == 40 ]]; }
check "the server dropped all 40 by its ${HEAD_TIMEOUT_S} s deadline ($(cat "$WORK/slow.report" 2>/dev/null) = closed, seconds)" \
  dropped_all

echo "# mTLS"
CLIENT=(--cert "$WEB/client.crt" --key "$WEB/client.key")
OTHER=(--cert "$WEB/other-client.crt" --key "$WEB/other-client.key")
serve mtls "$WEB/mtls.good.yml"
URL=https://localhost:$PORT
check "mTLS: no client certificate: refused" fails curl -fsS --max-time 5 "${CA[@]}" "$URL/metrics"
check "mTLS: a certificate from another CA: refused" \
  fails curl -fsS --max-time 5 "${CA[@]}" "${OTHER[@]}" "$URL/metrics"
check "mTLS: the right client certificate: 200" test "$(code "${CA[@]}" "${CLIENT[@]}" "$URL/metrics")" = 200
check "mTLS: openssl s_client with the client certificate" \
  s_verifies -CAfile "$WEB/ca.crt" -cert "$WEB/client.crt" -key "$WEB/client.key"
check "mTLS: TLS 1.2 without a certificate: refused" \
  fails curl -fsS --max-time 5 "${CA[@]}" --tls-max 1.2 "$URL/metrics"

serve if_given "$WEB/mtls_if_given.good.yml"
URL=https://localhost:$PORT
check "VerifyClientCertIfGiven: no certificate: 200" test "$(code "${CA[@]}" "$URL/metrics")" = 200
check "VerifyClientCertIfGiven: a certificate from another CA: refused" \
  fails curl -fsS --max-time 5 "${CA[@]}" "${OTHER[@]}" "$URL/metrics"

cat >"$WORK/sans_other.yml" <<YAML
tls_server_config:
  cert_file: $WEB/server.crt
  key_file: $WEB/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $WEB/ca.crt
  client_allowed_sans: [someone-else.example]
YAML
serve sans_ok "$WEB/mtls_sans.good.yml"
check "client_allowed_sans: a listed SAN: 200" \
  test "$(code "${CA[@]}" "${CLIENT[@]}" "https://localhost:$PORT/metrics")" = 200
serve sans_other "$WORK/sans_other.yml"
check "client_allowed_sans: a valid certificate without a listed SAN: refused" \
  fails curl -fsS --max-time 5 "${CA[@]}" "${CLIENT[@]}" "https://localhost:$PORT/metrics"

echo "# basic auth over plain HTTP, and half-open plaintext clients"
serve plain "$WEB/auth.good.yml" --head_timeout_ms=$((HEAD_TIMEOUT_S * 1000))
check "plaintext: right password: 200" test "$(code "${ALICE[@]}" "http://127.0.0.1:$PORT/metrics")" = 200
check "plaintext: wrong password: 401" test "$(code -u alice:nope "http://127.0.0.1:$PORT/metrics")" = 401
python3 "$WORK/slow.py" "$PORT" "$WORK/slow2.ready" "$WORK/slow2.report" 1 &
PIDS+=($!)
wait_for 10 test -f "$WORK/slow2.ready"
check "plaintext: 40 idle clients do not block a scrape (within 1 s)" \
  test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "${ALICE[@]}" "http://127.0.0.1:$PORT/metrics")" = 200

echo "# bad web configs refuse to start"
refuses() {  # refuses CONFIG MESSAGE-REGEX: exits non-zero, says why, never serves plaintext
  local port out status=0
  port=$(free_port)
  out=$(timeout 10 "$TOOL" --web.config.file="$1" --web.listen-address="127.0.0.1:$port" 2>&1) || status=$?
  [[ $status -ne 0 && $status -ne 124 ]] && grep -qE "$2" <<<"$out" &&
    fails curl -s --max-time 1 "http://127.0.0.1:$port/metrics"
}
check "unknown key: refused with file:line:col" \
  refuses "$WEB/unknown_key.bad.yml" 'unknown_key.bad.yml:3:3: tls_server_config.cert_path: unknown key'
check "min_version TLS11: refused" refuses "$WEB/tls11.bad.yml" 'TLS11 is refused'
check "a plaintext password: refused" refuses "$WEB/plaintext_password.bad.yml" 'must be a bcrypt hash'
check "a missing certificate: refused, no plaintext fallback" \
  refuses "$WEB/missing_cert.badfiles.yml" 'cert_file: cannot read'
check "a key that does not match: refused" refuses "$WEB/key_mismatch.badfiles.yml" 'key values mismatch'

echo "# The daemon itself: registry-rca serve --web.config.file"
registry_config "$WORK/daemon.yaml"
: > "$WORK/registry.log"
DPORT=$(free_port)
"$RRCA_BIN" serve --config.file="$WORK/daemon.yaml" --web.config.file="$WEB/tls_auth.good.yml" \
  --web.listen-address="127.0.0.1:$DPORT" >"$WORK/daemon.log.out" 2>"$WORK/daemon.log.err" &
PIDS+=($!)
DURL=https://localhost:$DPORT
check "daemon: https with the right password serves registry-rca's metrics" \
  wait_for 10 body_has '^registry_rca_build_info' "${CA[@]}" "${ALICE[@]}" "$DURL/metrics"
check "daemon: no password on the API: 401" test "$(code "${CA[@]}" "$DURL/api/v1/causes")" = 401
expiry_exported() {  # the metric equals the certificate's notAfter
  local want got
  want=$(date -u -d "$(openssl x509 -enddate -noout -in "$WEB/server.crt" | cut -d= -f2)" +%s)
  got=$(curl -fsS --max-time 5 "${CA[@]}" "${ALICE[@]}" "$DURL/metrics" |
    awk '/^registry_rca_tls_certificate_expiry_timestamp_seconds /{printf "%.0f", $2}')
  [[ -n $got && $got == "$want" ]]
}
check "daemon: the server certificate's expiry is exported" expiry_exported
check "daemon: no password on the reload endpoint: 401" \
  test "$(code "${CA[@]}" -X POST "$DURL/-/reload")" = 401
check "daemon: plain http to the TLS port is refused" \
  fails curl -fsS --max-time 5 "http://127.0.0.1:$DPORT/metrics"
check "daemon: a broken web config refuses to start (exit 2)" bash -c \
  "'$RRCA_BIN' serve --config.file='$WORK/daemon.yaml' --web.config.file='$WEB/bad_version.bad.yml' \
     --web.listen-address=127.0.0.1:$(free_port) >/dev/null 2>&1; [[ \$? -eq 2 ]]"

# An expired server certificate: the daemon starts (clients decide), warns, and exports when.
python3 - "$WORK" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(days=10))
        .not_valid_after(now - datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
open(sys.argv[1] + "/expired.crt", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[1] + "/expired.key", "wb").write(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY
printf 'tls_server_config:\n  cert_file: expired.crt\n  key_file: expired.key\n' >"$WORK/expired.yml"
EPORT=$(free_port)
"$RRCA_BIN" serve --config.file="$WORK/daemon.yaml" --web.config.file="$WORK/expired.yml" \
  --web.listen-address="127.0.0.1:$EPORT" >"$WORK/expired.log.out" 2>"$WORK/expired.log.err" &
PIDS+=($!)
expired_exported() {
  local got
  got=$(curl -fsSk --max-time 5 "https://127.0.0.1:$EPORT/metrics" |
    awk '/^registry_rca_tls_certificate_expiry_timestamp_seconds /{printf "%.0f", $2}')
  [[ -n $got ]] && ((got < $(date +%s)))
}
check "daemon: an expired certificate: its (past) expiry is exported" wait_for 10 expired_exported
check "daemon: ... and the start warns about it" \
  grep -q "expired at" "$WORK/expired.log.out" "$WORK/expired.log.err"

finish
