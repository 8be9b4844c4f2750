//! Everything compared with, or talking to, Python Supervisor 4.3.0 (the venv of
//! `scripts/pyenv.sh`; these tests fail without it unless `SUPERVISORD_RS_SKIP_PYTHON=1`).

#[path = "../support"]
mod support {
    pub mod mock_engine;
    pub mod python;
    pub mod supervisord;
    pub mod temp;
    pub mod wait;
}

mod compare;
mod ctl_on_mock_server;
mod daemons_both_ways;
mod lifecycle_logs;
