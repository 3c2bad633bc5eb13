# process_group.sh - sourced by serve/run.sh and serve/balance.sh: each
# server they start runs in its own process group (setsid) whose leader's
# pid is in DIR/NAME.group, so stopping the group also stops its children
# (nginx workers, fcgiwrap's preforked processes, a CGI still running).

# stop_group DIR NAME: TERM, up to 5 s to exit, then KILL; forgets the group.
stop_group() {
    local dir=$1 name=$2 pid
    [ -f "$dir/$name.group" ] || return 0
    pid=$(cat "$dir/$name.group")
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$dir/$name.group"
}
