#!/usr/bin/env bash
# Signs chart archives packaged elsewhere, with the provenance file `helm
# package --sign` writes: an OpenPGP clear-signed message of the chart's
# metadata (as `helm show chart` prints it), "...", and the archive's SHA-256;
# then checks each with `helm verify`. The release workflow's publish job signs
# the archives its read-only build job packaged, so the key never meets npm,
# pip or a lint tool.
#
#   .ci/sign-charts.sh DIR
#     SIGNING_KEY_NAME          user id (or part of it) of the key in GNUPGHOME
#     SIGNING_PASSPHRASE_FILE   its passphrase
#     SIGNING_PUBRING           legacy public keyring (gpg --export) for helm verify
#     HELM_BIN                  helm (default: helm on PATH)
set -euo pipefail

dir=${1:?usage: sign-charts.sh DIR}
helm=${HELM_BIN:-helm}
: "${SIGNING_KEY_NAME:?}" "${SIGNING_PASSPHRASE_FILE:?}" "${SIGNING_PUBRING:?}"

shopt -s nullglob
archives=("$dir"/*.tgz)
if ((${#archives[@]} == 0)); then
  echo "sign-charts: no chart archives in $dir" >&2
  exit 1
fi
for archive in "${archives[@]}"; do
  name=$(basename "$archive")
  sum=$(sha256sum "$archive" | cut -d' ' -f1)
  metadata=$("$helm" show chart "$archive")
  # helm splits the message at "\n...\n": the YAML document end marker, since
  # "---" is not allowed at the start of a line in a clear-signed block
  printf '%s\n...\nfiles:\n  %s: sha256:%s\n' "$metadata" "$name" "$sum" |
    gpg --batch --yes --quiet --pinentry-mode loopback --passphrase-file "$SIGNING_PASSPHRASE_FILE" \
      --local-user "$SIGNING_KEY_NAME" --digest-algo SHA512 --clearsign --output "$archive.prov"
  "$helm" verify --keyring "$SIGNING_PUBRING" "$archive" >/dev/null
  echo "sign-charts: $name signed and verified"
done
