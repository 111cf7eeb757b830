#!/usr/bin/env bash
# Run PROCESSES app processes behind nginx on loopback, all sharing one cookie secret:
#   bash deploy/run_balanced.sh [PORT] [PROCESSES]      (defaults: 8500, 2)
# The app processes listen on PORT+1, PORT+2, ...; nginx on PORT. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-8500}
processes=${2:-2}
address=${ADDRESS:-127.0.0.1}
python=${PYTHON:-.venv/bin/python}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
secret=${STREAMLIT_COOKIE_SECRET:-$("$python" -c "import secrets; print(secrets.token_hex(32))")}
rundir=$(mktemp -d)
pids=()
cleanup() {
    [ -f "$rundir/nginx.pid" ] && kill "$(cat "$rundir/nginx.pid")" 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$rundir"
}
trap cleanup EXIT INT TERM

upstreams=""
for i in $(seq 1 "$processes"); do
    app_port=$((port + i))
    STREAMLIT_SERVER_COOKIE_SECRET="$secret" "$python" -m streamlit run streamlit_app.py \
        --server.address 127.0.0.1 --server.port "$app_port" --server.headless true > "$rundir/app$i.log" 2>&1 &
    pids+=($!)
    upstreams+="        server 127.0.0.1:$app_port;"$'\n'
done
for i in $(seq 1 "$processes"); do
    until "$python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "http://127.0.0.1:$((port + i))/_stcore/health" 2>/dev/null; do sleep 0.2; done
done
sed -e "s|@RUNDIR@|$rundir|g" -e "s|@ADDRESS@|$address|g" -e "s|@PORT@|$port|g" deploy/nginx.conf.template \
    | awk -v upstreams="$upstreams" '{ if ($0 == "@UPSTREAMS@") printf "%s", upstreams; else print }' > "$rundir/nginx.conf"
"$nginx" -c "$rundir/nginx.conf" -p "$rundir" -g "daemon off;" &
pids+=($!)
echo "serving on http://$address:$port/ with $processes app processes (logs in $rundir)"
wait
