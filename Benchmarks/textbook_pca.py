#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reference Vigil's asset monitor is judged against: a textbook *offline* PCA monitor
(static PCA of the standardised variables, components to 90 % of the variance, Hotelling's T²
and Q), fitted on a normal period it is given whole, and scored on the rest. It runs in hindsight,
as no monitor can: one common factor on its two limits (the 99 % quantiles of T² and Q over the
training rows) is chosen *on the test data* as the smallest that keeps the false-alarm rate at or
below each target. So it shows the best detection rate a textbook monitor reaches at that rate of
false alarms on these data, which is the bar's "a textbook offline PCA monitor flags 70 % at a
2 % false-alarm rate". Needs numpy; nothing is bundled.

usage: Benchmarks/textbook_pca.py braatz DATA_DIR
       Benchmarks/textbook_pca.py sim CACHE_DIR [--seed 11] [--hours 32] [--onset 8] [--faults 1-20]
                                  [--normal-seed 99]
       Benchmarks/textbook_pca.py wide --train-rows N FILE.csv ...

braatz: d00.dat trains, d01_te.dat .. d21_te.dat are scored (fault from row 161), normal rows
        are their first 160 rows and d00_te.dat (as Benchmarks/tep_eval.py scores Vigil).
sim:    the runs Benchmarks/tep_sim_eval.py simulated with the same options (its normal run
        trains, each fault run is scored by its anomaly column; normal rows are the pre-fault
        rows).
wide:   each wide CSV (',' or ';' separated: a timestamp, the variables, `anomaly` and optional
        `changepoint`) trains on its first N rows and is scored on the rest (SKAB: N = 400, its
        authors' split; the plant fixtures: N = 2880, their two fault-free days). Empty cells
        take the previous value.

Prints, for false-alarm targets of 5 %, 2 % and 0: the factor, the false-alarm rate reached and
the mean detection rate (share of fault rows flagged; over faults for braatz and sim, over all
fault rows otherwise)."""
import argparse, csv, glob, os, sys

import numpy as np

from tep_sim_eval import faults, run_paths


class Monitor:
    """Static PCA of the training rows; T² and Q of any rows, in units of their 99 % quantiles."""

    def __init__(self, train):
        self.mean, self.sd = train.mean(0), train.std(0)
        self.sd[self.sd == 0] = 1
        z = (train - self.mean) / self.sd
        values, vectors = np.linalg.eigh(np.cov(z.T))
        values, vectors = values[::-1], vectors[:, ::-1]
        self.k = int(np.searchsorted(np.cumsum(values) / values.sum(), 0.9) + 1)
        self.basis, self.values = vectors[:, :self.k], values[:self.k]
        t2, q = self._raw(train)
        self.t2_limit, self.q_limit = np.quantile(t2, 0.99), np.quantile(q, 0.99)

    def _raw(self, rows):
        z = (rows - self.mean) / self.sd
        t = z @ self.basis
        return (t ** 2 / self.values).sum(1), ((z - t @ self.basis.T) ** 2).sum(1)

    def score(self, rows):
        t2, q = self._raw(rows)
        return np.maximum(t2 / self.t2_limit, q / self.q_limit)


def read_wide(path):
    with open(path, newline="") as f:
        sample = f.readline()
        f.seek(0)
        rows = list(csv.reader(f, delimiter=";" if sample.count(";") > sample.count(",") else ","))
    header, body = rows[0], rows[1:]
    label = header.index("anomaly")
    columns = [i for i in range(1, len(header)) if header[i] not in ("anomaly", "changepoint")]
    x = np.array([[float(r[i]) if r[i] != "" else np.nan for i in columns] for r in body])
    for j in range(x.shape[1]):  # an empty cell takes the previous value
        v = x[:, j]
        idx = np.where(np.isnan(v), 0, np.arange(len(v)))
        np.maximum.accumulate(idx, out=idx)
        x[:, j] = v[idx]
    return x, np.array([int(float(r[label])) for r in body])


def report(name, cases, per_case):
    """cases: (normal scores, fault scores) per case; DR is their mean (per_case) or pooled."""
    normal = np.concatenate([n for n, _ in cases])
    print(f"{name}: textbook offline PCA, limits chosen in hindsight")
    for target in (0.05, 0.02, 0.0):
        # The smallest factor (at least 1) that flags at most `target` of the normal rows.
        ranked = np.sort(normal)[::-1]
        factor = max(1.0, float(ranked[int(target * len(ranked))]))
        far = float((normal > factor).mean())
        if per_case:
            dr = float(np.mean([(f > factor).mean() for _, f in cases if len(f)]))
        else:
            dr = float((np.concatenate([f for _, f in cases]) > factor).mean())
        print(f"  FAR <= {target:.2f}: factor {factor:.2f}, FAR {far:.3f}, DR {dr:.3f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("braatz", "sim", "wide"))
    p.add_argument("paths", nargs="+")
    p.add_argument("--train-rows", type=int)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--hours", type=float, default=32)
    p.add_argument("--onset", type=float, default=8)
    p.add_argument("--faults", default="1-20")
    p.add_argument("--normal-seed", type=int, default=99)
    a = p.parse_args()
    if a.mode == "braatz":
        d = a.paths[0]
        if not os.path.isfile(os.path.join(d, "d00.dat")):
            print(f"textbook_pca: no Braatz data in {d} (d00.dat, d00_te.dat .. d21_te.dat); nothing scored")
            return 0
        train = np.loadtxt(os.path.join(d, "d00.dat"))
        m = Monitor(train.T if train.shape[0] == 52 else train)
        cases = [(m.score(np.loadtxt(os.path.join(d, "d00_te.dat"))), np.array([]))]
        for k in range(1, 22):
            s = m.score(np.loadtxt(os.path.join(d, f"d{k:02d}_te.dat")))
            cases.append((s[:160], s[160:]))
        report(f"Braatz TEP (d00 trains; k = {m.k})", cases, per_case=True)
    elif a.mode == "sim":
        d = a.paths[0]
        normal, paths = run_paths(d, a.seed, a.hours, a.onset, a.normal_seed, faults(a.faults))
        runs = [path for path in paths.values() if os.path.isfile(path)]
        if not os.path.isfile(normal) or not runs:
            print(f"textbook_pca: no simulated runs in {d} (run Benchmarks/tep_sim_eval.py first); nothing scored")
            return 0
        m = Monitor(read_wide(normal)[0])
        cases = []
        for path in runs:
            x, y = read_wide(path)
            s = m.score(x)
            cases.append((s[y == 0], s[y == 1]))
        report(f"simulated TEP, seed {a.seed}, {len(runs)} faults ({normal} trains; k = {m.k})", cases, per_case=True)
    else:
        if not a.train_rows:
            p.error("wide needs --train-rows")
        files = [f for path in a.paths for f in (sorted(glob.glob(os.path.join(path, "**", "*.csv"), recursive=True))
                                                  if os.path.isdir(path) else [path])]
        cases = []
        for path in files:
            x, y = read_wide(path)
            n = a.train_rows
            if y[:n].any() or n >= len(y):
                print(f"textbook_pca: {path}: its first {n} rows are not all normal, or there is nothing after them; skipped",
                      file=sys.stderr)
                continue
            s = Monitor(x[:n]).score(x[n:])
            cases.append((s[y[n:] == 0], s[y[n:] == 1]))
        if not cases:
            print("textbook_pca: no file to score")
            return 1
        report(f"{len(cases)} files, each trained on its first {a.train_rows} rows", cases, per_case=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
