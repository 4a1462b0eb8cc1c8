# shellcheck shell=bash
# dirsync infrastructure helpers. Source this file; do not execute it.
#
#   source infra/scripts/lib.sh
#   ensure_ldap_packages                       # slapd + ldap-utils from apt (root), nothing started
#   ensure_postgres [URL]                      # reuse the Postgres at URL or start a private one
#   ensure_nats [URL]                          # reuse the NATS (JetStream) at URL or start a private one
#   start_slapd NAME PORT [LDIF...]            # private slapd under .data/slapd-NAME, loaded with slapadd -q
#   stop_slapd NAME                            # SIGTERM it and wait (SIGKILL after 10 s)
#   slapd_running NAME                         # status 0 when the slapd of NAME is up and answers
#   start_bench_slapd                          # 100k-user benchmark directory on 127.0.0.1:3891
#   ensure_samba_packages                      # Samba AD DC from apt (root), nothing started
#   ensure_samba_template                      # provision a domain ONCE (cached) + the tests' own CA
#   stop_private_postgres / stop_private_nats  # stop what ensure_* started (never a reused server)
#   ensure_chromium                            # Debian's chromium for the console's browser tests
#
# Everything lives under $DIRSYNC_DATA_DIR (default <repo>/.data, git-ignored). slapd runs in the
# background of the calling shell (`slapd -d 0 &`); a private Postgres/NATS runs in its own session
# (setsid), so a Ctrl-C in the caller leaves it up. Each keeps a pid file and outlives the script
# that started it until a stop_* function is called. Functions return non-zero (and print
# why to stderr) on failure; they never `exit`, so a caller's `set -e` decides what happens.

DIRSYNC_ROOT="${DIRSYNC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
DIRSYNC_DATA_DIR="${DIRSYNC_DATA_DIR:-$DIRSYNC_ROOT/.data}"
DIRSYNC_DEMO_LDAP_PASSWORD="${DIRSYNC_DEMO_LDAP_PASSWORD:-admin-secret}"
DIRSYNC_LDAP_SUFFIX="${DIRSYNC_LDAP_SUFFIX:-dc=example,dc=org}"
DIRSYNC_LDAP_ROOTDN="${DIRSYNC_LDAP_ROOTDN:-cn=admin,$DIRSYNC_LDAP_SUFFIX}"

# slapd, slapadd and Postgres' tools live in sbin / versioned dirs that a non-login PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac
export PATH

_ds_log() { printf '%s\n' "$*" >&2; }
_ds_die() {
  printf 'error: %s\n' "$*" >&2
  return 1
}
_ds_is_root() { [ "$(id -u)" = 0 ]; }
_ds_ms() { echo $(($(date +%s%N) / 1000000)); }
# _ds_since START_MS: "1.234 s"
_ds_since() {
  local d=$(($(_ds_ms) - $1))
  printf '%d.%03d s' $((d / 1000)) $((d % 1000))
}

# _ds_pid_alive PIDFILE [COMM]: the pid in PIDFILE names a live process (running program COMM,
# when given, so a stale pid file whose pid was reused after a reboot is not mistaken for ours).
_ds_pid_alive() {
  local pid comm
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "${2:-}" ] && [ -r "/proc/$pid/comm" ]; then
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = "$2" ] || return 1
  fi
  return 0
}

# _ds_tcp_open HOST PORT: something accepts TCP connections there.
_ds_tcp_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# _ds_wait_gone PID SECONDS: wait for PID to exit; SIGKILL it when SECONDS pass.
_ds_wait_gone() {
  local pid=$1 limit=$(($2 * 20)) i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -ge "$limit" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.1
      break
    fi
    sleep 0.05
  done
}

# _ds_url_part URL host|port|user|db DEFAULT — a tiny parser for scheme://[user[:pw]@]host[:port][/db]
_ds_url_part() {
  local url=$1 part=$2 def=$3 rest auth hostport val=""
  rest=${url#*://}
  rest=${rest%%\?*}
  case "$rest" in *@*) auth=${rest%%@*}; rest=${rest#*@} ;; *) auth="" ;; esac
  hostport=${rest%%/*}
  case "$part" in
    host) val=${hostport%%:*} ;;
    port) case "$hostport" in *:*) val=${hostport##*:} ;; esac ;;
    user) val=${auth%%:*} ;;
    db) case "$rest" in */*) val=${rest#*/} ;; esac ;;
  esac
  printf '%s' "${val:-$def}"
}

_ds_apt_install() {
  _ds_is_root || {
    _ds_die "need root to apt-get install $* (install them, or run as root)"
    return 1
  }
  local log=/tmp/dirsync-apt.log pkg have_lists=1
  for pkg in "$@"; do
    apt-cache show "$pkg" >/dev/null 2>&1 || have_lists=0
  done
  # Package lists that already know the packages save the slow `apt-get update`; should they be
  # stale (a 404 on download), update and try once more.
  if [ "$have_lists" = 1 ] && [ -z "${_DS_APT_UPDATED:-}" ] &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
    return 0
  fi
  if [ -z "${_DS_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 || {
      _ds_die "apt-get update failed: $(tail -n 5 "$log")"
      return 1
    }
    _DS_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1 || {
    _ds_die "apt-get install $* failed: $(tail -n 5 "$log")"
    return 1
  }
}

# ---------------------------------------------------------------------------------------------
# ensure_ldap_packages: slapd, slapadd, slappasswd, ldapadd, ldapmodify, ldapsearch, ldapwhoami.
# Installs `slapd ldap-utils` from apt when one is missing. Leaves no slapd running: should the
# package's postinst start the system instance (it does not here: policy-rc.d forbids it), that
# instance is stopped again by the pid it wrote.
ensure_ldap_packages() {
  local missing=0 cmd
  for cmd in slapd slapadd slappasswd ldapadd ldapmodify ldapsearch ldapwhoami; do
    command -v "$cmd" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" = 0 ] && return 0
  _ds_log "installing slapd and ldap-utils from apt…"
  local before=""
  [ -f /run/slapd/slapd.pid ] && before=$(cat /run/slapd/slapd.pid 2>/dev/null)
  _ds_apt_install slapd ldap-utils || return 1
  if [ -f /run/slapd/slapd.pid ]; then
    local pid
    pid=$(cat /run/slapd/slapd.pid 2>/dev/null)
    if [ -n "$pid" ] && [ "$pid" != "$before" ] && kill -0 "$pid" 2>/dev/null; then
      _ds_log "stopping the system slapd (pid $pid) the package started"
      kill -TERM "$pid" 2>/dev/null || true
      _ds_wait_gone "$pid" 10
    fi
  fi
  hash -r
  if ! command -v slapd >/dev/null 2>&1 || ! command -v ldapadd >/dev/null 2>&1; then
    _ds_die "slapd/ldap-utils still missing after apt-get install"
    return 1
  fi
  _ds_log "installed $(slapd -VV 2>&1 | sed -n 's/^.*\(slapd [0-9.]*\).*$/\1/p' | head -n1)"
}

# ---------------------------------------------------------------------------------------------
# ensure_chromium: Debian's `chromium` at /usr/bin/chromium (or $DIRSYNC_CHROMIUM), which the
# console's end-to-end tests drive through playwright-core by path. No browser is downloaded by
# any npm package; apt installs the distribution's build. Prints one line.
ensure_chromium() {
  local path=${DIRSYNC_CHROMIUM:-/usr/bin/chromium}
  if [ -x "$path" ]; then
    echo "chromium: $("$path" --version 2>/dev/null | head -n1)"
    return 0
  fi
  if [ -n "${DIRSYNC_CHROMIUM:-}" ]; then
    _ds_die "DIRSYNC_CHROMIUM=$DIRSYNC_CHROMIUM is not an executable"
    return 1
  fi
  _ds_log "installing chromium from apt (the console's browser tests)…"
  _ds_apt_install chromium || return 1
  [ -x "$path" ] || {
    _ds_die "chromium still missing at $path after apt-get install"
    return 1
  }
  echo "chromium: installed $("$path" --version 2>/dev/null | head -n1)"
}

# ---------------------------------------------------------------------------------------------
# Postgres

_ds_pg_bindir() {
  local d
  if command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { printf '%s' "$d"; return 0; }
  done
  return 1
}

_ds_pg_ready() {
  local url=$1
  if command -v psql >/dev/null 2>&1; then
    psql "$url" -XAtqc 'select 1' >/dev/null 2>&1
  else
    _ds_tcp_open "$(_ds_url_part "$url" host 127.0.0.1)" "$(_ds_url_part "$url" port 5432)"
  fi
}

# ensure_postgres [URL] — default postgres://postgres@127.0.0.1:5432/postgres.
# Reuses a server that answers at URL. Otherwise initialises (once) and starts a private cluster
# under $DIRSYNC_DATA_DIR/postgres-PORT (trust auth, superuser from the URL's user, listening on
# the URL's host and port, socket in the same folder) and creates the URL's database if needed.
# Prints one line saying which.
ensure_postgres() {
  local url=${1:-postgres://postgres@127.0.0.1:5432/postgres}
  local host port user db dir bindir
  host=$(_ds_url_part "$url" host 127.0.0.1)
  port=$(_ds_url_part "$url" port 5432)
  user=$(_ds_url_part "$url" user postgres)
  db=$(_ds_url_part "$url" db postgres)
  if _ds_pg_ready "$url"; then
    echo "postgres: reusing the server at $host:$port"
    return 0
  fi
  if ! bindir=$(_ds_pg_bindir); then
    _ds_apt_install postgresql || return 1
    bindir=$(_ds_pg_bindir) || {
      _ds_die "pg_ctl not found after installing postgresql"
      return 1
    }
  fi
  command -v psql >/dev/null 2>&1 || PATH="$PATH:$bindir"
  dir="$DIRSYNC_DATA_DIR/postgres-$port"
  mkdir -p "$dir"
  # As root, the cluster belongs to the `postgres` account (initdb and postgres refuse root).
  local -a as=()
  if _ds_is_root; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /bin/false postgres
    chown postgres: "$dir"
    as=(runuser -u postgres --)
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    "${as[@]}" "$bindir/initdb" -D "$dir/data" -U "$user" --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || {
      _ds_die "initdb failed, see $dir/initdb.log"
      return 1
    }
  fi
  setsid "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=$host" start >/dev/null || {
    _ds_die "postgres did not start, see $dir/postgres.log"
    return 1
  }
  if [ "$db" != postgres ] && [ "$db" != "$user" ]; then
    psql "postgres://$user@$host:$port/postgres" -XAtqc "select 1 from pg_database where datname = '$db'" |
      grep -q 1 || psql "postgres://$user@$host:$port/postgres" -Xqc "create database \"$db\"" >/dev/null
  fi
  echo "postgres: started a private server at $host:$port (data $dir/data)"
}

# stop_private_postgres [URL] — stop the private cluster ensure_postgres started for URL's port.
stop_private_postgres() {
  local url=${1:-postgres://postgres@127.0.0.1:5432/postgres} port dir bindir
  port=$(_ds_url_part "$url" port 5432)
  dir="$DIRSYNC_DATA_DIR/postgres-$port"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bindir=$(_ds_pg_bindir) || return 1
  if _ds_is_root; then
    runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  else
    "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  fi
}

# ---------------------------------------------------------------------------------------------
# NATS

# _ds_nats_info HOST PORT: the server's INFO line (empty when nothing NATS answers).
_ds_nats_info() {
  local line=""
  {
    exec 3<>"/dev/tcp/$1/$2" && IFS= read -r -t 2 line <&3
    exec 3<&- 3>&-
  } 2>/dev/null
  case "$line" in INFO*) printf '%s' "$line" ;; esac
}

# ensure_nats [URL] — default nats://127.0.0.1:4222.
# Reuses a NATS server that answers at URL (and says so if its INFO lacks JetStream). Otherwise
# starts `nats-server -js` on the URL's host/port with its store in
# $DIRSYNC_DATA_DIR/nats-PORT (installing nats-server from apt if needed). Prints one line.
ensure_nats() {
  local url=${1:-nats://127.0.0.1:4222} host port dir info i
  host=$(_ds_url_part "$url" host 127.0.0.1)
  port=$(_ds_url_part "$url" port 4222)
  info=$(_ds_nats_info "$host" "$port")
  if [ -n "$info" ]; then
    case "$info" in
      *'"jetstream":true'*) echo "nats: reusing the server at $host:$port (JetStream on)" ;;
      *) echo "nats: reusing the server at $host:$port (warning: its INFO does not announce JetStream)" ;;
    esac
    return 0
  fi
  if _ds_tcp_open "$host" "$port"; then
    _ds_die "$host:$port is taken by something that is not NATS"
    return 1
  fi
  command -v nats-server >/dev/null 2>&1 || _ds_apt_install nats-server || return 1
  dir="$DIRSYNC_DATA_DIR/nats-$port"
  mkdir -p "$dir/store"
  # setsid in a subshell: its own session (a Ctrl-C in the calling script must not take the shared
  # server down), not a child of the caller's shell, and $! is nats-server itself.
  (
    setsid nats-server -js -a "$host" -p "$port" -sd "$dir/store" >"$dir/nats.log" 2>&1 &
    echo $! >"$dir/nats.pid"
  )
  for i in $(seq 1 100); do
    info=$(_ds_nats_info "$host" "$port")
    [ -n "$info" ] && break
    if ! _ds_pid_alive "$dir/nats.pid" nats-server; then
      _ds_die "nats-server exited, see $dir/nats.log"
      return 1
    fi
    sleep 0.05
  done
  [ -n "$info" ] || {
    _ds_die "nats-server did not answer on $host:$port, see $dir/nats.log"
    return 1
  }
  echo "nats: started a private server at $host:$port (pid $(cat "$dir/nats.pid"), store $dir/store)"
}

# stop_private_nats [URL] — stop the nats-server ensure_nats started for URL's port.
stop_private_nats() {
  local url=${1:-nats://127.0.0.1:4222} port dir pid
  port=$(_ds_url_part "$url" port 4222)
  dir="$DIRSYNC_DATA_DIR/nats-$port"
  _ds_pid_alive "$dir/nats.pid" nats-server || return 0
  pid=$(cat "$dir/nats.pid")
  kill -TERM "$pid" 2>/dev/null || true
  _ds_wait_gone "$pid" 10
  rm -f "$dir/nats.pid"
}

# ---------------------------------------------------------------------------------------------
# slapd

_ds_slapd_dir() { printf '%s' "$DIRSYNC_DATA_DIR/slapd-$1"; }

# _ds_slapd_conf NAME: write .data/slapd-NAME/slapd.conf (rootpw hashed with slappasswd).
_ds_slapd_conf() {
  local dir hash
  dir=$(_ds_slapd_dir "$1")
  mkdir -p "$dir/data"
  hash=$(slappasswd -s "$DIRSYNC_DEMO_LDAP_PASSWORD") || return 1
  cat >"$dir/slapd.conf" <<EOF
# generated by infra/scripts/lib.sh — do not edit
include         /etc/ldap/schema/core.schema
include         /etc/ldap/schema/cosine.schema
include         /etc/ldap/schema/inetorgperson.schema
include         /etc/ldap/schema/nis.schema

modulepath      /usr/lib/ldap
moduleload      back_mdb
moduleload      memberof
moduleload      refint
moduleload      syncprov

pidfile         $dir/slapd.pid.internal
argsfile        $dir/slapd.args
sizelimit       unlimited

database        mdb
maxsize         2147483648
suffix          "$DIRSYNC_LDAP_SUFFIX"
rootdn          "$DIRSYNC_LDAP_ROOTDN"
rootpw          $hash
directory       $dir/data
dbnosync

index           objectClass eq
index           uid,cn,mail eq
index           member,memberOf,uniqueMember,memberUid eq
index           entryUUID,entryCSN eq
index           modifyTimestamp eq

overlay         syncprov
syncprov-checkpoint 100 10

overlay         memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay         memberof
memberof-group-oc groupOfUniqueNames
memberof-member-ad uniqueMember
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay         refint
refint_attributes member uniqueMember
refint_nothing  "$DIRSYNC_LDAP_ROOTDN"
EOF
}

# _ds_slapd_load NAME LDIF...: wipe NAME's data and slapadd -q each LDIF in order. When the first
# LDIF does not contain the suffix entry, the base entries (suffix, ou=people, ou=groups) go first.
_ds_slapd_load() {
  local name=$1 dir f
  shift
  dir=$(_ds_slapd_dir "$name")
  rm -rf "$dir/data"
  mkdir -p "$dir/data"
  if [ $# = 0 ] || ! grep -qix "dn: *$DIRSYNC_LDAP_SUFFIX" "$1"; then
    local dc=${DIRSYNC_LDAP_SUFFIX%%,*}
    dc=${dc#*=}
    cat >"$dir/base.ldif" <<EOF
dn: $DIRSYNC_LDAP_SUFFIX
objectClass: dcObject
objectClass: organization
dc: $dc
o: $dc

dn: ou=people,$DIRSYNC_LDAP_SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=groups,$DIRSYNC_LDAP_SUFFIX
objectClass: organizationalUnit
ou: groups
EOF
    set -- "$dir/base.ldif" "$@"
  fi
  for f in "$@"; do
    [ -r "$f" ] || {
      _ds_die "cannot read LDIF $f"
      return 1
    }
    slapadd -q -f "$dir/slapd.conf" -l "$f" >"$dir/slapadd.log" 2>&1 || {
      _ds_die "slapadd -q $f failed: $(tail -n 5 "$dir/slapadd.log")"
      return 1
    }
  done
}

# _ds_slapd_launch NAME PORT: start slapd on NAME's data and wait until it answers.
_ds_slapd_launch() {
  local name=$1 port=$2 dir i
  dir=$(_ds_slapd_dir "$name")
  if _ds_tcp_open 127.0.0.1 "$port"; then
    _ds_die "127.0.0.1:$port is already in use (not by the slapd of $name)"
    return 1
  fi
  # -d 0 keeps slapd in the foreground, so $! is slapd itself. DIRSYNC_SLAPD_HOST=0.0.0.0 listens
  # on every interface (the compose image does); the default is loopback only.
  slapd -f "$dir/slapd.conf" -h "ldap://${DIRSYNC_SLAPD_HOST:-127.0.0.1}:$port/" -d 0 >"$dir/slapd.log" 2>&1 &
  echo $! >"$dir/slapd.pid"
  echo "$port" >"$dir/port"
  for i in $(seq 1 200); do
    if ldapwhoami -x -H "ldap://127.0.0.1:$port/" >/dev/null 2>&1; then
      return 0
    fi
    if ! _ds_pid_alive "$dir/slapd.pid" slapd; then
      _ds_die "slapd $name exited: $(tail -n 5 "$dir/slapd.log")"
      return 1
    fi
    sleep 0.05
  done
  _ds_die "slapd $name did not answer on port $port within 10 s"
  return 1
}

# slapd_running NAME [PORT] — status 0 when NAME's slapd is alive (and on PORT, if given) and
# answers a WhoAmI.
slapd_running() {
  local dir port
  dir=$(_ds_slapd_dir "$1")
  _ds_pid_alive "$dir/slapd.pid" slapd || return 1
  port=$(cat "$dir/port" 2>/dev/null) || return 1
  [ -z "${2:-}" ] || [ "$2" = "$port" ] || return 1
  ldapwhoami -x -H "ldap://127.0.0.1:$port/" >/dev/null 2>&1
}

# start_slapd NAME PORT [LDIF...]
# A private OpenLDAP server on ldap://127.0.0.1:PORT/ with suffix dc=example,dc=org, rootdn
# cn=admin,dc=example,dc=org / $DIRSYNC_DEMO_LDAP_PASSWORD (default admin-secret), overlays
# memberof (groupOfNames/member and groupOfUniqueNames/uniqueMember) + refint + syncprov,
# dbnosync (fast writes; survives process kills, not OS crashes), files in .data/slapd-NAME (slapd.conf, data/, slapd.pid,
# slapd.log). The LDIFs are loaded with `slapadd -q` (overlays do not run: the LDIF carries its own
# memberOf values). When NAME's slapd is already running on PORT and answers, it is reused as is
# (its data is NOT reloaded; stop_slapd first to reload).
start_slapd() {
  local name=${1:?usage: start_slapd NAME PORT [LDIF...]} port=${2:?usage: start_slapd NAME PORT [LDIF...]}
  shift 2
  ensure_ldap_packages || return 1
  if slapd_running "$name" "$port"; then
    echo "slapd $name: reusing the server on ldap://127.0.0.1:$port/ (pid $(cat "$(_ds_slapd_dir "$name")/slapd.pid"))"
    return 0
  fi
  stop_slapd "$name" >/dev/null 2>&1 || true
  _ds_slapd_conf "$name" || return 1
  # A directory keeps its state across restarts, like a real one: reload only when the LDIF
  # changed (or DIRSYNC_SLAPD_RELOAD=1), so changes made with ldapmodify survive a restart.
  local dir stamp
  dir=$(_ds_slapd_dir "$name")
  stamp=$(cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [ "${DIRSYNC_SLAPD_RELOAD:-0}" != 1 ] && [ -s "$dir/data/data.mdb" ] &&
    [ "$(cat "$dir/loaded-from" 2>/dev/null)" = "$stamp" ]; then
    echo "slapd $name: keeping its data (delete $dir or set DIRSYNC_SLAPD_RELOAD=1 to reload the LDIF)"
  else
    _ds_slapd_load "$name" "$@" || return 1
    echo "$stamp" >"$dir/loaded-from"
  fi
  _ds_slapd_launch "$name" "$port" || return 1
  echo "slapd $name: started on ldap://${DIRSYNC_SLAPD_HOST:-127.0.0.1}:$port/ (pid $(cat "$(_ds_slapd_dir "$name")/slapd.pid"), data $(_ds_slapd_dir "$name")/data)"
}

# stop_slapd NAME — SIGTERM NAME's slapd and wait for it (SIGKILL after 10 s). Keeps its data.
stop_slapd() {
  local name=${1:?usage: stop_slapd NAME} dir pid
  dir=$(_ds_slapd_dir "$name")
  if _ds_pid_alive "$dir/slapd.pid" slapd; then
    pid=$(cat "$dir/slapd.pid")
    kill -TERM "$pid" 2>/dev/null || true
    _ds_wait_gone "$pid" 10
    echo "slapd $name: stopped (pid $pid)"
  fi
  rm -f "$dir/slapd.pid"
}

# ---------------------------------------------------------------------------------------------
# Benchmark directory

DIRSYNC_BENCH_PORT="${DIRSYNC_BENCH_PORT:-3891}"

# _ds_testkit_built: compile infra/testkit when its dist is missing or older than its sources.
_ds_testkit_built() {
  local dist="$DIRSYNC_ROOT/infra/testkit/dist/bench/generate-bench.js"
  if [ -f "$dist" ] && [ -z "$(find "$DIRSYNC_ROOT/infra/testkit/src" -newer "$dist" -name '*.ts' -print -quit)" ]; then
    return 0
  fi
  _ds_log "building infra/testkit…"
  (cd "$DIRSYNC_ROOT" && npx --no-install tsc -p infra/testkit/tsconfig.build.json) || {
    _ds_die "infra/testkit failed to build"
    return 1
  }
}

# start_bench_slapd — the benchmark directory (100,000 users, 2,000 groups, ~300k memberships)
# as slapd `bench` on ldap://127.0.0.1:$DIRSYNC_BENCH_PORT/ (default 3891).
# Generates .data/bench/bench.ldif and .data/bench/bench.json (summary + the directory definition
# the benchmark registers) when missing or when the generator changed, loads it once with slapadd -q into .data/bench/mdb, and
# copies that loaded database into .data/slapd-bench/data for each (re)start, so later starts skip
# the load. Reuses a running, healthy bench slapd.
start_bench_slapd() {
  local bench="$DIRSYNC_DATA_DIR/bench" dir start
  ensure_ldap_packages || return 1
  if slapd_running bench "$DIRSYNC_BENCH_PORT"; then
    echo "slapd bench: reusing the server on ldap://127.0.0.1:$DIRSYNC_BENCH_PORT/"
    return 0
  fi
  stop_slapd bench >/dev/null 2>&1 || true
  mkdir -p "$bench"
  _ds_testkit_built || return 1
  local gen="$DIRSYNC_ROOT/infra/testkit/dist/bench/generate-bench.js" sum
  sum=$(sha256sum "$gen" | cut -d' ' -f1)
  if [ ! -s "$bench/bench.ldif" ] || [ ! -s "$bench/bench.json" ] ||
    [ "$(cat "$bench/generator.sha256" 2>/dev/null)" != "$sum" ]; then
    start=$(_ds_ms)
    node "$DIRSYNC_ROOT/infra/testkit/dist/bench/generate-bench.js" --out "$bench" \
      --port "$DIRSYNC_BENCH_PORT" >/dev/null || {
      _ds_die "bench generator failed"
      return 1
    }
    _ds_log "bench: generated $bench/bench.ldif in $(_ds_since "$start")"
    echo "$sum" >"$bench/generator.sha256"
    rm -rf "$bench/mdb"
  fi
  _ds_slapd_conf bench || return 1
  dir=$(_ds_slapd_dir bench)
  if [ ! -f "$bench/mdb/.loaded" ] || [ "$bench/bench.ldif" -nt "$bench/mdb/.loaded" ]; then
    start=$(_ds_ms)
    _ds_slapd_load bench "$bench/bench.ldif" || return 1
    _ds_log "bench: slapadd -q took $(_ds_since "$start")"
    rm -rf "$bench/mdb"
    cp -a --sparse=always "$dir/data" "$bench/mdb"
    touch "$bench/mdb/.loaded"
  else
    rm -rf "$dir/data"
    cp -a --sparse=always "$bench/mdb" "$dir/data"
    rm -f "$dir/data/.loaded"
  fi
  _ds_slapd_launch bench "$DIRSYNC_BENCH_PORT" || return 1
  echo "slapd bench: started on ldap://127.0.0.1:$DIRSYNC_BENCH_PORT/ (pid $(cat "$dir/slapd.pid"); summary $bench/bench.json)"
}

# ---------------------------------------------------------------------------------------------
# Samba AD domain controller (tests: infra/testkit startSambaAd copies the template per run)

DIRSYNC_SAMBA_REALM="${DIRSYNC_SAMBA_REALM:-EXAMPLE.TEST}"
DIRSYNC_SAMBA_DOMAIN="${DIRSYNC_SAMBA_DOMAIN:-EXAMPLE}"
DIRSYNC_SAMBA_ADMIN_PASSWORD="${DIRSYNC_SAMBA_ADMIN_PASSWORD:-Admin-Secret-1}"
# Bump when the template's recipe changes, so cached templates are provisioned again.
_DS_SAMBA_TEMPLATE_VERSION=1

# ensure_samba_packages: samba, samba-tool and the provisioning data. Installs the AD DC packages
# from apt when one is missing (samba-ad-provision must be named: --no-install-recommends skips
# it). apt does not start the daemons here; should a package start one anyway, nothing of ours
# depends on it (our instances bind their own 127.0.0.x addresses).
ensure_samba_packages() {
  if command -v samba >/dev/null 2>&1 && command -v samba-tool >/dev/null 2>&1 &&
    command -v ldapmodify >/dev/null 2>&1 && [ -d /usr/share/samba/setup ]; then
    return 0
  fi
  _ds_log "installing the Samba AD DC from apt…"
  _ds_apt_install samba samba-ad-dc samba-dsdb-modules samba-vfs-modules winbind ldb-tools \
    samba-ad-provision ldap-utils openssl || return 1
  hash -r
  command -v samba >/dev/null 2>&1 && [ -d /usr/share/samba/setup ] || {
    _ds_die "samba still missing after apt-get install"
    return 1
  }
  _ds_log "installed $(samba --version 2>/dev/null)"
}

# _ds_samba_tls DIR: the tests' own CA (ca.pem/ca.key) and a server certificate it signed
# (cert.pem/key.pem, EC P-256, valid for dc1.<realm>, localhost and every 127.0.0.x), in DIR.
_ds_samba_tls() {
  local dir=$1 realm san i
  realm=$(printf '%s' "$DIRSYNC_SAMBA_REALM" | tr '[:upper:]' '[:lower:]')
  mkdir -p "$dir"
  san="DNS:dc1.$realm,DNS:$realm,DNS:localhost"
  for i in $(seq 1 254); do san="$san,IP:127.0.0.$i"; done
  (
    set -e
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout ca.key -out ca.pem -subj "/CN=dirsync test CA (Samba AD)" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem \
      -out server.csr -subj "/CN=dc1.$realm"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
      "$san" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out cert.pem
    chmod 600 key.pem ca.key
    rm -f server.csr server.ext ca.srl
  ) >"$dir/openssl.log" 2>&1 || {
    _ds_die "making the test CA failed, see $dir/openssl.log"
    return 1
  }
}

# ensure_samba_template — prints the template folder (on stdout, one line).
# Provisions the domain $DIRSYNC_SAMBA_REALM ($DIRSYNC_SAMBA_DOMAIN, Administrator password
# $DIRSYNC_SAMBA_ADMIN_PASSWORD, no DNS, RFC 2307 attributes) ONCE into
# $DIRSYNC_DATA_DIR/samba-ad/template-<samba version>-v<recipe>/ (~5 s) and makes the tests' CA
# beside it (tls/). Later calls only print the folder. Concurrent callers wait on a lock, so
# exactly one provisions. A DC is started from a copy of the template's `dc/` folder with its own
# smb.conf (testkit startSambaAd); the template itself is never served.
ensure_samba_template() {
  ensure_samba_packages >&2 || return 1
  local version base tpl start
  version=$(samba --version 2>/dev/null | sed 's/^Version //; s/[^A-Za-z0-9._-]/_/g')
  base="$DIRSYNC_DATA_DIR/samba-ad"
  tpl="$base/template-$version-v$_DS_SAMBA_TEMPLATE_VERSION"
  if [ -f "$tpl/.ready" ]; then
    printf '%s\n' "$tpl"
    return 0
  fi
  mkdir -p "$base"
  (
    flock 9
    [ -f "$tpl/.ready" ] && exit 0
    start=$(_ds_ms)
    rm -rf "$tpl" "$tpl.tmp"
    mkdir -p "$tpl.tmp"
    samba-tool domain provision --realm="$DIRSYNC_SAMBA_REALM" --domain="$DIRSYNC_SAMBA_DOMAIN" \
      --server-role=dc --dns-backend=NONE --use-rfc2307 --adminpass="$DIRSYNC_SAMBA_ADMIN_PASSWORD" \
      --targetdir="$tpl.tmp/dc" --host-name=dc1 --host-ip=127.0.0.2 \
      --option="interfaces=127.0.0.2/8" --option="bind interfaces only=yes" \
      >"$tpl.tmp/provision.log" 2>&1 || {
      _ds_die "samba-tool domain provision failed: $(tail -n 5 "$tpl.tmp/provision.log")"
      exit 1
    }
    # The provisioned smb.conf is replaced per instance; only sam.ldb & co. are the template.
    rm -f "$tpl.tmp/dc/etc/smb.conf"
    _ds_samba_tls "$tpl.tmp/tls" || exit 1
    mv "$tpl.tmp" "$tpl"
    touch "$tpl/.ready"
    _ds_log "samba: provisioned the test domain $DIRSYNC_SAMBA_REALM in $(_ds_since "$start") ($tpl)"
  ) 9>"$base/.provision.lock" || return 1
  printf '%s\n' "$tpl"
}
