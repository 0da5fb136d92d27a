//! Request/reply round trips through a redsim node: one redis-rs client
//! sends `n` SETs one after the other. Time it from outside for the wall
//! clock (under madsim std's clock is madsim's virtual one):
//!
//! ```sh
//! time cargo run --release -p redsim-madsim --example round_trips -- 20000
//! time RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/madsim \
//!     cargo run --release -p redsim-madsim --example round_trips -- 20000
//! ```

use redsim_madsim::{client, on_client, NodeSpec, RedisNode};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let redis = RedisNode::start(NodeSpec::new())
        .await
        .expect("the node starts");
    let addr = redis.addr();
    let t0 = tokio::time::Instant::now();
    on_client("bench", async move {
        let mut con = client::connect(addr).await.expect("redis-rs connects");
        for i in 0..n {
            let () = redis::cmd("SET")
                .arg("k")
                .arg(i)
                .query_async(&mut con)
                .await
                .expect("SET answers");
        }
    })
    .await;
    println!(
        "{} round trips in {:.3} s of the runtime's time",
        n,
        t0.elapsed().as_secs_f64()
    );
}
