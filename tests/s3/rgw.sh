#!/usr/bin/env bash
# tests/s3/rgw.sh — a throwaway single-node Ceph RADOS Gateway on 127.0.0.1
# for cairn's S3 tests and benchmarks. Facts behind the choices below:
# /work/shared/S3-TEST-SERVER.md (radosgw 16.2 from Debian 12).
#
#   tests/s3/rgw.sh start DIR [--memstore-gib G | --bluestore-gib G]
#   tests/s3/rgw.sh stop DIR
#   tests/s3/rgw.sh env DIR
#
# start: installs the Debian packages when missing, stops an instance left in
#   DIR, wipes DIR's state and brings up one mon, one OSD (memstore bounded to
#   3 GiB by default; --bluestore-gib G puts bluestore on a sparse file of G
#   GiB in DIR, which must not be on tmpfs), no mgr, auth none, and radosgw
#   (beast, tcp_nodelay) with the STANDARD_IA, GLACIER and DEEP_ARCHIVE
#   storage classes and a fixed test user. All ports are free ports chosen at
#   start, so several instances can run at once. Returns when a signed S3
#   request works. A failed attempt is retried once with other ports; when
#   the retry does not come up within ~60 s either, fails (exit 1, daemon
#   logs' tails on stderr, daemons stopped).
#   Writes DIR/env (source it: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
#   AWS_REGION, CAIRN_TEST_S3_ENDPOINT, and CAIRN_S3_STRICT=1: cairn's strict
#   request checks, which radosgw's leniency makes necessary) and DIR/pids
#   (pid name per line).
# stop: SIGKILLs the pids listed in DIR/pids whose command line still names
#   DIR's ceph.conf (never anything else; zombies count as gone) and removes
#   the daemons' state and DIR/env (DIR/log and DIR/ceph.conf stay). Idempotent.
# env: prints DIR/env (fails when no instance was started in DIR).
#
# A memstore OSD keeps objects in RAM (3-4x their size) and HANGS requests
# when full: keep test data well under the bound, or use --bluestore-gib.
set -euo pipefail

ACCESS_KEY=cairntestaccess0000
SECRET_KEY=cairntestsecret0000000000000000000000000
REGION=us-east-1
USER_ID=cairn-test
POOLS=(.rgw.root default.rgw.control default.rgw.meta default.rgw.log
  default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec)
STORAGE_CLASSES=(STANDARD_IA GLACIER DEEP_ARCHIVE)
PACKAGES=(ceph-mon ceph-osd radosgw ceph-common uuid-runtime python3-rados curl)
START_TIMEOUT=60
# Debian's python3 (python3-rados lives there), not a pyenv/venv one on PATH.
PY=/usr/bin/python3

die() { echo "rgw.sh: error: $*" >&2; exit 1; }
usage() { sed -n '5,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

install_packages() {
  local p missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages: apt-get install ${missing[*]} (or run scripts/install-deps.sh as root)"
  echo "rgw.sh: installing ${missing[*]}" >&2
  # A concurrent start in another DIR may be installing too: serialize on dpkg's lock.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "${missing[@]}" >&2
}

# free_ports N: prints a base port B such that B..B+N-1 are all free on
# 127.0.0.1 right now. Random bases keep concurrent instances apart; a port
# taken between this check and the bind makes a daemon fail, and start fails
# loudly (the caller can retry).
free_ports() {
  "$PY" - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
rng = random.SystemRandom()
for _ in range(200):
    base = rng.randrange(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free port range found")
EOF
}

# ceph_cmd ARGS...: the ceph CLI against this instance, never waiting forever
# (without a mgr some commands hang).
ceph_cmd() { timeout 20 ceph -c "$CONF" --connect-timeout 10 "$@"; }
rgw_admin() { timeout 30 radosgw-admin -c "$CONF" -n client.rgw.cairn "$@"; }

# is_ours PID: the process exists, is not a zombie and was started with this
# DIR's ceph.conf.
is_ours() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ "$state" != Z ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF" || return 1
}

do_stop() {
  local pid name left=() i
  if [[ -f "$DIR/pids" ]]; then
    while read -r pid name; do
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      if is_ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; left+=("$pid"); fi
    done <"$DIR/pids"
    # SIGKILL is quick, but the memory of a big memstore takes a moment to go.
    for ((i = 0; i < 100 && ${#left[@]}; i++)); do
      local still=()
      for pid in "${left[@]}"; do is_ours "$pid" && still+=("$pid"); done
      left=("${still[@]+"${still[@]}"}")
      ((${#left[@]})) && sleep 0.05
    done
    ((${#left[@]} == 0)) || echo "rgw.sh: warning: pids ${left[*]} did not exit after SIGKILL" >&2
    rm -f "$DIR/pids"
  fi
  rm -f "$DIR/env"
  rm -rf "$DIR/mon" "$DIR/osd" "$DIR/run" "$DIR/rgw" "$DIR/monmap" "$DIR/keyring" "$DIR"/zone*.json
}

show_logs() {
  local f
  for f in "$DIR"/log/*.log "$DIR"/log/*.out; do
    [[ -s "$f" ]] || continue
    echo "---- last lines of $f" >&2
    tail -n 15 "$f" >&2
  done
}

# fail_start WHY: a first failed attempt is retried once from scratch, with
# other ports (another instance may have taken one between the check and the
# bind); the first attempt's logs stay in DIR/log.attempt1. A second failure
# shows the daemons' logs and stops what was started.
fail_start() {
  if [[ "${RGW_SH_ATTEMPT:-1}" == 1 ]]; then
    echo "rgw.sh: radosgw in $DIR did not come up: $*; retrying once (logs: $DIR/log.attempt1)" >&2
    do_stop
    rm -rf "$DIR/log.attempt1"
    mv "$DIR/log" "$DIR/log.attempt1" 2>/dev/null || true
    RGW_SH_ATTEMPT=2 exec bash "$0" start "$DIR" "${START_ARGS[@]+"${START_ARGS[@]}"}"
  fi
  echo "rgw.sh: error: radosgw in $DIR did not come up: $*" >&2
  show_logs
  do_stop
  exit 1
}

# spawn NAME CMD...: starts a daemon in the foreground of its own session
# (so ctest's process group and pipes are not its own: stdio goes to
# DIR/log/NAME.out) and records its pid.
spawn() {
  local name=$1
  shift
  setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
  echo "$! $name" >>"$DIR/pids"
  disown "$!"
}

# wait_for WHAT CMD...: polls CMD every 0.05 s until it succeeds; fails the
# start when a daemon died or START_TIMEOUT seconds have passed since start.
wait_for() {
  local what=$1
  shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s%N) < START_DEADLINE)) || fail_start "$what not ready ${START_TIMEOUT}s after start"
    check_alive
    sleep 0.05
  done
}

check_alive() {
  local pid name
  while read -r pid name; do
    is_ours "$pid" || fail_start "$name (pid $pid) exited"
  done <"$DIR/pids"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

s3_ok() {  # a signed ListBuckets answers 200
  curl -sS -f -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:$REGION:s3" \
    --user "$ACCESS_KEY:$SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    "http://127.0.0.1:$RGW_PORT/"
}

do_start() {
  local osd_mode=memstore size_gib=3
  while (($#)); do
    case "$1" in
      --memstore-gib) osd_mode=memstore; size_gib=${2:?}; shift 2 ;;
      --bluestore-gib) osd_mode=bluestore; size_gib=${2:?}; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ "$size_gib" =~ ^[0-9]+$ ]] && ((size_gib > 0)) || die "size must be a whole number of GiB"
  if [[ "$osd_mode" == bluestore && "$(stat -f -c %T "$DIR")" == tmpfs ]]; then
    die "--bluestore-gib needs O_DIRECT, which tmpfs lacks: put DIR ($DIR) on a disk file system"
  fi
  install_packages
  local t0
  t0=$(date +%s%N)
  START_DEADLINE=$((t0 + START_TIMEOUT * 1000000000))
  do_stop
  rm -f "$DIR/env"
  rm -rf "$DIR/log"
  [[ "${RGW_SH_ATTEMPT:-1}" != 1 ]] || rm -rf "$DIR/log.attempt1"
  mkdir -p "$DIR/mon/ceph-a" "$DIR/osd/ceph-0" "$DIR/run" "$DIR/log" "$DIR/rgw"
  : >"$DIR/pids"

  # Ports: mon, rgw, and a range for the OSD's messengers (public, cluster,
  # two heartbeats, msgr2 only).
  local base
  base=$(free_ports 12) || die "cannot find free ports"
  local mon_port=$base
  RGW_PORT=$((base + 1))
  local fsid
  fsid=$(uuidgen)
  local store_conf
  if [[ "$osd_mode" == memstore ]]; then
    store_conf="osd_objectstore = memstore
memstore_device_bytes = $((size_gib * 1024 * 1024 * 1024))"
  else
    store_conf="osd_objectstore = bluestore
bluestore_block_path = $DIR/osd/block
bluestore_block_size = $((size_gib * 1024 * 1024 * 1024))
bluestore_block_create = true
bluestore_block_db_create = false
bluestore_block_wal_create = false
osd_memory_target = 1073741824"
  fi
  cat >"$CONF" <<EOF
# Generated by tests/s3/rgw.sh start; all state below $DIR.
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_port]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_msgr2 = true
ms_bind_port_min = $((base + 2))
ms_bind_port_max = $((base + 11))
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_pg_warn_min_per_osd = 0
osd_crush_chooseleaf_type = 0
mon_data_avail_crit = 1
mon_data_avail_warn = 1
run_dir = $DIR/run
admin_socket = $DIR/run/\$cluster-\$name.asok
pid_file = $DIR/run/\$cluster-\$name.pid
log_file = $DIR/log/\$cluster-\$name.log
mon_cluster_log_file = $DIR/log/\$cluster.log
keyring = $DIR/keyring
log_to_stderr = false
err_to_stderr = true
mon_allow_pool_delete = true

[mon]
mon_data = $DIR/mon/\$cluster-\$id
paxos_propose_interval = 0.05
mon_osd_reporter_subtree_level = osd

[osd]
osd_data = $DIR/osd/\$cluster-\$id
$store_conf
osd_max_object_size = 134217728

[client.rgw.cairn]
ms_mon_client_mode = crc
auth_client_required = none
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw_data = $DIR/rgw
rgw_thread_pool_size = 64
log_file = $DIR/log/radosgw.log
EOF

  # Monitor.
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
    >>"$DIR/log/mkfs.out" 2>&1 || fail_start "ceph-mon --mkfs failed"
  spawn mon ceph-mon -c "$CONF" -f -i a
  wait_for "ceph-mon port $mon_port" port_open "$mon_port"

  # OSD id 0, radosgw's pools (before the OSD is up, so their PGs are
  # created at once when it boots, not one pool at a time later).
  local osd_uuid
  osd_uuid=$(uuidgen)
  "$PY" - "$CONF" "$osd_uuid" "${POOLS[@]}" <<'EOF' >>"$DIR/log/bootstrap.out" 2>&1 ||
import json, sys, rados
conf, osd_uuid, pools = sys.argv[1], sys.argv[2], sys.argv[3:]
c = rados.Rados(conffile=conf, name="client.admin")
c.conf_set("client_mount_timeout", "20")
c.connect(timeout=20)
def cmd(**kw):
    rc, out, err = c.mon_command(json.dumps(kw), b"", timeout=20)
    if rc != 0:
        sys.exit(f"mon command {kw} failed: {rc} {err}")
    return out
osd_id = cmd(prefix="osd new", uuid=osd_uuid, format="json")
print("osd new:", osd_id)
for p in pools:
    cmd(prefix="osd pool create", pool=p, pg_num=8, pgp_num=8)
    cmd(prefix="osd pool application enable", pool=p, app="rgw")
print("pools created")
c.shutdown()
EOF
    fail_start "mon commands (osd new, pool create) failed: see $DIR/log/bootstrap.out"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$DIR/log/mkfs.out" 2>&1 ||
    fail_start "ceph-osd --mkfs failed"
  spawn osd ceph-osd -c "$CONF" -f -i 0
  osd_up() { ceph_cmd osd stat 2>/dev/null | grep -q '1 up'; }
  wait_for "osd.0 up" osd_up

  # The user with fixed keys (the first radosgw-admin call also creates the
  # default zone and zonegroup); zone placement: STANDARD plus the three extra
  # classes (data in the same pool, which radosgw allows).
  rgw_admin user create --uid "$USER_ID" --display-name "cairn tests" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >>"$DIR/log/bootstrap.out" 2>&1 ||
    fail_start "radosgw-admin user create failed: see $DIR/log/bootstrap.out"
  rgw_admin zonegroup get >"$DIR/zonegroup.json" 2>>"$DIR/log/bootstrap.out" ||
    fail_start "radosgw-admin zonegroup get failed: see $DIR/log/bootstrap.out"
  rgw_admin zone get >"$DIR/zone.json" 2>>"$DIR/log/bootstrap.out" ||
    fail_start "radosgw-admin zone get failed: see $DIR/log/bootstrap.out"
  "$PY" - "$DIR" "${STORAGE_CLASSES[@]}" <<'EOF' || fail_start "cannot edit the zone placement"
import json, sys
d, classes = sys.argv[1], sys.argv[2:]
zg = json.load(open(d + "/zonegroup.json"))
zone = json.load(open(d + "/zone.json"))
for t in zg["placement_targets"]:
    if t["name"] == "default-placement":
        t["storage_classes"] = sorted(set(t.get("storage_classes", []) + ["STANDARD"] + classes))
for p in zone["placement_pools"]:
    if p["key"] == "default-placement":
        sc = p["val"]["storage_classes"]
        for c in classes:
            sc[c] = {"data_pool": sc["STANDARD"]["data_pool"]}
json.dump(zg, open(d + "/zonegroup.json", "w"))
json.dump(zone, open(d + "/zone.json", "w"))
EOF
  rgw_admin zonegroup set --infile "$DIR/zonegroup.json" >>"$DIR/log/bootstrap.out" 2>&1 ||
    fail_start "radosgw-admin zonegroup set failed: see $DIR/log/bootstrap.out"
  rgw_admin zone set --infile "$DIR/zone.json" >>"$DIR/log/bootstrap.out" 2>&1 ||
    fail_start "radosgw-admin zone set failed: see $DIR/log/bootstrap.out"

  spawn radosgw radosgw -c "$CONF" -n client.rgw.cairn -f
  wait_for "radosgw port $RGW_PORT" port_open "$RGW_PORT"
  wait_for "a signed S3 request" s3_ok

  cat >"$DIR/env.tmp" <<EOF
export AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY AWS_REGION=$REGION
export CAIRN_TEST_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export CAIRN_S3_STRICT=1
EOF
  mv "$DIR/env.tmp" "$DIR/env"
  echo "rgw.sh: radosgw up at http://127.0.0.1:$RGW_PORT ($osd_mode ${size_gib} GiB) in $((($(date +%s%N) - t0) / 1000000)) ms; source $DIR/env" >&2
}

(($# >= 2)) || usage
ACTION=$1
DIR=$2
shift 2
if [[ "$ACTION" != start && ! -d "$DIR" ]]; then
  [[ "$ACTION" == stop ]] && exit 0
  die "no radosgw was started in $DIR (tests/s3/rgw.sh start $DIR)"
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CONF="$DIR/ceph.conf"
case "$ACTION" in
  start) START_ARGS=("$@"); do_start "$@" ;;
  stop) (($# == 0)) || usage; do_stop ;;
  env) [[ -f "$DIR/env" ]] || die "no radosgw was started in $DIR (tests/s3/rgw.sh start $DIR)"; cat "$DIR/env" ;;
  *) usage ;;
esac
