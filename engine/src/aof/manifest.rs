//! The multi-part AOF manifest (Redis 7.0): one BASE file, HISTORY files
//! waiting for deletion and the INCR files, in that order, one line each:
//! `file <name> seq <n> type <b|h|i>`.

/// One file the manifest lists (aofInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofInfo {
    pub name: String,
    pub seq: i64,
    /// 'b' base, 'h' history, 'i' incr.
    pub kind: char,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofInfo>,
    /// HISTORY files, newest first (Redis adds them at the head).
    pub history: Vec<AofInfo>,
    pub incr: Vec<AofInfo>,
    pub curr_base_seq: i64,
    pub curr_incr_seq: i64,
    /// Changed since it was last persisted.
    pub dirty: bool,
}

pub const BASE_SUFFIX: &str = ".base";
pub const INCR_SUFFIX: &str = ".incr";
pub const RDB_FORMAT_SUFFIX: &str = ".rdb";
pub const AOF_FORMAT_SUFFIX: &str = ".aof";
pub const MANIFEST_SUFFIX: &str = ".manifest";
pub const TEMP_PREFIX: &str = "temp-";

/// sdsneedsrepr: names with spaces, quotes or non-printable bytes are
/// written quoted, as sdscatrepr prints them.
fn format_name(name: &str) -> String {
    let needs = name
        .bytes()
        .any(|b| !(0x21..=0x7e).contains(&b) || b == b'"' || b == b'\\' || b == b'\'');
    if !needs {
        return name.to_string();
    }
    let mut out = String::from("\"");
    for b in name.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{:02x}", b)),
        }
    }
    out.push('"');
    out
}

impl Manifest {
    /// getAofManifestAsString.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for info in self
            .base
            .iter()
            .chain(self.history.iter())
            .chain(self.incr.iter())
        {
            out.push_str(&format!(
                "file {} seq {} type {}\n",
                format_name(&info.name),
                info.seq,
                info.kind
            ));
        }
        out
    }

    /// aofLoadManifestFromFile: strict, any malformed line is an error with
    /// Redis's wording.
    pub fn parse(text: &[u8]) -> Result<Manifest, String> {
        let mut am = Manifest::default();
        let mut maxseq = 0;
        let text = String::from_utf8_lossy(text);
        if text.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        for raw in text.split_inclusive('\n') {
            if raw.starts_with('#') {
                continue;
            }
            if raw.len() > 1024 || !raw.ends_with('\n') {
                return Err("The AOF manifest file contains too long line".into());
            }
            let line = raw.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r' || c == '\n');
            if line.is_empty() {
                return Err("Invalid AOF manifest file format".into());
            }
            let Some(args) = crate::resp::split_args(line.as_bytes()) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if args.len() < 6 || args.len() % 2 != 0 {
                return Err("Invalid AOF manifest file format".into());
            }
            let mut name = None;
            let mut seq = 0i64;
            let mut kind = '\0';
            for pair in args.chunks(2) {
                let value = String::from_utf8_lossy(&pair[1]).into_owned();
                match String::from_utf8_lossy(&pair[0])
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "file" if value.contains('/') => {
                        return Err("File can't be a path, just a filename".into())
                    }
                    "file" => name = Some(value),
                    "seq" => seq = value.parse().unwrap_or(0),
                    "type" => kind = value.chars().next().unwrap_or('\0'),
                    _ => {}
                }
            }
            let Some(name) = name.filter(|n| !n.is_empty()) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if seq == 0 || kind == '\0' {
                return Err("Invalid AOF manifest file format".into());
            }
            if !matches!(kind, 'b' | 'h' | 'i') {
                return Err("Unknown AOF file type".into());
            }
            let info = AofInfo { name, seq, kind };
            match kind {
                'b' => {
                    if am.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    am.curr_base_seq = seq;
                    am.base = Some(info);
                }
                'h' => am.history.push(info),
                _ => {
                    if seq <= maxseq {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    am.curr_incr_seq = seq;
                    maxseq = seq;
                    am.incr.push(info);
                }
            }
        }
        Ok(am)
    }

    /// getNewBaseFileNameAndMarkPreAsHistory.
    pub fn new_base_marking_previous(&mut self, filename: &str, rdb_preamble: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.kind = 'h';
            self.history.insert(0, old);
        }
        self.curr_base_seq += 1;
        let format = if rdb_preamble {
            RDB_FORMAT_SUFFIX
        } else {
            AOF_FORMAT_SUFFIX
        };
        let name = format!(
            "{}.{}{}{}",
            filename, self.curr_base_seq, BASE_SUFFIX, format
        );
        self.base = Some(AofInfo {
            name: name.clone(),
            seq: self.curr_base_seq,
            kind: 'b',
        });
        self.dirty = true;
        name
    }

    /// getNewIncrAofName.
    pub fn new_incr(&mut self, filename: &str) -> String {
        self.curr_incr_seq += 1;
        let name = format!(
            "{}.{}{}{}",
            filename, self.curr_incr_seq, INCR_SUFFIX, AOF_FORMAT_SUFFIX
        );
        self.incr.push(AofInfo {
            name: name.clone(),
            seq: self.curr_incr_seq,
            kind: 'i',
        });
        self.dirty = true;
        name
    }

    /// getLastIncrAofName: the last INCR file, or a new one.
    pub fn last_incr_or_new(&mut self, filename: &str) -> String {
        match self.incr.last() {
            Some(info) => info.name.clone(),
            None => self.new_incr(filename),
        }
    }

    /// markRewrittenIncrAofAsHistory: every INCR file but the one being
    /// written (when the AOF is on) becomes HISTORY.
    pub fn mark_rewritten_incr_as_history(&mut self, keep_last: bool) {
        if self.incr.is_empty() {
            return;
        }
        let keep = if keep_last { self.incr.pop() } else { None };
        // Walking from the tail and adding at the head keeps the file order.
        for mut info in std::mem::take(&mut self.incr).into_iter() {
            info.kind = 'h';
            self.history.insert(0, info);
        }
        self.incr.extend(keep);
        self.dirty = true;
    }
}

pub fn manifest_name(filename: &str) -> String {
    format!("{}{}", filename, MANIFEST_SUFFIX)
}

pub fn temp_manifest_name(filename: &str) -> String {
    format!("{}{}{}", TEMP_PREFIX, filename, MANIFEST_SUFFIX)
}

pub fn temp_incr_name(filename: &str) -> String {
    format!("{}{}{}", TEMP_PREFIX, filename, INCR_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_rotation() {
        let mut am = Manifest::default();
        let base = am.new_base_marking_previous("appendonly.aof", true);
        let incr = am.new_incr("appendonly.aof");
        assert_eq!(
            (base.as_str(), incr.as_str()),
            ("appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof")
        );
        assert_eq!(am.to_text(), "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
        am.new_incr("appendonly.aof");
        am.new_base_marking_previous("appendonly.aof", false);
        am.mark_rewritten_incr_as_history(true);
        let text = am.to_text();
        assert_eq!(
            text,
            "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.rdb seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        let mut parsed = Manifest::parse(text.as_bytes()).unwrap();
        parsed.dirty = am.dirty;
        assert_eq!(parsed, am);
        assert!(Manifest::parse(b"file a seq 1 type i\nfile b seq 1 type i\n").is_err());
        assert!(Manifest::parse(b"file a seq 1\n").is_err());
        assert_eq!(format_name("a b"), "\"a b\"");
    }
}
