#!/usr/bin/env python3
"""Draw a `blueprint --timings` trace (Chrome trace-event JSON) as an SVG
timeline: one row per track (the run's phases, then each node in the order it
started), one bar per span, coloured by category.

    scripts/trace-svg.py trace.json > docs/seed-apply-trace.svg
"""
import html
import json
import sys

COLOURS = {
    "phase": "#7fb77e",      # evaluate, check, plan, apply
    "wait": "#d9d9d9",       # dependencies, a slot, the rate budget
    "operation": "#6b9bd1",  # create, update, delete
    "api": "#e8923a",        # one API call (an attempt)
}
ROW, LABEL, WIDTH = 18, 260, 1100


def main(path):
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    spans = [e for e in events if e.get("ph") == "X"]
    if not spans:
        sys.exit("no spans in the trace")
    end = max(e["ts"] + e["dur"] for e in spans)
    start = min(e["ts"] for e in spans)
    scale = (WIDTH - LABEL - 20) / max(end - start, 1)
    tids = sorted(names)
    height = ROW * (len(tids) + 2) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="Helvetica" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>']
    for row, tid in enumerate(tids):
        y = 10 + row * ROW
        out.append(f'<text x="4" y="{y + 12}">{html.escape(names[tid])}</text>')
        # Longer spans first, so calls sit on top of the operation holding them.
        for e in sorted((e for e in spans if e["tid"] == tid), key=lambda e: -e["dur"]):
            x = LABEL + (e["ts"] - start) * scale
            w = max(e["dur"] * scale, 1)
            inset = 4 if e["cat"] == "api" else 1
            title = f'{e["name"]}: {e["dur"] / 1000:.0f} ms'
            out.append(f'<rect x="{x:.1f}" y="{y + inset}" width="{w:.1f}" height="{ROW - 2 * inset}" '
                       f'fill="{COLOURS.get(e["cat"], "#999")}"><title>{html.escape(title)}</title></rect>')
    y = 10 + len(tids) * ROW + 12
    seconds = (end - start) / 1e6
    for tick in range(0, int(seconds) + 1):
        x = LABEL + tick * 1e6 * scale
        out.append(f'<line x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{y - 10}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{y}" text-anchor="middle">{tick} s</text>')
    x = LABEL
    for category, colour in COLOURS.items():
        out.append(f'<rect x="{x}" y="{y + 8}" width="12" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{y + 17}">{category}</text>')
        x += 110
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
