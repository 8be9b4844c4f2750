//! Child output: the pump, rotating sinks, `/dev/stdout` as a log, a full disk.

#[path = "../support"]
mod support {
    pub mod logs;
    pub mod temp;
    pub mod wait;
}

mod dev_stdout;
mod full_disk;
mod pump;
mod sinks;
