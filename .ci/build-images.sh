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
#   docker.io/library/busybox:1.37.0   Debian busybox-static
#   docker.io/library/redis:7.2.14     Debian redis-server (7.0.x) and bash
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
  rm -rf "$WORK/$1"
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

# add_binary ROOT PATH...: copies each binary (kept at its path) and the shared libraries it loads.
add_binary() {
  local root=$1 file lib
  shift
  for file in "$@"; do
    mkdir -p "$root$(dirname "$file")"
    cp -L "$file" "$root$file"
    # ldd lines: "libx.so => /lib/.../libx.so (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    while read -r lib; do
      [[ -f $lib ]] || continue
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done < <(ldd "$file" 2>/dev/null | awk '/=> \// {print $3} /^\t\// {print $1}')
  done
}

# write_image NAME REF CONFIG_JSON: packs $WORK/NAME/rootfs into an OCI archive named REF.
write_image() {
  local name=$1 ref=$2 config=$3 dir="$WORK/$name/oci" layer cfg manifest ldigest lsize cdigest csize mdigest msize
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
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$mdigest" "$msize" "$ref" "${ref##*:}" >"$dir/index.json"
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
  write_image busybox docker.io/library/busybox:1.37.0 '{"Cmd":["sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'
}

image_redis() {
  local root
  need_file /usr/bin/redis-server redis-server
  root=$(new_rootfs redis)
  add_binary "$root" /usr/bin/redis-server /usr/bin/redis-cli /bin/bash
  # busybox for the probes' and scripts' small tools (cat, sleep, grep...): every applet under /usr/local/bin.
  mkdir -p "$root/usr/local/bin"
  cp /bin/busybox "$root/usr/local/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox || $applet == sh || -e $root/usr/bin/$applet ]] || ln -sf busybox "$root/usr/local/bin/$applet"
  done
  ln -sf bash "$root/bin/sh"
  chown 999:999 "$root/data"
  write_image redis docker.io/library/redis:7.2.14 \
    '{"Entrypoint":[],"Cmd":["redis-server"],"User":"999:999","WorkingDir":"/data","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"ExposedPorts":{"6379/tcp":{}}}'
}

ALL=(pause busybox redis)
names=("$@")
((${#names[@]})) || names=("${ALL[@]}")
for name in "${names[@]}"; do
  declare -F "image_$name" >/dev/null || die "unknown image $name (known: ${ALL[*]})"
  "image_$name"
done
