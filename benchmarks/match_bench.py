"""Matchmaking benchmark: a synthetic Germany scored with the app's own scoring code.

Builds ~11,000 real municipalities (exchange/data/municipalities.csv, the Destatis
directory shipped with the app, see exchange/data/SOURCES.md), a synthetic topic tree of
600 topics and 5-60 interests per city (bigger cities more; topic popularity Zipf-like),
plus published experiences as wiki evidence, all seeded. It then times, with
exchange.matching.scoring (the code the app uses):

* one city's top-10 partners with explanations, p50/p95 over 200 cities;
* recomputing every city's top-10 list (blocked sparse × dense products);
* a naive pairwise Python baseline (dicts and loops over the same enriched model) on a
  sample of cities, extrapolated to all cities, and the speed-up ratio.

Usage: .venv/bin/python benchmarks/match_bench.py [--quick] [--cities N] [--seed S]
"""
import argparse
import csv
import heapq
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange.matching import scoring  # noqa: E402

#: The municipality directory shipped in the repository (runs from a fresh clone).
MUNICIPALITIES = ROOT / "exchange" / "data" / "municipalities.csv"
N_TOPICS = 600
#: Tree shape: topics per level below the root (1 + 15 + 90 + 494 = 600).
LEVEL_SIZES = (1, 15, 90, 494)
MIN_INTERESTS, MAX_INTERESTS = 5, 60
#: Exponent of the Zipf-like topic popularity (rank r has weight 1/r^s).
ZIPF_EXPONENT = 1.0
#: Stance mix of generated interests: offers, seeks, working_on.
STANCE_MIX = (0.3, 0.35, 0.35)
#: Share of cities that publish experiences, and experiences per publishing city.
PUBLISHING_SHARE = 0.2
EXPERIENCES_PER_CITY = (1, 6)


def load_municipalities(n: int, rng) -> np.ndarray:
    """Populations of n municipalities drawn (seeded) from the real directory."""
    with MUNICIPALITIES.open(encoding="utf-8") as handle:
        populations = [int(row["population"]) for row in csv.DictReader(handle)
                       if row["population"].strip().isdigit() and int(row["population"]) > 0]
    populations = np.array(populations, dtype=np.int64)
    chosen = rng.choice(len(populations), size=min(n, len(populations)), replace=False)
    return populations[np.sort(chosen)]


def make_tree(rng) -> np.ndarray:
    """Parent index per topic: a root, then levels whose nodes hang under the level above."""
    parent = [-1]
    level_start = 0
    for previous, size in zip(LEVEL_SIZES, LEVEL_SIZES[1:]):
        parents = rng.integers(level_start, level_start + previous, size=size)
        level_start += previous
        parent.extend(int(p) for p in parents)
    assert len(parent) == N_TOPICS
    return np.array(parent, dtype=np.int64)


def make_interests(populations, rng):
    """(rows, cols, stances, maturity) with 5-60 interests per city, bigger cities more."""
    n = len(populations)
    logs = np.log10(populations)
    scale = (logs - logs.min()) / (logs.max() - logs.min())
    counts = MIN_INTERESTS + (MAX_INTERESTS - MIN_INTERESTS) * scale ** 1.5
    counts = np.clip(np.round(counts + rng.normal(0, 2, n)), MIN_INTERESTS,
                     MAX_INTERESTS).astype(int)
    popularity = 1.0 / np.arange(1, N_TOPICS + 1) ** ZIPF_EXPONENT
    popularity = popularity[rng.permutation(N_TOPICS)]
    popularity /= popularity.sum()
    rows, cols = [], []
    for city, count in enumerate(counts):
        topics = rng.choice(N_TOPICS, size=count, replace=False, p=popularity)
        rows.append(np.full(count, city))
        cols.append(topics)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    stances = rng.choice(3, size=len(rows), p=STANCE_MIX)
    # Bigger cities tend to be further along.
    maturity = np.clip(np.round(1 + 4 * rng.beta(2, 2, len(rows)) * (0.6 + 0.4 * scale[rows])),
                       1, 5)
    return rows, cols, stances, maturity, popularity


def make_evidence(n, rows, cols, rng):
    """(city, topic) cells of published experiences: publishing cities write on their topics."""
    publishing = rng.random(n) < PUBLISHING_SHARE
    ev_rows, ev_cols = [], []
    starts = np.searchsorted(rows, np.arange(n + 1))
    for city in np.flatnonzero(publishing):
        mine = cols[starts[city]:starts[city + 1]]
        k = rng.integers(*EXPERIENCES_PER_CITY)
        picked = rng.choice(mine, size=min(k, len(mine)), replace=False)
        ev_rows.extend([city] * len(picked))
        ev_cols.extend(int(t) for t in picked)
    return np.array(ev_rows, dtype=np.int64), np.array(ev_cols, dtype=np.int64)


# --- the naive baseline: the same model, scored pair by pair in plain Python -------------

def naive_tables(model: scoring.MatchModel):
    """Per city and stance: {topic: (strength, maturity, declared_here)}."""
    tables = []
    stances = (model.offers, model.seeks, model.working)
    for city in range(model.n_cities):
        per = []
        for stance in stances:
            cols, strength, maturity, origin, _inferred = stance.row(city)
            per.append({int(c): (float(s), float(m), bool(o == c))
                        for c, s, m, o in zip(cols, strength, maturity, origin)})
        tables.append(per)
    return tables


def naive_top_k(tables, rarity, city: int, k: int = 10):
    """Score `city` against every other city with dict look-ups and loops; top k."""
    g = scoring.GAP_DOUBLING_LEVELS
    offers, seeks, working = tables[city]
    scores = []
    for other, (o_offers, o_seeks, o_working) in enumerate(tables):
        if other == city:
            continue
        transfer = joint = 0.0
        for topic, (s, m, own) in seeks.items():
            entry = o_offers.get(topic)
            if entry and (own or entry[2]):
                transfer += rarity[topic] * s * entry[0] * 2 ** ((entry[1] - m) / g)
            entry = o_seeks.get(topic)
            if entry and (own or entry[2]):
                joint += scoring.JOINT_SEEKING_WEIGHT * rarity[topic] * s * entry[0]
        for topic, (s, m, own) in offers.items():
            entry = o_seeks.get(topic)
            if entry and (own or entry[2]):
                transfer += rarity[topic] * s * entry[0] * 2 ** ((m - entry[1]) / g)
            entry = o_working.get(topic)
            if entry and (own or entry[2]):
                transfer += (scoring.OFFER_WORKING_WEIGHT * rarity[topic] * s * entry[0]
                             * 2 ** ((m - entry[1]) / g))
        for topic, (s, m, own) in working.items():
            entry = o_working.get(topic)
            if entry and (own or entry[2]):
                joint += scoring.JOINT_WORKING_WEIGHT * rarity[topic] * s * entry[0]
            entry = o_offers.get(topic)
            if entry and (own or entry[2]):
                transfer += (scoring.OFFER_WORKING_WEIGHT * rarity[topic] * s * entry[0]
                             * 2 ** ((entry[1] - m) / g))
        score = scoring.TRANSFER_WEIGHT * transfer + scoring.JOINT_WEIGHT * joint
        if score > 0:
            scores.append((score, -other))
    return [-other for _score, other in heapq.nlargest(k, scores)]


def one_city(model, city: int, k: int = 10):
    """What the app does per request: score all, take the top k, explain only those."""
    transfer, joint = scoring.score_city(model, city)
    best = scoring.top_k(scoring.combine(transfer, joint), k)
    return [(int(other), scoring.explain(model, city, int(other))) for other in best]


def percentile(values, q):
    """The q-th percentile (0-100) of a list of numbers."""
    return float(np.percentile(np.asarray(values), q))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2,000 cities, 50 timed cities, smaller baseline sample")
    parser.add_argument("--cities", type=int, default=None, help="number of municipalities")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--block", type=int, default=512, help="cities per block (all lists)")
    args = parser.parse_args(argv)
    n_cities = args.cities or (2_000 if args.quick else 11_000)
    timed = 50 if args.quick else 200
    baseline_sample = 3 if args.quick else 10
    rng = np.random.default_rng(args.seed)

    started = time.perf_counter()
    populations = load_municipalities(n_cities, rng)
    n = len(populations)
    parent = make_tree(rng)
    rows, cols, stances, maturity, _popularity = make_interests(populations, rng)
    ev_rows, ev_cols = make_evidence(n, rows, cols, rng)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    model = scoring.build_model(n, parent, rows, cols, stances, maturity, ev_rows, ev_cols)
    built = time.perf_counter() - started
    depth = scoring.depth_of(parent)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at start "
          "(other work on the machine inflates wall times)")
    print(f"synthetic Germany: {n:,} municipalities, {N_TOPICS} topics (depth {depth.max()}), "
          f"{len(rows):,} interests ({len(rows) / n:.1f}/city, 5-60), "
          f"{len(ev_rows):,} experience-topic cells")
    print(f"  generated in {generated:.2f} s; model built in {built:.2f} s "
          f"(partner matrix {model.partner.shape[0]:,} x {model.partner.shape[1]:,}, "
          f"{model.partner.nnz:,} non-zeros)")

    # One city's top-10 with explanations.
    sample = rng.choice(n, size=min(timed, n), replace=False)
    one_city(model, int(sample[0]))  # warm-up
    times, reasons, c0 = [], 0, time.process_time()
    for city in sample:
        t0 = time.perf_counter()
        result = one_city(model, int(city))
        times.append((time.perf_counter() - t0) * 1000)
        reasons += sum(len(r) for _o, r in result)
    cpu = (time.process_time() - c0) * 1000 / len(sample)
    print(f"\none city, top-10 with explanations ({len(sample)} cities, "
          f"{reasons / len(sample):.1f} reasons per list, {cpu:.2f} ms CPU on average):")
    print(f"  p50 {percentile(times, 50):7.2f} ms   p95 {percentile(times, 95):7.2f} ms   "
          f"max {max(times):7.2f} ms   (target p95 <= 20 ms)")

    # Every city's top-10 list.
    t0, c0 = time.perf_counter(), time.process_time()
    best, _best_scores = scoring.all_top_k(model, k=10, block=args.block)
    all_lists, all_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"\nall {n:,} top-10 lists (blocks of {args.block}, without explanations):")
    print(f"  {all_lists:7.2f} s wall, {all_cpu:.2f} s CPU   (target <= 15 s for 11,000)")

    # Naive pairwise baseline on a sample, extrapolated.
    t0 = time.perf_counter()
    tables = naive_tables(model)
    rarity = model.rarity.tolist()
    prep = time.perf_counter() - t0
    baseline_cities = sample[:baseline_sample]
    naive_times, agree = [], 0
    for city in baseline_cities:
        t0 = time.perf_counter()
        naive = naive_top_k(tables, rarity, int(city))
        naive_times.append(time.perf_counter() - t0)
        sparse = [int(x) for x in best[city] if x >= 0]
        agree += naive == sparse
    per_city = statistics.mean(naive_times)
    extrapolated = prep + per_city * n
    print(f"\nnaive pairwise Python baseline (dict look-ups per pair, same model; measured "
          f"on {len(baseline_cities)} cities, EXTRAPOLATED to all):")
    print(f"  one city (no explanations): {per_city * 1000:9.1f} ms measured   "
          f"ratio to sparse p50: {per_city * 1000 / percentile(times, 50):6.0f}x")
    print(f"  all {n:,} lists: {extrapolated:9.1f} s extrapolated ({prep:.1f} s table "
          f"build + {n:,} x {per_city * 1000:.1f} ms)   ratio: {extrapolated / all_lists:6.0f}x")
    print(f"  same top-10 as the sparse code for {agree}/{len(baseline_cities)} sampled cities")


if __name__ == "__main__":
    main()
