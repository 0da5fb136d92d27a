//! `redsim serve`'s real files and child processes: the engine's
//! `Output::Disk` operations against the files of its `dir`, and each
//! `Output::Fork` job on a thread that stands for the child process.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use redsim_engine::{ChildExitStatus, ChildJob, Config, DiskOp, ForkRequest};

use crate::serve::Msg;

/// rdb-save-incremental-fsync and aof-rewrite-incremental-fsync: every 4 MB.
const INCREMENTAL_FSYNC_BYTES: usize = 4 * 1024 * 1024;

/// The files the engine has open, by name relative to `dir`.
pub struct Disk {
    /// The working directory at start: a relative `dir` is relative to it.
    cwd: PathBuf,
    open: BTreeMap<PathBuf, File>,
    /// Engine file names that live outside `dir`: Sentinel's sentinel.conf
    /// (and its temp file) is the file the process was started with.
    mapped: BTreeMap<String, PathBuf>,
}

impl Disk {
    pub fn new(cwd: PathBuf) -> Disk {
        Disk {
            cwd,
            open: BTreeMap::new(),
            mapped: BTreeMap::new(),
        }
    }

    /// The engine's sentinel.conf is `conf`; its temp file sits next to it
    /// (rewriteConfigOverwriteFile writes "<configfile>.XXXXXX" then renames).
    pub fn map_sentinel_conf(&mut self, conf: &Path) {
        let name = redsim_engine::sentinel::CONFIG_FILE;
        let mut temp = conf.as_os_str().to_owned();
        temp.push(".tmp");
        self.mapped.insert(name.to_string(), conf.to_path_buf());
        self.mapped
            .insert(format!("{}.tmp", name), PathBuf::from(temp));
    }

    /// The configured `dir` (CONFIG SET dir may change it) as a path.
    pub fn dir_of(&self, config: &Config) -> PathBuf {
        let dir = config.get("dir").unwrap_or_default();
        self.cwd.join(dir)
    }

    fn handle(&mut self, path: &Path) -> std::io::Result<&mut File> {
        if !self.open.contains_key(path) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            self.open.insert(path.to_path_buf(), file);
        }
        Ok(self.open.get_mut(path).expect("inserted above"))
    }

    /// Carries out one operation; Err names it and the OS error.
    pub fn apply(&mut self, dir: &Path, op: &DiskOp, tx: &Sender<Msg>) -> Result<(), String> {
        let path_of = |f: &str| self.mapped.get(f).cloned().unwrap_or_else(|| dir.join(f));
        let result = match op {
            DiskOp::Append { file, bytes } => {
                self.handle(&path_of(file)).and_then(|f| f.write_all(bytes))
            }
            DiskOp::Truncate { file, len } => {
                self.handle(&path_of(file)).and_then(|f| f.set_len(*len))
            }
            DiskOp::Fsync {
                file,
                token,
                blocking,
            } => self.fsync(&path_of(file), *token, *blocking, tx),
            DiskOp::Rename { from, to } => self.rename(&path_of(from), &path_of(to)),
            DiskOp::Remove { file } => {
                let path = path_of(file);
                self.open.remove(&path);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                }
            }
        };
        result.map_err(|e| format!("{} failed: {}", describe(op), e))
    }

    /// A blocking fsync runs here (the loop waits, as Redis's main thread
    /// does); a background one on a thread standing for bio, which
    /// answers FsyncDone.
    fn fsync(
        &mut self,
        path: &Path,
        token: u64,
        blocking: bool,
        tx: &Sender<Msg>,
    ) -> std::io::Result<()> {
        let file = self.handle(path)?;
        if blocking {
            return file.sync_data();
        }
        let file = file.try_clone()?;
        let tx = tx.clone();
        std::thread::spawn(move || {
            // An fsync error here is Redis's "Fsync error" path, which the
            // engine does not model; the data stays unconfirmed only in
            // that the answer still comes.
            let _ = file.sync_data();
            let _ = tx.send(Msg::FsyncDone(token));
        });
        Ok(())
    }

    fn rename(&mut self, from: &Path, to: &Path) -> std::io::Result<()> {
        // The engine names files in appenddirname without creating it
        // (Redis's dirCreateIfMissing at start-up).
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(from, to)?;
        self.open.remove(to);
        if let Some(f) = self.open.remove(from) {
            self.open.insert(to.to_path_buf(), f);
        }
        Ok(())
    }
}

fn describe(op: &DiskOp) -> String {
    match op {
        DiskOp::Append { file, bytes } => format!("writing {} bytes to {}", bytes.len(), file),
        DiskOp::Truncate { file, len } => format!("truncating {} to {} bytes", file, len),
        DiskOp::Fsync { file, .. } => format!("fsync of {}", file),
        DiskOp::Rename { from, to } => format!("renaming {} to {}", from, to),
        DiskOp::Remove { file } => format!("removing {}", file),
    }
}

/// The files of `dir` the engine may read at start-up: `dbfilename` and
/// everything in `appenddirname`, by name relative to `dir`.
pub fn startup_files(dir: &Path, config: &Config) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let dbfilename = config
        .get("dbfilename")
        .unwrap_or_else(|| "dump.rdb".into());
    if let Some(bytes) = read_if_present(&dir.join(&dbfilename))? {
        files.insert(dbfilename, bytes);
    }
    let aof_dir = config
        .get("appenddirname")
        .unwrap_or_else(|| "appendonlydir".into());
    let entries = match std::fs::read_dir(dir.join(&aof_dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let name = format!("{}/{}", aof_dir, entry.file_name().to_string_lossy());
            files.insert(name, std::fs::read(entry.path())?);
        }
    }
    Ok(files)
}

fn read_if_present(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The running children: pid -> the flag that stops one. The child holds
/// the lock while it renames its file, so once `kill` returns no rename of
/// a killed child can happen.
#[derive(Default)]
pub struct Children {
    running: BTreeMap<u32, Arc<Mutex<bool>>>,
}

impl Children {
    pub fn start(&mut self, dir: &Path, request: ForkRequest, tx: &Sender<Msg>) {
        let killed = Arc::new(Mutex::new(false));
        self.running.insert(request.pid, killed.clone());
        let (dir, tx, pid) = (dir.to_path_buf(), tx.clone(), request.pid);
        std::thread::spawn(move || {
            let status = match request.job {
                ChildJob::WriteFile {
                    file,
                    bytes,
                    incremental_fsync,
                    rename_to,
                    ..
                } => write_file(
                    &dir,
                    &file,
                    &bytes,
                    incremental_fsync,
                    rename_to.as_deref(),
                    &killed,
                ),
                // A diskless transfer: the parent already sent the bytes.
                ChildJob::Compute { .. } => Some(ChildExitStatus::Ok),
            };
            if let Some(status) = status {
                let _ = tx.send(Msg::ChildExit(pid, status));
            }
        });
    }

    /// waitpid reaped the child.
    pub fn reaped(&mut self, pid: u32) {
        self.running.remove(&pid);
    }

    /// Stops every child but `keep` (the one the engine still counts on).
    pub fn kill_all_but(&mut self, keep: Option<u32>, tx: &Sender<Msg>) {
        let doomed: Vec<u32> = self
            .running
            .keys()
            .copied()
            .filter(|p| Some(*p) != keep)
            .collect();
        for pid in doomed {
            self.kill(pid, tx);
        }
    }

    /// kill(pid, SIGUSR1) (the engine's Output::KillChild): the child does
    /// no more of its job and never renames its file; waitpid then reports
    /// signal 10, which the engine reaps or ignores.
    pub fn kill(&mut self, pid: u32, tx: &Sender<Msg>) {
        if let Some(flag) = self.running.remove(&pid) {
            *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
            let _ = tx.send(Msg::ChildExit(pid, ChildExitStatus::Signal(10)));
        }
    }
}

/// The child's job: write, fsync (every 4 MB if incremental, then at the
/// end), rename. None: the child was killed (nobody reaps it).
fn write_file(
    dir: &Path,
    file: &str,
    bytes: &[u8],
    incremental: bool,
    rename_to: Option<&str>,
    killed: &Mutex<bool>,
) -> Option<ChildExitStatus> {
    let path = dir.join(file);
    let written = (|| -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = File::create(&path)?;
        for chunk in bytes.chunks(INCREMENTAL_FSYNC_BYTES) {
            f.write_all(chunk)?;
            if incremental {
                f.sync_data()?;
            }
            if *killed.lock().unwrap_or_else(|p| p.into_inner()) {
                return Ok(());
            }
        }
        f.sync_all()
    })();
    let killed = killed.lock().unwrap_or_else(|p| p.into_inner());
    if *killed {
        let _ = std::fs::remove_file(&path);
        return None;
    }
    let renamed = written.and_then(|()| match rename_to {
        Some(to) => std::fs::rename(&path, dir.join(to)),
        None => Ok(()),
    });
    match renamed {
        Ok(()) => Some(ChildExitStatus::Ok),
        Err(e) => {
            eprintln!(
                "{}:C {} # Write error saving DB on disk: {}",
                std::process::id(),
                crate::serve::redis_timestamp(now_us()),
                e
            );
            let _ = std::fs::remove_file(&path);
            Some(ChildExitStatus::Error)
        }
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
