"""bench-capacity: is the capacity model that evodash builds from live data
right about higher loads?

For each of two real services -- the C example service (libmicrohttpd, a
thread per connection) and a Flask app under gunicorn (two sync workers) --
each with three CPU-bound endpoints of different costs:

1. calibrate: a short run measures the service's CPU per request, so that
   the low load is set to a CPU utilisation of about 0.3 of its core;
2. record: the service runs under an open-loop Poisson load (bench/loadgen.c)
   at that rate, recorded by evodash (requests, and CPU samples every
   CPU_SAMPLE_SECONDS);
3. model: `evodash simulate --from-db --what-if` builds the model from that
   recording alone and predicts each endpoint's mean and p95 response time
   at the two factors of the recorded rate that take the service's core to
   utilisation 0.6 and 0.8 (the recording's measured utilisation scaled:
   about 2x and 2.67x);
4. predict for the planned arrivals: before each load runs, the generator
   writes the arrivals it will send (loadgen -n), and the model's files run
   on them: the model judged without the luck of one arrival sequence;
5. measure: the service runs for real at those two rates (fresh store), and
   the generator's response times (from when each request was due to its
   last byte) are compared with both predictions;
6. diagnose: the what-if again, told the steal each load had (`--steal`)
   instead of the recording's: the model of the host as it then was.

The service runs on CPU 1 and the generator on CPU 0 (taskset), so that
the service has one core of its own: the machine is shared, and anything
else that runs on that core shows up as error.  Environment:
CAPACITY_RECORD_S (default 180), CAPACITY_RUN_S (240), CAPACITY_SERVERS
("c,flask").

The last line is the worst relative error of the what-if's mean response
time over endpoints and loads: `capacity_error: N %`.  Above it: the same
for p95, how wide the measured means' own 95% confidence intervals were
(`capacity_noise`, from batch means over whole drift periods: an error
inside it is within what one run of the load can tell), the same for the
planned arrivals (capacity_planned_error), the
requests that were refused or failed over all the loads
(`capacity_failed`), which the figures leave out, and, per load, the
service's CPU per request against the recording's, the share of its
CPU the hypervisor stole (overall and in the worst 10 s) and how late the
generator sent its requests: a host that runs faster or slower than while
it was recorded moves the errors, and no model of the recording can know
it.  capacity_told_steal_error is the worst error of step 6: far below
capacity_error, the host changed between the recording and the loads.
"""
import csv
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# the build and the Python to run the Flask app with: the arguments when run
# (bench/capacity_offline.py imports this file)
ARGS = sys.argv[1:] if __name__ == "__main__" else []
BUILD = os.path.join(ROOT, ARGS[0] if ARGS else "build/rel")
EVODASH = os.path.join(BUILD, "evodash")
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
C_SERVICE = os.path.join(BUILD, "examples", "c_service")
PYTHON = ARGS[1] if len(ARGS) > 1 else sys.executable
# The lengths of the recording and of each measured load (s).  A load at
# utilisation 0.8 measured for 120 s moves its means by about 10% from one
# arrival sequence to another (the model pools runs, the measurement is one
# sequence), and a 120-s recording left the C service's demands 1.6 to
# 3.7% uncertain, which that load turns into five times as much: each is
# longer than that.
RECORD_S = float(os.environ.get("CAPACITY_RECORD_S", "180"))
RUN_S = float(os.environ.get("CAPACITY_RUN_S", "240"))
WARM_S = 5.0
SERVERS = os.environ.get("CAPACITY_SERVERS", "c,flask").split(",")
SERVER_CPU, GEN_CPU = "1", "0"
TARGET_LOW = 0.3
# The utilisations of the service's core that the higher loads run at: each
# load's factor is its target over the utilisation measured while
# recording, so that a recording that came out at 0.32 instead of 0.3 does
# not put the "0.8" load at 0.85, where a response time is a third longer
# and twice as sensitive to every error in the model.
TARGETS = (0.6, 0.8)
# the factors of the runs that kept no factors file (before TARGETS)
OLD_FACTORS = (2.0, 8.0 / 3.0)
SAMPLE_S = "2"  # CPU_SAMPLE_SECONDS: a three-minute recording gives 90 samples
# The recorded service runs this long with no requests before its load
# starts, as a service has quiet times: its CPU samples with no requests in
# them measure the background (the agent's and the dashboard's threads)
# that the regression would otherwise have to tell from the requests'
# work by the load's small drift alone.
IDLE_S = 20.0

# path, share of the requests, endpoint name as evodash records it, its
# nominal CPU cost (ms)
MIXES = {
    "c": [("/work/2", 0.5, "GET /work/2", 2), ("/work/5", 0.3, "GET /work/5", 5),
          ("/work/12", 0.2, "GET /work/12", 12)],
    "flask": [("/light", 0.5, "light", 2), ("/medium", 0.3, "medium", 6),
              ("/heavy", 0.2, "heavy", 15)],
}
# The traffic drifts with this period (s): each endpoint's rate swings
# around its mean, at phases evenly spread over the period, so that the mix
# changes over time as a service's does over a day.  A steady mix leaves
# the regression only the Poisson jitter of the counts to tell the
# endpoints apart.  The swings are sized so that the CPU the traffic needs
# stays level: each endpoint's swing is the same in nominal CPU (the
# cheapest endpoint's rate swings by DRIFT_AMP, the others' by less), and
# equal swings at evenly spread phases cancel.  Until run Y every rate
# swung by half, which swung the CPU by a tenth either way: the "0.8" load
# peaked above 0.9, its response times rose sixfold at every peak, and
# the C service's mean at that load had a 95% confidence interval of 18
# to 44%, wider than the target it was judged by.  The background is told
# from the requests' work by the idle lead-in (IDLE_S).  The higher loads
# drift the same way: they are the recorded traffic, scaled.
DRIFT_S = 40.0
DRIFT_AMP = 0.5


def drift(mix):
    """Per endpoint of mix, the (amplitude, phase) of its rate's swing."""
    cpu = [share * cost for _, share, _, cost in mix]
    return [(DRIFT_AMP * min(cpu) / c, 2 * math.pi * i / len(mix)) for i, c in enumerate(cpu)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the service exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the service did not listen on %d" % port)


def start(kind, tmp, db, name, sample_s=SAMPLE_S):
    port = free_port()
    env = dict(os.environ, EVODASH_DATABASE="sqlite:///" + db, EVODASH_MONITOR_LEVEL="1",
               EVODASH_CPU_SAMPLE_SECONDS=sample_s, EVODASH_SERVICE_NAME=name,
               EVODASH_USERNAME="admin", EVODASH_PASSWORD="bench-pw",
               # the generator is one client address: no per-address limit,
               # as behind a proxy
               EVODASH_HTTP_CONN_PER_ADDRESS="0")
    log = open(os.path.join(tmp, name + ".log"), "ab")
    if kind == "c":
        cfg = os.path.join(tmp, "c.ini")
        with open(cfg, "w") as f:
            f.write("[dashboard]\n")
        cmd = ["taskset", "-c", SERVER_CPU, C_SERVICE, cfg, str(port)]
    else:
        cmd = ["taskset", "-c", SERVER_CPU, PYTHON, "-m", "gunicorn", "-w", "2", "-b",
               "127.0.0.1:%d" % port, "--chdir", HERE, "--backlog", "2048",
               "capacity_flask_app:app"]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)
    wait_port(port, proc)
    return proc, port


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def cpu_of_group(pgid):
    """CPU seconds of every process in the service's process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5, pgrp
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def steal_ticks():
    """The service CPU's stolen time so far (ticks of /proc/stat)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%s " % SERVER_CPU):
                fields = line.split()
                return int(fields[8]) if len(fields) > 8 else 0
    return 0


def streams(rate, mix, drifting=True):
    """loadgen's PATH:RATE:AMP:PHASE arguments for the mix at rate."""
    return ["%s:%.6f:%.4f:%.4f" % (path, rate * share, amp if drifting else 0, phase)
            for (path, share, _, _), (amp, phase) in zip(mix, drift(mix))]


STEAL_WINDOW_S = 10


def load(port, rate, mix, seconds, out, seed, drifting=True):
    """Runs the generator; returns its summary line and the most the
    hypervisor stole of the service's CPU in any STEAL_WINDOW_S seconds of
    the run (a share): a steady 1% costs a model little, a stretch of 20%
    builds a queue that no model of the recording can know of."""
    args = ["taskset", "-c", GEN_CPU, LOADGEN, "-p", str(port), "-d", str(seconds), "-s",
            str(seed), "-o", out, "-m", str(DRIFT_S)] + streams(rate, mix, drifting)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ticks = [steal_ticks()]
    while proc.poll() is None:
        time.sleep(1)
        ticks.append(steal_ticks())
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise RuntimeError("loadgen: %s %s" % (stdout, stderr))
    w = min(STEAL_WINDOW_S, len(ticks) - 1)
    worst = max((ticks[i + w] - ticks[i] for i in range(len(ticks) - w)), default=0)
    return stdout.strip(), worst / os.sysconf("SC_CLK_TCK") / max(w, 1)


def lateness(out):
    """How late the generator sent the requests of a load (loadgen's
    late_s): the mean (s) and the share more than 1 ms late."""
    with open(out) as f:
        late = [float(row[4]) for row in csv.reader(f) if len(row) > 4]
    if not late:
        return 0.0, 0.0
    return statistics.fmean(late), sum(1 for x in late if x > 0.001) / len(late)


def read_plan(path, mix):
    """A plan that loadgen -n wrote: a list per endpoint of due times (s)."""
    times = [[] for _ in mix]
    with open(path) as f:
        for row in csv.reader(f):
            times[int(row[0])].append(float(row[1]))
    return times


def plan(rate, mix, seconds, seed, out):
    """The arrivals that load() with these arguments will send, before it
    sends them (loadgen -n, into out): read_plan()'s lists."""
    args = [LOADGEN, "-n", "-d", str(seconds), "-s", str(seed), "-o", out, "-m", str(DRIFT_S)]
    r = subprocess.run(args + streams(rate, mix), capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("loadgen -n: %s %s" % (r.stdout, r.stderr))
    return read_plan(out, mix)


def planned_runs(evodash, mdir, times, mix, out_dir, replications=8, extra=()):
    """The model's files (mdir, from predict()) run on the planned arrivals
    (plan()) with seeds 1 to `replications`: yields each run's results
    document (SimResults.json) and, per interaction identifier of the
    results, the endpoint of mix it stands for.  extra: more options for
    `evodash simulate`."""
    with open(os.path.join(mdir, "profile.json")) as f:
        ids = {s["name"]: s["scenarioID"] for s in json.load(f)["scenarios"]}
    labels = {"scenario %d interaction 0" % ids[ep]: ep for _, _, ep, _ in mix}
    dist = os.path.join(out_dir, "planned-distribution.json")
    with open(dist, "w") as f:
        json.dump([{"kind": "replay", "scenarioID": ids[ep], "start": 0, "times": times[i]}
                   for i, (_, _, ep, _) in enumerate(mix) if times[i]], f)
    res = os.path.join(out_dir, "planned-results.json")
    for seed in range(1, replications + 1):
        cmd = [evodash, "simulate", "-p", os.path.join(mdir, "profile.json"),
               "-s", os.path.join(mdir, "services.json"), "-m", os.path.join(mdir, "mapping.json"),
               "-d", dist, "--seed", str(seed), "--warmup", str(WARM_S), "-o", res, "-q"]
        r = subprocess.run(cmd + list(extra), capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("evodash simulate: " + r.stderr)
        with open(res) as f:
            doc = json.load(f)
        os.unlink(res)
        yield doc, labels


def pooled(docs, mix):
    """Per endpoint of mix, (mean_ms, p95_ms) of the runs docs (results
    documents, from planned_runs()) pooled as the what-if pools its runs:
    means weighted by the requests completed, p95 the mean of the runs'."""
    acc = {ep: [0.0, 0, 0.0] for _, _, ep, _ in mix}  # sum of mean*n, n, sum of p95
    for doc in docs:
        for it in doc["summary"]["interactions"]:
            a = acc[it["name"]]
            a[0] += it["mean"] * it["completed"]
            a[1] += it["completed"]
            a[2] += it["p95"]
    return {ep: (1e3 * a[0] / a[1], 1e3 * a[2] / len(docs)) for ep, a in acc.items() if a[1]}


def predict_planned(evodash, mdir, times, mix, out_dir, replications=8):
    """The model on the planned arrivals: pooled() over planned_runs()."""
    return pooled([doc for doc, _ in planned_runs(evodash, mdir, times, mix, out_dir,
                                                  replications)], mix)


def failed(msg, out):
    """Requests of a load that got no answer (refused, reset: the
    generator's count) or an answer other than 2xx (in its CSV)."""
    n = int(msg.split(" answered, ")[1].split()[0])
    with open(out) as f:
        n += sum(1 for row in csv.reader(f) if not row[3].startswith("2"))
    return n


def t975(dof):
    """Student's t quantile 0.975 for dof degrees of freedom, by the
    Cornish-Fisher expansion about the normal's (within 1% from 3 degrees
    of freedom on, 3% narrow at 2): one number, for which the bench does
    not take on SciPy."""
    z = 1.959964
    return (z + (z ** 3 + z) / (4 * dof) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * dof ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * dof ** 3))


def batch_ci(batches):
    """The half-width of the 95% confidence interval of the mean of
    batches (per batch: its mean response time), relative to their mean;
    None with fewer than 3."""
    if len(batches) < 3:
        return None
    m = statistics.fmean(batches)
    return t975(len(batches) - 1) * statistics.stdev(batches) / math.sqrt(len(batches)) / m


def measured(out, mix):
    """Per endpoint of mix, from a load's CSV (loadgen -o): the mean and
    p95 response time (s) of the answered requests due after the warm-up,
    their number, and batch_ci() of the mean over batches of one drift
    period each (by when the requests were due): within a period the
    response times rise and fall with the mix, so a shorter batch is not a
    sample of the same thing."""
    rts = [[] for _ in mix]
    batches = [{} for _ in mix]
    with open(out) as f:
        for row in csv.reader(f):
            due = float(row[1])
            if due >= WARM_S and row[3].startswith("2"):
                rts[int(row[0])].append(float(row[2]))
                b = batches[int(row[0])].setdefault(int(due // DRIFT_S), [0.0, 0])
                b[0] += float(row[2])
                b[1] += 1
    res = []
    for v, bs in zip(rts, batches):
        v.sort()
        ci = batch_ci([s / n for s, n in bs.values() if n >= 2])
        res.append((statistics.fmean(v), v[max(0, -(-95 * len(v) // 100) - 1)], len(v), ci))
    return res


def predict(evodash, db, name, factors, mdir=None, extra=()):
    """The model of service name from the recording db: the JSON of
    `evodash simulate --what-if` at factors (its files into mdir)."""
    cmd = [evodash, "simulate", "--from-db", "sqlite:///" + db, "--what-if", "--service", name,
           "--factor", ",".join("%.6f" % k for k in factors), "--json"]
    if mdir:
        cmd += ["--model-dir", mdir]
    r = subprocess.run(cmd + list(extra), capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("evodash simulate: " + r.stderr)
    return json.loads(r.stdout)


def whatif_at(doc, k):
    """The what-if's prediction at factor k (doc: predict()'s): per endpoint
    (mean_ms, p95_ms), and the utilisation."""
    run = next(r for r in doc["runs"] if round(r["factor"], 4) == round(k, 4))
    return {e["name"]: (e["mean_ms"], e["p95_ms"]) for e in run["endpoints"]}, run["utilisation"]


def compared(kind, pred, u_pred, k, got, u_real, rate):
    """The rows of the report for load k: a prediction (pred, per endpoint
    (mean_ms, p95_ms); u_pred its utilisation, None when not known) beside
    what was measured (got, from measured(); u_real: the utilisation
    measured, None when not known)."""
    return [(kind, ep, k, u_pred, u_real, rate, pred[ep][0], got[i][0] * 1e3, pred[ep][1],
             got[i][1] * 1e3, got[i][2], got[i][3])
            for i, (_, _, ep, _) in enumerate(MIXES[kind])]


def report(rows):
    """Print the table; returns the worst relative errors of the predicted
    mean and p95 and the widest confidence interval of a measured mean
    (batch_ci(), relative), over the loads above 1x."""
    print("%-6s %-13s %6s %6s %6s %8s | %9s %9s %6s %7s | %9s %9s %7s | %6s"
          % ("server", "endpoint", "load", "U sim", "U real", "rate/s", "pred mean", "real mean",
             "+-95%", "error", "pred p95", "real p95", "error", "n"))
    worst_mean = worst_p95 = 0.0
    widest = None
    for kind, ep, k, u_pred, u_real, rate, pm, rm, p95, r95, n, ci in rows:
        em, e95 = (pm - rm) / rm, (p95 - r95) / r95
        if k != 1.0:
            worst_mean, worst_p95 = max(worst_mean, abs(em)), max(worst_p95, abs(e95))
            if ci is not None:
                widest = max(widest or 0.0, ci)
        print("%-6s %-13s %5.2fx %6s %6s %8.1f | %7.2fms %7.2fms %6s %+6.1f%% | %7.2fms %7.2fms "
              "%+6.1f%% | %6d" % (kind, ep, k, "%.3f" % u_pred if u_pred is not None else "-",
                                  "%.3f" % u_real if u_real is not None else "-", rate, pm, rm,
                                  "%5.1f%%" % (100 * ci) if ci is not None else "-", 100 * em,
                                  p95, r95, 100 * e95, n))
    return worst_mean, worst_p95, widest


def steal_share(s0, t0):
    """The share of the service's CPU stolen by the host since (s0, t0)."""
    dt = time.time() - t0
    return (steal_ticks() - s0) / os.sysconf("SC_CLK_TCK") / dt if dt > 0 else 0.0


def run_service(kind, tmp):
    mix = MIXES[kind]
    name = "cap-" + kind
    # 1. calibrate: CPU per request at a light load
    proc, port = start(kind, tmp, os.path.join(tmp, kind + "-calib.db"), name, "0")
    probe_rate = 40.0
    c0 = cpu_of_group(proc.pid)
    msg, _ = load(port, probe_rate, mix, 10, os.path.join(tmp, kind + "-calib.csv"), 1, False)
    cpu = cpu_of_group(proc.pid) - c0
    stop(proc)
    answered = int(msg.split(",")[1].split()[0])
    per_req = cpu / answered
    rate = TARGET_LOW / per_req
    print("%s: %.3f ms of CPU per request in the mix: %.1f requests/s for utilisation %.1f"
          % (kind, per_req * 1e3, rate, TARGET_LOW), flush=True)
    # 2. record the low load
    db = os.path.join(tmp, kind + "-rec.db")
    proc, port = start(kind, tmp, db, name)
    time.sleep(IDLE_S)
    c0, t0, s0 = cpu_of_group(proc.pid), time.time(), steal_ticks()
    rec_csv = os.path.join(tmp, kind + "-rec.csv")
    rec_plan = plan(rate, mix, RECORD_S, 2, rec_csv[:-4] + ".plan")
    msg, worst = load(port, rate, mix, RECORD_S, rec_csv, 2)
    print("  record:", msg, flush=True)
    fails = [(kind, 1.0, failed(msg, rec_csv))]
    util_rec = (cpu_of_group(proc.pid) - c0) / (time.time() - t0)
    hosts = [(kind, 1.0, 1.0, steal_share(s0, t0), worst) + lateness(rec_csv)]
    time.sleep(float(SAMPLE_S) + 0.5)  # the last CPU sample
    stop(proc)
    factors = tuple(u / util_rec for u in TARGETS)
    with open(os.path.join(tmp, kind + "-factors.json"), "w") as f:
        json.dump(factors, f)  # for capacity_offline.py
    print("  the recording's utilisation %.3f: the loads at %s are factors %s"
          % (util_rec, " and ".join("%.1f" % u for u in TARGETS),
             " and ".join("%.3f" % k for k in factors)), flush=True)
    # 3. the model, from that recording alone
    doc = predict(EVODASH, db, name, (1.0,) + factors, os.path.join(tmp, kind + "-model"))
    model = doc["model"]
    for e in model["endpoints"]:
        print("  %-14s demand %7.3f ms (%s, regression %.3f +- %.3f ms over %d samples), "
              "solo %.3f ms, off-CPU %.3f ms, cv %.2f"
              % (e["name"], e["demand_ms"], e["source"], e["regression"]["demand_ms"],
                 e["regression"]["se_ms"], e["regression"]["samples"], e["solo_ms"],
                 e["wait_ms"], e["cv"]), flush=True)
    fit, obs, mod = model["fit"], model["observed"], model["model"]
    common = fit["common"]
    print("  fit: %d samples, R^2 %.4f, background %.4f cores, evodash's threads %s%s; seen: "
          "%d instance(s) on %d "
          "host(s), %d core(s), workers %s; model: %d replica(s) of %.0f%% CPU, workers %s; "
          "measured utilisation %.3f (process CPU %.3f)"
          % (fit["samples"], fit["r2"], fit["background"],
             "%.4f cores" % fit["monitor"] if fit.get("monitor") is not None else "not measured",
             ", common overhead %.3f +- %.3f ms (F-test p %.3g)"
             % (common["overhead_ms"], common["se_ms"], common["p"]) if common else "",
             obs["instances"], obs["hosts"], obs["cores"], obs["workers"] or "no limit",
             mod["replicas"], mod["max_cpu"], mod["workers"] or "no limit",
             obs["utilisation"] or 0, util_rec), flush=True)
    st = fit.get("steal")
    if st:
        print("  host steal in the samples: mean %.2f%%, worst %.2f%%; %d samples left out of "
              "the fit%s" % (100 * st["mean"], 100 * st["max"], st["left_out"],
                             " (most were noisy: all fitted)" if st["kept"] else ""), flush=True)
    got = measured(rec_csv, mix)
    rows = compared(kind, *whatif_at(doc, 1.0), 1.0, got, util_rec, rate)
    trow = []
    mdir = os.path.join(tmp, kind + "-model")
    prow = compared(kind, predict_planned(EVODASH, mdir, rec_plan, mix, tmp), None, 1.0, got,
                    util_rec, rate)
    # 4. the higher loads, for real: each predicted first for the arrivals
    # the generator is about to send
    for k in factors:
        out = os.path.join(tmp, "%s-%.2f.csv" % (kind, k))
        pred_k = predict_planned(EVODASH, mdir, plan(rate * k, mix, RUN_S, 3, out[:-4] + ".plan"),
                                 mix, tmp)
        db_k = os.path.join(tmp, "%s-%.2f.db" % (kind, k))
        proc, port = start(kind, tmp, db_k, name)
        c0, t0, s0 = cpu_of_group(proc.pid), time.time(), steal_ticks()
        msg, worst = load(port, rate * k, mix, RUN_S, out, 3)
        print("  %.2fx:" % k, msg, flush=True)
        util = (cpu_of_group(proc.pid) - c0) / (time.time() - t0)
        hosts.append((kind, k, (util / k) / util_rec, steal_share(s0, t0), worst) + lateness(out))
        fails.append((kind, k, failed(msg, out)))
        stop(proc)
        got = measured(out, mix)
        rows += compared(kind, *whatif_at(doc, k), k, got, util, rate * k)
        prow += compared(kind, pred_k, None, k, got, util, rate * k)
        # the what-if told the steal this load had: the model of the host as
        # it then was, which tells a miss of the host from one of the model
        told = predict(EVODASH, db, name, (k,), extra=("--steal", "%.3f" % (100 * hosts[-1][3])))
        trow += compared(kind, *whatif_at(told, k), k, got, util, rate * k)
    return rows, prow, trow, fails, hosts


def main():
    for f in (EVODASH, LOADGEN, C_SERVICE):
        if not os.path.exists(f):
            sys.exit("bench-capacity: %s is missing (make all)" % f)
    tmp = tempfile.mkdtemp(prefix="evd-capacity-")
    rows, prows, trows, fails, hosts = [], [], [], [], []
    try:
        for kind in SERVERS:
            r, pr, tr, f, hs = run_service(kind, tmp)
            rows += r
            prows += pr
            trows += tr
            fails += f
            hosts += hs
    finally:
        if not os.environ.get("CAPACITY_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept", tmp)
    print("\nThe model on the arrivals the generator was about to send (its plan, made "
          "before each load ran):")
    plan_mean, plan_p95, _ = report(prows)
    print("\nThe what-if, the recorded traffic scaled (what `evodash simulate --what-if` "
          "predicts):")
    worst_mean, worst_p95, noise = report(rows)
    print("(load 1.00x is the recording itself; the errors at the higher loads are the "
          "predictions; +-95%%: the measured mean's 95%% confidence interval, from batch means "
          "over drift periods of %g s)" % DRIFT_S)
    print("\nThe what-if told the steal each load had (`--steal`, from the per-load line below): "
          "what the model says of the host as it then was, not a prediction; far below the "
          "what-if's errors, the host changed after the recording:")
    told_mean, told_p95, _ = report(trows)
    print("per load: the service's CPU per request against the recording's; the share of its "
          "CPU the hypervisor stole, overall and in the worst %d s; how late the generator "
          "sent the requests, mean and share over 1 ms:" % STEAL_WINDOW_S)
    for kind, k, rel, st, worst, late, late_share in hosts:
        print("  %-6s %.2fx  CPU %.2f  stolen %4.1f%% (worst %4.1f%%)  late %.2f ms (%.1f%%)"
              % (kind, k, rel, 100 * st, 100 * worst, 1e3 * late, 100 * late_share))
    print("failed or refused requests: " +
          ", ".join("%s %.2fx %d" % (kind, k, n) for kind, k, n in fails))
    print("capacity_failed: %d" % sum(n for _, _, n in fails))
    print("capacity_planned_error: %.1f %% (p95 %.1f %%)" % (100 * plan_mean, 100 * plan_p95))
    print("capacity_told_steal_error: %.1f %% (p95 %.1f %%)" % (100 * told_mean, 100 * told_p95))
    print("capacity_noise: %s (the widest 95%% confidence interval of a measured mean at the "
          "higher loads)" % ("%.1f %%" % (100 * noise) if noise is not None else
                             "- (loads shorter than 3 drift periods)"))
    print("capacity_p95_error: %.1f %%" % (100 * worst_p95))
    print("capacity_error: %.1f %%" % (100 * worst_mean))


if __name__ == "__main__":
    main()
