#!/usr/bin/python3
"""The visual report (issue 14): `--html` and `--svg-dir` of `binary`,
`multiclass`, `multilabel` and `demo`.

Usage: /usr/bin/python3 tests/report_html.py --cli build/clmetrics
       /usr/bin/python3 tests/report_html.py --cli build/clmetrics --screenshot

Every page and SVG must parse as XML (Python's xml.etree, and xmllint where
installed): the page is XHTML-compatible markup. The checks compare what the
page shows with the JSON report of the same run (values as the page rounds
them, to 4 decimals), look for each expected figure, for escaped class
names, for the notes that name missing data, and hold K = 1000 and
L = 10^4 pages to the stated size bound (CLI_REPORT_MAX_BYTES, 2 MiB).

--screenshot renders the binary page in headless Chromium and checks the
PNG (decoded here with zlib) is not blank; exit 77 (skipped) only when no
`chromium` is installed.
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

try:
    import numpy as np
except ImportError:  # CI installs it (python3-numpy)
    print("SKIP: NumPy is not installed")
    sys.exit(77)

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
MAX_BYTES = 2 << 20  # CLI_REPORT_MAX_BYTES
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def run(cli, *args, expect=0):
    p = subprocess.run([cli, *args], capture_output=True, text=True,
                       timeout=900)
    if p.returncode != expect:
        FAILURES.append("%s: exit %d, expected %d\n%s" %
                        (" ".join(args), p.returncode, expect, p.stderr))
        print("FAIL:", FAILURES[-1])
    return p


def parse_xml(path):
    """Parses with xml.etree (and xmllint when installed); the root."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        check(False, "%s does not parse as XML: %s" % (path, e))
        return None
    if shutil.which("xmllint"):
        p = subprocess.run(["xmllint", "--noout", path], capture_output=True,
                           text=True)
        check(p.returncode == 0, "xmllint %s: %s" % (path, p.stderr))
    return root


def page_text(root):
    return " ".join(t.strip() for t in root.itertext() if t.strip())


def svgs_of(root):
    return root.findall(".//" + SVG + "svg")


def svg_titles(root):
    return [s.find(SVG + "title").text for s in svgs_of(root)]


def table_rows(root):
    t = root.find(".//" + XHTML + "table[@class='sortable']")
    return t.find(XHTML + "tbody").findall(XHTML + "tr") if t is not None \
        else []


def check_page(path, json_report, figures, svg_dir=None, size_bound=True):
    """Common checks: parses, one <svg> per figure, files in svg_dir."""
    root = parse_xml(path)
    if root is None:
        return None, ""
    check(root.tag == XHTML + "html", "%s: root is %s" % (path, root.tag))
    size = os.path.getsize(path)
    if size_bound:
        check(size <= MAX_BYTES, "%s: %d bytes > %d" % (path, size, MAX_BYTES))
    n_svg = len(svgs_of(root))
    check(n_svg == len(figures),
          "%s: %d <svg> elements, expected %d (%s)" %
          (path, n_svg, len(figures), figures))
    if svg_dir:
        files = sorted(os.listdir(svg_dir))
        check(files == sorted(figures),
              "%s holds %s, expected %s" % (svg_dir, files, sorted(figures)))
        mode = os.stat(svg_dir).st_mode & 0o777
        check(mode == 0o755, "%s has mode %o" % (svg_dir, mode))
        for f in files:
            r = parse_xml(os.path.join(svg_dir, f))
            check(r is not None and r.tag == SVG + "svg",
                  "%s/%s is not an <svg>" % (svg_dir, f))
    text = page_text(root)
    return root, text


def r4(v):
    return "%.4f" % v


def binary_cases(cli, d):
    rng = np.random.default_rng(14)
    n = 4000
    y = (rng.random(n) < 0.3).astype(np.uint8)
    z = (np.where(y == 1, 1.2, -1.2) + rng.normal(0, 1.6, n)).astype(
        np.float32)
    p = 1 / (1 + np.exp(-z.astype(np.float64)))
    w = rng.random(n).astype(np.float32) * 2
    for name, arr in (("y", y), ("z", z), ("p", p), ("w", w)):
        np.save(os.path.join(d, name + ".npy"), arr)
    Y, Z, P, W = (os.path.join(d, x + ".npy") for x in "yzpw")
    all_figs = ["confusion.svg", "roc.svg", "pr.svg", "threshold.svg",
                "reliability.svg", "histogram.svg"]

    # Logits: every figure, numbers as the JSON has them.
    html, sd = os.path.join(d, "b.html"), os.path.join(d, "b-svg", "deep")
    out = run(cli, "binary", "--labels", Y, "--scores", Z, "--html", html,
              "--svg-dir", sd, "--json")
    js = json.loads(out.stdout)
    root, text = check_page(html, js, all_figs, sd)
    if root is not None:
        check("AUC " + r4(js["roc_auc"]) in text,
              "binary: legend lacks AUC %s" % r4(js["roc_auc"]))
        check("AP " + r4(js["average_precision"]) in text,
              "binary: legend lacks AP")
        check("ECE " + r4(js["calibration"]["ece"]) in text,
              "binary: reliability title lacks the ECE")
        for key in ("accuracy", "f1", "mcc", "roc_auc"):
            check(r4(js[key]) in text, "binary: card %s missing" % key)
        check(Y in text and Z in text, "binary: input paths missing")
        check(js["device"]["name"] in text, "binary: device missing")
        check("logits" in text and "\u03c3(t)" in text,
              "binary: the sweep does not say it shows sigma(t)")
        check("best F1" in text, "binary: best F1 not marked")
        check(len(table_rows(root)) == 2, "binary: table rows")
        # The confusion counts are in the heatmap's cells.
        c = js["confusion"]
        for k in ("tp", "fp", "tn", "fn"):
            check(str(c[k]) in text, "binary: count %s missing" % k)
        # An inline script, inside a commented CDATA section.
        raw = open(html, encoding="utf-8").read()
        check("//<![CDATA[" in raw and "//]]>" in raw,
              "binary: script not CDATA-safe")
        check("http://" not in raw.replace("http://www.w3.org/", ""),
              "binary: the page refers to another site")

    # Probabilities (float64), weighted.
    html = os.path.join(d, "bw.html")
    out = run(cli, "binary", "--labels", Y, "--scores", P, "--scores-kind",
              "probs", "--weights", W, "--html", html, "--json")
    js = json.loads(out.stdout)
    root, text = check_page(html, js, all_figs)
    if root is not None:
        check("AUC " + r4(js["roc_auc"]) in text, "weighted: AUC")
        check("weighted" in text, "weighted: not said")
        check("\u03c3(t)" not in text, "probs: the axis must not say sigma")

    # --no-ranking: what is missing is named, nothing else drawn.
    html, sd = os.path.join(d, "bn.html"), os.path.join(d, "bn-svg")
    out = run(cli, "binary", "--labels", Y, "--scores", Z, "--no-ranking",
              "--html", html, "--svg-dir", sd, "--json")
    root, text = check_page(html, None,
                            ["confusion.svg", "reliability.svg",
                             "histogram.svg"], sd)
    if root is not None:
        check("Not shown" in text and "--no-ranking" in text,
              "no-ranking: the page does not say what is missing")
    html = os.path.join(d, "bc.html")
    run(cli, "binary", "--labels", Y, "--scores", Z, "--no-calibration",
        "--html", html)
    root, text = check_page(html, None, ["confusion.svg", "roc.svg", "pr.svg",
                                         "threshold.svg"])
    if root is not None:
        check("--no-calibration" in text, "no-calibration: not named")

    # Refusals: an input as the page or as a figure; a failed write leaves
    # nothing behind.
    before = open(Y, "rb").read()
    run(cli, "binary", "--labels", Y, "--scores", Z, "--html", Y, expect=2)
    check(open(Y, "rb").read() == before, "--html onto an input changed it")
    trap = os.path.join(d, "trap")
    os.mkdir(trap)
    shutil.copy(Z, os.path.join(trap, "roc.svg"))
    run(cli, "binary", "--labels", Y, "--scores",
        os.path.join(trap, "roc.svg"), "--svg-dir", trap, expect=2)
    run(cli, "binary", "--labels", Y, "--scores", Z, "--html",
        os.path.join(d, "no", "such", "dir.html"), expect=1)
    leftovers = [f for f in os.listdir(d) if f.startswith(".clm-")]
    check(not leftovers, "temporary files left: %s" % leftovers)
    run(cli, "binary", "--labels", Y, "--scores", Z, "--html", expect=2)
    # A page and the help.
    h = run(cli, "binary", "--help").stdout
    check("--html" in h and "--svg-dir" in h, "binary --help lacks --html")


def multiclass_cases(cli, d):
    rng = np.random.default_rng(15)
    n, k = 3000, 3
    y = rng.integers(0, k, n)
    s = rng.normal(0, 1, (n, k)).astype(np.float32)
    s[np.arange(n), y] += 1.4
    np.save(os.path.join(d, "yc.npy"), y.astype(np.int64))
    np.save(os.path.join(d, "sc.npy"), s)
    names = ["cat <&>", "\"dog's\"", "]]> bird"]
    with open(os.path.join(d, "names.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")
    Y, S = os.path.join(d, "yc.npy"), os.path.join(d, "sc.npy")
    html, sd = os.path.join(d, "m.html"), os.path.join(d, "m-svg")
    out = run(cli, "multiclass", "--labels", Y, "--scores", S, "--names",
              os.path.join(d, "names.txt"), "--html", html, "--svg-dir", sd,
              "--json")
    js = json.loads(out.stdout)
    figs = ["confusion.svg", "roc.svg", "pr.svg", "reliability.svg",
            "histogram.svg"]
    root, text = check_page(html, js, figs, sd)
    if root is not None:
        for nm in names:
            check(nm in text, "multiclass: name %r not shown" % nm)
        raw = open(html, encoding="utf-8").read()
        check("cat &lt;&amp;&gt;" in raw, "multiclass: name not escaped")
        check(r4(js["roc_auc"]["macro"]) in text, "multiclass: AUC macro")
        for c in js["per_class"]:
            check("AUC " + r4(c["roc_auc"]) in text,
                  "multiclass: class %d AUC" % c["label"])
        check(r4(js["accuracy"]) in text, "multiclass: accuracy")
        check(len(table_rows(root)) == 3, "multiclass: table rows")

    # --pred: no scores, so no curves or calibration, and the page says so.
    yp = np.argmax(s, axis=1)
    np.save(os.path.join(d, "yp.npy"), yp.astype(np.int32))
    html = os.path.join(d, "mp.html")
    run(cli, "multiclass", "--labels", Y, "--pred",
        os.path.join(d, "yp.npy"), "--html", html)
    root, text = check_page(html, None, ["confusion.svg"])
    if root is not None:
        check(text.count("Not shown") == 2 and "--scores" in text,
              "multiclass --pred: missing data not named")

    # K = 1000: the largest classes, the confused pairs, the size bound.
    n, k = 20000, 1000
    y = rng.integers(0, k, n)
    s = rng.normal(0, 1, (n, k)).astype(np.float32)
    s[np.arange(n), y] += 2.5
    np.save(os.path.join(d, "yk.npy"), y.astype(np.int32))
    np.save(os.path.join(d, "sk.npy"), s)
    Y, S = os.path.join(d, "yk.npy"), os.path.join(d, "sk.npy")
    html, sd = os.path.join(d, "mk.html"), os.path.join(d, "mk-svg")
    out = run(cli, "multiclass", "--labels", Y, "--scores", S, "--html", html,
              "--svg-dir", sd, "--json")
    js = json.loads(out.stdout)
    figs = ["confusion.svg", "confused-pairs.svg", "roc.svg", "pr.svg",
            "reliability.svg", "histogram.svg"]
    root, text = check_page(html, js, figs, sd)
    if root is not None:
        check("the 30 largest of 1000 classes" in text,
              "K=1000: heatmap title")
        check(len(table_rows(root)) == 200, "K=1000: table not capped")
        check("10 of 1000 classes" in text, "K=1000: curve subset not named")
        print("K = 1000 page: %d bytes" % os.path.getsize(html))
    html = os.path.join(d, "mkf.html")
    run(cli, "multiclass", "--labels", Y, "--scores", S, "--html", html,
        "--full", "--no-ranking", "--no-calibration")
    root, text = check_page(html, None, ["confusion.svg",
                                         "confused-pairs.svg"],
                            size_bound=False)
    if root is not None:
        check(len(table_rows(root)) == 1000, "--full: every class")


def multilabel_cases(cli, d):
    rng = np.random.default_rng(16)
    n, L = 1500, 5
    Y = (rng.random((n, L)) < 0.3).astype(np.uint8)
    S = (rng.normal(0, 1, (n, L)) + 1.5 * Y - 0.7).astype(np.float32)
    np.save(os.path.join(d, "yl.npy"), Y)
    np.save(os.path.join(d, "sl.npy"), S)
    with open(os.path.join(d, "lnames.txt"), "w", encoding="utf-8") as f:
        f.write("a<b\n'q'\nx & y\nfour\nfive\n")
    yl, sl = os.path.join(d, "yl.npy"), os.path.join(d, "sl.npy")
    html, sd = os.path.join(d, "l.html"), os.path.join(d, "l-svg")
    out = run(cli, "multilabel", "--labels", yl, "--scores", sl, "--names",
              os.path.join(d, "lnames.txt"), "--html", html, "--svg-dir", sd,
              "--json")
    js = json.loads(out.stdout)
    root, text = check_page(html, js, ["roc.svg", "pr.svg"], sd)
    if root is not None:
        check("micro average (AUC " + r4(js["roc_auc"]["micro"]) in text,
              "multilabel: micro AUC")
        for c in js["per_label"]:
            check("AUC " + r4(c["roc_auc"]) in text,
                  "multilabel: label %d AUC" % c["label"])
        check("a<b" in text and "x & y" in text, "multilabel: names")
        check("no calibration" in text, "multilabel: calibration not named")
        check(len(table_rows(root)) == 5, "multilabel: table rows")

    # L = 10^4 (small N): bounded page.
    n, L = 120, 10000
    Y = (rng.random((n, L)) < 0.05).astype(np.uint8)
    S = (rng.normal(0, 1, (n, L)) + 2 * Y - 1).astype(np.float32)
    np.save(os.path.join(d, "yL.npy"), Y)
    np.save(os.path.join(d, "sL.npy"), S)
    html = os.path.join(d, "lL.html")
    out = run(cli, "multilabel", "--labels", os.path.join(d, "yL.npy"),
              "--scores", os.path.join(d, "sL.npy"), "--html", html, "--json")
    js = json.loads(out.stdout)
    root, text = check_page(html, js, ["roc.svg", "pr.svg"])
    if root is not None:
        check(len(table_rows(root)) == 200, "L=10^4: table not capped")
        check("micro average (AUC " + r4(js["roc_auc"]["micro"]) in text,
              "L=10^4: micro AUC")
        print("L = 10^4 page: %d bytes" % os.path.getsize(html))
    h = run(cli, "multilabel", "--help").stdout
    check("--html" in h, "multilabel --help lacks --html")


def demo_case(cli, d):
    html = os.path.join(d, "demo.html")
    run(cli, "demo", "--n", "20000", "--html", html)
    check_page(html, None, ["confusion.svg", "roc.svg", "pr.svg",
                            "threshold.svg", "reliability.svg",
                            "histogram.svg"])


# ---- the screenshot ----------------------------------------------------

def merge_case(cli, d):
    """`merge --html`: the page of merged saved states, from the merged
    counts (no curves: the page says so) and the same numbers as the JSON."""
    rng = np.random.default_rng(15)
    n = 3000
    y = (rng.random(n) < 0.4).astype(np.uint8)
    z = (np.where(y == 1, 1.0, -1.0) + rng.normal(0, 1.5, n)).astype(
        np.float32)
    states = []
    for i in range(3):
        Y, Z = (os.path.join(d, "%s%d.npy" % (x, i)) for x in "yz")
        np.save(Y, y[i * 1000:(i + 1) * 1000])
        np.save(Z, z[i * 1000:(i + 1) * 1000])
        states.append(os.path.join(d, "s%d.state" % i))
        run(cli, "binary", "--labels", Y, "--scores", Z, "--save-state",
            states[-1])
    html, sd = os.path.join(d, "m.html"), os.path.join(d, "m-svg")
    out = run(cli, "merge", *states, "--html", html, "--svg-dir", sd,
              "--json")
    js = json.loads(out.stdout)
    root, text = check_page(html, js, ["confusion.svg", "reliability.svg",
                                       "histogram.svg"], sd)
    check("3 saved states" in text, "merged page does not name its states")
    check("Not shown" in text and "curve" in text,
          "merged page does not say the curves are missing")
    check(r4(js["accuracy"]) in text, "merged page lacks the accuracy")
    lo, hi = js["roc_auc_interval"]
    check("[%.6f, %.6f]" % (lo, hi) in text,
          "merged page lacks the ROC-AUC interval [%.6f, %.6f]" % (lo, hi))
    # The page never replaces a state file.
    run(cli, "merge", *states, "--html", states[0], expect=2)
    with open(states[0], "rb") as f:
        check(f.read(4) == b"CLMB", "a refused page replaced a state file")


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes, bytes per pixel) of an 8-bit
    RGB or RGBA PNG, decoded with zlib."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        typ, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and inter == 0, \
                "unexpected PNG format"
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        elif typ == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride, rows, prev, i = w * bpp, [], bytearray(w * bpp), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc
                                      else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows, bpp


def screenshot(cli, d):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("SKIP: chromium is not installed (CI installs it: "
              "scripts/setup.sh --tests)")
        return 77
    rng = np.random.default_rng(17)
    n = 3000
    y = (rng.random(n) < 0.4).astype(np.uint8)
    z = (np.where(y == 1, 1.0, -1.0) + rng.normal(0, 1.4, n)).astype(
        np.float32)
    np.save(os.path.join(d, "y.npy"), y)
    np.save(os.path.join(d, "z.npy"), z)
    html, png = os.path.join(d, "b.html"), os.path.join(d, "b.png")
    run(cli, "binary", "--labels", os.path.join(d, "y.npy"), "--scores",
        os.path.join(d, "z.npy"), "--html", html)
    p = subprocess.run([chromium, "--headless", "--no-sandbox",
                        "--disable-gpu", "--hide-scrollbars",
                        "--user-data-dir=" + os.path.join(d, "chromium"),
                        "--screenshot=" + png, "--window-size=1280,2000",
                        "file://" + html], capture_output=True, text=True,
                       timeout=120)
    check(p.returncode == 0 and os.path.exists(png),
          "chromium failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    if not os.path.exists(png):
        return 1
    w, h, rows, bpp = png_pixels(png)
    check((w, h) == (1280, 2000), "screenshot is %dx%d" % (w, h))
    ink, colors = 0, set()
    for r in rows[::4]:
        for x in range(0, w * bpp, 4 * bpp):
            px = r[x:x + 3]
            if px != b"\xff\xff\xff":
                ink += 1
            colors.add(px)
    total = len(rows[::4]) * len(range(0, w * bpp, 4 * bpp))
    print("screenshot: %.1f%% non-white, %d colors" % (100 * ink / total,
                                                      len(colors)))
    check(ink > 0.03 * total, "screenshot nearly blank: %d of %d pixels" %
          (ink, total))
    check(len(colors) > 30, "screenshot has only %d colors" % len(colors))
    # The palette's blue (ROC curve, heatmap) is on the screen.
    blues = sum(1 for c in colors if c[2] > 150 and c[0] < 80)
    check(blues > 0, "no blue curve or cell in the screenshot")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--screenshot", action="store_true")
    a = ap.parse_args()
    cli = os.path.abspath(a.cli)
    with tempfile.TemporaryDirectory(prefix="clm-report-") as d:
        if a.screenshot:
            rc = screenshot(cli, d)
            if rc == 77:
                return 77
        else:
            for case in (binary_cases, multiclass_cases, multilabel_cases,
                         demo_case, merge_case):
                sub = os.path.join(d, case.__name__)
                os.mkdir(sub)
                case(cli, sub)
    if FAILURES:
        print("%d failure(s)" % len(FAILURES))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
