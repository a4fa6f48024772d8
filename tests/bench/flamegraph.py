#!/usr/bin/env python3
"""flamegraph.py: folded stacks in, a flame graph (SVG) out.

The input is the folded format ("frame;frame;frame COUNT" per line) that
Debian's linux-perf writes with its stackcollapse script (perf script -s
.../stackcollapse.py); tests/bench/bench.py (PROFILE=1) calls render().
Neither Debian bookworm nor npm has a maintained SVG renderer for it
(tests/bench/README.md), so this draws the classic layout itself: one box
per frame, as wide as its share of the samples, callers below callees,
siblings sorted by name, frames narrower than 0.1 px left out. Hovering a
box shows its name, sample count and share (an SVG <title>; no script).

    flamegraph.py IN.folded OUT.svg [TITLE]
"""
import hashlib
import html
import sys

WIDTH = 1200
FRAME_H = 16
PAD_TOP = 34
PAD_BOTTOM = 8
CHAR_W = 6.6  # 11 px monospace


def parse(lines):
    """The call tree: {"name", "value", "children": {name: node}}."""
    root = {"name": "all", "value": 0, "children": {}}
    for line in lines:
        line = line.rstrip("\n")
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        node = root
        node["value"] += n
        for frame in stack.split(";"):
            child = node["children"].get(frame)
            if child is None:
                child = node["children"][frame] = {
                    "name": frame, "value": 0, "children": {}}
            child["value"] += n
            node = child
    return root


def depth(node):
    return 1 + max((depth(c) for c in node["children"].values()), default=0)


def color(name):
    """Warm colours, the same for the same name in every graph."""
    h = hashlib.md5(name.encode()).digest()
    if name.endswith("_[k]") or name.startswith(("entry_SYSCALL", "do_sys",
                                                  "__x64_sys", "__sys_")):
        return "rgb(%d,%d,%d)" % (200 + h[0] % 40, 120 + h[1] % 60, 60)
    return "rgb(%d,%d,%d)" % (205 + h[0] % 50, h[1] % 200, h[2] % 55)


def render(lines, title="flame graph"):
    root = parse(lines)
    total = root["value"]
    levels = depth(root)
    height = PAD_TOP + levels * FRAME_H + PAD_BOTTOM
    out = ['<?xml version="1.0" standalone="no"?>',
           '<svg version="1.1" xmlns="http://www.w3.org/2000/svg" '
           'width="%d" height="%d" viewBox="0 0 %d %d">' % (
               WIDTH, height, WIDTH, height),
           '<style>text { font-family: monospace; font-size: 11px; '
           'fill: #000; } rect:hover { stroke: #000; }</style>',
           '<rect x="0" y="0" width="100%%" height="100%%" fill="#f8f8f0"/>',
           '<text x="%d" y="20" text-anchor="middle" '
           'style="font-size: 14px">%s (%d samples)</text>' % (
               WIDTH // 2, html.escape(title), total)]
    if total == 0:
        out.append('<text x="10" y="%d">no samples</text>' % (PAD_TOP + 12))
        out.append("</svg>")
        return "\n".join(out) + "\n"
    scale = (WIDTH - 20) / total

    def draw(node, x, level):
        w = node["value"] * scale
        if w < 0.1:
            return
        y = height - PAD_BOTTOM - (level + 1) * FRAME_H
        name = node["name"]
        tip = "%s (%d samples, %.2f%%)" % (name, node["value"],
                                           100.0 * node["value"] / total)
        out.append('<g><title>%s</title><rect x="%.1f" y="%d" width="%.1f" '
                   'height="%d" fill="%s" rx="2"/>' % (
                       html.escape(tip), x, y, w, FRAME_H - 1,
                       color(name) if level else "rgb(200,200,200)"))
        chars = int((w - 6) / CHAR_W)
        if chars >= 3:
            label = name if len(name) <= chars else name[:chars - 2] + ".."
            out.append('<text x="%.1f" y="%d">%s</text>' % (
                x + 3, y + FRAME_H - 4, html.escape(label)))
        out.append("</g>")
        cx = x
        for c in sorted(node["children"].values(), key=lambda n: n["name"]):
            draw(c, cx, level + 1)
            cx += c["value"] * scale

    draw(root, 10.0, 0)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        svg = render(f, argv[3] if len(argv) == 4 else argv[1])
    with open(argv[2], "w") as f:
        f.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
