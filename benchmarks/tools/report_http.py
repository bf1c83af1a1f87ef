"""Tables (console, Markdown) and the gnuplot chart for tools/bench-http results."""
import shutil
import subprocess
import tempfile
from pathlib import Path


def _f(v, fmt, none="-"):
    return none if v is None else format(v, fmt)


def _x(v):
    return "-" if v is None else f"{v:.2f}x"


def _setup_line(r):
    o = r["options"]
    return (f"server on CPUs {o['server_cpus']} ({o['workers']} worker(s)), wrk on CPUs "
            f"{o['client_cpus']} ({o['wrk_threads']} thread(s)); {o['rounds']} interleaved "
            f"round(s) of {o['duration']} s (+{o['warmup']} s warm-up) per cell; medians")


# (key in the result, label in tables, heading of the Markdown section)
RATIO_SETS = [
    ("ratios_kio_over_loop", "kio/loop", "kio / hand-written io_uring loop (benchmarks/uring_http)"),
    ("ratios_kio_over_tokio", "kio/tokio", "kio / Tokio"),
    ("ratios_kio_over_hyper", "kio/hyper", "kio / hyper 0.14"),
    ("ratios_kio_over_nginx", "kio/nginx", "kio / nginx"),
]


def _baseline_label(t):
    return {"tokio": "kio/tokio", "uring-loop": "kio/loop"}.get(t.get("baseline", "tokio"),
                                                               f"kio/{t.get('baseline')}")


def console_table(r):
    lines = [f"HTTP Hello, World! — {_setup_line(r)}",
             f"{'conns':>5} {'mode':<9} {'server':<11} {'req/s':>11} {'p50 ms':>8} {'p99 ms':>8} "
             f"{'errors':>7} {'CPU us/req':>10} {'user':>6} {'peak RSS MiB':>12}"]
    ratio_sets = [(label, {(q["connections"], q["mode"]): q for q in r.get(key) or []})
                  for key, label, _ in RATIO_SETS]

    def ratio_rows(key):
        return [_ratio_row(key, label, rs[key]) for label, rs in ratio_sets if key in rs]

    last = None
    for s in r["summary"]:
        key = (s["connections"], s["mode"])
        if last and key != last:
            lines += ratio_rows(last)
        last = key
        rss = s["peak_rss_kib"] / 1024 if s["peak_rss_kib"] else None
        lines.append(f"{s['connections']:>5} {s['mode']:<9} {s['server']:<11} {s['rps']:>11,.0f} "
                     f"{_f(s['p50_ms'], '8.2f'):>8} {_f(s['p99_ms'], '8.2f'):>8} {s['errors']:>7} "
                     f"{_f(s['cpu_us_per_req'], '10.2f'):>10} "
                     f"{_f(s.get('user_us_per_req'), '6.2f'):>6} {_f(rss, '12.1f'):>12}")
    if last:
        lines += ratio_rows(last)
    for t in r.get("targets", []):
        lines.append(f"target: {t['target']}: {_baseline_label(t)} {t['ratio']:.2f} — "
                     f"{'met' if t['met'] else 'NOT MET'}")
    for name, modes in r["syscalls"].items():
        for mode, s in modes.items():
            top = ", ".join(f"{k} {v:.2f}" for k, v in list(s["by_syscall_per_request"].items())[:6]
                            if k != "total")
            lines.append(f"syscalls/request  {name:<11} {mode:<9} {s['per_request']:.3f}  ({top})")
    for name, m in r["idle_memory"].items():
        bpc = m["bytes_per_connection"]
        lines.append(f"idle keep-alive   {name:<11} {m['still_open_at_measurement']} open: "
                     f"{_f(bpc, ',.0f')} bytes RSS per connection")
        if m.get("bytes_per_connection_after_burst") is not None:
            lines.append(f"after a burst     {name:<11} {m['still_open_after_burst']} open: "
                         f"{_f(m['bytes_per_connection_after_burst'], ',.0f')} bytes RSS per "
                         f"connection ({m['burst_requests']} pipelined requests each)")
    return "\n".join(lines)


def _ratio_row(key, label, q):
    return (f"{key[0]:>5} {key[1]:<9} {label:<11} {_x(q['rps']):>11} {_x(q['p50']):>8} "
            f"{_x(q['p99']):>8} {'':>7} {_x(q['cpu_per_req']):>10} "
            f"{_x(q.get('user_cpu_per_req')):>6} {_x(q['peak_rss']):>12}")


def markdown(r, chart):
    m, v, o = r["machine"], r["versions"], r["options"]
    names = {"tokio": "Tokio", "tokio-multi": "Tokio (multi-thread)",
             "uring-loop": "a hand-written io_uring loop", "hyper": "hyper 0.14", "nginx": "nginx"}
    others = [names.get(k, k) for k in r["servers"] if k != "kio"]
    vs = " and ".join([", ".join(others[:-1]), others[-1]] if len(others) > 1 else others)
    out = [f"# HTTP benchmark: kio tcp_demo{' vs ' + vs if vs else ''} — {r['date']}", ""]
    out += [f"![chart]({chart})", ""]
    out += ["## Machine", "",
            f"- CPU: {m['cpu']} ({m['cpus_online']} CPUs online, {m['virtualisation']})",
            f"- Memory: {m['memory_gib']} GiB; kernel {m['kernel']}; {m['os']}",
            f"- Load average when the run started: {m['loadavg_at_start']:.2f}",
            f"- kio {v.get('kio')} built with `{v.get('cxx')}` (meson release); "
            f"Tokio {v.get('tokio')} and hyper {v.get('hyper')} (Debian crates) with "
            f"`{v.get('rustc')}`; nginx-light {v.get('nginx')}; `{v.get('wrk')}`",
            f"- Setup: {_setup_line(r)}; client and server on the same machine over loopback.",
            ""]
    if r.get("noisy"):
        out += [f"**Warning:** other work was running on the machine (median 1-minute load "
                f"{r['median_loadavg_1m']:.1f}); absolute numbers are noisy, the interleaved "
                f"kio/Tokio and kio/loop ratios less so.", ""]
    out += ["## Medians", "",
            "| connections | mode | server | req/s | p50 ms | p99 ms | errors | server CPU µs/req "
            "| of which user µs/req | peak RSS MiB |",
            "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in r["summary"]:
        rss = s["peak_rss_kib"] / 1024 if s["peak_rss_kib"] else None
        out.append(f"| {s['connections']} | {s['mode']} | {s['server']} | {s['rps']:,.0f} | "
                   f"{_f(s['p50_ms'], '.2f')} | {_f(s['p99_ms'], '.2f')} | {s['errors']} | "
                   f"{_f(s['cpu_us_per_req'], '.2f')} | {_f(s.get('user_us_per_req'), '.2f')} | "
                   f"{_f(rss, '.1f')} |")
    for key, _, heading in RATIO_SETS:
        if not r.get(key):
            continue
        out += ["", f"## {heading}", "",
                "Above 1 is better for req/s; below 1 is better for latency, CPU and memory.", "",
                "| connections | mode | req/s | p50 | p99 | CPU per request | user CPU per request "
                "| peak RSS |",
                "|---:|---|---:|---:|---:|---:|---:|---:|"]
        for q in r[key]:
            out.append(f"| {q['connections']} | {q['mode']} | {_x(q['rps'])} | {_x(q['p50'])} | "
                       f"{_x(q['p99'])} | {_x(q['cpu_per_req'])} | "
                       f"{_x(q.get('user_cpu_per_req'))} | {_x(q['peak_rss'])} |")
    if r.get("targets"):
        out += ["", "## Targets", ""] + [
            f"- {t['target']} — {_baseline_label(t)} {t['ratio']:.2f}: "
            f"{'met' if t['met'] else '**not met**'}" for t in r["targets"]]
    if r["syscalls"]:
        out += ["", "## Syscalls per request", "",
                "| server | mode | connections | per request | largest contributors (per request) "
                "| method |", "|---|---|---:|---:|---|---|"]
        for name, modes in r["syscalls"].items():
            for mode, s in modes.items():
                top = ", ".join(f"{k} {val:.3f}" for k, val in
                                list(s["by_syscall_per_request"].items())[:7] if k != "total")
                out.append(f"| {name} | {mode} | {s['connections']} | {s['per_request']:.3f} | "
                           f"{top} | {s['method']} |")
    if r["idle_memory"]:
        out += ["", "## Memory per idle keep-alive connection", "",
                "After one request on each connection, and again after every connection sent a "
                "burst of pipelined requests (one write), read the responses and went idle.", "",
                "| server | connections open | RSS before KiB | RSS idle KiB | bytes per connection "
                "| burst | RSS after burst KiB | bytes per connection after burst |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, i in r["idle_memory"].items():
            out.append(f"| {name} | {i['still_open_at_measurement']} | {i['rss_before_kib']} | "
                       f"{i['rss_after_kib']} | {_f(i['bytes_per_connection'], ',.0f')} | "
                       f"{i.get('burst_requests', '-')} | {i.get('rss_after_burst_kib', '-')} | "
                       f"{_f(i.get('bytes_per_connection_after_burst'), ',.0f')} |")
    out += ["", "## Notes", "",
            "- Server CPU per request = (utime + stime of the server process during the wrk run, "
            "from /proc/PID/stat) / requests completed. On loopback the kernel's TCP work for both "
            "directions is charged partly to whichever process runs it, so it is comparable "
            "between servers measured the same way, not an absolute cost. The user part (utime) is "
            "the server's own code: what a runtime adds on top of the kernel's work.",
            "- p50/p99 come from `wrk --latency` and are reported for plain runs only: with "
            "pipelining wrk's coordinated-omission correction assumes one request per connection "
            "in flight and corrupts the percentiles.",
            "- Syscalls per request count the server's syscall entries (all threads) during one "
            "wrk run, divided by the requests completed. An io_uring operation is not a syscall: "
            "kio's count is the io_uring_enter calls that submit and reap batches of operations.",
            "- Every run starts a fresh server process; peak RSS is its VmHWM after the run "
            "(including the warm-up).",
            "- Idle memory: RSS growth of the server while `benchmarks/tools/idle_conns.py` holds "
            "the connections, each after one request; kernel socket memory is not included.",
            "- The hand-written loop (uring-loop, benchmarks/uring_http/uring_http.cpp) is raw "
            "liburing with the same shape as kio (pinned thread per worker, SO_REUSEPORT listener, "
            "SINGLE_ISSUER|DEFER_TASKRUN ring, multishot accept, multishot recv into a provided-"
            "buffer ring, one send per read) and only the request framing wrk needs; it is the "
            "floor for kio's CPU per request, not an HTTP server.",
            "- hyper (benchmarks/rust/hyper) is hyper 0.14's HTTP/1.1 server on current-thread "
            "Tokio runtimes (one per worker, SO_REUSEPORT listener each), with pipeline flushing "
            "on; its response has the same length as kio's but lower-case header names. nginx "
            "(benchmarks/nginx/hello.conf) runs one worker process with `return 200`; its "
            "response carries `Server: nginx` and `Connection: keep-alive` too (39 bytes more). "
            "nginx's CPU, RSS and idle memory are its worker process's.",
            f"- Servers: " + "; ".join(f"{k}: `{c}`" for k, c in r["servers"].items()),
            f"- Reproduce: `tools/bench-http --rounds {o['rounds']} --duration {o['duration']}`; "
            "raw runs are in the JSON file next to this one.", ""]
    return "\n".join(out)


def chart(r, png):
    """Grouped bars: req/s and server CPU per request, per scenario and server. Returns False
    (and says why) when gnuplot is missing or fails."""
    if not shutil.which("gnuplot"):
        print("note: gnuplot not found; no chart")
        return False
    servers = list(dict.fromkeys(s["server"] for s in r["summary"]))
    modes = list(dict.fromkeys(s["mode"] for s in r["summary"]))
    conns = list(dict.fromkeys(s["connections"] for s in r["summary"]))
    by = {(s["server"], s["connections"], s["mode"]): s for s in r["summary"]}
    o = r["options"]
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for mode in modes:
            dat = Path(tmp) / f"{mode}.dat"
            rows = []
            for c in conns:
                vals = []
                for key in ("rps", "cpu_us_per_req"):
                    for name in servers:
                        s = by.get((name, c, mode))
                        v = s.get(key) if s else None
                        vals.append("NaN" if v is None else
                                    f"{v / 1000:.3f}" if key == "rps" else f"{v:.3f}")
                rows.append(f'"{c}" ' + " ".join(vals))
            dat.write_text("\n".join(rows) + "\n")
            n = len(servers)
            what = (f"{o['pipeline']}-deep pipelining" if mode == "pipelined"
                    else "one request in flight per connection")
            rps = ", ".join(f"'{dat}' using {i + 2}:xtic(1) title '{name}'"
                            for i, name in enumerate(servers))
            cpu = ", ".join(f"'{dat}' using {n + i + 2}:xtic(1) title '{name}'"
                            for i, name in enumerate(servers))
            plots.append(f"set title '{mode} ({what}): thousand req/s, higher is better'\n"
                         f"plot {rps}\n"
                         f"set title '{mode}: server CPU µs per request, lower is better'\n"
                         f"plot {cpu}\n")
        script = f"""
set terminal pngcairo size 1300,{430 * len(modes) + 40} font 'DejaVu Sans,10'
set output '{png}'
set multiplot layout {len(modes)},2 title "Hello, World! over loopback: server {o['workers']} worker(s) on CPUs {o['server_cpus']}, wrk on CPUs {o['client_cpus']}; medians of {o['rounds']} round(s)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top vertical
set yrange [0:*]
set xlabel 'connections'
{"".join(plots)}
unset multiplot
"""
        p = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
        if p.returncode != 0:
            print(f"note: gnuplot failed, no chart:\n{p.stderr[-1500:]}")
            return False
    return True
