//! `--output table`: aligned columns, and the cell formats they share.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use keyplane_api::key::KeyScope;
use serde::Serialize;

/// Rows under a header, each column as wide as its widest cell.
#[derive(Debug)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let pad = widths[c].saturating_sub(cell.chars().count());
                    let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A time, to the second; `-` when absent.
pub fn time(at: Option<&DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// An enum as the API spells it, e.g. `editor`.
pub fn label(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

/// A list, comma-separated; `-` when empty.
pub fn list<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    let joined = items
        .into_iter()
        .map(|i| i.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(",");
    if joined.is_empty() {
        "-".to_owned()
    } else {
        joined
    }
}

/// What a key reaches: a workspace id, `organization`, or a list.
pub fn scope(scope: &KeyScope) -> String {
    match scope {
        KeyScope::Workspace { workspace_id } => workspace_id.as_str().to_owned(),
        KeyScope::Organization => "organization".to_owned(),
        KeyScope::Workspaces { workspace_ids } => {
            format!("org:{}", list(workspace_ids.iter().map(|w| w.as_str())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn columns_are_aligned() {
        let mut table = Table::new(&["ID", "NAME"]);
        table.row(vec!["key_1".into(), "a".into()]);
        table.row(vec!["k".into(), "bb".into()]);
        assert_eq!(table.render(), "ID     NAME\nkey_1  a\nk      bb\n");
    }
}
