//! A hand-written, step-by-step scenario with the Rust builder: the world is
//! driven a condition at a time instead of to a fixed end.

use redsim_scenarios::builder::ScenarioBuilder;
use redsim_scenarios::runner;

/// min-replicas-to-write 1, max-lag 3: after r1 stops acknowledging, the
/// master notices within lag + 1 s of cron granularity, and after r1 comes
/// back it accepts writes again within a second.
#[test]
fn min_replicas_pause_refuses_then_resume_accepts() {
    let scenario = ScenarioBuilder::new("min-replicas by hand")
        .seeds([7])
        .duration_ms(60_000)
        .node("m1", |n| {
            n.config("min-replicas-to-write 1")
                .config("min-replicas-max-lag 3")
        })
        .node("r1", |n| n.config("replicaof m1 6379"))
        .build()
        .expect("a valid scenario");
    let mut w = runner::build_world(&scenario, 7).expect("a world");
    let online = w.run_until_pred(
        |w| w.info_field("m1", "min_slaves_good_slaves").as_deref() == Some("1"),
        15_000_000,
    );
    assert!(online, "r1 comes online after the diskless sync delay");
    let paused_at_us = w.now_us();
    w.schedule_fault(
        paused_at_us,
        redsim_sim::faults::Fault::Pause { node: "r1".into() },
    )
    .expect("r1 exists");
    let refused = w.run_until_pred(
        |w| w.info_field("m1", "min_slaves_good_slaves").as_deref() == Some("0"),
        paused_at_us + 10_000_000,
    );
    assert!(refused);
    let noticed_after_ms = (w.now_us() - paused_at_us) / 1000;
    assert!(
        (3_000..=5_100).contains(&noticed_after_ms),
        "noticed after {} ms",
        noticed_after_ms
    );
    let resumed_at_us = w.now_us();
    w.schedule_fault(
        resumed_at_us,
        redsim_sim::faults::Fault::Resume { node: "r1".into() },
    )
    .expect("r1 exists");
    let back = w.run_until_pred(
        |w| w.info_field("m1", "min_slaves_good_slaves").as_deref() == Some("1"),
        resumed_at_us + 5_000_000,
    );
    assert!(back);
    assert!(w.now_us() - resumed_at_us <= 2_100_000);
}
