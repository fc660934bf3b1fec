#!/usr/bin/env bash
# deploy/: each deployment artefact tested as far as this machine allows (no systemd as PID 1,
# no Docker engine, no Kubernetes cluster):
#   systemd unit   systemd-analyze verify; offline security exposure; the syscalls and socket
#                  families the daemon really uses (strace of serve + reload + stop) are inside
#                  its SystemCallFilter / RestrictAddressFamilies
#   config         registry-rca check; served end to end from a copy with paths under $WORK
#   Kubernetes     yamllint; offline schema check of core objects against the python3-kubernetes
#                  models (unknown fields, types, required fields); the ConfigMaps' configs
#                  checked and served on a fake node / pod log tree
#   Dockerfile     packages exist in Debian, the runtime packages cover ldd of the binary, the
#                  build stage's COPY list and cmake configure work on a scratch copy.
#                  RRCA_DEPLOY_FULL=1: both stages run for real in debootstrapped bookworm
#                  chroots (minutes; downloads ~200 MB of Debian packages).
source "$(dirname "$0")/lib/common.sh"
DEPLOY=$RRCA_SOURCE_DIR/deploy
PY=/usr/bin/python3  # Debian's python: python3-yaml, python3-kubernetes

need=()
for tool in systemd-analyze strace yamllint curl; do command -v "$tool" >/dev/null || need+=("$tool"); done
$PY -c 'import yaml, kubernetes' 2>/dev/null || need+=(python3-kubernetes)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "missing: ${need[*]} (apt-get install systemd strace yamllint curl python3-yaml python3-kubernetes)"
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# systemd unit
unit=$DEPLOY/systemd/registry-rca.service
mkdir -p "$WORK/unit"
sed "s|/usr/bin/registry-rca|$RRCA_BIN|g" "$unit" > "$WORK/unit/registry-rca.service"
check "systemd-analyze verify: the unit loads without a warning" \
  bash -c "systemd-analyze verify '$WORK/unit/registry-rca.service' > '$WORK/verify.log.err' 2>&1 && ! grep -q . '$WORK/verify.log.err'"
check "systemd-analyze security: exposure at most 2.0 (OK)" \
  bash -c "systemd-analyze security --offline=yes --threshold=20 '$WORK/unit/registry-rca.service' > '$WORK/security.log.err' 2>&1"
for directive in DynamicUser=yes ProtectSystem=strict ProtectHome=yes ReadOnlyPaths=/var/log \
  StateDirectory=registry-rca NoNewPrivileges=yes CapabilityBoundingSet= \
  SystemCallFilter=@system-service "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
  'ExecReload=/bin/kill -HUP $MAINPID' SupplementaryGroups=adm; do
  check "unit sets $directive" grep -qxF "$directive" "$unit"
done

# The config the unit starts with, relocated under $WORK: same file, other paths.
mkdir -p "$WORK/var/log/harbor" "$WORK/state"
cp "$TESTDATA/registry/harbor-syslog/input.log" "$WORK/var/log/harbor/registry.log"
sed -e "s|/var/log/harbor/|$WORK/var/log/harbor/|" -e "s|/var/lib/registry-rca/|$WORK/state/|" \
  -e "s|^start_at: end|start_at: beginning|" -e 's|rules.d/\*.yaml|'"$WORK"'/rules.d/*.yaml|' \
  "$DEPLOY/config/registry-rca.yaml" > "$WORK/registry-rca.yaml"
check "registry-rca check accepts deploy/config/registry-rca.yaml" \
  bash -c "'$RRCA_BIN' check --config.file='$DEPLOY/config/registry-rca.yaml' > '$WORK/check.log.err' 2>&1"

# serve under strace: start, scrape, reload (SIGHUP), stop (SIGTERM) -- every syscall recorded.
# A sanitizer build runs without strace: its runtime makes syscalls of its own, and
# LeakSanitizer cannot run under ptrace.
sanitized=0
is_sanitized "$RRCA_BIN" && sanitized=1
tracer=(strace -f -qq -o "$WORK/strace.txt")
[[ $sanitized == 1 ]] && tracer=()
port=$(free_port)
"${tracer[@]}" "$RRCA_BIN" serve --config.file="$WORK/registry-rca.yaml" \
  --web.listen-address="127.0.0.1:$port" >"$WORK/serve.log.out" 2>"$WORK/serve.log.err" &
PIDS+=($!)
outer_pid=$!
check "the Debian default config serves" wait_for 30 curl -fs "http://127.0.0.1:$port/-/ready"
lines=$(wc -l < "$WORK/var/log/harbor/registry.log")
check "it reads Harbor's registry.log: all $lines lines" \
  wait_for 20 metric_is "$port" 'registry_rca_lines_read_total\{source="registry"\}' "$lines"
daemon_pid=$outer_pid
[[ $sanitized == 0 ]] && daemon_pid=$(pgrep -P "$outer_pid" | head -n1)
kill -HUP "$daemon_pid"
check "still healthy after SIGHUP (reload)" wait_for 10 curl -fs "http://127.0.0.1:$port/-/healthy"
kill -TERM "$daemon_pid"
status=0; wait "$outer_pid" || status=$?
check "exits 0 on SIGTERM" test "$status" -eq 0
check "positions file in the state directory" test -s "$WORK/state/positions.json"

# systemd's own lists decide: @system-service minus ~@privileged @resources, as in the unit.
cat > "$WORK/syscalls.py" <<'PY'
import re, subprocess, sys
def expand(group, seen=None):
    seen = seen if seen is not None else set()
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True,
                         text=True, check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if item.startswith("@"):
            if item not in seen:
                seen.add(item)
                names |= expand(item, seen)
        else:
            names.add(item)
    return names
unit = open(sys.argv[2]).read()
allow, deny = set(), set()
for value in re.findall(r"^SystemCallFilter=(.*)$", unit, re.M):
    target = deny if value.startswith("~") else allow
    for item in value.lstrip("~").split():
        target |= expand(item) if item.startswith("@") else {item}
allowed = allow - deny
families_allowed = set(re.search(r"^RestrictAddressFamilies=(.*)$", unit, re.M).group(1).split())
used, families = set(), set()
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
    if m:
        used.add(m.group(1))
    m = re.search(r"\bsocket\((AF_[A-Z0-9]+)", line)
    if m:
        families.add(m.group(1))
bad = sorted(used - allowed)
print("syscalls used:", len(used), "outside the filter:", " ".join(bad) or "none")
print("socket families:", " ".join(sorted(families)), "outside:",
      " ".join(sorted(families - families_allowed)) or "none")
sys.exit(1 if bad or families - families_allowed else 0)
PY
if [[ $sanitized == 1 ]]; then
  echo "skip - syscalls against the unit's filter (RRCA_BIN is a sanitizer build)"
else
  check "every syscall and socket family serve used is allowed by the unit" \
    bash -c "$PY '$WORK/syscalls.py' '$WORK/strace.txt' '$unit' | tee '$WORK/syscalls.log.err'"
fi

# ---------------------------------------------------------------------------------------------
# YAML: lint, then schema
mapfile -t manifests < <(find "$DEPLOY" -name '*.yaml' | sort)
cat > "$WORK/yamllint.yaml" <<'YAML'
extends: default
rules:
  line-length: {max: 100}
  document-start: disable
  comments: {min-spaces-from-content: 2}
  truthy: {allowed-values: ["true", "false"]}
  brackets: {max-spaces-inside: 1}
  braces: {max-spaces-inside: 1}
YAML
check "yamllint: ${#manifests[@]} files valid (duplicate keys, syntax, style)" \
  bash -c "yamllint -s -c '$WORK/yamllint.yaml' ${manifests[*]} > '$WORK/yamllint.log.err' 2>&1"

cat > "$WORK/schema.py" <<'PY'
"""Checks Kubernetes manifests against the API types of python3-kubernetes (its OpenAPI-generated
models): unknown fields (typos), value types, and required fields. Partial objects (patches)
get the first two. CRDs (Prometheus Operator) have no model here: checked by hand, minimally."""
import sys
import yaml
import kubernetes.client as k
from kubernetes.client import models

PRIMITIVE = {"str": str, "int": int, "bool": bool, "float": (int, float)}
errors = []

def check(value, type_name, path):
    if value is None:
        return
    if type_name.startswith("list["):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list"); return
        for i, item in enumerate(value):
            check(item, type_name[5:-1], f"{path}[{i}]")
    elif type_name.startswith("dict("):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping"); return
        inner = type_name[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            check(item, inner, f"{path}.{key}")
    elif type_name in PRIMITIVE:
        if not isinstance(value, PRIMITIVE[type_name]) or (type_name == "int" and isinstance(value, bool)):
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__}")
    elif type_name in ("object", "datetime", "date"):
        pass  # IntOrString, Quantity, RawExtension, times
    else:
        klass = getattr(models, type_name)
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a {type_name} mapping"); return
        by_json = {json: attr for attr, json in klass.attribute_map.items()}
        for key, item in value.items():
            if key not in by_json:
                errors.append(f"{path}.{key}: unknown field of {type_name}")
            else:
                check(item, klass.openapi_types[by_json[key]], f"{path}.{key}")

def required(document, type_name, path):
    # The models' setters reject a missing required field while deserializing.
    client = k.ApiClient()
    try:
        client._ApiClient__deserialize(document, type_name)
    except (ValueError, TypeError) as e:
        errors.append(f"{path}: {e}")

def check_monitor(doc, path):
    spec = doc.get("spec", {})
    key = {"ServiceMonitor": "endpoints", "PodMonitor": "podMetricsEndpoints"}[doc["kind"]]
    allowed_spec = {"selector", "namespaceSelector", key, "jobLabel", "podTargetLabels",
                    "targetLabels", "sampleLimit"}
    for field in spec:
        if field not in allowed_spec:
            errors.append(f"{path}.spec.{field}: not a {doc['kind']} field this check knows")
    if not spec.get("selector", {}).get("matchLabels"):
        errors.append(f"{path}.spec.selector.matchLabels: missing")
    endpoint_fields = {"port", "path", "interval", "scrapeTimeout", "scheme", "relabelings",
                       "metricRelabelings", "honorLabels", "tlsConfig", "basicAuth"}
    for i, endpoint in enumerate(spec.get(key, [])):
        for field in endpoint:
            if field not in endpoint_fields:
                errors.append(f"{path}.spec.{key}[{i}].{field}: unknown endpoint field")
        if "port" not in endpoint:
            errors.append(f"{path}.spec.{key}[{i}].port: missing")
        for j, relabel in enumerate(endpoint.get("relabelings", [])):
            for field in relabel:
                if field not in {"sourceLabels", "separator", "targetLabel", "regex",
                                 "modulus", "replacement", "action"}:
                    errors.append(f"{path}.spec.{key}[{i}].relabelings[{j}].{field}: unknown")
    if not spec.get(key):
        errors.append(f"{path}.spec.{key}: at least one endpoint")

counted = 0
for file_name in sys.argv[1:]:
    for n, doc in enumerate(yaml.safe_load_all(open(file_name))):
        if doc is None:
            continue
        counted += 1
        path = f"{file_name.rsplit('/', 1)[-1]}[{n}] {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc.get("apiVersion") == "monitoring.coreos.com/v1":
            check_monitor(doc, path)
            continue
        group_version = doc["apiVersion"].split("/")
        version = group_version[-1].capitalize()
        type_name = ("V1" if version == "V1" else version) + doc["kind"]
        check(doc, type_name, path)
        # A document without a selector/spec essentials is a patch (harbor-sidecar.yaml).
        partial = doc["kind"] == "Deployment" and "selector" not in doc.get("spec", {})
        if not partial:
            required(doc, type_name, path)
        else:
            check(doc["spec"]["template"]["spec"], "V1PodSpec", path + ".spec.template.spec")
            for c in doc["spec"]["template"]["spec"].get("containers", []):
                required(c, "V1Container", f"{path} container {c.get('name')}")
print(f"{counted} objects checked, {len(errors)} problems")
for error in errors:
    print("  " + error)
sys.exit(1 if errors else 0)
PY
check "schema: core objects match the Kubernetes API types, monitors their known fields" \
  bash -c "$PY '$WORK/schema.py' $DEPLOY/kubernetes/*.yaml | tee '$WORK/schema.log.err'"

# The configs inside the ConfigMaps: valid, and reading the right files on a fake node.
cat > "$WORK/configmaps.py" <<'PY'
import sys, yaml
for file_name in sys.argv[2:]:
    for doc in yaml.safe_load_all(open(file_name)):
        if doc and doc.get("kind") == "ConfigMap" and "registry-rca.yaml" in doc.get("data", {}):
            name = doc["metadata"]["name"]
            open(f"{sys.argv[1]}/{name}.yaml", "w").write(doc["data"]["registry-rca.yaml"])
            print(name)
PY
mkdir -p "$WORK/cm"
mapfile -t configmaps < <($PY "$WORK/configmaps.py" "$WORK/cm" "$DEPLOY"/kubernetes/*.yaml)
check "the DaemonSet's and the sidecar's ConfigMaps carry a config" \
  test "${configmaps[*]}" == "registry-rca registry-rca-sidecar"
for name in "${configmaps[@]}"; do
  check "registry-rca check accepts ConfigMap $name" \
    bash -c "'$RRCA_BIN' check --config.file='$WORK/cm/$name.yaml' > '$WORK/check-$name.log.err' 2>&1"
done

# A node as the DaemonSet sees it: registry containers (Harbor, plain, twuni), Harbor's
# registryctl, registry-rca's own pod and an unrelated pod. Only the registries may be read.
node=$WORK/node
hexid() { printf '%064x' "$1"; }
pod_log() {  # pod_log POD NAMESPACE CONTAINER N SOURCE_FILE
  local dir="$node/var/log/pods/${2}_${1}_uid$4/$3"
  mkdir -p "$dir" "$node/var/log/containers"
  cp "$5" "$dir/0.log"
  ln -s "../pods/${2}_${1}_uid$4/$3/0.log" "$node/var/log/containers/${1}_${2}_${3}-$(hexid "$4").log"
}
cri=$TESTDATA/registry/cri/input.log
pod_log harbor-registry-7d9c5-abcde harbor registry 1 "$cri"
pod_log docker-registry-5f6b-xyz12 registry docker-registry 2 "$cri"
pod_log gitlab-registry-6c7d-qwert gitlab registry 3 "$cri"
printf '%s\n' '2026-11-29T12:42:30.1Z stderr F {"level":"info","msg":"registryctl"}' > "$WORK/ctl.log"
pod_log harbor-registry-7d9c5-abcde harbor registryctl 4 "$WORK/ctl.log"
printf '%s\n' '2026-11-29T12:42:30.1Z stderr F ts=2026-11-29T12:42:30Z level=info msg="self"' > "$WORK/self.log"
pod_log registry-rca-8x9z1 registry-rca registry-rca 5 "$WORK/self.log"
pod_log web-1 default nginx 6 "$WORK/self.log"
ds_config=$WORK/registry-rca.yaml.ds
sed -e "s|/var/log/containers/|$node/var/log/containers/|g" -e "s|/var/lib/registry-rca/|$WORK/ds-state/|" \
  -e "s|^start_at: end|start_at: beginning|" "$WORK/cm/registry-rca.yaml" > "$ds_config"
port=$(free_port)
check "DaemonSet config serves on the fake node" start_daemon daemonset "$ds_config" "$port"
expected=$((3 * $(wc -l < "$cri")))
check "it reads the three registry containers ($expected lines), not registryctl or itself" \
  wait_for 20 metric_is "$port" 'registry_rca_lines_read_total\{source="registry"\}' "$expected"
check "and nothing more after a while (no other file opened)" \
  bash -c "sleep 1; [[ \$(curl -fs http://127.0.0.1:$port/metrics | awk '/^registry_rca_lines_read_total\\{source=\"registry\"\\}/ {print \$2}') == $expected ]]"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true

# The sidecar: its own pod's log directory mounted at /var/log/registry-pod.
pod=$WORK/registry-pod
mkdir -p "$pod/registry" "$pod/registryctl"
cp "$cri" "$pod/registry/0.log"
cp "$WORK/ctl.log" "$pod/registryctl/0.log"
sidecar_config=$WORK/registry-rca.yaml.sidecar
sed -e "s|/var/log/registry-pod/|$pod/|g" -e "s|/var/lib/registry-rca/|$WORK/sc-state/|" \
  "$WORK/cm/registry-rca-sidecar.yaml" > "$sidecar_config"
port=$(free_port)
check "sidecar config serves on a fake pod log directory" start_daemon sidecar "$sidecar_config" "$port"
check "it reads the registry container's log only" \
  wait_for 20 metric_is "$port" 'registry_rca_lines_read_total\{source="registry"\}' "$(wc -l < "$cri")"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || true

# ---------------------------------------------------------------------------------------------
# Dockerfile
dockerfile=$DEPLOY/Dockerfile
cat > "$WORK/dockerfile.py" <<'PY'
"""Reads deploy/Dockerfile into stages of (instruction, argument) with continuations joined."""
import json, re, sys
def stages(path):
    out, current = [], None
    text = re.sub(r"\\\n", " ", open(path).read())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            image, _, name = rest.partition(" AS ")
            current = {"image": image.strip(), "name": name.strip(), "steps": []}
            out.append(current)
        elif current is not None:
            current["steps"].append([word, re.sub(r"\s+", " ", rest).strip()])
    return out
def packages(stage):
    found = []
    for word, rest in stage["steps"]:
        if word == "RUN":
            for m in re.finditer(r"apt-get install ([^&]*)", rest):
                found += [p for p in m.group(1).split() if not p.startswith("-")]
    return found
if __name__ == "__main__":
    s = stages(sys.argv[1])
    if sys.argv[2] == "packages":
        print(" ".join(packages(s[int(sys.argv[3])])))
    elif sys.argv[2] == "json":
        print(json.dumps(s))
PY
build_packages=$($PY "$WORK/dockerfile.py" "$dockerfile" packages 0)
runtime_packages=$($PY "$WORK/dockerfile.py" "$dockerfile" packages 1)
check "Dockerfile: two stages on Debian bookworm" \
  bash -c "$PY '$WORK/dockerfile.py' '$dockerfile' json | $PY -c 'import json,sys; s=json.load(sys.stdin); sys.exit(not (len(s)==2 and all(x[\"image\"].startswith(\"debian:bookworm\") for x in s)))'"
# One apt-cache call (each call reloads the package lists: seconds).
check "Dockerfile: every build and runtime package exists in bookworm" \
  bash -c "apt-cache show --no-all-versions $build_packages $runtime_packages 2>/dev/null |
    awk '/^Package: / {print \$2}' | sort -u > '$WORK/found.txt';
    missing=\$(printf '%s\n' $build_packages $runtime_packages | sort -u | comm -23 - '$WORK/found.txt');
    [[ -z \$missing ]] || { echo \"not in apt: \$missing\"; exit 1; }"
# The runtime packages must cover what the binary links (libc6, libgcc-s1 and libstdc++6 come
# with bookworm-slim: apt needs them): each library's package is listed, or is a dependency
# (recursively) of one listed, which apt installs with it (libcurl4's libnghttp2, libssh2...).
# Sanitizer runtimes of a sanitizer build are not shipped.
cat > "$WORK/ldd.sh" <<'SH'
missing=0
# shellcheck disable=SC2086  # a list of package names
closure=" $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances $2 2>/dev/null | grep -v '^ ' | sed 's/:.*//' |
  sort -u | tr '\n' ' ') "
for lib in $(ldd "$1" | awk '/=>/ {print $3}'); do
  pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null)
  pkg=${pkg%%:*}
  case " $2 libc6 libgcc-s1 libstdc++6 " in *" $pkg "*) continue ;; esac
  case "$closure" in *" $pkg "*) continue ;; esac
  case "$pkg" in libasan*|libubsan*|libtsan*|liblsan*) continue ;; esac
  echo "$lib (${pkg:-no package}) is not installed by the runtime stage"; missing=1
done
exit $missing
SH
check "Dockerfile: the runtime stage installs every library registry-rca links" \
  bash "$WORK/ldd.sh" "$RRCA_BIN" "$runtime_packages"
# The build stage on a scratch copy of exactly what it COPYs: configure with its flags.
cat > "$WORK/copy.py" <<'PY'
import json, os, shutil, sys
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from dockerfile import stages
build = stages(sys.argv[1])[0]
root, dest = sys.argv[2], sys.argv[3]
for word, rest in build["steps"]:
    if word == "COPY" and not rest.startswith("--from"):
        src, target = rest.split()
        if src.startswith("deploy/"):
            continue  # copied into /out, not the source tree
        s, t = os.path.join(root, src), os.path.join(dest, target)
        if os.path.isdir(s):
            shutil.copytree(s, t, ignore=shutil.ignore_patterns("build*"))
        else:
            os.makedirs(os.path.dirname(t) or ".", exist_ok=True)
            shutil.copy(s, t)
    if word == "RUN" and rest.startswith("cmake -S"):
        print(rest.split(" && ")[0])
PY
mkdir -p "$WORK/docker-src"
configure=$($PY "$WORK/copy.py" "$dockerfile" "$RRCA_SOURCE_DIR" "$WORK/docker-src")
check "Dockerfile: build stage configures from its COPY list alone ($configure)" \
  bash -c "cd '$WORK/docker-src' && $configure > '$WORK/configure.log.err' 2>&1"

if [[ ${RRCA_DEPLOY_FULL:-0} == 1 ]]; then
  # Both stages for real: debootstrap a bookworm root once (cached), run each stage's
  # instructions in a copy of it with chroot, then the image's entrypoint as its USER.
  cache=${RRCA_DEPLOY_CACHE:-/var/tmp/rrca-deploy-cache}
  command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  if [[ ! -f $cache/bookworm/.complete ]]; then
    rm -rf "$cache/bookworm"; mkdir -p "$cache"
    debootstrap --variant=minbase bookworm "$cache/bookworm" http://deb.debian.org/debian \
      > "$WORK/debootstrap.log.err" 2>&1 && touch "$cache/bookworm/.complete"
  fi
  check "debootstrap: a bookworm root to run the stages in" test -f "$cache/bookworm/.complete"
  cat > "$WORK/stage.py" <<'PY'
"""Runs one Dockerfile stage in a chroot: ARG/ENV, WORKDIR, COPY (context or --from), RUN, USER;
then, for the final stage, ENTRYPOINT with the given args as USER."""
import os, shlex, shutil, subprocess, sys
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from dockerfile import stages
dockerfile, index, context, root = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
previous = sys.argv[5] if len(sys.argv) > 5 else None
stage = stages(dockerfile)[index]
env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
workdir, user = "/", "0:0"
def inside(path):
    return os.path.join(root, os.path.join(workdir, path).lstrip("/"))
for word, rest in stage["steps"]:
    print(f"--- {word} {rest}", flush=True)
    if word in ("ARG", "ENV"):
        name, _, value = rest.partition("=")
        env[name] = value
    elif word == "WORKDIR":
        workdir = rest
        os.makedirs(inside("."), exist_ok=True)
    elif word == "COPY":
        parts = rest.split()
        base = context
        if parts[0].startswith("--from="):
            base = previous
            parts = parts[1:]
        src, target = os.path.join(base, parts[0].lstrip("/")), inside(parts[1])
        if os.path.isdir(src):
            shutil.copytree(src, target, dirs_exist_ok=True, symlinks=True,
                            ignore=shutil.ignore_patterns("build*") if base == context else None)
        else:
            os.makedirs(target if parts[1].endswith("/") else os.path.dirname(target), exist_ok=True)
            shutil.copy(src, target)
    elif word == "RUN":
        command = ["chroot", f"--userspec={user}", root, "/bin/sh", "-ec", f"cd {workdir} && {rest}"]
        subprocess.run(command, env=env, check=True)
    elif word == "USER":
        user = rest
    elif word == "ENTRYPOINT" and len(sys.argv) > 6:
        entry = shlex.split(rest.strip("[]").replace(",", " "))
        for args in sys.argv[6:]:
            command = ["chroot", f"--userspec={user}", root] + entry + shlex.split(args)
            print("--- run as", user, " ".join(command[3:]), flush=True)
            subprocess.run(command, env=env, check=True)
PY
  run_stage() {  # run_stage INDEX ROOT [PREVIOUS_ROOT ENTRY_ARGS...]
    local index=$1 root=$2; shift 2
    rm -rf "$root"; cp -a "$cache/bookworm" "$root"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
    local status=0
    $PY "$WORK/stage.py" "$dockerfile" "$index" "$RRCA_SOURCE_DIR" "$root" "$@" || status=$?
    umount -R "$root/dev" 2>/dev/null || umount -l "$root/dev"; umount "$root/proc"
    return $status
  }
  full=$WORK/full
  mkdir -p "$full"
  check "Dockerfile build stage runs (apt-get, cmake, build, check) in bookworm" \
    bash -c "$(declare -f run_stage); cache='$cache' PY='$PY' WORK='$WORK' dockerfile='$dockerfile' RRCA_SOURCE_DIR='$RRCA_SOURCE_DIR'; run_stage 0 '$full/build' > '$WORK/stage-build.log.err' 2>&1"
  check "Dockerfile runtime stage runs; the binary starts there as the non-root USER" \
    bash -c "$(declare -f run_stage); cache='$cache' PY='$PY' WORK='$WORK' dockerfile='$dockerfile' RRCA_SOURCE_DIR='$RRCA_SOURCE_DIR'; run_stage 1 '$full/runtime' '$full/build' '--version' 'check --config.file=/etc/registry-rca/registry-rca.yaml' > '$WORK/stage-runtime.log.err' 2>&1"
  rm -rf "$full"
else
  echo "skip - Dockerfile stages in a bookworm chroot (RRCA_DEPLOY_FULL=1 runs them; docker build cannot run here)"
fi

finish
