# Functions that run the dirsync services as local processes (sourced by demo.sh and bench.sh).
# Inputs (environment): DATABASE_URL, NATS_URL, NATS_NAMESPACE, DIRSYNC_SECRET_KEY,
# DIRSYNC_GATEWAY_PRIVATE_KEY / DIRSYNC_GATEWAY_PUBLIC_KEY (stack_gateway_keys), STACK_LOGS
# (folder), STACK_PORT_BASE (identity = base+1, sync = +2, connector-ldap = +3,
# connector-entra = +4, auth = +5), STACK_GATEWAY_PORT and STACK_OWNER_KEY_FILE (where the first
# owner API key is kept).

STACK_PIDS=()
declare -A STACK_PID_OF=()

stack_ensure_database() { # postgres URL of the database to create if missing
  node -e '
    const pg = require(require.resolve("pg", { paths: ["infra/testkit"] }));
    const url = new URL(process.argv[1]); const db = decodeURIComponent(url.pathname.slice(1)); url.pathname = "/postgres";
    const c = new pg.Client({ connectionString: url.toString() });
    c.connect().then(() => c.query("select 1 from pg_database where datname = $1", [db]))
     .then((r) => r.rowCount ? null : c.query(`create database "${db.replace(/"/g, "\"\"")}"`))
     .then(() => c.end()).catch((e) => { console.error("cannot create database " + db + ": " + e.message); process.exit(1); });
  ' "$1"
}

# The Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#port-blocking): Node's fetch,
# which the gateway, the readiness probe and the CLI use, and every browser refuse them outright.
_STACK_FETCH_BAD_PORTS=" 1 7 9 11 13 15 17 19 20 21 22 23 25 37 42 43 53 69 77 79 87 95 101 102 103 104 109 110 111 113 115 117 119 123 135 137 139 143 161 179 389 427 465 512 513 514 515 526 530 531 532 540 548 554 556 563 587 601 636 989 990 993 995 1719 1720 1723 2049 3659 4045 4190 5060 5061 6000 6566 6665 6666 6667 6668 6669 6679 6697 10080 "

stack_port_free_or_die() {
  local port
  for port in "$@"; do
    if [[ "$_STACK_FETCH_BAD_PORTS" == *" $port "* ]]; then
      echo "port $port is one that fetch() and browsers refuse to connect to (the Fetch standard's blocked ports); choose another${STACK_PORT_HINT:+: $STACK_PORT_HINT}." >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port $port is already in use (is dirsync already running?). Stop it first${STACK_PORT_HINT:+, or $STACK_PORT_HINT}." >&2
      return 1
    fi
  done
}

_stack_start_one() { # name dir port [env...]
  local name=$1 dir=$2 port=$3; shift 3
  # setsid: a Ctrl-C in the terminal reaches the script, whose cleanup stops the services once;
  # otherwise each service would get SIGINT and then the cleanup's SIGTERM as a second signal.
  # A bounded old space: V8 sizes its heap limit from the machine's memory (GBs here) and lets
  # garbage pile up to it before collecting hard. The live set of a 100k-user sync is well under
  # 256 MB; DIRSYNC_NODE_HEAP_MB raises the bound for directories with millions of memberships.
  setsid env PORT="$port" "$@" node --max-old-space-size="${DIRSYNC_NODE_HEAP_MB:-384}" \
    "$dir/dist/main.js" >>"$STACK_LOGS/$name.log" 2>&1 &
  STACK_PIDS+=($!)
  STACK_PID_OF[$name]=$!
}

_stack_wait_ready() { # name port
  local name=$1 port=$2
  for _ in $(seq 1 300); do
    if ! kill -0 "${STACK_PID_OF[$name]}" 2>/dev/null; then
      echo "$name exited during start; last lines of $STACK_LOGS/$name.log:" >&2
      tail -20 "$STACK_LOGS/$name.log" >&2
      return 1
    fi
    if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "http://127.0.0.1:$port/readyz"; then
      return 0
    fi
    sleep 0.2
  done
  echo "$name did not become ready in 60 s; see $STACK_LOGS/$name.log" >&2
  tail -20 "$STACK_LOGS/$name.log" >&2
  return 1
}

stack_start() {
  local base=${STACK_PORT_BASE:-4100} gw=${STACK_GATEWAY_PORT:-4000}
  mkdir -p "$STACK_LOGS"
  stack_port_free_or_die "$gw" $((base + 1)) $((base + 2)) $((base + 3)) $((base + 4)) $((base + 5))
  local had_key=0
  [ -s "$STACK_OWNER_KEY_FILE" ] && had_key=1
  _stack_start_one auth services/auth $((base + 5)) AUTH_BOOTSTRAP_KEY_FILE="$STACK_OWNER_KEY_FILE"
  _stack_wait_ready auth $((base + 5))
  stack_ensure_owner_key "$had_key"
  _stack_start_one identity services/identity $((base + 1))
  _stack_start_one sync services/sync $((base + 2))
  _stack_start_one connector-ldap services/connector-ldap $((base + 3))
  _stack_start_one connector-entra services/connector-entra $((base + 4))
  _stack_wait_ready identity $((base + 1))
  _stack_wait_ready sync $((base + 2))
  _stack_wait_ready connector-ldap $((base + 3))
  _stack_wait_ready connector-entra $((base + 4))
  # The admin console (services/console/dist, built by turbo) is served at / when it is built.
  local console_dir=${GATEWAY_CONSOLE_DIR:-$DIRSYNC_ROOT/services/console/dist}
  [ -f "$console_dir/index.html" ] || console_dir=""
  _stack_start_one gateway gateway "$gw" \
    IDENTITY_URL="http://127.0.0.1:$((base + 1))/graphql" SYNC_URL="http://127.0.0.1:$((base + 2))/graphql" \
    AUTH_URL="http://127.0.0.1:$((base + 5))/graphql" \
    GATEWAY_CONSOLE_DIR="$console_dir"
  _stack_wait_ready gateway "$gw"
}

stack_stop() {
  local pid
  for pid in "${STACK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${STACK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ ${#STACK_PIDS[@]} -gt 0 ] && echo "dirsync services stopped"
  STACK_PIDS=()
}

# Peak resident memory (VmHWM) of each running service, as "name MB" lines.
stack_peak_rss() {
  local name pid kb
  for name in "${!STACK_PID_OF[@]}"; do
    pid=${STACK_PID_OF[$name]}
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    echo "$name $((kb / 1024))"
  done
}

stack_secret_key() { # file: create a random 32-byte key once, print it
  [ -s "$1" ] || node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64"))' >"$1"
  chmod 600 "$1"
  cat "$1"
}

stack_gateway_keys() { # file: create the gateway's Ed25519 key once; export both halves
  [ -s "$1" ] || node --input-type=module -e '
    import { generateGatewayKeyPair } from "./services/kit/dist/auth/index.js";
    process.stdout.write(generateGatewayKeyPair().privateKey);' >"$1"
  chmod 600 "$1"
  DIRSYNC_GATEWAY_PRIVATE_KEY="$(cat "$1")"
  DIRSYNC_GATEWAY_PUBLIC_KEY="$(node --input-type=module -e '
    import { gatewayPublicKeyOf } from "./services/kit/dist/auth/index.js";
    process.stdout.write(gatewayPublicKeyOf(process.argv[1]));' "$DIRSYNC_GATEWAY_PRIVATE_KEY")"
  export DIRSYNC_GATEWAY_PRIVATE_KEY DIRSYNC_GATEWAY_PUBLIC_KEY
}

# The auth service writes the first owner key to STACK_OWNER_KEY_FILE only on a database with no
# API key at all (under an advisory lock, so two replicas never both create one). Exports
# STACK_OWNER_KEY_ORIGIN: `kept` (the file was there), `created` (a first start: auth wrote it),
# or `issued`: the database already has keys but the file is gone (a fresh clone against an
# existing database) — then the scripts issue an owner key of their own with the break-glass CLI
# and say so on stderr, never passing it off as the first key.
stack_ensure_owner_key() { # had_key (1 when the file existed before auth started)
  if [ -s "$STACK_OWNER_KEY_FILE" ]; then
    if [ "${1:-1}" = 1 ]; then STACK_OWNER_KEY_ORIGIN=kept; else STACK_OWNER_KEY_ORIGIN=created; fi
    export STACK_OWNER_KEY_ORIGIN
    return 0
  fi
  (umask 077 && node services/auth/dist/cli.js issue-owner-key "owner key ($(basename "$STACK_OWNER_KEY_FILE"), issued by the scripts)" >"$STACK_OWNER_KEY_FILE")
  export STACK_OWNER_KEY_ORIGIN=issued
  cat >&2 <<MSG
dirsync: the database ($(printf '%s' "${DATABASE_URL:-}" | sed -E 's#//[^@/]*@#//#')) already has API keys, so no first
  owner key was created, and $STACK_OWNER_KEY_FILE is missing. The scripts issued an
  additional owner key into that file (break-glass: node services/auth/dist/cli.js
  issue-owner-key <name>). List keys with \`dirsync keys list\`, revoke old ones with
  \`dirsync keys revoke <id>\`; create others with \`dirsync keys create\`.
MSG
}
