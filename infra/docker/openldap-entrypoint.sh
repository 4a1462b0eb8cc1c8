#!/usr/bin/env bash
# Entry point of the `openldap` image (infra/Dockerfile, target openldap): the same slapd the
# demo runs locally (infra/scripts/lib.sh start_slapd: mdb, memberof, refint, syncprov), loaded
# with slapadd -q from $DIRSYNC_LDIF (default infra/demo/demo.ldif) at every container start,
# listening on 0.0.0.0:$DIRSYNC_LDAP_PORT (default 389). Rootdn cn=admin,dc=example,dc=org,
# password $DIRSYNC_DEMO_LDAP_PASSWORD (default admin-secret).
set -euo pipefail
cd "${DIRSYNC_APP_DIR:-/app}"
export DIRSYNC_SLAPD_HOST=0.0.0.0 DIRSYNC_DATA_DIR=${DIRSYNC_DATA_DIR:-/var/lib/dirsync}
source infra/scripts/lib.sh
rm -f "$DIRSYNC_DATA_DIR/slapd-demo/slapd.pid" # a pid from a previous container life means nothing
start_slapd demo "${DIRSYNC_LDAP_PORT:-389}" "${DIRSYNC_LDIF:-infra/demo/demo.ldif}"
pid=$(cat "$DIRSYNC_DATA_DIR/slapd-demo/slapd.pid")
# slapd logs to this file; show it as the container's output
tail -n +1 -F "$DIRSYNC_DATA_DIR/slapd-demo/slapd.log" &
tail_pid=$!
trap 'stop_slapd demo; kill "$tail_pid" 2>/dev/null; exit 0' TERM INT
while kill -0 "$pid" 2>/dev/null; do
  sleep 1 &
  wait $! || true
done
kill "$tail_pid" 2>/dev/null || true
echo "slapd exited" >&2
exit 1
