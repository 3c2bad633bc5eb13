#!/usr/bin/python3
"""ood_report.py - how a model and its input gate answer the out-of-
distribution set of test/gen_ood_set.py: runs `infer --json` on every image
of DIR/<category>/ and prints, per category, for the non-X-ray material
together, for the transformed X-rays (categories xray_*) together and for
all, how many images the gate refused (verdict NOT_A_CHEST_XRAY), the
rejection rate, and how many were called NORMAL and PNEUMONIA; then the same
as "key value" lines (e.g. `non_xray.rejection_rate 0.950000`) for scripts.

  /usr/bin/python3 test/ood_report.py DIR --infer build/opt/bin/infer
      [--model weights/pneumonia.safetensors] [--threads N]
  /usr/bin/python3 test/ood_report.py DIR --json RESULTS.jsonl

--json counts infer's output saved earlier (one JSON object per line)
instead of running infer. An object with "error" (an unreadable file) is
counted as an error, neither refused nor called. Exit status 1 when infer
could not run or did not answer for every image.
"""
import argparse
import json
import os
import subprocess
import sys

REFUSED = "NOT_A_CHEST_XRAY"
IMAGE_EXT = (".png", ".jpg", ".jpeg")
FIELDS = ("images", "refused", "normal", "pneumonia", "errors")


def list_images(root):
    files = []
    for cat in sorted(os.listdir(root)):
        folder = os.path.join(root, cat)
        if os.path.isdir(folder):
            files += [os.path.join(folder, f) for f in sorted(os.listdir(folder))
                      if f.lower().endswith(IMAGE_EXT)]
    return files


def run_infer(infer, model, threads, files):
    cmd = [infer, "--json"]
    if model:
        cmd += ["--model", model]
    if threads:
        cmd += ["--threads", str(threads)]
    p = subprocess.run(cmd + files, capture_output=True, text=True)
    # 0: all classified; 1: some file failed; 3: some refused by the gate
    if p.returncode not in (0, 1, 3):
        sys.stderr.write(p.stderr)
        sys.exit(f"ood_report: {infer} exited with status {p.returncode}")
    return p.stdout.splitlines()


def count(lines, files):
    """Per-category counts from infer's JSON lines."""
    by_file = {}
    for line in lines:
        if line.strip():
            o = json.loads(line)
            by_file[o["file"]] = o
    missing = [f for f in files if f not in by_file]
    if missing:
        sys.exit(f"ood_report: no answer for {len(missing)} images, e.g. {missing[0]}")
    stats = {}
    for f in files:
        o = by_file[f]
        cat = os.path.basename(os.path.dirname(f))
        s = stats.setdefault(cat, dict.fromkeys(FIELDS, 0))
        s["images"] += 1
        if "error" in o:
            s["errors"] += 1
        elif o.get("verdict") == REFUSED:
            s["refused"] += 1
        elif o.get("verdict") == "NORMAL":
            s["normal"] += 1
        elif o.get("verdict") == "PNEUMONIA":
            s["pneumonia"] += 1
        else:
            sys.exit(f"ood_report: unexpected answer for {f}: {o}")
    return stats


def total(stats, cats):
    t = dict.fromkeys(FIELDS, 0)
    for c in cats:
        for k in FIELDS:
            t[k] += stats[c][k]
    return t


def rate(s):
    return s["refused"] / s["images"] if s["images"] else float("nan")


def report(stats, title):
    cats = sorted(stats, key=lambda c: (c.startswith("xray_"), c))
    rows = [(c, stats[c]) for c in cats]
    groups = [("non_xray", "non-X-ray material",
               [c for c in cats if not c.startswith("xray_")]),
              ("xray_transformed", "transformed X-rays",
               [c for c in cats if c.startswith("xray_")]),
              ("all", "all", cats)]
    print(title)
    print(f"  {'category':<20} {'images':>6} {'refused':>7} {'rate':>6} "
          f"{'NORMAL':>7} {'PNEUMONIA':>9} {'errors':>6}")
    def line(name, s):
        print(f"  {name:<20} {s['images']:>6} {s['refused']:>7} {rate(s):>6.3f} "
              f"{s['normal']:>7} {s['pneumonia']:>9} {s['errors']:>6}")
    for c, s in rows:
        line(c, s)
    print()
    for key, name, members in groups:
        line(name, total(stats, members))
    print()
    for c, s in rows + [(key, total(stats, members)) for key, _, members in groups]:
        for k in FIELDS:
            print(f"{c}.{k} {s[k]}")
        print(f"{c}.rejection_rate {rate(s):.6f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--infer")
    ap.add_argument("--model")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", help="infer --json output to count instead")
    args = ap.parse_args()
    if (args.infer is None) == (args.json is None):
        ap.error("give exactly one of --infer and --json")
    files = list_images(args.dir)
    if not files:
        sys.exit(f"ood_report: no images under {args.dir}/<category>/")
    if args.json:
        with open(args.json) as f:
            lines = f.read().splitlines()
    else:
        lines = run_infer(args.infer, args.model, args.threads, files)
    title = (f"Out-of-distribution set {args.dir}: {len(files)} images, "
             f"model {args.model or '(infer default)' if args.infer else args.json}")
    report(count(lines, files), title)


if __name__ == "__main__":
    main()
