#!/usr/bin/env bash
# Assembles the container images the real-node cluster runs, from what this
# machine has (Debian packages, Go-built binaries), without a registry or a
# container engine, and writes each one as an OCI archive into
# .cache/realnode/images/. `npm run cluster -- up --real-node` imports them into
# containerd under the exact references the charts render.
#
# What runs locally is not what the reference names upstream (see README,
# "Real pods on this machine"):
#   registry.k8s.io/pause:3.10.1       tools/real-node/pause (Go)
#   docker.io/library/busybox:1.37.0   Debian busybox-static 1.35 (wget: see image_busybox)
#   docker.io/library/redis:7.2.14     Debian redis-server (7.0.x) and bash
#   docker.io/library/mongo:8.0.20     mongod 6.0.5 (the PyPI wheel, .ci/install-mongo-tools.sh), mongosh
#                                      (npm) on node, bash
#   docker.io/techshop/app:latest and :1.4.2   test/fixtures/reference-app on node
#   docker.io/oliver006/redis_exporter:<images.yaml tag>   that tag built from its Go module
#                                      (.ci/install-mongo-tools.sh, also what test/exporters.test.ts runs)
#   docker.io/prom/prometheus:v3.13.5 and docker.io/prom/alertmanager:v0.28.1
#                                      upstream builds at the pinned versions (.ci/install-real-node.sh);
#                                      Debian's prometheus lacks Kubernetes service discovery
#   docker.io/jaegertracing/jaeger:2.12.0 and docker.io/otel/opentelemetry-collector-contrib:0.139.0
#                                      the Go builds of .ci/install-telemetry-tools.sh
#   techshop.local/dns-relay:1, techshop.local/probe:1   tools/real-node (Go): the kube-dns pod's relay to
#                                      the node's DNS server, the probe matrix's prober
#   docker.io/bitnamilegacy/minio:2025.7.23   MinIO server and mc, the Go builds of
#                                      .ci/install-objectstore-tools.sh (a 2026 commit), bash, busybox
# Not built: docker.io/percona/mongodb_exporter (the module proxy refuses its
# source, see .ci/install-mongo-tools.sh) and docker.io/grafana/grafana (no
# Debian package, and a Go build would lack its web front end).
#
# Reproducible: one uncompressed layer per image, written by GNU tar with sorted
# names, mtime 0, numeric owner 0:0 (the file modes are kept); the config has no
# timestamps. The same inputs give the same digests.
#
#   .ci/build-images.sh [name...]     default: every image
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$REPO/.cache/realnode/images"
WORK="$REPO/.cache/realnode/images.work"

LOG_NAME=build-images
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"

mkdir -p "$OUT" "$WORK"
lock "$OUT"

sha() { sha256sum "$1" | cut -d' ' -f1; }

# new_rootfs NAME: an empty root with the directories and files every image has.
new_rootfs() {
  local root="$WORK/$1/rootfs"
  rm -rf "${WORK:?}/${1:?}"
  mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,run,var/run,data}
  chmod 1777 "$root/tmp"
  # uid 999 is the charts' database user (runAsUser), 1001 the app's, 65532 the nonroot default.
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'redis:x:999:999:redis:/data:/bin/false' \
    'mongodb:x:999:999:mongodb:/data/db:/bin/false' 'app:x:1001:1001:app:/app:/bin/false' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'redis:x:999:' 'app:x:1001:' 'nogroup:x:65534:' 'nonroot:x:65532:' >"$root/etc/group"
  printf '%s\n' 'hosts: files dns' >"$root/etc/nsswitch.conf"
  printf '%s\n' "$root"
}

# add_libraries ROOT BINARY: the shared libraries BINARY loads (none for a static one), at their paths.
add_libraries() {
  local root=$1 lib
  # ldd lines: "libx.so => /lib/.../libx.so (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
  while read -r lib; do
    [[ -f $lib ]] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done < <(ldd "$2" 2>/dev/null | awk '/=> \// {print $3} /^\t\// {print $1}')
}

# add_binary ROOT PATH...: copies each binary (kept at its path) and the shared libraries it loads.
add_binary() {
  local root=$1 file
  shift
  for file in "$@"; do
    mkdir -p "$root$(dirname "$file")"
    cp -L "$file" "$root$file"
    add_libraries "$root" "$file"
  done
}

# write_image NAME REF CONFIG_JSON: packs $WORK/NAME/rootfs into an OCI archive named REF.
write_image() {
  local name=$1 ref=$2 config=$3 dir layer cfg manifest ldigest lsize cdigest csize mdigest msize
  dir="$WORK/$name/oci"
  rm -rf "$dir"
  mkdir -p "$dir/blobs/sha256"
  layer="$WORK/$name/layer.tar"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$WORK/$name/rootfs" -cf "$layer" .
  ldigest=$(sha "$layer")
  lsize=$(stat -c %s "$layer")
  mv "$layer" "$dir/blobs/sha256/$ldigest"
  cfg="$WORK/$name/config.json"
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$config" "$ldigest" >"$cfg"
  cdigest=$(sha "$cfg")
  csize=$(stat -c %s "$cfg")
  mv "$cfg" "$dir/blobs/sha256/$cdigest"
  manifest="$WORK/$name/manifest.json"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cdigest" "$csize" "$ldigest" "$lsize" >"$manifest"
  mdigest=$(sha "$manifest")
  msize=$(stat -c %s "$manifest")
  mv "$manifest" "$dir/blobs/sha256/$mdigest"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  # REF may be several references (space-separated): one index entry each, the same manifest.
  local entries=() one
  for one in $ref; do
    entries+=("$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}' \
      "$mdigest" "$msize" "$one" "${one##*:}")")
  done
  printf '{"schemaVersion":2,"manifests":[%s]}' "$(IFS=,; printf '%s' "${entries[*]}")" >"$dir/index.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$OUT/$name.tar" .
  printf '%s\n' "$ref" >"$OUT/$name.ref"
  log "$name: $ref sha256:$mdigest ($((lsize / 1024)) KiB)"
}

# --- the images ---------------------------------------------------------------------------------

image_pause() {
  local root
  root=$(new_rootfs pause)
  (cd "$REPO/tools/real-node" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$root/pause" ./pause)
  write_image pause registry.k8s.io/pause:3.10.1 '{"Entrypoint":["/pause"],"User":"65535:65535"}'
}

# The real node's own images (no upstream counterpart; the techshop.local names are never pulled):
# the kube-dns pod's relay to the node's cluster DNS, and the probe matrix's prober (an ephemeral container).
image_dns-relay() {
  local root
  root=$(new_rootfs dns-relay)
  (cd "$REPO/tools/real-node" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$root/dns-relay" ./dns-relay)
  write_image dns-relay techshop.local/dns-relay:1 '{"Entrypoint":["/dns-relay"],"User":"65534:65534"}'
}
image_probe() {
  local root
  root=$(new_rootfs probe)
  (cd "$REPO/tools/real-node" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$root/probe" ./probe)
  write_image probe techshop.local/probe:1 '{"Entrypoint":["/probe"],"User":"65534:65534"}'
}

need_file() { [[ -e $1 ]] || die "$1 is missing: apt-get install -y $2"; }

image_busybox() {
  local root applet
  need_file /bin/busybox busybox-static
  file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || die "/bin/busybox is not static: apt-get install -y busybox-static"
  root=$(new_rootfs busybox)
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  # Debian's busybox 1.35 wget dies with SIGSEGV (exit 139) whenever it is given -T (the charts' test pods
  # pass -T 5 as their command); this /bin/wget applies the timeout with busybox's timeout instead and passes
  # the rest on. (busybox sh itself prefers its own applets: a shell script's wget is still the applet.)
  rm "$root/bin/wget"
  cat >"$root/bin/wget" <<'WGET'
#!/bin/sh
t= skip=
for a do
  shift
  if [ -n "$skip" ]; then t=$a skip=; continue; fi
  case $a in
    -T) skip=1; continue ;;
    -T?*) t=${a#-T}; continue ;;
  esac
  set -- "$@" "$a"
done
[ -n "$t" ] && exec /bin/busybox timeout "$t" /bin/busybox wget "$@"
exec /bin/busybox wget "$@"
WGET
  chmod 755 "$root/bin/wget"
  write_image busybox docker.io/library/busybox:1.37.0 '{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'
}

image_redis() {
  local root
  need_file /usr/bin/redis-server redis-server
  root=$(new_rootfs redis)
  add_binary "$root" /usr/bin/redis-server /usr/bin/redis-cli /bin/bash
  # busybox for the probes' and scripts' small tools (cat, sleep, grep...): every applet under /usr/local/bin.
  add_busybox "$root"
  ln -sf bash "$root/bin/sh"
  chown 999:999 "$root/data"
  write_image redis docker.io/library/redis:7.2.14 \
    '{"Entrypoint":[],"Cmd":["redis-server"],"User":"999:999","WorkingDir":"/data","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"ExposedPorts":{"6379/tcp":{}}}'
}

# add_busybox ROOT: every busybox applet under /usr/local/bin (the scripts' and probes' small tools).
add_busybox() {
  local root=$1 applet
  mkdir -p "$root/usr/local/bin"
  cp /bin/busybox "$root/usr/local/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox || -e $root/usr/bin/$applet || -e $root/bin/$applet ]] || ln -sf busybox "$root/usr/local/bin/$applet"
  done
}

# add_node ROOT: node at /usr/bin/node.
add_node() {
  local node
  node=$(command -v node) || die "node is required"
  add_binary "$1" "$node"
  [[ $node == /usr/bin/node ]] || ln -sf "$node" "$1/usr/bin/node"
}

PATH_ENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'

image_mongo() {
  local root tools="$REPO/.cache/mongo-tools"
  [[ -x $tools/bin/mongod ]] || die "no mongod: run .ci/install-mongo-tools.sh"
  [[ -d $tools/mongosh/node_modules/mongosh ]] || die "no mongosh: run .ci/install-mongo-tools.sh"
  root=$(new_rootfs mongo)
  add_binary "$root" /bin/bash
  mkdir -p "$root/usr/bin"
  cp -L "$tools/bin/mongod" "$root/usr/bin/mongod"
  add_libraries "$root" "$tools/bin/mongod"
  add_node "$root"
  mkdir -p "$root/usr/local/lib/mongosh"
  cp -rL "$tools/mongosh/node_modules" "$root/usr/local/lib/mongosh/"
  printf '#!/bin/sh\nexec /usr/bin/node /usr/local/lib/mongosh/node_modules/mongosh/bin/mongosh.js "$@"\n' >"$root/usr/bin/mongosh"
  chmod 755 "$root/usr/bin/mongosh"
  add_busybox "$root"
  ln -sf bash "$root/bin/sh"
  mkdir -p "$root/data/db" "$root/data/configdb"
  chown -R 999:999 "$root/data"
  write_image mongo docker.io/library/mongo:8.0.20 \
    "{\"Entrypoint\":[],\"Cmd\":[\"mongod\"],\"User\":\"999:999\",\"Env\":[$PATH_ENV,\"HOME=/data/db\"],\"ExposedPorts\":{\"27017/tcp\":{}}}"
}

image_app() {
  local root mods="$REPO/.cache/mongo-tools/mongosh/node_modules" pkg
  root=$(new_rootfs app)
  add_node "$root"
  mkdir -p "$root/app/node_modules"
  cp "$REPO/test/fixtures/reference-app/server.mjs" "$root/app/server.mjs"
  # The MongoDB driver and its dependencies, from the mongosh install (no npm registry needed at build time).
  for pkg in mongodb bson mongodb-connection-string-url @mongodb-js/saslprep whatwg-url tr46 webidl-conversions punycode sparse-bitfield memory-pager; do
    [[ -d $mods/$pkg ]] || die "$mods/$pkg is missing: run .ci/install-mongo-tools.sh"
    mkdir -p "$root/app/node_modules/$(dirname "$pkg")"
    cp -rL "$mods/$pkg" "$root/app/node_modules/$pkg"
  done
  # latest: what dev renders (with pullPolicy Always, which needs a registry); 1.4.2: the chart's appVersion,
  # which the real-node test installs with IfNotPresent.
  write_image app "docker.io/techshop/app:latest docker.io/techshop/app:1.4.2" \
    "{\"Entrypoint\":[\"/usr/bin/node\",\"/app/server.mjs\"],\"User\":\"1001:1001\",\"WorkingDir\":\"/app\",\"Env\":[$PATH_ENV,\"NODE_ENV=production\"],\"ExposedPorts\":{\"3000/tcp\":{}}}"
}

# one_binary NAME REF SOURCE TARGET CONFIG: an image holding a single program (and its libraries).
one_binary() {
  local name=$1 ref=$2 source=$3 target=$4 config=$5 root
  [[ -x $source ]] || die "$source is missing"
  root=$(new_rootfs "$name")
  mkdir -p "$root$(dirname "$target")"
  cp -L "$source" "$root$target"
  add_libraries "$root" "$source"
  add_busybox "$root"
  write_image "$name" "$ref" "$config"
}

telemetry_binary() {
  local found
  found=$(find "$REPO/.cache/telemetry-tools/" -mindepth 2 -maxdepth 2 -name "$1" -type f -printf '%T@ %p\n' 2>/dev/null | sort -rn | awk 'NR == 1 {print $2}')
  [[ -n $found ]] || die "no $1 build: run .ci/install-telemetry-tools.sh"
  printf '%s\n' "$found"
}

image_redis-exporter() {
  local tag binary="$REPO/.cache/mongo-tools/bin/redis_exporter"
  tag=$(awk '/^  redis-exporter:/ {found = 1} found && $1 == "tag:" {gsub(/"/, "", $2); print $2; exit}' "$REPO/images.yaml")
  [[ "$(cat "$REPO/.cache/mongo-tools/bin/.redis_exporter.version" 2>/dev/null)" == "$tag" ]] ||
    die "no redis_exporter $tag build: run .ci/install-mongo-tools.sh"
  one_binary redis-exporter "docker.io/oliver006/redis_exporter:$tag" "$binary" /redis_exporter \
    "{\"Entrypoint\":[\"/redis_exporter\"],\"User\":\"59000:59000\",\"Env\":[$PATH_ENV]}"
}
NODE_BIN="$REPO/.cache/realnode/v$(awk '$1 == "kubernetes" {print $2}' "$REPO/tools/kube/versions")/bin"
image_prometheus() {
  [[ -x $NODE_BIN/prometheus ]] || die "no Prometheus server build: run .ci/install-real-node.sh"
  one_binary prometheus docker.io/prom/prometheus:v3.13.5 "$NODE_BIN/prometheus" /bin/prometheus \
    "{\"Entrypoint\":[\"/bin/prometheus\"],\"Cmd\":[\"--config.file=/etc/prometheus/prometheus.yml\",\"--storage.tsdb.path=/prometheus\"],\"User\":\"65534:65534\",\"WorkingDir\":\"/prometheus\",\"Env\":[$PATH_ENV]}"
}
image_alertmanager() {
  [[ -x $NODE_BIN/alertmanager ]] || die "no Alertmanager build: run .ci/install-real-node.sh"
  one_binary alertmanager docker.io/prom/alertmanager:v0.28.1 "$NODE_BIN/alertmanager" /bin/alertmanager \
    "{\"Entrypoint\":[\"/bin/alertmanager\"],\"Cmd\":[\"--config.file=/etc/alertmanager/alertmanager.yml\",\"--storage.path=/alertmanager\"],\"User\":\"65534:65534\",\"WorkingDir\":\"/alertmanager\",\"Env\":[$PATH_ENV]}"
}
image_jaeger() {
  one_binary jaeger docker.io/jaegertracing/jaeger:2.12.0 "$(telemetry_binary jaeger)" /cmd/jaeger/jaeger-linux \
    "{\"Entrypoint\":[\"/cmd/jaeger/jaeger-linux\"],\"User\":\"10001:10001\",\"Env\":[$PATH_ENV]}"
}
image_otelcol() {
  one_binary otelcol docker.io/otel/opentelemetry-collector-contrib:0.139.0 "$(telemetry_binary otelcol)" /otelcol-contrib \
    "{\"Entrypoint\":[\"/otelcol-contrib\"],\"User\":\"10001:10001\",\"Env\":[$PATH_ENV]}"
}

# MinIO: the server and mc built by .ci/install-objectstore-tools.sh (the Go module proxy serves no
# RELEASE tag: a 2026 commit), under the chart's Bitnami reference, with busybox for the bucket Job's script.
image_minio() {
  local found dir root
  found=$(find "$REPO/.cache/objectstore-tools/" -mindepth 2 -maxdepth 2 -name minio -type f -printf '%T@ %p\n' 2>/dev/null | sort -rn | awk 'NR == 1 {print $2}')
  [[ -n $found ]] || die "no minio build: run .ci/install-objectstore-tools.sh"
  dir=$(dirname "$found")
  [[ -x $dir/mc ]] || die "no mc beside $found: run .ci/install-objectstore-tools.sh"
  root=$(new_rootfs minio)
  mkdir -p "$root/usr/bin"
  cp -L "$found" "$root/usr/bin/minio"
  cp -L "$dir/mc" "$root/usr/bin/mc"
  add_libraries "$root" "$found"
  # the bucket Job's and the helm test's scripts are bash scripts (Bitnami's image has bash)
  add_binary "$root" /bin/bash
  add_busybox "$root"
  write_image minio docker.io/bitnamilegacy/minio:2025.7.23 \
    "{\"Cmd\":[\"minio\",\"server\",\"/data\"],\"User\":\"1001:1001\",\"Env\":[$PATH_ENV]}"
}

ALL=(pause dns-relay probe busybox redis mongo app redis-exporter prometheus alertmanager jaeger otelcol minio)
names=("$@")
((${#names[@]})) || names=("${ALL[@]}")
for name in "${names[@]}"; do
  declare -F "image_$name" >/dev/null || die "unknown image $name (known: ${ALL[*]})"
  "image_$name"
done
