//! `shutdown`, `reload`, `version`, `open`, `help`.

use std::io::Write;

use super::status::do_status;
use super::transport::CallError;
use super::{exit, fault, CmdResult, Ctl};

const HELP_TABLE: &str = "
default commands (type help <topic>):
=====================================
add    exit      open  reload  restart   start   tail   
avail  fg        pid   remove  shutdown  status  update 
clear  maintail  quit  reread  signal    stop    version
";

/// The help text of one command (`help_<cmd>` in Supervisor), `None` if it has none.
fn help_text(cmd: &str) -> Option<&'static str> {
    Some(match cmd {
        "help" => "help\t\tPrint a list of available actions\nhelp <action>\tPrint help for <action>",
        "tail" => "tail [-f] <name> [stdout|stderr] (default stdout)\nEx:\ntail -f <name>\t\tContinuous tail of named process stdout\n\t\t\tCtrl-C to exit.\ntail -100 <name>\tlast 100 *bytes* of process stdout\ntail <name> stderr\tlast 1600 *bytes* of process stderr",
        "maintail" => "maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\nmaintail -100\tlast 100 *bytes* of supervisord main log file\nmaintail\tlast 1600 *bytes* of supervisor main log file\n",
        "quit" => "quit\tExit the supervisor shell.",
        "exit" => "exit\tExit the supervisor shell.",
        "status" => "status <name>\t\tGet status for a single process\nstatus <gname>:*\tGet status for all processes in a group\nstatus <name> <name>\tGet status for multiple named processes\nstatus\t\t\tGet all process status info",
        "pid" => "pid\t\t\tGet the PID of supervisord.\npid <name>\t\tGet the PID of a single child process by name.\npid all\t\t\tGet the PID of every child process, one per line.",
        "start" => "start <name>\t\tStart a process\nstart <gname>:*\t\tStart all processes in a group\nstart <name> <name>\tStart multiple processes or groups\nstart all\t\tStart all processes",
        "stop" => "stop <name>\t\tStop a process\nstop <gname>:*\t\tStop all processes in a group\nstop <name> <name>\tStop multiple processes or groups\nstop all\t\tStop all processes",
        "signal" => "signal <signal name> <name>\t\tSignal a process\nsignal <signal name> <gname>:*\t\tSignal all processes in a group\nsignal <signal name> <name> <name>\tSignal multiple processes or groups\nsignal <signal name> all\t\tSignal all processes",
        "restart" => "restart <name>\t\tRestart a process\nrestart <gname>:*\tRestart all processes in a group\nrestart <name> <name>\tRestart multiple processes or groups\nrestart all\t\tRestart all processes\nNote: restart does not reread config files. For that, see reread and update.",
        "shutdown" => "shutdown \tShut the remote supervisord down.",
        "reload" => "reload \t\tRestart the remote supervisord.",
        "avail" => "avail\t\t\tDisplay all configured processes",
        "reread" => "reread \t\t\tReload the daemon's configuration files without add/remove",
        "add" => "add <name> [...]\tActivates any updates in config for process/group",
        "remove" => "remove <name> [...]\tRemoves process/group from active config",
        "update" => "update\t\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate all\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate <gname> [...]\tUpdate specific groups",
        "clear" => "clear <name>\t\tClear a process' log files.\nclear <name> <name>\tClear multiple process' log files\nclear all\t\tClear all process' log files",
        "open" => "open <url>\tConnect to a remote supervisord process.\n\t\t(for UNIX domain socket, use unix:///socket/path)",
        "version" => "version\t\t\tShow the version of the remote supervisord process",
        "top" => super::top::HELP,
        "fg" => "fg <process>\tConnect to a process in foreground mode\n\t\tCtrl-C to exit",
        _ => return None,
    })
}

/// Prints a command's help (used after argument errors).
pub fn help_for(ctl: &mut Ctl, cmd: &str) {
    if let Some(text) = help_text(cmd) {
        ctl.output(text);
    }
}

pub fn do_help(ctl: &mut Ctl, arg: &str) {
    let arg = arg.trim();
    if arg.is_empty() {
        ctl.output(HELP_TABLE);
        return;
    }
    match help_text(arg) {
        Some(text) => ctl.output(text),
        None => ctl.output(&format!("*** No help on {arg}")),
    }
}

fn confirm(ctl: &mut Ctl, question: &str) -> bool {
    if !ctl.interactive {
        return true;
    }
    ctl.flush();
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).unwrap_or(0) == 0 {
        return false;
    }
    answer.trim_start().to_lowercase().starts_with('y')
}

fn no_arguments(ctl: &mut Ctl, cmd: &str, arg: &str) -> bool {
    if arg.is_empty() {
        return true;
    }
    ctl.output(&format!("Error: {cmd} accepts no arguments"));
    ctl.exitstatus = exit::GENERIC;
    help_for(ctl, cmd);
    false
}

pub fn do_shutdown(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !no_arguments(ctl, "shutdown", arg) {
        return Ok(());
    }
    if !confirm(ctl, "Really shut the remote supervisord process down y/N? ") {
        return Ok(());
    }
    match ctl.call("supervisor.shutdown", &[]) {
        Ok(_) => ctl.output("Shut down"),
        Err(CallError::Fault { code, .. }) if code == i64::from(fault::SHUTDOWN_STATE) => {
            ctl.output("ERROR: already shutting down");
        }
        Err(e) if matches!(e.errno(), Some(libc::ECONNREFUSED) | Some(libc::ENOENT)) => {
            ctl.exitstatus = exit::GENERIC;
            let what = if e.errno() == Some(libc::ENOENT) {
                "no such file"
            } else {
                "refused connection"
            };
            let url = ctl.endpoint.serverurl.clone();
            ctl.output(&format!("ERROR: {url} {what} (already shut down?)"));
        }
        Err(e) => {
            ctl.exitstatus = exit::GENERIC;
            return Err(e.into());
        }
    }
    Ok(())
}

pub fn do_reload(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !no_arguments(ctl, "reload", arg) {
        return Ok(());
    }
    if !confirm(ctl, "Really restart the remote supervisord process y/N? ") {
        return Ok(());
    }
    match ctl.call("supervisor.restart", &[]) {
        Ok(_) => ctl.output("Restarted supervisord"),
        Err(CallError::Fault { code, .. }) if code == i64::from(fault::SHUTDOWN_STATE) => {
            ctl.exitstatus = exit::GENERIC;
            ctl.output("ERROR: already shutting down");
        }
        Err(e) => {
            ctl.exitstatus = exit::GENERIC;
            return Err(e.into());
        }
    }
    Ok(())
}

pub fn do_version(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !no_arguments(ctl, "version", arg) {
        return Ok(());
    }
    if !ctl.upcheck()? {
        return Ok(());
    }
    let v = ctl.call("supervisor.getSupervisorVersion", &[])?;
    ctl.output(v.as_str().unwrap_or(""));
    Ok(())
}

pub fn do_open(ctl: &mut Ctl, arg: &str) -> CmdResult {
    let url = arg.trim();
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
    if scheme != "unix" && scheme != "http" {
        ctl.output("ERROR: url must be http:// or unix://");
        ctl.exitstatus = exit::GENERIC;
        return Ok(());
    }
    ctl.endpoint.serverurl = url.to_string();
    let old = ctl.exitstatus;
    let result = do_status(ctl, "");
    ctl.exitstatus = old;
    result
}
