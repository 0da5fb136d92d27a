//! Maps key paths to places in the TOML text and back, so every message names a line.
//!
//! The document is flattened once into (byte range, key path) entries: every key, every value,
//! every array element and every table header. A path's place is its first entry; the path at
//! an offset is the narrowest entry containing it, or else the last table header before it
//! (serde reports a missing key at the table that lacks it).

use super::{KeyPath, Problem, SpecIssue};
use std::ops::Range;
use toml_edit::{ImDocument, Item, Table, Value};

pub(super) struct SpanIndex {
    entries: Vec<(Range<usize>, KeyPath)>,
    headers: Vec<(usize, KeyPath)>,
}

impl SpanIndex {
    pub fn new(document: &ImDocument<&str>) -> SpanIndex {
        let mut index = SpanIndex {
            entries: Vec::new(),
            headers: Vec::new(),
        };
        index.add_table(document.as_table(), &KeyPath::default());
        index
    }

    fn add_table(&mut self, table: &Table, path: &KeyPath) {
        if let Some(span) = table.span() {
            self.headers.push((span.start, path.clone()));
            self.entries.push((span, path.clone()));
        }
        for (name, item) in table.iter() {
            let child = path.key(name);
            if let Some(span) = table.key(name).and_then(|k| k.span()) {
                self.entries.push((span, child.clone()));
            }
            self.add_item(item, &child);
        }
    }

    fn add_item(&mut self, item: &Item, path: &KeyPath) {
        match item {
            Item::None => {}
            Item::Value(value) => self.add_value(value, path),
            Item::Table(table) => self.add_table(table, path),
            Item::ArrayOfTables(tables) => {
                for (i, table) in tables.iter().enumerate() {
                    self.add_table(table, &path.index(i));
                }
            }
        }
    }

    fn add_value(&mut self, value: &Value, path: &KeyPath) {
        if let Some(span) = value.span() {
            self.entries.push((span, path.clone()));
        }
        match value {
            Value::Array(array) => {
                for (i, element) in array.iter().enumerate() {
                    self.add_value(element, &path.index(i));
                }
            }
            Value::InlineTable(table) => {
                for (name, element) in table.iter() {
                    let child = path.key(name);
                    if let Some(span) = table.key(name).and_then(|k| k.span()) {
                        self.entries.push((span, child.clone()));
                    }
                    self.add_value(element, &child);
                }
            }
            _ => {}
        }
    }

    /// The key path an error span points at: the narrowest entry holding the whole span (a key,
    /// a value, a table), else the last table header before it, else the root.
    pub fn path_at(&self, span: Range<usize>) -> KeyPath {
        let end = span.end.max(span.start + 1);
        let narrowest = self
            .entries
            .iter()
            .filter(|(entry, _)| entry.start <= span.start && end <= entry.end.max(entry.start + 1))
            .min_by_key(|(entry, path)| (entry.end - entry.start, std::cmp::Reverse(path.0.len())));
        if let Some((_, path)) = narrowest {
            return path.clone();
        }
        let header = self
            .headers
            .iter()
            .filter(|(start, _)| *start <= span.start)
            .max_by_key(|(start, _)| *start);
        header.map(|(_, path)| path.clone()).unwrap_or_default()
    }

    /// Where a path is written: its own entry, else its nearest written ancestor.
    fn offset_of(&self, path: &KeyPath) -> Option<usize> {
        let mut segments = path.0.clone();
        loop {
            let probe = KeyPath(segments.clone());
            if let Some((span, _)) = self.entries.iter().find(|(_, p)| *p == probe) {
                return Some(span.start);
            }
            segments.pop()?;
        }
    }

    /// A validation problem with its line and column in `text`.
    pub fn locate(&self, text: &str, problem: &Problem) -> SpecIssue {
        let (line, column) = self
            .offset_of(&problem.path)
            .map(|o| line_column(text, o))
            .unzip();
        SpecIssue {
            line,
            column,
            key: problem.path.to_string(),
            message: problem.message.clone(),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset; offsets past the end or inside a
/// character are clamped rather than trusted.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
