//! Pre-meeting review (会前督办回顾): the items of the previous meeting (or of every meeting since a
//! date) sorted into done / overdue / delayed / open / cancelled, the items missing an owner or a
//! deadline, counts by country, owner and type, and the two seed figures:
//!
//! - **结构化率** = items with owner + deadline + type / all items;
//! - **可追踪率** = unfinished items with an owner, a deadline (or an explicit next-meeting
//!   checkpoint) and a current status / unfinished items.

use crate::ledger::{Ledger, LedgerItem, ListFilter, MeetingRow};
use crate::{LedgerError, NaiveDate, Status};
use lodestar_dict::Dictionaries;
use serde::Serialize;
use std::collections::BTreeMap;

/// Which items a review covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewScope {
    /// The latest imported meeting (the one before the meeting being prepared).
    Latest,
    /// The meeting with this ledger id.
    Meeting(i64),
    /// Every meeting on or after the date.
    Since(NaiveDate),
}

/// Counts of one group (a country, an owner or a type).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct GroupCount {
    /// Country code, staff id (or the owner's name as written) or type name; `-` when not given.
    pub key: String,
    /// Display name: country's Chinese name, owner's name or type; `（未指定）` when not given.
    pub name: String,
    /// Items of the group.
    pub total: usize,
    /// Of them 已完成.
    pub done: usize,
    /// Of them open and past their deadline (not 延期).
    pub overdue: usize,
    /// Of them 延期.
    pub delayed: usize,
    /// Of them 待办 / 进行中 and not overdue.
    pub open: usize,
    /// Of them 取消.
    pub cancelled: usize,
    /// Of them unfinished and lacking an owner, or both a deadline and a next-meeting checkpoint.
    pub missing_owner_or_deadline: usize,
}

/// A review (JSON of `ledger review --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// The meetings the review covers, oldest first.
    pub meetings: Vec<MeetingRow>,
    /// The date overdue is judged against.
    pub as_of: NaiveDate,
    /// Items of those meetings.
    pub total: usize,
    /// 已完成 items.
    pub done: Vec<LedgerItem>,
    /// Open items past their deadline (延期 ones are listed under `delayed`).
    pub overdue: Vec<LedgerItem>,
    /// 延期 items.
    pub delayed: Vec<LedgerItem>,
    /// 待办 / 进行中 items not yet overdue.
    pub open: Vec<LedgerItem>,
    /// 取消 items.
    pub cancelled: Vec<LedgerItem>,
    /// Unfinished items lacking an owner, or lacking both a deadline and a next-meeting checkpoint
    /// (also listed in their bucket).
    pub missing_owner_or_deadline: Vec<LedgerItem>,
    /// Counts per country.
    pub by_country: Vec<GroupCount>,
    /// Counts per owner (an item with two owners counts for both).
    pub by_owner: Vec<GroupCount>,
    /// Counts per item type.
    pub by_type: Vec<GroupCount>,
    /// 结构化率 (null when there are no items).
    pub structured_rate: Option<f64>,
    /// Items with a resolved owner, a deadline and a type (the numerator of 结构化率).
    pub structured: usize,
    /// 可追踪率 (null when nothing is unfinished).
    pub trackable_rate: Option<f64>,
    /// Unfinished items with an owner and a deadline or next-meeting checkpoint (numerator of 可追踪率).
    pub trackable: usize,
    /// Unfinished items: 待办, 进行中 or 延期 (the denominator of 可追踪率).
    pub unfinished: usize,
}

/// The bucket of an item: 已完成 / 取消 / 延期 / 逾期 / 未完成.
fn bucket(i: &LedgerItem) -> &'static str {
    match i.status {
        Status::Done => "done",
        Status::Cancelled => "cancelled",
        Status::Delayed => "delayed",
        _ if i.overdue => "overdue",
        _ => "open",
    }
}

fn lacks(i: &LedgerItem) -> bool {
    i.owner_ids.is_empty() && i.owners.is_empty() || i.deadline.is_none() && !i.next_meeting_checkpoint
}

impl Review {
    /// Builds the review of `scope` as of `as_of`; [`LedgerError::NotFound`] for an unknown meeting.
    pub fn build(
        ledger: &Ledger,
        scope: ReviewScope,
        as_of: NaiveDate,
        d: &Dictionaries,
    ) -> Result<Review, LedgerError> {
        let all_meetings = ledger.meetings()?;
        let meetings: Vec<MeetingRow> = match scope {
            ReviewScope::Latest => all_meetings.last().cloned().into_iter().collect(),
            ReviewScope::Meeting(id) => {
                let m: Vec<MeetingRow> = all_meetings.into_iter().filter(|m| m.id == id).collect();
                if m.is_empty() {
                    return Err(LedgerError::NotFound(format!("meeting {id}")));
                }
                m
            }
            ReviewScope::Since(s) => all_meetings.into_iter().filter(|m| m.date >= s).collect(),
        };
        let ids: Vec<i64> = meetings.iter().map(|m| m.id).collect();
        let items: Vec<LedgerItem> = ledger
            .list(&ListFilter::default(), as_of, d)?
            .into_iter()
            .filter(|i| ids.contains(&i.meeting_id))
            .collect();
        let pick = |b: &str| items.iter().filter(|i| bucket(i) == b).cloned().collect::<Vec<_>>();
        let unfinished: Vec<&LedgerItem> = items.iter().filter(|i| i.status.is_open()).collect();
        let structured =
            items.iter().filter(|i| !i.owner_ids.is_empty() && i.deadline.is_some() && !i.item_type.is_empty()).count();
        let trackable = unfinished
            .iter()
            .filter(|i| {
                (!i.owner_ids.is_empty() || !i.owners.is_empty()) && (i.deadline.is_some() || i.next_meeting_checkpoint)
            })
            .count();
        let group = |keys: &dyn Fn(&LedgerItem) -> Vec<(String, String)>| -> Vec<GroupCount> {
            let mut g: BTreeMap<String, GroupCount> = BTreeMap::new();
            for i in &items {
                for (k, n) in keys(i) {
                    let e = g.entry(k.clone()).or_insert_with(|| GroupCount { key: k, name: n, ..Default::default() });
                    e.total += 1;
                    match bucket(i) {
                        "done" => e.done += 1,
                        "cancelled" => e.cancelled += 1,
                        "delayed" => e.delayed += 1,
                        "overdue" => e.overdue += 1,
                        _ => e.open += 1,
                    }
                    if i.status.is_open() && lacks(i) {
                        e.missing_owner_or_deadline += 1;
                    }
                }
            }
            g.into_values().collect()
        };
        let by_country = group(&|i| {
            vec![match &i.country {
                Some(c) => (c.clone(), d.country_by_code(c).map(|x| x.name_zh.clone()).unwrap_or_else(|| c.clone())),
                None => ("-".into(), "（未指定）".into()),
            }]
        });
        let by_owner = group(&|i| {
            if i.owners.is_empty() {
                vec![("-".into(), "（未指定）".into())]
            } else {
                i.owners
                    .iter()
                    .map(|n| (d.resolve_staff(n).map(|s| s.id.clone()).unwrap_or_else(|| n.clone()), n.clone()))
                    .collect()
            }
        });
        let by_type = group(&|i| vec![(i.item_type.clone(), i.item_type.clone())]);
        Ok(Review {
            as_of,
            total: items.len(),
            done: pick("done"),
            overdue: pick("overdue"),
            delayed: pick("delayed"),
            open: pick("open"),
            cancelled: pick("cancelled"),
            missing_owner_or_deadline: items.iter().filter(|i| i.status.is_open() && lacks(i)).cloned().collect(),
            by_country,
            by_owner,
            by_type,
            structured_rate: (!items.is_empty()).then(|| structured as f64 / items.len() as f64),
            structured,
            trackable_rate: (!unfinished.is_empty()).then(|| trackable as f64 / unfinished.len() as f64),
            trackable,
            unfinished: unfinished.len(),
            meetings,
        })
    }

    /// The review as Markdown for the meeting pack.
    pub fn to_markdown(&self) -> String {
        let pct = |r: Option<f64>| r.map(|r| format!("{:.2}%", r * 100.0)).unwrap_or_else(|| "—".into());
        let mut s = String::new();
        let names: Vec<String> =
            self.meetings.iter().map(|m| format!("{} {}（#{}）", m.date, m.meeting, m.id)).collect();
        s.push_str(&format!("# 督办事项回顾（截至 {}）\n\n", self.as_of));
        s.push_str(&format!("会议：{}\n\n", if names.is_empty() { "（无）".into() } else { names.join("、") }));
        s.push_str(&format!(
            "- 事项 {} 项：已完成 {}，逾期 {}，延期 {}，进行中/待办 {}，取消 {}；缺负责人或截止日期 {}\n",
            self.total,
            self.done.len(),
            self.overdue.len(),
            self.delayed.len(),
            self.open.len(),
            self.cancelled.len(),
            self.missing_owner_or_deadline.len()
        ));
        s.push_str(&format!("- 结构化率 {}（{}/{}）\n", pct(self.structured_rate), self.structured, self.total));
        s.push_str(&format!("- 可追踪率 {}（{}/{}）\n\n", pct(self.trackable_rate), self.trackable, self.unfinished));
        let section = |s: &mut String, title: &str, v: &[LedgerItem]| {
            s.push_str(&format!("## {title}（{}）\n\n", v.len()));
            if v.is_empty() {
                s.push_str("（无）\n\n");
                return;
            }
            s.push_str(
                "| ID | 国家 | 负责人 | 类型 | 事项 | 截止 | 状态 | 最新进展 |\n|---|---|---|---|---|---|---|---|\n",
            );
            for i in v {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                    i.id,
                    i.country.clone().unwrap_or_default(),
                    i.owners.join("、"),
                    i.item_type,
                    i.description.replace('|', "/"),
                    i.deadline.map(|d| d.to_string()).or(i.deadline_text.clone()).unwrap_or_default(),
                    i.status,
                    i.latest_note.clone().unwrap_or_default().replace('|', "/")
                ));
            }
            s.push('\n');
        };
        section(&mut s, "逾期", &self.overdue);
        section(&mut s, "延期", &self.delayed);
        section(&mut s, "进行中 / 待办", &self.open);
        section(&mut s, "已完成", &self.done);
        section(&mut s, "缺负责人或截止日期", &self.missing_owner_or_deadline);
        for (title, g) in [("按国家", &self.by_country), ("按负责人", &self.by_owner), ("按类型", &self.by_type)]
        {
            s.push_str(&format!("## {title}\n\n| | 合计 | 已完成 | 逾期 | 延期 | 未完成 | 取消 | 缺字段 |\n|---|---|---|---|---|---|---|---|\n"));
            for c in g.iter() {
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                    c.name, c.total, c.done, c.overdue, c.delayed, c.open, c.cancelled, c.missing_owner_or_deadline
                ));
            }
            s.push('\n');
        }
        s
    }
}
