//! Node logs through tracing-subscriber: the world emits each engine log
//! line, already in Redis's format with the node's virtual time, on the
//! "redsim::log" target with a `node` field; this prints "<node> | <line>"
//! to stderr, plain text.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

struct RedisLogFormat;

#[derive(Default)]
struct Fields {
    node: String,
    message: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "node" => self.node = value.to_string(),
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{:?}", value);
        match field.name() {
            "node" => self.node = text.trim_matches('"').to_string(),
            "message" => self.message = text,
            _ => {}
        }
    }
}

impl<S, N> FormatEvent<S, N> for RedisLogFormat
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut line = String::new();
        if !fields.node.is_empty() {
            let _ = write!(line, "{:<6}| ", fields.node);
        }
        line.push_str(&fields.message);
        writeln!(writer, "{}", line)
    }
}

pub fn install() {
    let _ = tracing_subscriber::fmt()
        .event_format(RedisLogFormat)
        .with_writer(std::io::stderr)
        .try_init();
}
