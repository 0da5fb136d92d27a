//! `redsim serve` persists as Redis does: real files in `dir` that
//! redis-check-rdb, redis-check-aof and redis-server 7.0.15 accept, BGSAVE
//! that completes, the dataset back after a restart, and SIGTERM that saves
//! and exits 0. Needs redis-server, redis-cli and the check tools (.ci/run
//! installs them). Ports 25100-25199.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("redsim-serve-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {}",
            what
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `redsim serve` started in `dir` (its default `dir`), with redis.conf lines.
fn serve(dir: &Path, port: u16, conf: &[&str]) -> Child {
    let conf_path = dir.join("redis.conf");
    std::fs::write(&conf_path, conf.join("\n")).expect("write redis.conf");
    let child = Command::new(env!("CARGO_BIN_EXE_redsim"))
        .args(["serve", "--port", &port.to_string(), "--config"])
        .arg(&conf_path)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("serve.log")).expect("log file"))
        .spawn()
        .expect("redsim serve starts");
    wait_until("serve to answer PING", || cli(port, &["PING"]) == "PONG");
    child
}

fn wait_exit(child: &mut Child) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
}

fn write_keys(port: u16) {
    assert_eq!(cli(port, &["SET", "k1", "v1"]), "OK");
    assert_eq!(cli(port, &["RPUSH", "list", "a", "b", "c"]), "3");
    assert_eq!(cli(port, &["HSET", "h", "f", "1"]), "1");
}

fn check_rdb(path: &Path) {
    let out = Command::new("redis-check-rdb")
        .arg(path)
        .output()
        .expect("redis-check-rdb runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("3 keys read"),
        "{}",
        text
    );
}

/// redis-server 7.0.15 started on `dir` has the three keys.
fn redis_server_has_keys(dir: &Path, port: u16, appendonly: bool) {
    let mut server = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--dir"])
        .arg(dir)
        .args([
            "--appendonly",
            if appendonly { "yes" } else { "no" },
            "--save",
            "",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    wait_until("redis-server", || cli(port, &["PING"]) == "PONG");
    assert_eq!(cli(port, &["GET", "k1"]), "v1");
    assert_eq!(cli(port, &["LRANGE", "list", "0", "-1"]), "a\nb\nc");
    assert_eq!(cli(port, &["HGET", "h", "f"]), "1");
    cli(port, &["SHUTDOWN", "NOSAVE"]);
    wait_exit(&mut server);
}

#[test]
fn save_writes_a_dump_redis_check_rdb_and_redis_server_accept() {
    let dir = temp_dir("save");
    let mut serve = serve(&dir, 25101, &[]);
    write_keys(25101);
    assert!(
        !dir.join("dump.rdb").exists(),
        "nothing is saved before SAVE"
    );
    assert_eq!(cli(25101, &["SAVE"]), "OK");
    check_rdb(&dir.join("dump.rdb"));
    assert_eq!(cli(25101, &["SHUTDOWN", "NOSAVE"]), "");
    assert_eq!(wait_exit(&mut serve), 0);
    redis_server_has_keys(&dir, 25102, false);
    let log = log(&dir);
    assert!(
        log.contains("DB saved on disk") && log.contains("Redis is now ready to exit, bye bye..."),
        "{}",
        log
    );
}

#[test]
fn bgsave_completes_and_a_restart_loads_the_dump() {
    let dir = temp_dir("bgsave");
    let mut serve1 = serve(&dir, 25111, &[]);
    write_keys(25111);
    assert_eq!(cli(25111, &["BGSAVE"]), "Background saving started");
    wait_until("the BGSAVE child", || {
        cli(25111, &["INFO", "persistence"]).contains("rdb_bgsave_in_progress:0")
    });
    let info = cli(25111, &["INFO", "persistence"]);
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{}", info);
    check_rdb(&dir.join("dump.rdb"));
    assert!(log(&dir).contains("Background saving terminated with success"));
    cli(25111, &["SHUTDOWN", "NOSAVE"]);
    assert_eq!(wait_exit(&mut serve1), 0);
    let mut serve2 = serve(&dir, 25112, &[]);
    assert_eq!(cli(25112, &["GET", "k1"]), "v1");
    assert_eq!(cli(25112, &["DBSIZE"]), "3");
    assert!(log(&dir).contains("DB loaded from disk"));
    cli(25112, &["SHUTDOWN", "NOSAVE"]);
    assert_eq!(wait_exit(&mut serve2), 0);
}

#[test]
fn appendonly_writes_an_aof_redis_check_aof_accepts_and_a_restart_replays() {
    let dir = temp_dir("aof");
    let mut serve1 = serve(&dir, 25121, &["appendonly yes"]);
    write_keys(25121);
    assert_eq!(
        cli(25121, &["BGREWRITEAOF"]),
        "Background append only file rewriting started"
    );
    wait_until("the rewrite", || {
        cli(25121, &["INFO", "persistence"]).contains("aof_rewrite_in_progress:0")
    });
    assert_eq!(cli(25121, &["SET", "after", "rewrite"]), "OK");
    let manifest = dir.join("appendonlydir").join("appendonly.aof.manifest");
    let out = Command::new("redis-check-aof")
        .arg(&manifest)
        .output()
        .expect("redis-check-aof runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("All AOF files and manifest are valid"),
        "{}",
        text
    );
    cli(25121, &["SHUTDOWN", "NOSAVE"]);
    assert_eq!(wait_exit(&mut serve1), 0);
    let mut serve2 = serve(&dir, 25122, &["appendonly yes"]);
    assert_eq!(cli(25122, &["GET", "after"]), "rewrite");
    assert_eq!(cli(25122, &["DBSIZE"]), "4");
    cli(25122, &["SHUTDOWN", "NOSAVE"]);
    assert_eq!(wait_exit(&mut serve2), 0);
    redis_server_has_keys(&dir, 25123, true);
}

#[test]
fn sigterm_saves_with_save_points_and_exits_0() {
    let dir = temp_dir("sigterm");
    let mut serve = serve(&dir, 25131, &["save 3600 1"]);
    write_keys(25131);
    let kill = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    assert_eq!(wait_exit(&mut serve), 0);
    check_rdb(&dir.join("dump.rdb"));
    let log = log(&dir);
    for line in [
        "Received SIGTERM scheduling shutdown...",
        "Saving the final RDB snapshot before exiting.",
        "DB saved on disk",
        "Redis is now ready to exit, bye bye...",
    ] {
        assert!(log.contains(line), "missing {:?} in\n{}", line, log);
    }
    // Redis's timestamp: "pid:M 06 Dec 2026 12:00:00.123 * ...".
    let line = log
        .lines()
        .find(|l| l.contains("DB saved on disk"))
        .expect("the save line");
    let stamp: Vec<&str> = line.splitn(6, ' ').collect();
    assert!(
        stamp[0].ends_with(":M")
            && stamp[2].len() == 3
            && stamp[4].len() == 12
            && stamp[5].starts_with("* "),
        "{}",
        line
    );
}

#[test]
fn shutdown_nosave_writes_nothing_and_shutdown_save_writes_the_dump() {
    let dir = temp_dir("shutdown");
    let mut serve1 = serve(&dir, 25141, &["save 3600 1"]);
    write_keys(25141);
    cli(25141, &["SHUTDOWN", "NOSAVE"]);
    assert_eq!(wait_exit(&mut serve1), 0);
    assert!(!dir.join("dump.rdb").exists());
    let mut serve2 = serve(&dir, 25142, &[]);
    write_keys(25142);
    assert_eq!(
        cli(25142, &["SHUTDOWN", "NOSAVE", "SAVE"]),
        "ERR syntax error"
    );
    cli(25142, &["SHUTDOWN", "SAVE"]);
    assert_eq!(wait_exit(&mut serve2), 0);
    check_rdb(&dir.join("dump.rdb"));
}

#[test]
fn a_save_that_cannot_be_written_is_never_reported_as_saved() {
    let dir = temp_dir("unwritable");
    let mut serve = serve(&dir, 25151, &[]);
    write_keys(25151);
    // rename(2) cannot put the dump over a non-empty directory.
    std::fs::create_dir_all(dir.join("dump.rdb").join("x")).expect("a directory named dump.rdb");
    let reply = cli(25151, &["SAVE"]);
    assert_ne!(reply, "OK");
    assert_eq!(wait_exit(&mut serve), 1);
    let log = log(&dir);
    assert!(
        log.contains("Fatal: renaming temp-") && !log.contains("DB saved on disk"),
        "{}",
        log
    );
}
