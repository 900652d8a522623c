#!/usr/bin/env bash
# Installs the Debian 12 packages cairn needs to build, test and benchmark.
# Skips apt-get entirely when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev libcurl4-openssl-dev liblmdb-dev libzstd-dev libfuse3-dev fuse3
  libacl1-dev libcli11-dev nlohmann-json3-dev libfmt-dev libexpected-dev libpugixml-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  attr acl rsync procps time util-linux
  # tests/s3: a single-node Ceph radosgw (rgw.sh), curl to sign requests,
  # python3 for the fault proxy and python3-rados for the bootstrap.
  ceph-mon ceph-osd radosgw ceph-common uuid-runtime python3 python3-rados curl
)
if [[ "${1:-}" == "--bench" ]]; then
  # awscli: bench/s3_bench.sh; python3-pyfuse3: borg mount (borgbackup only recommends it).
  PACKAGES+=(restic borgbackup awscli python3-pyfuse3)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
