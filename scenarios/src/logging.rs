//! Node logs through tracing-subscriber: the world emits each engine log
//! line, already in Redis's format with the node's virtual time, on the
//! "redsim::log" target; this prints them to stderr as they are.

use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

struct RedisLogFormat;

impl<S, N> FormatEvent<S, N> for RedisLogFormat
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &tracing::Event<'_>) -> std::fmt::Result {
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

pub fn install() {
    let _ = tracing_subscriber::fmt().event_format(RedisLogFormat).with_writer(std::io::stderr).try_init();
}
