#!/usr/bin/env python3
"""Independent expected figures for the metric questions of tests/eval/qa.jsonl.

Reads the demo workbooks (written by `lodestar demo generate --out DIR`; default options, end
month 2026-10)
with openpyxl and recomputes each figure from DESIGN.md's definitions (口径) with Python's
Decimal — it does not use the rule engine. Prints one line per check: id, display strings.

Only months up to 2026-09 are used for sales figures: the 2026-10 sales come from the deliberately
messy re-export, whose cleaning is the importer's business, not this script's.

    python3 tests/eval/expected_metrics.py DIR
"""
import csv, datetime, os, sys
from collections import defaultdict
from decimal import Decimal, ROUND_HALF_UP
import openpyxl

D = Decimal
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
demo = sys.argv[1] if len(sys.argv) > 1 else "demo-data"

def rows(name):
    ws = openpyxl.load_workbook(os.path.join(demo, name), read_only=True).worksheets[0]
    it = ws.iter_rows(values_only=True)
    head = next(it)
    return [dict(zip(head, r)) for r in it if any(v is not None for v in r)]

def dec(v):
    return D(str(v)) if v is not None else D(0)

countries = {r["name_zh"]: r for r in csv.DictReader(open(os.path.join(root, "dictionaries/countries.csv"), encoding="utf-8"))}
customers = {r["name_zh"]: r for r in csv.DictReader(open(os.path.join(root, "dictionaries/customers.csv"), encoding="utf-8"))}
# every spelling of a customer (Chinese, English, local, aliases, with and without legal form) → canonical Chinese name
def norm(x):
    return " ".join(str(x).replace("«", " ").replace("»", " ").lower().split())
alias = {}
for c in customers.values():
    names = [c["name_zh"], c["name_en"], c["id"]] + c["name_local"].split(";") + c["aliases"].split(";")
    for n in names:
        if n.strip():
            alias[norm(n)] = c["name_zh"]
def customer_of(raw):
    k = norm(raw)
    if k in alias:
        return alias[k]
    raise SystemExit(f"unknown customer spelling in demo sales: {raw!r}")
fx = {(r["月份"], r["币种"]): dec(r["对美元汇率"]) for r in rows("fx.xlsx")}
sales = []
for r in rows("sales.xlsx"):
    cur = r["币种"] or "USD"
    sales.append(dict(month=r["月份"], country=r["国家"], customer=customer_of(r["客户"]), cat=r["品类"], spec=r["规格"],
                      qty=dec(r["销量"]), usd=dec(r["销售额"]) * fx[(r["月份"], cur)], owner=r["销售负责人"]))
targets = [dict(month=r["月份"], country=r["国家"], cat=r["品类"], qty=dec(r["目标销量"]), usd=dec(r["目标金额"]))
           for r in rows("targets.xlsx")]
assert all((r.get("币种") or "USD") == "USD" for r in rows("targets.xlsx"))

def months(y, a, b):
    return [f"{y}-{m:02d}" for m in range(a, b + 1)]

def match(r, f):
    for k, v in f.items():
        if k == "region":
            if countries[r["country"]]["region"] != v:
                return False
        elif r.get(k) != v:
            return False
    return True

def actual(f, ms, measure="usd"):
    return sum((r[measure] for r in sales if r["month"] in ms and match(r, f)), D(0))

def target(f, ms, measure="usd"):
    return sum((r[measure] for r in targets if r["month"] in ms and match(r, f)), D(0))

def money(d):
    q = d.quantize(D("0.01"), ROUND_HALF_UP)
    return f"{q:,.2f}"

def qty(d):
    return f"{d.quantize(D('1'), ROUND_HALF_UP):,.0f}"

def pct(d):
    return f"{(d * 100).quantize(D('0.01'), ROUND_HALF_UP):.2f}%"

out = []
def check(cid, *vals):
    out.append((cid, vals))

# m01 俄罗斯 2026-09 全钢 达成率
f = dict(country="俄罗斯", cat="全钢"); ms = ["2026-09"]
a, t = actual(f, ms), target(f, ms)
check("m01", money(a), money(t), pct(a / t))
# m02 哈萨克斯坦 2026-09 半钢 同比
f = dict(country="哈萨克斯坦", cat="半钢")
a, ly = actual(f, ["2026-09"]), actual(f, ["2025-09"])
check("m02", money(a), money(ly), pct(abs(a / ly - 1)), "增长" if a > ly else "下降")
# m03 白俄罗斯 2026-09 销量 环比
f = dict(country="白俄罗斯")
a, p = actual(f, ["2026-09"], "qty"), actual(f, ["2026-08"], "qty")
check("m03", qty(a), qty(p), pct(abs(a / p - 1)), "增长" if a > p else "下降")
# m04 2026 1-9月 全钢 累计达成率
f = dict(cat="全钢"); ms = months(2026, 1, 9)
a, t = actual(f, ms), target(f, ms)
check("m04", money(a), money(t), pct(a / t))
# m05 2026 1-9月 巨胎 累计同比
f = dict(cat="巨胎")
a, ly = actual(f, months(2026, 1, 9)), actual(f, months(2025, 1, 9))
check("m05", money(a), money(ly), pct(abs(a / ly - 1)), "增长" if a > ly else "下降")
# m06 各国 2026-09 销售额排名（第一名）
by = defaultdict(D)
for r in sales:
    if r["month"] == "2026-09":
        by[r["country"]] += r["usd"]
top = sorted(by.items(), key=lambda kv: -kv[1])
check("m06", top[0][0], money(top[0][1]), top[1][0], money(top[1][1]))
# m07 东亚 2026-Q3 销售额
check("m07", money(actual(dict(region="EA"), months(2026, 7, 9))))
# m08 俄罗斯 2026-09 全钢 缺口
f = dict(country="俄罗斯", cat="全钢")
check("m08", money(target(f, ["2026-09"]) - actual(f, ["2026-09"])))
# m09 阿尔泰矿业 2026-09 在哈萨克斯坦的贡献
kz = actual(dict(country="哈萨克斯坦"), ["2026-09"])
am = actual(dict(country="哈萨克斯坦", customer="阿尔泰矿业"), ["2026-09"])
check("m09", money(am), pct(am / kz))
# m10 2026-09 CR10
byc = defaultdict(D)
for r in sales:
    if r["month"] == "2026-09":
        byc[r["customer"]] += r["usd"]
tot = sum(byc.values(), D(0))
s = sorted(byc.values(), reverse=True)
check("m10", pct(sum(s[:10], D(0)) / tot), pct(sum(s[:20], D(0)) / tot), str(len(byc)))
# m11 乌兹别克斯坦 2026-09 销售额（“上月”，as of 2026-10-31）
check("m11", money(actual(dict(country="乌兹别克斯坦"), ["2026-09"])))
# m12 日本 今年以来（as of 2026-09-30）
check("m12", money(actual(dict(country="日本"), months(2026, 1, 9))))
# m13 张伟 2026-09 销售额
check("m13", money(actual(dict(owner="张伟"), ["2026-09"])))
# m14 315/80R22.5 2026-09 销量
check("m14", qty(actual(dict(spec="315/80R22.5"), ["2026-09"], "qty")))
# m15 2025 全年销售额
check("m15", money(actual({}, months(2025, 1, 12))))
# m16 俄罗斯 年度目标完成进度 as of 2026-09
f = dict(country="俄罗斯")
ytd, ann = actual(f, months(2026, 1, 9)), target(f, months(2026, 1, 12))
check("m16", money(ytd), money(ann), pct(ytd / ann))
# m17 哈萨克斯坦 2026-Q3 达成率
f = dict(country="哈萨克斯坦"); ms = months(2026, 7, 9)
a, t = actual(f, ms), target(f, ms)
check("m17", money(a), money(t), pct(a / t))

# receivables: overdue and 货好待款 (rules of DESIGN.md)
rec = rows("receivables.xlsx")
def d(v):
    if isinstance(v, datetime.datetime):
        return v.date()
    return datetime.date.fromisoformat(str(v)[:10]) if v else None

def overdue(cust, as_of):
    res = []
    for r in rec:
        due, paid = dec(r["应回款金额"]), dec(r["已回款金额"])
        dd = d(r["约定回款日期"])
        if r["客户"] == cust and dd and dd < as_of and paid < due:
            res.append((r["合同号"], due - paid, (as_of - dd).days, r["币种"]))
    return res

for cid, cust, as_of in [("m18", "西伯利亚物流", datetime.date(2026, 8, 15)), ("m19", "西伯利亚物流", datetime.date(2026, 10, 31))]:
    o = overdue(cust, as_of)
    check(cid, str(len(o)), *[f"{k} {money(a)} {c} {days}天" for k, a, days, c in o])

as_of = datetime.date(2026, 10, 31)
risk = []
for r in rec:
    due, paid = dec(r["应回款金额"]), dec(r["已回款金额"])
    gr = d(r["货好日期"])
    if r["付款节点"] in ("预付", "发货前") and paid < due and r["发货状态"] in ("未发货", "已订舱") and gr and (gr - as_of).days <= 14:
        risk.append((r["客户"], r["合同号"], due - paid, r["币种"], (gr - as_of).days))
check("m20", str(len(risk)), *[f"{c} {k} {money(a)} {cur} {days}" for c, k, a, cur, days in risk])

for cid, vals in out:
    print(cid, " | ".join(vals))
