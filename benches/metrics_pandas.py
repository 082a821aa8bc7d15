#!/usr/bin/env python3
"""The `lodestar bench metrics` computation done with pandas, on the same SQLite file.

Country × category metrics for one month (2026-09) with YTD and YoY, amounts converted to USD at
the sale month's fx rate, names resolved through the dictionaries (each distinct raw value once),
targets at country × category. Timed from opening the database, median of several runs — the same
state and the same clock as the Rust side.

Usage (pandas is not a dependency of the project; use a scratch venv outside the repository):

    python3 -m venv /tmp/pdvenv && /tmp/pdvenv/bin/pip install pandas
    lodestar bench metrics --rows 1000000 --db /tmp/bench-metrics.db     # generates + times Rust
    /tmp/pdvenv/bin/python benches/metrics_pandas.py /tmp/bench-metrics.db --runs 5

It prints the median and the totals, which must match the Rust report (total actual, YTD).
"""

import argparse
import csv
import json
import os
import sqlite3
import statistics
import time
import unicodedata

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
DICT_DIR = os.path.join(HERE, "..", "dictionaries")


def norm_key(s):
    s = unicodedata.normalize("NFKC", str(s))
    return " ".join(s.lower().split())


def alias_map(file, name_cols):
    """norm_key(alias) → canonical code, from a dictionary CSV (aliases separated by ';')."""
    m = {}
    with open(os.path.join(DICT_DIR, file), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names = [row["code"]] + [row.get(c, "") for c in name_cols]
            names += [a for a in row.get("aliases", "").replace("；", ";").split(";")]
            for n in names:
                k = norm_key(n)
                if k and k not in m:
                    m[k] = row["code"]
    return m


COUNTRIES = alias_map("countries.csv", ["name_zh", "name_en", "name_local"])
CATEGORIES = alias_map("categories.csv", ["name_zh", "name_en"])


def month_add(ym, n):
    y, m = int(ym[:4]), int(ym[5:7])
    i = y * 12 + (m - 1) + n
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def resolve(series, table):
    uniq = series.unique()
    codes = {v: table.get(norm_key(v), v) for v in uniq}
    return series.map(codes)


def ratio(num, den):
    out = num / den
    return out.where(den > 0)


def compute(db, month):
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    year, m = int(month[:4]), int(month[5:7])
    ytd = [f"{year:04d}-{i:02d}" for i in range(1, m + 1)]
    ytd_ly = [f"{year - 1:04d}-{i:02d}" for i in range(1, m + 1)]
    prev = month_add(month, -1)
    ly = month_add(month, -12)
    needed = sorted(set(ytd + ytd_ly + [prev, ly]))
    q = ",".join("?" * len(needed))
    sales = pd.read_sql_query(
        f"SELECT month, country, category, amount, currency FROM sales_active WHERE month IN ({q})", con, params=needed
    )
    targets = pd.read_sql_query(
        "SELECT month, country, category, customer, target_amount, currency FROM targets_active", con
    )
    fx = pd.read_sql_query("SELECT month, currency, usd_rate FROM fx_active", con)
    con.close()

    sales["country"] = resolve(sales["country"], COUNTRIES)
    sales["category"] = resolve(sales["category"], CATEGORIES)
    fx["usd_rate"] = pd.to_numeric(fx["usd_rate"])
    sales = sales.merge(fx, on=["month", "currency"], how="left")
    sales.loc[sales["currency"] == "USD", "usd_rate"] = 1.0
    if sales["usd_rate"].isna().any():
        bad = sales[sales["usd_rate"].isna()].iloc[0]
        raise SystemExit(f"missing fx rate for {bad['currency']} in {bad['month']}")
    sales["usd"] = pd.to_numeric(sales["amount"]) * sales["usd_rate"]

    by = ["country", "category"]
    per_month = sales.groupby(by + ["month"], sort=False)["usd"].sum().unstack("month", fill_value=0.0)
    cols = lambda ms: [c for c in ms if c in per_month.columns]
    res = pd.DataFrame(index=per_month.index)
    res["actual"] = per_month[cols([month])].sum(axis=1)
    res["actual_ly"] = per_month[cols([ly])].sum(axis=1)
    res["actual_prev"] = per_month[cols([prev])].sum(axis=1)
    res["ytd_actual"] = per_month[cols(ytd)].sum(axis=1)
    res["ytd_ly"] = per_month[cols(ytd_ly)].sum(axis=1)
    res = res[res["actual"] != 0]

    t = targets[targets["category"].notna() & (targets["category"] != "") & targets["customer"].isna()].copy()
    t["country"] = resolve(t["country"], COUNTRIES)
    t["category"] = resolve(t["category"], CATEGORIES)
    t["target_amount"] = pd.to_numeric(t["target_amount"])
    annual = [f"{year:04d}-{i:02d}" for i in range(1, 13)]
    tg = lambda ms: t[t["month"].isin(ms)].groupby(by)["target_amount"].sum()
    res = res.join(tg([month]).rename("target")).join(tg(ytd).rename("ytd_target")).join(tg(annual).rename("annual_target"))

    res["achievement"] = ratio(res["actual"], res["target"])
    res["gap"] = res["target"] - res["actual"]
    res["yoy"] = ratio(res["actual"], res["actual_ly"]) - 1
    res["mom"] = ratio(res["actual"], res["actual_prev"]) - 1
    res["ytd_achievement"] = ratio(res["ytd_actual"], res["ytd_target"])
    res["ytd_yoy"] = ratio(res["ytd_actual"], res["ytd_ly"]) - 1
    res["annual_progress"] = ratio(res["ytd_actual"], res["annual_target"])
    res["remaining_gap"] = res["annual_target"] - res["ytd_actual"]
    res["run_rate"] = res["remaining_gap"] / (12 - m) if m < 12 else float("nan")
    total = res["actual"].sum()
    res["contribution"] = res["actual"] / total if total > 0 else float("nan")
    res["rank"] = res["actual"].rank(method="min", ascending=False)
    res = res.sort_values(["actual"], ascending=False)
    elapsed = time.perf_counter() - t0
    totals = {
        "rows": len(res),
        "total_actual": round(float(per_month[cols([month])].sum().sum()), 2),
        "total_ytd_actual": round(float(per_month[cols(ytd)].sum().sum()), 2),
    }
    return elapsed, totals


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", help="SQLite file written by `lodestar bench metrics --db PATH`")
    ap.add_argument("--month", default="2026-09")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    times, totals = [], None
    for _ in range(max(1, a.runs)):
        e, totals = compute(a.db, a.month)
        times.append(e)
    med = statistics.median(times)
    report = {"engine": "pandas " + pd.__version__, "median_ms": med * 1000, "times_ms": [x * 1000 for x in times], **totals}
    if a.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(
            f"pandas {pd.__version__}: country×category {a.month} with YTD/YoY: median {med * 1000:.1f} ms over {len(times)} runs"
        )
        print(f"  result: {totals['rows']} rows, total actual {totals['total_actual']:,.2f} USD, YTD {totals['total_ytd_actual']:,.2f} USD")


if __name__ == "__main__":
    main()
