"""Turns the wrk outputs of tests/bench/run into one Markdown table.

Usage: report.py <dir> <name>... ; each <dir>/<name>.<round>.wrk is wrk's
output (run with --latency) for one round and <dir>/<name>.label the row
label. Each figure is the median over rounds. The first name is the
baseline every ratio is divided by.
"""
import pathlib
import re
import statistics
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def millis(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def parse(path):
    text = path.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    return {
        "rps": rps,
        "p50": millis(pct["50"]),
        "p99": millis(pct["99"]),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(0) if errors else "",
    }


def medians(root, name):
    runs = [parse(path) for path in sorted(root.glob(f"{name}.*.wrk"))]
    if not runs:
        sys.exit(f"no wrk output for {name}")
    merged = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
    merged["non2xx"] = sum(r["non2xx"] for r in runs)
    merged["errors"] = "; ".join(r["errors"] for r in runs if r["errors"])
    return merged


def main():
    root = pathlib.Path(sys.argv[1])
    names = sys.argv[2:]
    rows = [(n, (root / f"{n}.label").read_text().strip(), medians(root, n)) for n in names]
    base = rows[0][2]
    print("| endpoint | rps | p50 ms | p99 ms | × hello rps | p99 ÷ hello p99 |")
    print("|---|---:|---:|---:|---:|---:|")
    for _, label, r in rows:
        print(
            f"| {label} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
            f"| {r['rps'] / base['rps']:.2f} | {r['p99'] / base['p99']:.2f} |"
        )
    for name, label, r in rows:
        if r["errors"]:
            print(f"\nwarning: {label}: {r['errors']}", file=sys.stderr)


if __name__ == "__main__":
    main()
