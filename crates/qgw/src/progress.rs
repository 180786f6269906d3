//! Shows a task's progress: bars on a terminal, a plain line per change otherwise.
//!
//! Off a terminal (CI logs, pipes) redrawn bars would be noise, so each change of state
//! or whole percent becomes one line instead; identical updates print nothing.

use crate::{
    fail::Failure,
    output::{line, output_label, outputs, task_state, Output},
};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use qencode_gateway_proto::pb;
use std::collections::HashMap;

/// The progress display of one task.
pub struct TaskProgress {
    token: String,
    bars: Option<Bars>,
    /// The last plain line printed per key (task or output tag), to skip repeats.
    last: HashMap<String, String>,
}

struct Bars {
    multi: MultiProgress,
    task: ProgressBar,
    outputs: HashMap<String, ProgressBar>,
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos:>3}% {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl TaskProgress {
    /// A display for `token`; bars only when `output` is a terminal.
    pub fn new(token: &str, output: Output) -> Self {
        let bars = output.terminal.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let task = multi.add(ProgressBar::new(100).with_style(style()));
            task.set_prefix(short(token));
            Bars {
                multi,
                task,
                outputs: HashMap::new(),
            }
        });
        Self {
            token: token.to_owned(),
            bars,
            last: HashMap::new(),
        }
    }

    /// Shows `status`; fails only if a plain line cannot be written.
    pub fn update(&mut self, status: &pb::TaskStatus) -> Result<(), Failure> {
        let state = task_state(status.state());
        match &mut self.bars {
            Some(bars) => {
                show(&bars.task, status.percent, &state);
                for output in outputs(status) {
                    let bar = bars.outputs.entry(output.tag.clone()).or_insert_with(|| {
                        bars.multi.add(ProgressBar::new(100).with_style(style()))
                    });
                    // The output format is known only once encoding began.
                    bar.set_prefix(output_label(output));
                    show(bar, output.percent, &task_state(output.state()));
                }
            }
            None => {
                let state = format!("{}{}", state, percent(status.percent));
                self.plain(
                    self.token.clone(),
                    format!("{}  {state}", self.token),
                    state,
                )?;
                for output in outputs(status) {
                    let state =
                        format!("{}{}", task_state(output.state()), percent(output.percent));
                    let label = output_label(output);
                    self.plain(output.tag.clone(), format!("  {label}  {state}"), state)?;
                }
            }
        }
        Ok(())
    }

    /// Prints `text` unless `key` last printed the same `state`.
    fn plain(&mut self, key: String, text: String, state: String) -> Result<(), Failure> {
        if self.last.get(&key) != Some(&state) {
            line(text)?;
            self.last.insert(key, state);
        }
        Ok(())
    }

    /// Leaves the bars drawn where they are.
    pub fn finish(&self) {
        if let Some(bars) = &self.bars {
            bars.task.abandon();
            for bar in bars.outputs.values() {
                bar.abandon();
            }
        }
    }
}

fn show(bar: &ProgressBar, percent: Option<f64>, state: &str) {
    if let Some(percent) = percent {
        // Percentages are 0..=100; the cast saturates anything odd.
        bar.set_position(percent.clamp(0.0, 100.0) as u64);
    }
    bar.set_message(state.to_owned());
}

fn percent(percent: Option<f64>) -> String {
    percent.map_or_else(String::new, |p| format!(" {p:.0}%"))
}

/// The first characters of a token: enough to tell tasks apart on a line.
fn short(token: &str) -> String {
    token.chars().take(12).collect()
}
