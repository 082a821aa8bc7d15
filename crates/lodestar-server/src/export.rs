//! Exports for ops and admins: rated answers (`lodestar feedback export`) and the audit log
//! (`lodestar audit export`).

use crate::db::Feedback;
use lodestar_store::AuditEntry;
use std::path::Path;

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The output file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing CSV failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// Writing the workbook failed.
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

const FEEDBACK_HEADER: [&str; 9] =
    ["message_id", "user", "rating", "comment", "question", "answer", "route", "created_at", "updated_at"];

fn feedback_row(f: &Feedback) -> [String; 9] {
    [
        f.message_id.to_string(),
        f.user.clone(),
        f.rating.clone(),
        f.comment.clone().unwrap_or_default(),
        f.question.clone(),
        f.answer.clone(),
        f.route.clone().unwrap_or_default(),
        f.created_at.clone(),
        f.updated_at.clone(),
    ]
}

/// Rated answers as CSV (UTF-8 with a BOM, so Excel reads the Chinese correctly).
pub fn feedback_csv(rows: &[Feedback], out: &mut dyn std::io::Write) -> Result<(), ExportError> {
    out.write_all("\u{feff}".as_bytes()).map_err(|source| ExportError::Io { path: "-".into(), source })?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(FEEDBACK_HEADER)?;
    for f in rows {
        w.write_record(feedback_row(f))?;
    }
    w.flush().map_err(|source| ExportError::Io { path: "-".into(), source })?;
    Ok(())
}

/// Rated answers as an xlsx workbook (one sheet `反馈`, header frozen, filter on).
pub fn feedback_xlsx(rows: &[Feedback], path: &Path) -> Result<(), ExportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("反馈")?;
    let bold = Format::new().set_bold();
    for (c, h) in FEEDBACK_HEADER.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, f) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_number(r, 0, f.message_id as f64)?;
        for (c, v) in feedback_row(f).iter().enumerate().skip(1) {
            ws.write_string(r, c as u16, v)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows.len() as u32, FEEDBACK_HEADER.len() as u16 - 1)?;
    for (c, w) in [(3u16, 30.0), (4, 40.0), (5, 60.0)] {
        ws.set_column_width(c, w)?;
    }
    wb.save(path)?;
    Ok(())
}

/// Audit entries as CSV (id, at, actor, action, detail JSON).
pub fn audit_csv(rows: &[AuditEntry], out: &mut dyn std::io::Write) -> Result<(), ExportError> {
    out.write_all("\u{feff}".as_bytes()).map_err(|source| ExportError::Io { path: "-".into(), source })?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["id", "at", "actor", "action", "detail"])?;
    for e in rows {
        w.write_record([
            e.id.to_string(),
            e.at.clone(),
            e.actor.clone(),
            e.action.clone(),
            e.detail.clone().unwrap_or_default(),
        ])?;
    }
    w.flush().map_err(|source| ExportError::Io { path: "-".into(), source })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_csv_quotes_and_keeps_chinese() {
        let f = Feedback {
            message_id: 7,
            user: "li".into(),
            rating: "down".into(),
            comment: Some("数字不对, 请核实".into()),
            question: "俄罗斯 9 月达成率？".into(),
            answer: "达成率 96.00%\n| a | b |".into(),
            route: Some("metric".into()),
            created_at: "2026-12-05T10:00:00+00:00".into(),
            updated_at: "2026-12-05T10:00:00+00:00".into(),
        };
        let mut buf = Vec::new();
        feedback_csv(std::slice::from_ref(&f), &mut buf).unwrap();
        let s = String::from_utf8(buf).unwrap();
        let s = s.strip_prefix('\u{feff}').unwrap();
        let mut r = csv::Reader::from_reader(s.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[0], "7");
        assert_eq!(&rec[3], "数字不对, 请核实");
        assert_eq!(&rec[5], "达成率 96.00%\n| a | b |");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.xlsx");
        feedback_xlsx(&[f], &p).unwrap();
        assert!(std::fs::metadata(&p).unwrap().len() > 1000);
    }
}
