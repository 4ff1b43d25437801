#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fresh Tennessee Eastman runs for the asset monitor: runs the closed-loop simulator of
jkitchin/tennessee-eastman-profbraatz (not bundled; give its `src` directory, which holds the
`tep` package; numpy needed) with new random seeds, then scores Vigil's configuration on them.

usage: Benchmarks/tep_sim_eval.py SIM_SRC [--vigil V] [--config C] [--seed 11] [--normal-seed 99]
                                  [--hours 32] [--onset 8] [--faults 1-20] [--jobs 2] [--cache DIR]

Each fault run is `hours` long at 3-minute samples with the fault (IDV 1..20) switched on at
`onset` hours; a 25-hour normal run of `normal-seed` is simulated once. Prints, for the fault runs
alone and for the normal run followed by each fault run: the mean detection rate (share of fault
rows during which an alert of the asset is raised) and the false-alarm rate over the pre-fault
rows; and the share of the normal run alone that is flagged. Runs are cached in `--cache`
(default /tmp/vigil-tep-sim): the simulator needs about 2 minutes per simulated day per core.
The figures in README.md ("Detection quality") came from `--seed 11 --hours 32` and
`--seed 7 --hours 16`."""
import argparse, csv, datetime, glob, os, subprocess, sys, tempfile
from concurrent.futures import ProcessPoolExecutor

COLUMNS = [f"xmeas_{i}" for i in range(1, 42)] + [f"xmv_{i}" for i in range(1, 12)]
START = datetime.datetime(2024, 1, 1)


def simulate(job):
    """One run: (path, sim_src, seed, fault, hours, onset). Writes a wide CSV (52 variables:
    XMEAS 1-41, XMV 1-11; the agitator XMV 12 is constant and left out, as in the Braatz files)."""
    path, src, seed, fault, hours, onset = job
    if os.path.exists(path):
        return path
    sys.path.insert(0, src)
    from tep import TEPSimulator
    from tep.simulator import ControlMode
    import numpy as np
    sim = TEPSimulator(random_seed=seed, control_mode=ControlMode.CLOSED_LOOP)
    sim.initialize()
    rows, labels, on, step = [], [], False, 0
    while sim.time < hours - 1e-9:
        if fault and not on and sim.time >= onset:
            sim.set_disturbance(fault, 1)
            on = True
        if not sim.step():
            break  # the plant shut down (fault 6 does after some hours): the run ends there
        step += 1
        if step % 180 == 0:  # 1-second steps, a sample every 3 minutes
            rows.append(np.concatenate([sim.get_measurements(), sim.get_manipulated_vars()[:11]]))
            labels.append(1 if on else 0)
    with open(path + ".tmp", "w") as f:
        f.write("timestamp," + ",".join(COLUMNS) + ",anomaly\n")
        for i, (r, l) in enumerate(zip(rows, labels)):
            ts = (START + datetime.timedelta(minutes=3 * i)).strftime("%Y-%m-%d %H:%M:%S")
            f.write(ts + "," + ",".join(repr(float(v)) for v in r) + f",{l}\n")
    os.rename(path + ".tmp", path)
    return path


def run_paths(cache, seed, hours, onset, normal_seed, fault_numbers):
    """Where the runs are cached: the normal run's path, and each fault's run path by fault."""
    normal = os.path.join(cache, f"normal_s{normal_seed}.csv")
    return normal, {k: os.path.join(cache, f"f{k:02d}_s{seed}_{hours:g}h_{onset:g}.csv") for k in fault_numbers}


def faults(spec):
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("sim_src")
    p.add_argument("--vigil", default=".build/release/vigil")
    p.add_argument("--config", default="Configs/vigil.yaml")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--normal-seed", type=int, default=99)
    p.add_argument("--hours", type=float, default=32)
    p.add_argument("--onset", type=float, default=8)
    p.add_argument("--faults", default="1-20")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--cache", default="/tmp/vigil-tep-sim")
    a = p.parse_args()
    if not os.path.isfile(os.path.join(a.sim_src, "tep", "simulator.py")):
        print("tep_sim_eval: no simulator (give the `src` directory of jkitchin/tennessee-eastman-profbraatz, "
              "which holds tep/simulator.py); nothing evaluated")
        return 0
    os.makedirs(a.cache, exist_ok=True)
    normal, runs = run_paths(a.cache, a.seed, a.hours, a.onset, a.normal_seed, faults(a.faults))
    jobs = [(normal, a.sim_src, a.normal_seed, 0, 25.0, 99.0)] + \
           [(path, a.sim_src, a.seed, k, a.hours, a.onset) for k, path in runs.items()]
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        list(pool.map(simulate, jobs))
    normal_rows = list(csv.reader(open(normal)))
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("alone", "first"):
            os.makedirs(f"{tmp}/{mode}")
        for k, path in runs.items():
            rows = list(csv.reader(open(path)))
            name = f"f{k:02d}.csv"
            with open(f"{tmp}/alone/{name}", "w") as f:
                f.write("\n".join(",".join(r) for r in rows) + "\n")
            body = [r[:-1] + ["0"] for r in normal_rows[1:]] + rows[1:]
            with open(f"{tmp}/first/{name}", "w") as f:
                f.write(",".join(rows[0]) + "\n")
                for i, r in enumerate(body):
                    ts = (START + datetime.timedelta(minutes=3 * i)).strftime("%Y-%m-%d %H:%M:%S")
                    f.write(ts + "," + ",".join(r[1:]) + "\n")
        skip = {"alone": 0, "first": len(normal_rows) - 1}
        for mode in ("first", "alone"):
            out = f"{tmp}/scores-{mode}"
            subprocess.run([a.vigil, "eval", f"{tmp}/{mode}", "--config", a.config, "--scores-out", out],
                           check=True, stdout=subprocess.DEVNULL)
            rates, flagged, normal_count = [], 0, 0
            for k, path in runs.items():
                scores = list(csv.reader(open(glob.glob(f"{out}/**/f{k:02d}.csv", recursive=True)[0])))
                col = scores[0].index("alert")
                alert = [r[col] not in ("", "0") for r in scores[1:]][skip[mode]:]
                label = [int(r[-1]) for r in list(csv.reader(open(path)))[1:]]
                fault_rows = [x for x, l in zip(alert, label) if l]
                normal_part = [x for x, l in zip(alert, label) if not l]
                rates.append(sum(fault_rows) / max(len(fault_rows), 1))
                flagged += sum(normal_part)
                normal_count += len(normal_part)
            title = "the normal run, then each fault run" if mode == "first" else "each fault run alone"
            print(f"{title}: mean DR {sum(rates) / len(rates):.3f} over {len(rates)} faults, "
                  f"FAR (pre-fault rows) {flagged / max(normal_count, 1):.3f}")
            print("  " + " ".join(f"{k}:{r:.2f}" for k, r in zip(runs, rates)))
        r = subprocess.run([a.vigil, "eval", normal, "--config", a.config, "--scores-out", f"{tmp}/scores-normal"],
                           check=True, stdout=subprocess.DEVNULL)
        scores = list(csv.reader(open(glob.glob(f"{tmp}/scores-normal/**/*.csv", recursive=True)[0])))
        col = scores[0].index("alert")
        alert = [r[col] not in ("", "0") for r in scores[1:]]
        print(f"the normal run alone ({len(alert)} rows): {sum(alert) / len(alert):.3f} flagged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
