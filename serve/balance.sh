#!/bin/bash
# balance.sh - nginx balancing over several hosts that serve the detector
# (each running serve/run.sh or nginx.conf.in's server block), without root,
# from serve/nginx-balancer.conf.in.
#
#   serve/balance.sh [run|start|stop] [--port N] [--listen ADDR] [--dir DIR]
#                    --backend HOST:PORT [--backend HOST:PORT ...]
#
#   run    (default) balances in the foreground until Ctrl-C
#   start  starts in the background; returns once the balancer answers
#   stop   stops what `start` started with the same --dir
#
# --port     port to listen on (default 8090)
# --listen   address to listen on (default 127.0.0.1; 0.0.0.0 for all)
# --dir      pid file, logs, nginx temp dirs (default build/balance)
# --backend  a backend's address; give one per host
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

root=$(cd "$(dirname "$0")/.." && pwd)
mode=run
port=8090
listen=127.0.0.1
dir="$root/build/balance"
backends=()

case "${1:-}" in
run|start|stop) mode=$1; shift ;;
esac
while [ $# -gt 0 ]; do
    case "$1" in
    --port) port=$2; shift 2 ;;
    --listen) listen=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --backend) backends+=("$2"); shift 2 ;;
    *) echo "usage: serve/balance.sh [run|start|stop] [--port N] [--listen ADDR] [--dir DIR] --backend HOST:PORT ..." >&2
       exit 2 ;;
    esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# nginx runs in its own process group, so stopping it stops its workers.
. "$root/serve/process_group.sh"
stop_balancer() { stop_group "$dir" nginx; }

if [ "$mode" = stop ]; then
    stop_balancer
    exit 0
fi
[ ${#backends[@]} -gt 0 ] || { echo "balance: no --backend given" >&2; exit 2; }
for tool in nginx curl; do
    command -v "$tool" >/dev/null || {
        echo "balance: $tool is not installed (scripts/install-deps.sh installs it)" >&2
        exit 1
    }
done

stop_balancer # leftovers of an earlier run in the same directory
mkdir -p "$dir"/{client_body,proxy,fastcgi,uwsgi,scgi}
servers=
for b in "${backends[@]}"; do
    servers="${servers}server $b max_fails=1 fail_timeout=10s; "
done
sed -e "s|@RUN@|$dir|g" -e "s|@LISTEN@|$listen:$port|g" -e "s|@BACKENDS@|$servers|g" \
    "$root/serve/nginx-balancer.conf.in" > "$dir/nginx.conf"
# as in run.sh: root's nginx would run its workers as nobody
if [ "$(id -u)" -eq 0 ]; then
    sed -i '1i user root root;' "$dir/nginx.conf"
fi
setsid nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
    </dev/null >>"$dir/nginx.log" 2>&1 &
echo $! > "$dir/nginx.group"

host=$listen
[ "$host" = 0.0.0.0 ] && host=127.0.0.1
url="http://$host:$port/"
for _ in $(seq 100); do
    curl -s -o /dev/null "$url" && break
    if ! kill -0 "$(cat "$dir/nginx.group")" 2>/dev/null; then
        echo "balance: nginx did not start:" >&2
        tail -n 5 "$dir/error.log" "$dir/nginx.log" >&2 2>/dev/null || true
        stop_balancer
        exit 1
    fi
    sleep 0.1
done

if [ "$mode" = start ]; then
    echo "balancing $url over ${backends[*]} (logs in $dir)"
    exit 0
fi
trap 'stop_balancer; exit 0' INT TERM
trap stop_balancer EXIT
echo "balancing $url over ${backends[*]} (logs in $dir); Ctrl-C stops"
wait
