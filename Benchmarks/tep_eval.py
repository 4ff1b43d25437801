#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Evaluates Vigil's shipped configuration on the Braatz Tennessee Eastman data (not bundled).

usage: Benchmarks/tep_eval.py DATA_DIR [VIGIL] [CONFIG]

DATA_DIR holds d00.dat (normal training, 52 x 500, transposed), d00_te.dat (normal test) and
d01_te.dat .. d21_te.dat (960 rows, fault from row 161). Wide CSVs are written to a temporary
directory only: (1) the test file alone, (2) d00 then the test file. Prints per-fault DR (rows
161..960), FAR (the 160 pre-fault rows of every test file and d00_te) and the means with and
without the faults no PCA detects (3, 9, 15)."""
import csv, datetime, glob, os, subprocess, sys, tempfile

def load(path):
    with open(path) as f:
        return [[float(v) for v in line.split()] for line in f if line.strip()]

def main():
    if len(sys.argv) < 2 or not os.path.isfile(os.path.join(sys.argv[1], "d00.dat")):
        print("tep_eval: no Tennessee Eastman data (give the directory holding d00.dat, d00_te.dat .. d21_te.dat); nothing evaluated")
        return 0
    data, vigil = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else ".build/release/vigil")
    config = sys.argv[3] if len(sys.argv) > 3 else "Configs/vigil.yaml"
    cols = [f"xmeas_{i}" for i in range(1, 42)] + [f"xmv_{i}" for i in range(1, 12)]
    train = load(os.path.join(data, "d00.dat"))
    if len(train) == 52:
        train = [list(r) for r in zip(*train)]
    start = datetime.datetime(2024, 1, 1)
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("alone", "trained"):
            os.makedirs(f"{tmp}/{mode}")
        for k in range(22):
            test = load(os.path.join(data, f"d{k:02d}_te.dat"))
            labels = [0] * 160 + [1 if k > 0 else 0] * 800
            for mode, rows, lab in (("alone", test, labels), ("trained", train + test, [0] * len(train) + labels)):
                with open(f"{tmp}/{mode}/te{k:02d}.csv", "w") as f:
                    f.write("timestamp," + ",".join(cols) + ",anomaly\n")
                    for i, (r, l) in enumerate(zip(rows, lab)):
                        ts = (start + datetime.timedelta(minutes=3 * i)).strftime("%Y-%m-%d %H:%M:%S")
                        f.write(ts + "," + ",".join(repr(v) for v in r) + f",{l}\n")
        for mode, skip in (("trained", len(train)), ("alone", 0)):
            out = f"{tmp}/scores-{mode}"
            subprocess.run([vigil, "eval", f"{tmp}/{mode}", "--config", config, "--scores-out", out],
                           check=True, stdout=subprocess.DEVNULL)
            res = {}
            for k in range(22):
                rows = list(csv.reader(open(glob.glob(f"{out}/**/te{k:02d}.csv", recursive=True)[0])))
                ai = rows[0].index("alert")
                al = [r[ai] not in ("", "0") for r in rows[1:]][skip:]
                res[k] = (sum(al[160:]) / 800, sum(al[:160]) / 160, sum(al) / len(al))
            print(f"== {'d00 (500 rows) then the test file' if mode == 'trained' else 'the test file alone'}")
            print("fault     DR  FAR(pre-fault)")
            for k in range(1, 22):
                print(f"{k:5d}  {res[k][0]:.3f}  {res[k][1]:.3f}")
            faults = range(1, 22)
            far = (sum(res[k][1] * 160 for k in faults) + res[0][2] * 960) / (21 * 160 + 960)
            print(f"d00_te (normal) flagged: {res[0][2]:.3f}")
            print(f"mean DR, 21 faults {sum(res[k][0] for k in faults) / 21:.3f}; "
                  f"without 3, 9, 15 {sum(res[k][0] for k in faults if k not in (3, 9, 15)) / 18:.3f}; FAR {far:.3f}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
