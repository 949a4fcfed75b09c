#!/usr/bin/env bash
# A throw-away single-node SLURM on 127.0.0.1 for the project's tests (Debian 12, root, no systemd).
# Adapted from the team's recipe (shared/slurm): daemons are started directly and stopped by pid.
#
#   launch/ci/local-slurm.sh install   apt-get install slurmctld slurmd slurm-client munge
#   launch/ci/local-slurm.sh start     write slurm.conf, start munged, slurmctld, slurmd; wait for "idle"
#   launch/ci/local-slurm.sh stop      cancel jobs, stop the daemons it started, remove MPICH shm leftovers
#
# SLURM_BASE (default /tmp/mpismac-slurm): state, spool, logs, pid files. SLURM_CPUS (default 8):
# CPUs declared for the node (config_overrides lets it exceed the real count, so -n 4 runs on 2
# cores). KILL_WAIT (default 10): seconds from SIGTERM to SIGKILL at a time limit or scancel.
set -euo pipefail

B=${SLURM_BASE:-/tmp/mpismac-slurm}
CPUS=${SLURM_CPUS:-8}
KILL_WAIT=${KILL_WAIT:-10}
NODE=$(hostname -s)
CONF=/etc/slurm/slurm.conf
log() { printf '[local-slurm] %s\n' "$*"; }

do_install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    log "already installed: $(slurmd -V)"; return
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
  log "installed $(slurmd -V)"
}

write_conf() {
  mkdir -p /etc/slurm
  cat > "$CONF" <<EOF
# written by mpismac launch/ci/local-slurm.sh: one node, no cgroups, no accounting database
ClusterName=mpismac-ci
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$B/state
SlurmdSpoolDir=$B/spool
SlurmctldPidFile=$B/slurmctld.pid
SlurmdPidFile=$B/slurmd.pid
SlurmctldLogFile=$B/log/slurmctld.log
SlurmdLogFile=$B/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
PropagateResourceLimits=NONE
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
KillWait=${KILL_WAIT}
MinJobAge=600
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
EOF
}

alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
pid_alive() { [[ -s $1 ]] && alive "$(cat "$1")"; }

do_start() {
  for p in "$B/slurmd.pid" "$B/slurmctld.pid"; do
    pid_alive "$p" && { log "already running ($p)"; return; }
  done
  mkdir -p "$B"/{state,spool,log}
  rm -rf "$B"/state/* "$B"/spool/* "$B"/log/*
  write_conf
  [[ -s /etc/munge/munge.key ]] || mungekey -c -f -k /etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge; chmod 755 /run/munge
  if ! pid_alive /run/munge/munged.pid; then
    runuser -u munge -- /usr/sbin/munged
    touch "$B/munged.ours"
  fi
  for _ in $(seq 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  slurmctld -f "$CONF"
  slurmd -f "$CONF" -N "$NODE"
  for _ in $(seq 120); do
    [[ $(sinfo -h -n "$NODE" -o %T 2>/dev/null) == idle ]] && break; sleep 0.25
  done
  [[ $(sinfo -h -n "$NODE" -o %T) == idle ]] || { tail -20 "$B"/log/*.log >&2; exit 1; }
  log "up: node $NODE idle, $CPUS CPUs, KillWait $KILL_WAIT s"
}

do_stop() {
  if pid_alive "$B/slurmctld.pid"; then
    squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
    for _ in $(seq 40); do [[ -z $(squeue -h 2>/dev/null) ]] && break; sleep 0.5; done
  fi
  local p pid
  for p in "$B/slurmd.pid" "$B/slurmctld.pid" /run/munge/munged.pid; do
    [[ $p == */munged.pid && ! -e $B/munged.ours ]] && continue
    pid_alive "$p" || continue
    pid=$(cat "$p"); kill "$pid"
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -9 "$pid"
  done
  rm -f "$B/munged.ours"
  # SIGKILLed MPICH ranks leave /dev/shm/mpich_shm_* behind; job ids restart at 1 on a fresh cluster.
  [[ -e $CONF ]] && find /dev/shm -maxdepth 1 -name 'mpich_shm_*' -newer "$CONF" -delete 2>/dev/null || true
  log "stopped"
}

(($#)) || { echo "usage: $0 install|start|stop ..." >&2; exit 2; }
for a in "$@"; do
  case $a in
    install) do_install ;; start) do_start ;; stop) do_stop ;;
    *) echo "unknown action $a" >&2; exit 2 ;;
  esac
done
