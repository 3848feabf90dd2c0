#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for trying (and testing) sweeps with the submitit_slurm
# launcher: munge + slurmctld + slurmd from Debian's packages, one partition `debug` holding this host.
#
#   sudo scripts/local-slurm.sh start    # install the packages if missing (apt), write the config, start
#   eval "$(scripts/local-slurm.sh env)" # point sbatch/squeue/scontrol at it (sets SLURM_CONF)
#   excolor train -m experiment=smoke seed=0,1 hydra/launcher=slurm hydra.launcher.partition=debug
#   sudo scripts/local-slurm.sh stop     # stop the daemons (the packages and $EXCOLOR_SLURM_DIR stay)
#   scripts/local-slurm.sh status        # sinfo, or why the cluster is not up
#
# Everything it writes lives in $EXCOLOR_SLURM_DIR (default /tmp/excolor-slurm): slurm.conf, a munge key
# and socket of its own, state, logs (slurmctld.log, slurmd.log, munged.log). /etc is left alone, and a
# munged or SLURM already running on the machine is not touched (set EXCOLOR_SLURM_PORT if 6817/6818
# are taken). Needs root: slurmd runs jobs as their user, and apt installs the packages.
# A requeued job waits EXCOLOR_SLURM_REQUEUE_DELAY seconds (default 5; SLURM's own default is 120)
# before it may start again: SLURM holds it until the old attempt's credential expires; this cluster
# also schedules every 1-2 s (SLURM's defaults: 30-60 s). See benchmarks/RESULTS.md for what it costs.
set -euo pipefail

DIR=${EXCOLOR_SLURM_DIR:-/tmp/excolor-slurm}
PORT=${EXCOLOR_SLURM_PORT:-6817}
DELAY=${EXCOLOR_SLURM_REQUEUE_DELAY:-5}
CONF=$DIR/slurm.conf
HOST=$(hostname -s)

say() { echo "local-slurm: $*" >&2; }
die() { say "$*"; exit 1; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
      && command -v sbatch >/dev/null; then
    return
  fi
  [ "$(id -u)" = 0 ] || die "munge/slurmctld/slurmd are not installed and installing them needs root (apt)"
  command -v apt-get >/dev/null || die "munge/slurmctld/slurmd are not installed and there is no apt-get"
  say "installing munge, slurmctld, slurmd, slurm-client (apt)"
  if ! apt-cache policy slurmctld 2>/dev/null | grep -q "Candidate: [0-9]"; then
    apt-get update -qq >/dev/null || die "apt-get update failed"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    munge slurmctld slurmd slurm-client >"$DIR/apt.log" 2>&1 \
    || die "apt-get install failed (see $DIR/apt.log)"
}

write_config() {
  local cpus mem
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge"
  chmod 700 "$DIR/munge"
  if [ ! -s "$DIR/munge/munge.key" ]; then
    head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
    chmod 600 "$DIR/munge/munge.key"
  fi
  cat >"$CONF" <<EOF
# Written by scripts/local-slurm.sh: a single-node cluster for trying sweeps (not for production).
ClusterName=excolor
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Our own munged, and how long a job credential lives: a requeued job waits that long before it restarts.
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=$DELAY
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
# No cgroups (containers, laptops without delegation) and no accounting database: sacct says
# "accounting storage is disabled", as on many small clusters.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
# Schedule often (SLURM's defaults: backfill every 30 s, the main pass every 60 s), so that a requeued
# job starts again as soon as its credential has expired.
SchedulerParameters=bf_interval=1,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=10
MinJobAge=30
JobRequeue=1
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
}

running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  [ "$(id -u)" = 0 ] || die "start needs root (slurmd runs jobs as their user; apt installs the packages)"
  mkdir -p "$DIR"
  install_packages
  write_config
  if ! running "$DIR/munge/munged.pid"; then
    munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
      --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munged.log" --seed-file="$DIR/munge/seed" 9>&- \
      || die "munged did not start (see $DIR/munged.log)"
  fi
  export SLURM_CONF=$CONF
  # -c: a fresh queue; jobs left from an earlier session (whose folders may be gone) are not run again.
  running "$DIR/slurmctld.pid" || slurmctld -c -f "$CONF" 9>&- || die "slurmctld did not start (see $DIR/slurmctld.log)"
  running "$DIR/slurmd.pid" || slurmd -f "$CONF" 9>&- || die "slurmd did not start (see $DIR/slurmd.log)"
  local i
  for i in $(seq 1 100); do
    if sinfo -h -o "%t" 2>/dev/null | grep -qE "^(idle|mix|alloc)"; then
      say "up: partition debug on $HOST ($(nproc) CPUs); use it with: export SLURM_CONF=$CONF"
      return
    fi
    sleep 0.2
  done
  die "the node did not come up within 20 s (see $DIR/slurmctld.log and $DIR/slurmd.log)"
}

stop() {
  local name
  for name in slurmd slurmctld munge/munged; do
    if running "$DIR/$name.pid"; then
      kill "$(cat "$DIR/$name.pid")" || true
    fi
  done
  for name in slurmd slurmctld munge/munged; do
    for _ in $(seq 1 50); do running "$DIR/$name.pid" || break; sleep 0.1; done
  done
  say "stopped"
}

case "${1:-}" in
  start)
    mkdir -p "$DIR"
    exec 9>"$DIR/.lock"
    flock 9  # two test workers may start it at once: the second finds it up (the daemons do not hold fd 9)
    start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  status)
    [ -f "$CONF" ] || die "not set up: run $0 start (as root)"
    SLURM_CONF=$CONF sinfo || die "not running: run $0 start (as root)" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
