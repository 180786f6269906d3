//! The process metrics every Prometheus client library exports by default (CPU seconds,
//! memory, file descriptors, threads, start time), read from `/proc/self` at scrape
//! time, so an operator sees the gateway beside everything else they run. On systems
//! without `/proc` the families are simply absent.

use prometheus_client::{
    metrics::{counter::ConstCounter, gauge::ConstGauge},
    registry::Registry,
};

/// Clock ticks per second of `/proc/<pid>/stat` times: `USER_HZ`, 100 on every Linux
/// architecture the gateway is built for (the kernel fixes it for user space).
const USER_HZ: f64 = 100.0;

/// A reading of `/proc/self`.
#[derive(Debug, Default, PartialEq)]
struct Reading {
    cpu_seconds: Option<f64>,
    threads: Option<i64>,
    start_time_seconds: Option<f64>,
    resident_bytes: Option<i64>,
    virtual_bytes: Option<i64>,
    open_fds: Option<i64>,
    max_fds: Option<i64>,
}

/// Adds the process families, read now, to `registry`.
pub fn register(registry: &mut Registry) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let boot = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let mut reading = parse(&stat, &status, &limits, &boot);
    reading.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|dir| i64::try_from(dir.count()).unwrap_or(i64::MAX));
    if let Some(v) = reading.cpu_seconds {
        let help = "Total user and system CPU time spent in seconds";
        registry.register("process_cpu_seconds", help, ConstCounter::new(v));
    }
    let gauges = [
        (
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            reading.resident_bytes,
        ),
        (
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            reading.virtual_bytes,
        ),
        (
            "process_open_fds",
            "Number of open file descriptors",
            reading.open_fds,
        ),
        (
            "process_max_fds",
            "Maximum number of open file descriptors",
            reading.max_fds,
        ),
        (
            "process_threads",
            "Number of OS threads in the process",
            reading.threads,
        ),
    ];
    for (name, help, value) in gauges {
        if let Some(v) = value {
            registry.register(name, help, ConstGauge::new(v));
        }
    }
    if let Some(v) = reading.start_time_seconds {
        let help = "Start time of the process since unix epoch in seconds";
        registry.register("process_start_time_seconds", help, ConstGauge::new(v));
    }
}

/// Reads the files' texts; any field that cannot be read is `None`.
fn parse(stat: &str, status: &str, limits: &str, proc_stat: &str) -> Reading {
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // `fields[0]` is field 3 (state), so field N is `fields[N - 3]`.
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    let cpu_seconds = field(14)
        .zip(field(15))
        .map(|(user, system)| (user + system) / USER_HZ);
    let boot_time = proc_stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    let start_time_seconds = field(22)
        .zip(boot_time)
        .map(|(ticks, boot)| boot + ticks / USER_HZ);
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<i64>().ok())
            .map(|v| v.saturating_mul(1024))
    };
    let max_fds = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<i64>().ok());
    Reading {
        cpu_seconds,
        threads: field(20).map(|v| v as i64),
        start_time_seconds,
        resident_bytes: kib("VmRSS:"),
        virtual_bytes: kib("VmSize:"),
        open_fds: None,
        max_fds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_texts_are_read_field_by_field() {
        let stat = "4242 (qencode gate) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 7 0 1000 123456 789 18446744073709551615";
        let status = "Name:\tqencode-gateway\nVmSize:\t  20000 kB\nVmRSS:\t   1500 kB\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        let proc_stat = "cpu  1 2 3\nbtime 1700000000\n";
        let r = parse(stat, status, limits, proc_stat);
        assert_eq!(r.cpu_seconds, Some(3.0));
        assert_eq!(r.threads, Some(7));
        assert_eq!(r.start_time_seconds, Some(1_700_000_010.0));
        assert_eq!(r.resident_bytes, Some(1500 * 1024));
        assert_eq!(r.virtual_bytes, Some(20000 * 1024));
        assert_eq!(r.max_fds, Some(1024));
    }

    #[test]
    fn unreadable_files_give_no_values() {
        assert_eq!(parse("", "", "", ""), Reading::default());
    }
}
