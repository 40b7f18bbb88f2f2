# Starts a private Slurm cluster on this machine for the Slurm tests (source it after setting `work` to a
# private temporary directory): munged with a fresh key, slurmctld and one slurmd (this host, all its
# CPUs, partition "debug"), each with its state, spool, sockets, logs and ports under $work/slurm, and
# exports SLURM_CONF so sbatch, squeue and scancel talk to it. slurm_start returns 0 when sinfo shows the
# node idle; otherwise it prints exactly why (missing program, the daemon's log) and returns 1.
# slurm_stop ends the daemons it started (by their pid files); slurm_wait_idle waits for an empty queue.
slurm_start() {
  local missing=() program
  for program in munged mungekey slurmctld slurmd sbatch squeue sinfo scancel; do
    command -v "$program" >/dev/null 2>&1 || [ -x "/usr/sbin/$program" ] || missing+=("$program")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "cannot start Slurm: not installed: ${missing[*]} (scripts/setup.sh installs slurm-wlm and munge)"
    return 1
  fi
  PATH=$PATH:/usr/sbin
  slurm_dir=$work/slurm
  mkdir -p "$slurm_dir"/{munge,state,spool,log}
  chmod 755 "$slurm_dir" "$slurm_dir/munge"
  if ! mungekey -c -k "$slurm_dir/munge/munge.key" >"$slurm_dir/log/mungekey.log" 2>&1; then
    echo "cannot start Slurm: mungekey failed: $(cat "$slurm_dir/log/mungekey.log")"
    return 1
  fi
  chmod 600 "$slurm_dir/munge/munge.key"
  local socket=$slurm_dir/munge/munge.socket
  if ! munged --force --socket="$socket" --key-file="$slurm_dir/munge/munge.key" --log-file="$slurm_dir/log/munged.log" \
    --pid-file="$slurm_dir/munge/munged.pid" --seed-file="$slurm_dir/munge/munged.seed" 2>"$slurm_dir/log/munged.err"; then
    echo "cannot start Slurm: munged failed: $(cat "$slurm_dir/log/munged.err") $(tail -3 "$slurm_dir/log/munged.log" 2>/dev/null)"
    return 1
  fi
  local ports
  ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
  local host
  host=$(hostname -s)
  cat >"$slurm_dir/slurm.conf" <<CONF
ClusterName=stepwisetest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${ports% *}
SlurmdPort=${ports#* }
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$slurm_dir/state
SlurmdSpoolDir=$slurm_dir/spool
SlurmctldPidFile=$slurm_dir/slurmctld.pid
SlurmdPidFile=$slurm_dir/slurmd.pid
SlurmctldLogFile=$slurm_dir/log/slurmctld.log
SlurmdLogFile=$slurm_dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$slurm_dir/slurm.conf
  if ! slurmctld -f "$SLURM_CONF" 2>"$slurm_dir/log/slurmctld.err"; then
    echo "cannot start Slurm: slurmctld failed: $(cat "$slurm_dir/log/slurmctld.err") $(tail -5 "$slurm_dir/log/slurmctld.log" 2>/dev/null)"
    return 1
  fi
  if ! slurmd -f "$SLURM_CONF" 2>"$slurm_dir/log/slurmd.err"; then
    echo "cannot start Slurm: slurmd failed: $(cat "$slurm_dir/log/slurmd.err") $(tail -5 "$slurm_dir/log/slurmd.log" 2>/dev/null)"
    return 1
  fi
  local _
  for _ in $(seq 1 60); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = "idle" ] && return 0
    sleep 0.5
  done
  echo "cannot start Slurm: the node is not idle after 30 s (sinfo: $(sinfo -h 2>&1)); slurmctld log:"
  tail -5 "$slurm_dir/log/slurmctld.log" 2>/dev/null
  echo "slurmd log:"
  tail -5 "$slurm_dir/log/slurmd.log" 2>/dev/null
  return 1
}

slurm_stop() {
  local file
  for file in "$slurm_dir/slurmd.pid" "$slurm_dir/slurmctld.pid" "$slurm_dir/munge/munged.pid"; do
    [ -s "$file" ] && kill "$(cat "$file")" 2>/dev/null
  done
  sleep 1
}

# slurm_wait_idle SECONDS: 0 once no job is queued or running, 1 at the timeout.
slurm_wait_idle() {
  local _
  for _ in $(seq 1 $(($1 * 2))); do
    [ -z "$(squeue -h 2>/dev/null)" ] && return 0
    sleep 0.5
  done
  return 1
}
