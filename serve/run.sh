#!/bin/bash
# run.sh - serves the pneumonia detector with nginx + fcgiwrap from the
# working tree (or an installed tree: --www, --cgi, --model), without root:
# www/ as static files, cgi-bin/predict as CGI.
#
#   serve/run.sh [run|start|stop] [--port N] [--dir DIR] [--model FILE]
#                [--threads N] [--workers N] [--www DIR] [--cgi PROGRAM]
#
#   run    (default, `make serve`) serves in the foreground until Ctrl-C
#   start  starts in the background; returns once the server answers
#   stop   stops what `start` started with the same --dir
#
# --port     port on 127.0.0.1 (default 8080)
# --dir      pid files, logs, fcgiwrap socket, nginx temp dirs (default
#            build/serve)
# --model    model file (default $PNEUMONIA_MODEL, else
#            weights/pneumonia.safetensors)
# --threads  threads per request (default 1: requests run side by side)
# --workers  fcgiwrap processes, i.e. requests served at once (default 2)
# --www      the upload page's directory (default www/; installed:
#            PREFIX/share/pneumonia-detection/www)
# --cgi      the CGI program (default cgi-bin/predict; installed:
#            PREFIX/lib/pneumonia-detection/cgi-bin/predict; the load test
#            serves a copy so that a rebuild during the run cannot disturb it)
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

root=$(cd "$(dirname "$0")/.." && pwd)
mode=run
port=8080
dir="$root/build/serve"
model="${PNEUMONIA_MODEL:-$root/weights/pneumonia.safetensors}"
threads=1
workers=2
www="$root/www"
cgi="$root/cgi-bin/predict"

case "${1:-}" in
run|start|stop) mode=$1; shift ;;
esac
while [ $# -gt 0 ]; do
    case "$1" in
    --port) port=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --www) www=$2; shift 2 ;;
    --cgi) cgi=$2; shift 2 ;;
    *) echo "usage: serve/run.sh [run|start|stop] [--port N] [--dir DIR] [--model FILE] [--threads N] [--workers N] [--www DIR] [--cgi PROGRAM]" >&2
       exit 2 ;;
    esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
model=$(realpath -m "$model")
www=$(realpath -m "$www")
cgi=$(realpath -m "$cgi")

# Each server runs in its own process group (process_group.sh).
. "$root/serve/process_group.sh"
stop_servers() {
    stop_group "$dir" nginx
    stop_group "$dir" fcgiwrap
    rm -f "$dir/fcgiwrap.sock"
}

if [ "$mode" = stop ]; then
    stop_servers
    exit 0
fi

for tool in nginx fcgiwrap curl; do
    command -v "$tool" >/dev/null || {
        echo "serve: $tool is not installed (scripts/install-deps.sh installs it)" >&2
        exit 1
    }
done
[ -x "$cgi" ] || { echo "serve: no $cgi: build first (make)" >&2; exit 1; }
[ -f "$www/index.html" ] || { echo "serve: no upload page in $www" >&2; exit 1; }
[ -f "$model" ] || echo "serve: warning: no model at $model (train one, or make" \
    "a random one with tools/make_model); requests will get 500" >&2

stop_servers # leftovers of an earlier run in the same directory
mkdir -p "$dir"/{client_body,fastcgi,proxy,uwsgi,scgi}
sed -e "s|@WWW@|$www|g" -e "s|@RUN@|$dir|g" -e "s|@LISTEN@|127.0.0.1:$port|g" \
    -e "s|@MODEL@|$model|g" -e "s|@THREADS@|$threads|g" -e "s|@CGI@|$cgi|g" \
    "$root/serve/nginx.conf.in" > "$dir/nginx.conf"
# Started by root, nginx would run its workers as nobody, who may not be
# able to read the working tree (or reach the socket): this local server
# keeps one user for everything instead.
if [ "$(id -u)" -eq 0 ]; then
    sed -i '1i user root root;' "$dir/nginx.conf"
fi

# fcgiwrap: -f passes the CGI's stderr to nginx's error log; -p allows only
# the predict program.
(exec setsid fcgiwrap -f -c "$workers" -p "$cgi" \
    -s "unix:$dir/fcgiwrap.sock" </dev/null >>"$dir/fcgiwrap.log" 2>&1) &
echo $! > "$dir/fcgiwrap.group"
setsid nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
    </dev/null >>"$dir/nginx.log" 2>&1 &
echo $! > "$dir/nginx.group"

url="http://127.0.0.1:$port/"
for _ in $(seq 100); do
    if curl -fs -o /dev/null "$url" && [ -S "$dir/fcgiwrap.sock" ]; then
        break
    fi
    if ! kill -0 "$(cat "$dir/nginx.group")" 2>/dev/null; then
        echo "serve: nginx did not start:" >&2
        tail -n 5 "$dir/error.log" "$dir/nginx.log" >&2 2>/dev/null || true
        stop_servers
        exit 1
    fi
    sleep 0.1
done
curl -fs -o /dev/null "$url" || { echo "serve: no answer at $url" >&2; stop_servers; exit 1; }

if [ "$mode" = start ]; then
    echo "serving $url (logs in $dir)"
    exit 0
fi
trap 'stop_servers; exit 0' INT TERM
trap stop_servers EXIT
echo "serving $url with model $model (logs in $dir); Ctrl-C stops"
wait
