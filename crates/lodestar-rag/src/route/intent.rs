//! Intent: what the question asks (达成率, 同比, 排名 …) and whether it names a measure the rule
//! engine has at all (a metric route needs a metric subject).

use super::*;

pub(super) fn detect_intents(c: &Cues, t: &str) -> BTreeSet<Intent> {
    let mut s = BTreeSet::new();
    let rules: [(Intent, &str); 15] = [
        (Intent::YtdYoy, "intent_ytd_yoy"),
        (Intent::AnnualProgress, "intent_annual_progress"),
        (Intent::Achievement, "intent_achievement"),
        (Intent::Yoy, "intent_yoy"),
        (Intent::Mom, "intent_mom"),
        (Intent::Ytd, "intent_ytd"),
        (Intent::Gap, "intent_gap"),
        (Intent::Ranking, "intent_ranking"),
        (Intent::Contribution, "intent_contribution"),
        (Intent::Concentration, "intent_concentration"),
        (Intent::Overdue, "intent_overdue"),
        (Intent::ShipmentAtRisk, "intent_shipment_at_risk"),
        (Intent::CreditAnomaly, "intent_credit_anomaly"),
        (Intent::Stalled, "intent_stalled"),
        (Intent::Actual, "intent_actual"),
    ];
    for (intent, kind) in rules {
        if c.get(kind).any_in(t) {
            s.insert(intent);
        }
    }
    // `How much did Kazakhstan sell`, `tyres sold`: whole words only (`resell` is a policy word).
    let sell = lodestar_core::regex!(r"\b(?:sell|sells|sold|selling|bought|buy|buys|purchased)\b");
    if sell.is_match(t) {
        s.insert(Intent::Actual);
    }
    // `韩国半钢Q3达成` / `完成年累计目标的百分之几`: achievement without the word 达成率
    let reached = c.get("achieved").any_in(t) && !c.get("achieved_not").any_in(t);
    let share_of_target = c.get("target_word").any_in(t) && c.get("share_of_target").any_in(t);
    if (reached || share_of_target) && !s.contains(&Intent::AnnualProgress) {
        s.insert(Intent::Achievement);
    }
    if s.contains(&Intent::YtdYoy) {
        s.remove(&Intent::Yoy);
        s.insert(Intent::Ytd);
    }
    if s.contains(&Intent::Concentration) {
        s.remove(&Intent::Ranking);
        s.remove(&Intent::Contribution);
    }
    // "剩余缺口" is annual progress, not the month's gap.
    let remaining = c.get("remaining_gap");
    if remaining.any_in(t) && !c.get("gap_word").any_in(&remaining.replace_all(t, "")) {
        s.remove(&Intent::Gap);
    }
    s
}

/// Whether a tyre count (`多少条`) at byte `i` of `t` counts tyres: the word before it (particles
/// skipped) sells, measures, or is a masked scope or a period, and no other noun follows it
/// (`有效线索有多少条`, `多少条有效线索`, `需求有多少条` count something else).
pub(super) fn counts_tyres(s: &Subjects, t: &str, i: usize, len: usize) -> bool {
    let after = t[i + len..].trim_start();
    let next = after.chars().next();
    let other_noun_after = next.is_some_and(is_cjk)
        && !s.count_object.iter().any(|o| after.starts_with(o.as_str()))
        && s.sentence_particle.prefix_of(after).is_none();
    if other_noun_after {
        return false;
    }
    // walk back over particles; a masked scope (a country, customer, category or spec name is
    // blanked out of `t`) right before the count makes it a count of that scope's tyres
    let mut before = &t[..i];
    loop {
        let trimmed = before.trim_end();
        if trimmed.len() < before.len() || trimmed.is_empty() {
            return true;
        }
        before = trimmed;
        let Some(p) = s.count_particle.iter().find(|p| before.ends_with(p.as_str())) else { break };
        before = &before[..before.len() - p.len()];
    }
    before.chars().last().is_some_and(|c| c.is_ascii_digit())
        || s.count_subject.iter().any(|w| before.ends_with(w.as_str()))
}

/// A metric route needs a metric subject: removes the intents that only a weak cue gave — a
/// selling verb without a quantity word, a count of something other than tyres, a ranking word
/// without a ranking dimension, scope or period — so `展会收集到多少条线索` and `最高能跑多少公里每小时`
/// go to the knowledge bases instead of getting an exact figure for another question.
pub(super) fn metric_subject_ok(
    s: &Subjects,
    t: &str,
    intents: &mut BTreeSet<Intent>,
    strong_sales: bool,
    scoped: bool,
    scoped_by_name: bool,
) {
    if intents.contains(&Intent::Actual) && !strong_sales {
        let quantity = s.quantity.iter().any(|q| t.contains(q.as_str()));
        let verb = s.weak_verb.iter().any(|w| t.contains(w.as_str())) && quantity;
        let mut count = false;
        for c in &s.count {
            for (i, _) in t.match_indices(c.as_str()) {
                count |= counts_tyres(s, t, i, c.len());
            }
        }
        let existence = s.existence.any_in(t);
        let passive = lodestar_core::regex!(r"\b(?:be|been|being|is|are)\s+(?:sold|bought|purchased)\b");
        let sell = lodestar_core::regex!(r"\b(?:sell|sells|sold|selling|bought|buy|buys|purchased)\b");
        let english = sell.is_match(t) && !passive.is_match(t);
        if !(verb || count || existence || english) {
            intents.remove(&Intent::Actual);
        }
    }
    // a rule or a threshold (`达成率低于多少就拿不到返利`), or a figure in a named document (`经营分析会上…`):
    // the documents answer, unless a scope is named (`俄罗斯…`)
    if !scoped_by_name
        && (s.rule_cue.iter().any(|w| t.contains(w.as_str())) || s.anchor.iter().any(|w| t.contains(w.as_str())))
    {
        intents.clear();
        return;
    }
    // a measure word about something else (`产能缺口`, `理赔金额`): without a sales measure, no metric;
    // nor when such a subject is the question's only one and no scope is named (`一张理赔单平均要多少
    // 天？公司的目标是多少？`: the second sentence's 目标 is the first one's subject's)
    let foreign = s.foreign_prefix.iter().any(|p| {
        s.foreign_measure.words().iter().any(|m| t.contains(&format!("{p}{m}")))
            || (!scoped_by_name && t.contains(p.as_str()))
    });
    if foreign && !strong_sales {
        intents.clear();
        return;
    }
    let only_ranking = intents.iter().all(|i| matches!(i, Intent::Ranking));
    if !intents.is_empty() && only_ranking && !scoped && !s.rank_dimension.iter().any(|w| t.contains(w.as_str())) {
        intents.clear();
    }
}

/// Words that ask for documents rather than numbers.
pub(super) fn is_knowledge_question(c: &Cues, t: &str, intents: &BTreeSet<Intent>) -> bool {
    let t = &c.get("knowledge_not").replace_all(t, " ");
    if c.get("knowledge").any_in(t) {
        return true;
    }
    // English question words ask for knowledge only without a metric in the question: `What was
    // the October sales amount` is a metric question (as `销售额是多少` is), `How much` / `How
    // many` ask for figures.
    // `How did Korea do in August`, `how does it compare with last year` ask for figures too.
    let english_how =
        t.contains("how") && !c.get("english_how_figure").any_in(t) && (!t.contains("compare") || intents.is_empty());
    // No metric word at all: a knowledge question.
    english_how || intents.is_empty()
}

pub(super) fn parse_top(t: &str) -> Option<usize> {
    let t = &without_first_quarters(t);
    let re = lodestar_core::regex!(
        r"(?:前|top\s*|最[好高大低差多少小]的?\s*)(\d{1,2})|(?:前|最[好高大低差多少小]的?\s*)([一二三四五六七八九十])",
    );
    let more: [&Regex; 2] = [
        // 后五名 / 倒数 3 / 倒数第三 / bottom 3
        lodestar_core::regex!(
            r"后\s*(\d{1,2}|[一二三四五六七八九十])\s*(?:名|位)|倒数第?\s*(\d{1,2}|[一二三四五六七八九十])|bottom\s*(\d{1,2})"
        ),
        // which three countries / the five customers / top five
        lodestar_core::regex!(
            r"\b(?:top\s+|bottom\s+)?(two|three|four|five|six|seven|eight|nine|ten)\s+(?:countries|customers|categories|specs|markets)\b|\b(?:top|bottom)\s+(two|three|four|five|ten)\b"
        ),
    ];
    let word = |w: &str| -> Option<usize> {
        w.parse().ok().or_else(|| lodestar_core::text::en_number(w).or_else(|| cn_number(w)).map(|n| n as usize))
    };
    if let Some(c) = re.captures(t) {
        if let Some(n) = c.get(1) {
            return n.as_str().parse().ok().filter(|n: &usize| *n > 0);
        }
        return c.get(2).and_then(|m| cn_number(m.as_str())).map(|n| n as usize);
    }
    for r in more.iter() {
        if let Some(c) = r.captures(t) {
            return c.iter().skip(1).flatten().next().and_then(|m| word(m.as_str())).filter(|n| *n > 0);
        }
    }
    None
}
